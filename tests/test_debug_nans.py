"""tg.debug_nans: the first NaN/Inf is caught where it starts, forward or backward."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp


def test_forward_nan_names_primitive_pass_line_and_inputs():
    with tg.debug_nans(), pytest.raises(FloatingPointError) as info:
        tg.grad(lambda x: tnp.log(x - 1).sum())(jnp.array([0.5, 2.0]))
    msg = str(info.value)
    assert "'log'" in msg and "forward" in msg and "test_debug_nans.py:" in msg
    assert "min -0.5" in msg and "1 NaN" in msg


def test_backward_inf_is_caught_in_the_sweep():
    # sqrt(0) is fine forward; its derivative is infinite.
    with tg.debug_nans(), pytest.raises(FloatingPointError, match=r"'sqrt'.*backward.*1 Inf"):
        tg.grad(lambda x: tnp.sqrt(x).sum())(jnp.array([0.0, 1.0]))


def test_off_by_default_and_after_the_block():
    g = tg.grad(lambda x: tnp.sqrt(x).sum())(jnp.array([0.0, 1.0]))
    assert np.isinf(g[0])
    with tg.debug_nans():
        pass
    assert np.isnan(tnp.log(jnp.array(-1.0)))


def test_outside_transforms_too():
    with tg.debug_nans(), pytest.raises(FloatingPointError, match="'divide'"):
        tnp.divide(jnp.zeros(2), jnp.zeros(2))


# --------------------------------------------------------------------------------------------
# Under jax.jit values are abstract while tracing: the check is compiled into the program.
# --------------------------------------------------------------------------------------------

def _line_of(fn, text: str) -> str:
    """``test_debug_nans.py:<n>``, the line of ``fn``'s source holding ``text``."""
    import inspect

    lines, start = inspect.getsourcelines(fn)
    n = next(start + k for k, line in enumerate(lines) if text in line)
    return f"test_debug_nans.py:{n}"


def _log_shifted(x):
    return tnp.log(x - 1).sum()


def _sqrt_sum(x):
    return tnp.sqrt(x).sum()


def test_jit_forward_nan_names_primitive_pass_line_and_inputs():
    step = jax.jit(tg.grad(_log_shifted))
    with pytest.raises(FloatingPointError) as info, tg.debug_nans():
        step(jnp.array([0.5, 2.0]))
    msg = str(info.value)
    assert msg.startswith("debug_nans: primitive 'log' produced a NaN/Inf output in the forward pass")
    assert _line_of(_log_shifted, "tnp.log") in msg and "in _log_shifted" in msg
    assert "min -0.5" in msg and "1 NaN" in msg  # the input's statistics, read when the program ran
    assert "compiled program" in msg
    assert type(info.value.__cause__).__name__ in ("JaxRuntimeError", "XlaRuntimeError")


def test_jit_backward_inf_is_caught_in_the_sweep():
    with pytest.raises(FloatingPointError, match=r"'sqrt'.*cotangent in the backward pass.*1 Inf") as info, \
            tg.debug_nans():
        jax.jit(tg.grad(_sqrt_sum))(jnp.array([0.0, 1.0]))
    assert _line_of(_sqrt_sum, "tnp.sqrt") in str(info.value)


def test_jit_error_inside_the_block_is_jaxs_and_carries_the_message():
    # Inside the block the error is XLA's wrapper; its message already names the op and the line.
    with pytest.raises(FloatingPointError), tg.debug_nans():
        try:
            jax.jit(tg.grad(_sqrt_sum))(jnp.array([0.0, 1.0]))
        except FloatingPointError:
            raise AssertionError("a compiled program's error surfaces as JAX's runtime error") from None
        except Exception as e:
            assert "'sqrt'" in str(e) and _line_of(_sqrt_sum, "tnp.sqrt") in str(e)
            raise


def test_jit_first_nan_in_program_order_is_the_one_named():
    def f(x):
        y = tnp.log(x)      # NaN first
        return tnp.exp(y * 2.0).sum()
    with pytest.raises(FloatingPointError, match=r"primitive 'log' produced"), tg.debug_nans():
        jax.jit(f)(jnp.array([-1.0, 2.0]))


def test_a_function_jitted_before_the_block_is_checked_inside_it_and_free_after():
    step = jax.jit(tg.grad(_sqrt_sum))
    x = jnp.array([0.0, 1.0])
    assert np.isinf(step(x)[0])  # compiled without checks
    with pytest.raises(FloatingPointError, match="'sqrt'"), tg.debug_nans():
        step(x)  # traced again, with them
    assert np.isinf(step(x)[0])  # and the unchecked program again after the block


def test_no_callback_is_added_when_no_block_is_open():
    x = jnp.array([0.0, 1.0])
    plain = str(jax.make_jaxpr(tg.grad(_sqrt_sum))(x))
    assert "debug_callback" not in plain
    with tg.debug_nans():
        checked = str(jax.make_jaxpr(tg.grad(_sqrt_sum))(x))
    assert "debug_callback" in checked  # a check per float primitive, forward and backward
    assert "debug_callback" not in str(jax.make_jaxpr(tg.grad(_sqrt_sum))(x))


def test_jit_finite_values_pass_and_give_the_same_numbers():
    x = jnp.array([0.5, 2.0])
    want = jax.jit(tg.grad(_sqrt_sum))(x)
    with tg.debug_nans():
        got = jax.jit(tg.grad(_sqrt_sum))(x)
    np.testing.assert_array_equal(got, want)


def test_vmap_and_scan_bodies_are_checked():
    with pytest.raises(FloatingPointError, match="'log'"), tg.debug_nans():
        jax.vmap(tg.grad(_log_shifted))(jnp.array([[0.5, 2.0], [3.0, 4.0]]))
    with pytest.raises(FloatingPointError, match="'log'"), tg.debug_nans():
        jax.jit(jax.vmap(tg.grad(_log_shifted)))(jnp.array([[0.5, 2.0], [3.0, 4.0]]))

    def body(c, v):
        return c + tg.grad(_log_shifted)(v), None

    with pytest.raises(FloatingPointError, match="'log'"), tg.debug_nans():
        jax.jit(lambda xs: jax.lax.scan(body, jnp.zeros(2), xs)[0])(jnp.array([[3.0, 2.0], [0.5, 2.0]]))


def test_where_jax_takes_no_callback_it_warns_once_naming_why(monkeypatch):
    import warnings

    from tapegrad import debugging

    def refuse(*args, **kwargs):
        raise NotImplementedError("no callbacks in this trace")

    monkeypatch.setattr(debugging, "_warned", set())
    monkeypatch.setattr(jax.debug, "callback", refuse)
    with pytest.warns(RuntimeWarning, match=r"not checked: jax.debug.callback cannot be used here "
                                             r"\(NotImplementedError: no callbacks in this trace\)"), \
            tg.debug_nans():
        out = jax.jit(tg.grad(_sqrt_sum))(jnp.array([0.0, 1.0]))
    assert np.isinf(out[0])  # unchecked, and said so
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tg.debug_nans():
            jax.jit(tg.grad(lambda x: tnp.sqrt(x).sum()))(jnp.array([0.0, 1.0]))  # once is enough


def test_without_ordered_callbacks_the_check_runs_unordered_and_says_so(monkeypatch):
    from tapegrad import debugging

    real = jax.debug.callback

    def unordered_only(*args, ordered=False, **kwargs):
        if ordered:
            raise ValueError("ordered effects are not supported here")
        return real(*args, **kwargs)

    monkeypatch.setattr(debugging, "_warned", set())
    monkeypatch.setattr(jax.debug, "callback", unordered_only)
    with pytest.warns(RuntimeWarning, match="run unordered"), \
            pytest.raises(FloatingPointError, match="'sqrt'"), tg.debug_nans():
        jax.jit(tg.grad(_sqrt_sum))(jnp.array([0.0, 1.0]))
