"""What the per-family rule tables share: the check, the case-table runner and the canonical inputs.

Hypothesis' first draws are degenerate: under ``CI=1`` (derandomized, two or three examples a row)
a table row used to see a scalar in float32 and one more small draw, often size 0. So every row is
also checked on a canonical case: non-empty, in float64 (so at orders 1 and 2), and for ops of two
or more operands with shapes that broadcast for real (a size-1 axis stretched and a rank added, on
both sides). Tables drawing their inputs from strategies make it their first example
(``canonical_first``: hypothesis always starts with the simplest example, so this costs no extra
one); tables whose draws come through ``st.data()`` run it directly (``check_case``).
``tests/test_ci_draws.py`` counts what CI really checks and fails when a table falls below its floor.
"""
import jax
import numpy as np

from tapegrad.testing import assert_vjp

# The canonical shapes. Rows share them, so XLA compiles each op's kernels for few shapes.
UNARY_SHAPE = (2, 3)
BINARY_SHAPES = ((2, 1, 3), (4, 1))  # broadcast to (2, 4, 3): both operands stretched, y also gains a rank
TERNARY_SHAPES = ((2, 1, 3), (4, 1), (3,))


# Pools of shapes for the tables' draws, mixed with the public strategies (``varied``): under CI's few
# derandomized examples hypothesis' own shape strategies give mostly scalars and sides of 0 and 1 (its
# random choices lean towards the simplest); a pool puts common shapes in reach, degenerate ones
# included. Its choices lean towards the first entry too: a non-degenerate one.
UNARY_POOL = [(3, 2), (), (3,), (2, 3), (3, 1), (1, 2), (0, 3), (2, 2)]
BINARY_POOL = [((), (3, 2)), ((), ()), ((2, 3), (3,)), ((3, 1), (1, 2)), ((2, 1, 2), (2, 1)), ((2,), ()),
               ((0, 2), (1,)), ((1, 3), (2, 3)), ((2, 2), (2, 2))]
TERNARY_POOL = [((3, 1), (1, 2), ()), ((), (), ()), ((2, 3), (3,), ()), ((2,), (2, 1), (1,)), ((0, 2), (2,), ())]
REDUCTION_POOL = [(3, 2), (), (3,), (2, 3), (2, 1, 3), (1, 4), (0, 2), (2, 2, 2)]


def varied(pool, strategy):
    """One of ``pool``'s shapes (or shape tuples), or a draw of ``strategy``."""
    from hypothesis import strategies as st
    return st.one_of(st.sampled_from(pool), strategy)


def canonical_first(value, strategy, dtypes):
    """Pairs ``(input, dtype)``: ``(value, "float64")`` in the first example hypothesis runs, then draws
    of ``strategy`` and ``dtypes``.

    Hypothesis starts every test, in CI and locally, with its simplest example: ``one_of``'s simplest
    is its first branch's, ``just``'s its value. Unlike an ``@example`` it takes one of the
    ``max_examples``, not one more, and the draws keep ``dtypes``' own leaning (float32 first: the
    cheaper first-order checks); ``test_ci_draws`` checks that CI still runs the canonical case.
    """
    from hypothesis import strategies as st
    return st.one_of(st.just((value, "float64")), st.tuples(strategy, dtypes))


def canonical_u(*shapes, seed: int = 0):
    """Fixed values in [-0.95, 0.95] for each shape: distinct, no two closer than 1e-3, none at 0.

    Table domains map them (as they map hypothesis' ``u`` in [-1, 1]) to where an op is smooth.
    """
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        n = int(np.prod(shape))
        grid = np.linspace(-0.95, 0.95, 2 * n + 1)  # n of these (never the middle one, 0) in random order
        picked = rng.permutation(np.delete(grid, n))[:n]
        out.append(picked.reshape(shape))
    return out[0] if len(out) == 1 else tuple(out)


def _leaves(x):
    return jax.tree_util.tree_leaves(x)


def check_against_jax(fn, ref, args, dtype, order=None):
    """VJP and JVP against jax.vjp/jax.jvp and finite differences (orders 1-2 in float64).

    With a reference, assert_vjp compares tapegrad's forward mode (what tg.jvp runs) with
    jax.jvp at every order; the result's shape and dtype (every leaf of it) must be jnp's too.
    """
    assert_vjp(fn, args, order=order or (2 if dtype == "float64" else 1), reference=ref)
    got, want = _leaves(fn(*args)), _leaves(ref(*args))
    assert len(got) == len(want), (len(got), len(want))
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)


def check_case(case, max_examples: int, dtypes, canonical=None, key: str | None = None) -> None:
    """Run one entry of a case table: ``case(data, dtype) -> (args, fn, ref)``, drawn by hypothesis.

    The VJP (order 2 in float64) is compared with ``ref``'s under jax.vjp and finite differences
    (``ref=None``: finite differences only). ``canonical(dtype) -> (args, fn, ref)`` is the row's
    fixed non-degenerate case; it runs first, in float64. ``key`` (the row's name) gives each row
    its own derandomized seed, as the hypothesis pytest plugin does for a parametrized test's items;
    without it every row of every table would replay the same choices.
    """
    import jax.numpy as jnp
    from hypothesis import given, settings
    from hypothesis import strategies as st

    def run(args, fn, ref, dtype):
        args = tuple(jnp.asarray(a) for a in args)
        assert_vjp(fn, args, order=2 if dtype == "float64" else 1, reference=ref)

    if canonical is not None:
        run(*canonical("float64"), "float64")

    @settings(max_examples=max_examples)
    @given(data=st.data(), dtype=dtypes)
    def check(data, dtype):
        run(*case(data, dtype), dtype)

    if key is not None:  # mixed into the seed of a derandomized run (CI): hypothesis' own mechanism for this
        check.hypothesis.inner_test._hypothesis_internal_add_digest = key.encode()
    check()
