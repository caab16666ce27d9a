"""The one check the per-family rule tables share."""
from tapegrad.testing import assert_vjp


def check_against_jax(fn, ref, args, dtype):
    """VJP and JVP against jax.vjp/jax.jvp and finite differences (orders 1-2 in float64).

    With a reference, assert_vjp compares tapegrad's forward mode (what tg.jvp runs) with
    jax.jvp at every order; the result's shape and dtype must be jnp's too.
    """
    assert_vjp(fn, args, order=2 if dtype == "float64" else 1, reference=ref)
    out, want = fn(*args), ref(*args)
    assert out.shape == want.shape and out.dtype == want.dtype


def check_case(case, max_examples: int, dtypes) -> None:
    """Run one entry of a case table: ``case(data, dtype) -> (args, fn, ref)``, drawn by hypothesis.

    The VJP (order 2 in float64) is compared with ``ref``'s under jax.vjp and finite differences.
    """
    import jax.numpy as jnp
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=max_examples)
    @given(data=st.data(), dtype=dtypes)
    def check(data, dtype):
        args, fn, ref = case(data, dtype)
        args = tuple(jnp.asarray(a) for a in args)
        assert_vjp(fn, args, order=2 if dtype == "float64" else 1, reference=ref)

    check()
