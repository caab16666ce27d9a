"""Binary arithmetic with broadcasting (+ clip, fmax, …) against jax.vjp/jax.jvp and finite differences.

Table-driven: a row per op with a jnp reference and one input domain per
argument. Hypothesis draws mutually broadcastable shapes (scalars, size-0 and
size-1 dims), the dtype, and arrays ``u`` in [-1, 1] that the domains map to
values. Ops with kinks (maximum, mod, clip) take values from interleaved bands,
so finite differences never cross a kink; the kinks themselves (ties) are
tested separately against jax.vjp. Every row's first example is its canonical
case in float64 (orders 1 and 2), in CI too: shapes (2, 1, 3) and (4, 1) for binary
ops, which broadcast to (2, 4, 3) by stretching both and adding a rank to one.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from family_checks import (
    BINARY_POOL,
    BINARY_SHAPES,
    TERNARY_POOL,
    TERNARY_SHAPES,
    UNARY_POOL,
    UNARY_SHAPE,
    canonical_first,
    canonical_u,
    check_against_jax,
    varied,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.testing import arrays, assert_vjp, broadcastable_shapes, shapes

DTYPES = st.sampled_from(["float32", "float64"])


def uniform(shape):
    return arrays("float64", shape, elements=(-1, 1))


@st.composite
def uniform_operands(draw, pool, n, **shape_kw):
    """``n`` arrays ``u`` in [-1, 1] whose shapes broadcast together: from ``pool`` or ``broadcastable_shapes``."""
    return tuple(draw(uniform(s)) for s in draw(varied(pool, broadcastable_shapes(n, **shape_kw))))


def _sign(u):
    return np.where(u >= 0, 1.0, -1.0)


def _band(lo, hi, kmin=-2, kmax=2):
    """u -> k + [lo, hi] for an integer k in [kmin, kmax], both read off u."""
    def domain(u):
        s = (u + 1) / 2 * (kmax - kmin + 1)
        k = np.minimum(np.floor(s), kmax - kmin)
        return kmin + k + lo + (hi - lo) * (s - k) / (1 + (k == kmax - kmin))
    return domain


# Domains: u in [-1, 1] -> values.
WIDE = lambda u: 3 * u
POS = lambda u: 0.3 + 0.85 * (u + 1)
AWAY0 = lambda u: _sign(u) * (0.3 + 1.5 * np.abs(u))
EXPONENT = lambda u: 2 * u
# Interleaved bands: a LOW_BAND value never comes within 0.05 of a MID_BAND or HIGH_BAND one.
LOW_BAND = _band(0.1, 0.4)
MID_BAND = _band(0.45, 0.55)
HIGH_BAND = _band(0.6, 0.9)
# mod/fmod: x / y stays at least 1/8 away from an integer.
MOD_X = _band(0.25, 0.75, -3, 3)
MOD_Y = lambda u: np.choose(np.minimum(np.floor((u + 1) * 2), 3).astype(int), [-2.0, -1.0, 1.0, 2.0])

BINARY = [
    ("add", tnp.add, jnp.add, WIDE, WIDE),
    ("subtract", tnp.subtract, jnp.subtract, WIDE, WIDE),
    ("multiply", tnp.multiply, jnp.multiply, WIDE, WIDE),
    ("divide", tnp.divide, jnp.divide, WIDE, AWAY0),
    ("power", tnp.power, jnp.power, POS, EXPONENT),
    ("maximum", tnp.maximum, jnp.maximum, LOW_BAND, HIGH_BAND),
    ("minimum", tnp.minimum, jnp.minimum, HIGH_BAND, LOW_BAND),
    ("fmax", tnp.fmax, jnp.fmax, LOW_BAND, HIGH_BAND),
    ("fmin", tnp.fmin, jnp.fmin, LOW_BAND, HIGH_BAND),
    ("arctan2", tnp.arctan2, jnp.arctan2, AWAY0, AWAY0),
    # |x| < |y| always: jax's hypot (max/min of |x|, |y|) has a wrong second derivative at |x| == |y|.
    ("hypot", tnp.hypot, jnp.hypot, lambda u: 0.5 * AWAY0(u), lambda u: _sign(u) * (1.2 + np.abs(u))),
    ("mod", tnp.mod, jnp.mod, MOD_X, MOD_Y),
    ("fmod", tnp.fmod, jnp.fmod, MOD_X, MOD_Y),
    ("logaddexp", tnp.logaddexp, jnp.logaddexp, WIDE, WIDE),
    ("logaddexp2", tnp.logaddexp2, jnp.logaddexp2, WIDE, WIDE),
    ("copysign", tnp.copysign, jnp.copysign, AWAY0, AWAY0),
]

UNARY = [
    ("square", tnp.square, jnp.square, WIDE),
    ("reciprocal", tnp.reciprocal, jnp.reciprocal, AWAY0),
    ("negative", tnp.negative, jnp.negative, WIDE),
    ("x ** 3", lambda x: x ** 3, lambda x: x ** 3, WIDE),
    ("2.5 ** x", lambda x: 2.5 ** x, lambda x: 2.5 ** x, WIDE),
    ("1 / x ** 0.5", lambda x: 1 / x ** 0.5, lambda x: 1 / x ** 0.5, POS),
    ("x % 1.5", lambda x: x % 1.5, lambda x: x % 1.5, lambda u: 1.5 * MOD_X(u)),
]


def _values(u, domain, dtype):
    return jnp.asarray(domain(u), dtype=dtype)


@pytest.mark.parametrize("name,fn,ref,dom_x,dom_y", BINARY, ids=[b[0] for b in BINARY])
@settings(max_examples=2)
@given(case=canonical_first(canonical_u(*BINARY_SHAPES), uniform_operands(BINARY_POOL, 2, max_dims=3, max_side=2),
                            DTYPES))
def test_binary_matches_jax(name, fn, ref, dom_x, dom_y, case):
    uxy, dtype = case
    x, y = _values(uxy[0], dom_x, dtype), _values(uxy[1], dom_y, dtype)
    check_against_jax(fn, ref, (x, y), dtype)


@pytest.mark.parametrize("name,fn,ref,domain", UNARY, ids=[u[0] for u in UNARY])
@settings(max_examples=2)
@given(case=canonical_first(canonical_u(UNARY_SHAPE), uniform(varied(UNARY_POOL, shapes(max_dims=2, max_side=3))),
                            DTYPES))
def test_unary_and_scalar_operands_match_jax(name, fn, ref, domain, case):
    u, dtype = case
    x = jnp.asarray(domain(u), dtype=dtype)
    check_against_jax(fn, ref, (x,), dtype)


@settings(max_examples=3)
@given(case=canonical_first(canonical_u(*TERNARY_SHAPES), uniform_operands(TERNARY_POOL, 3, max_dims=2, max_side=3),
                            DTYPES),
       kinds=st.tuples(*[st.sampled_from(["array", "scalar", "none"])] * 2),
       u_scalars=st.tuples(st.floats(-1, 1), st.floats(-1, 1)))
def test_clip_matches_jax(case, kinds, u_scalars):
    u, dtype = case
    # x, lo and hi come from three disjoint bands (lo > hi happens too: jnp then returns hi).
    x, lo, hi = _values(u[0], LOW_BAND, dtype), _values(u[1], HIGH_BAND, dtype), _values(u[2], MID_BAND, dtype)
    args, fixed = [x], {}
    for name, kind, val, band, us in (("lo", kinds[0], lo, HIGH_BAND, u_scalars[0]),
                                      ("hi", kinds[1], hi, MID_BAND, u_scalars[1])):
        if kind == "scalar":  # a Python float from the same band
            fixed[name] = float(band(np.asarray(us)))
        elif kind == "array":
            args.append(val)
    names = [n for n, k in (("lo", kinds[0]), ("hi", kinds[1])) if k == "array"]

    def bounds(rest):
        b = dict(fixed)
        b.update(zip(names, rest, strict=True))
        return b.get("lo"), b.get("hi")

    fn = lambda x, *rest: tnp.clip(x, *bounds(rest))
    ref = lambda x, *rest: jnp.clip(x, *bounds(rest))
    check_against_jax(fn, ref, tuple(args), dtype)


# ---- kinks and special points: the numbers jax.vjp gives ----------------------------

def _vjp_both(fn, ref, *args):
    # Op by op: JAX would otherwise compile each jitted jnp function once per shape.
    with jax.disable_jit():
        args = tuple(jnp.asarray(a, "float64") for a in args)
        out = ref(*args)
        g = jnp.asarray(np.random.default_rng(1).normal(size=out.shape))
        return tg.vjp(fn, *args)[1](g), jax.vjp(ref, *args)[1](g)


TIES = [
    ("maximum ties", tnp.maximum, jnp.maximum, ([0.0, 1.0, 2.0, -1.0], [0.0, 1.0, 1.0, 3.0])),
    ("minimum ties", tnp.minimum, jnp.minimum, ([0.0, 1.0, 2.0, -1.0], [0.0, 1.0, 1.0, 3.0])),
    ("fmax ties and nan", tnp.fmax, jnp.fmax, ([0.0, np.nan, 2.0, 1.0], [0.0, 1.0, np.nan, 3.0])),
    ("fmin ties and nan", tnp.fmin, jnp.fmin, ([0.0, np.nan, 2.0, 1.0], [0.0, 1.0, np.nan, 3.0])),
    ("maximum broadcast tie", tnp.maximum, jnp.maximum, ([[1.0], [2.0]], [1.0, 2.0, 3.0])),
    ("hypot at the origin", tnp.hypot, jnp.hypot, ([0.0, 3.0, 0.0], [0.0, 4.0, 2.0])),
    ("logaddexp with infinities", tnp.logaddexp, jnp.logaddexp,
     ([np.inf, -np.inf, 1.0, 0.0], [1.0, 1.0, np.inf, -np.inf])),
    ("mod of negatives and exact multiples", tnp.mod, jnp.mod,
     ([5.5, -5.5, 5.5, -5.5, 6.0, -6.0], [2.0, 2.0, -2.0, -2.0, 3.0, 3.0])),
    ("fmod of negatives", tnp.fmod, jnp.fmod, ([5.5, -5.5, 5.5, -5.5], [2.0, 2.0, -2.0, -2.0])),
    ("power at x = 0, nonzero exponents", tnp.power, jnp.power, ([0.0, 0.0, 0.0, 2.0], [1.0, 2.0, 0.5, 0.0])),
    ("power of negative base, integral float exponent", tnp.power, jnp.power, ([-2.0, -1.5], [2.0, 3.0])),
    ("divide by zero", tnp.divide, jnp.divide, ([1.0, 0.0, -1.0], [0.0, 2.0, 4.0])),
    ("copysign with signed zeros", tnp.copysign, jnp.copysign, ([1.5, -2.0, 0.0], [-0.0, 0.0, -1.0])),
]


@pytest.mark.parametrize("name,fn,ref,args", TIES, ids=[t[0] for t in TIES])
def test_kinks_and_special_points_match_jax(name, fn, ref, args):
    got, want = _vjp_both(fn, ref, *args)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-14, atol=0, equal_nan=True)


def test_hypot_is_smooth_where_abs_x_equals_abs_y():
    # jax.vjp's second derivative is off there (its formula goes through max/min); ours is the
    # true one, which finite differences confirm.
    x, y = jnp.asarray([0.3, -1.5, 2.0]), jnp.asarray([0.3, 1.5, -2.0])
    assert_vjp(tnp.hypot, (x, y), order=2)


def test_clip_ties_and_crossed_bounds_match_jax():
    x = jnp.asarray([-1.0, 0.0, 0.5, 1.0, 2.0, 0.7, 0.3])
    lo = jnp.asarray([0.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.3])  # last two: lo > hi, and x == lo == hi
    hi = jnp.asarray([1.0, 1.0, 1.0, 1.0, 1.0, 0.4, 0.3])
    g = jnp.arange(1.0, 8.0)
    got = tg.vjp(tnp.clip, x, lo, hi)[1](g)
    want = jax.vjp(jnp.clip, x, lo, hi)[1](g)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # Bounds may be given by keyword or left out; the method form works inside grad.
    xs = jnp.asarray([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(tg.grad(lambda v: tnp.sum(tnp.clip(v, max=1.0)))(xs), [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(tg.grad(lambda v: tnp.sum(tnp.clip(v, min=0.0)))(xs), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(tg.grad(lambda v: tnp.sum(v.clip(0.0, 1.0)))(xs), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(tnp.clip(xs), xs)
    with pytest.raises(ValueError, match="clip"):
        tnp.clip()


def test_power_with_zero_float_exponent_at_zero_is_zero_like_pytorch():
    # d/dx x**0 is 0 everywhere. jax.vjp gives NaN at x == 0 for a *float* exponent 0.0 (0 * inf);
    # tapegrad gives the true value, as PyTorch does, and as jax does for an integer exponent.
    x = torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    torch.pow(x, y).backward(torch.ones(3, dtype=torch.float64))
    gx, gy = tg.vjp(tnp.power, jnp.zeros(3).at[2].set(3.0), jnp.zeros(3))[1](jnp.ones(3))
    np.testing.assert_array_equal(np.asarray(gx), x.grad.numpy())
    np.testing.assert_array_equal(np.asarray(gy), y.grad.numpy())
    assert float(tg.grad(lambda v: v ** 0)(0.0)) == float(jax.grad(lambda v: v ** 0)(0.0)) == 0.0


def test_power_second_order_at_zero():
    for f, jf in [(lambda v: v ** 2, lambda v: v ** 2), (lambda v: v ** 3, lambda v: v ** 3),
                  (lambda v: tnp.power(v, 2.0), lambda v: jnp.power(v, 2.0))]:
        assert float(tg.grad(tg.grad(f))(0.0)) == float(jax.grad(jax.grad(jf))(0.0))
    # The mixed derivative at exponent 0 is 1/x: pinning the rule to 0 at y == 0 would lose it.
    mixed = tg.grad(lambda y: tg.grad(lambda x: tnp.power(x, y))(2.0))(0.0)
    assert float(mixed) == float(jax.grad(lambda y: jax.grad(lambda x: jnp.power(x, y))(2.0))(0.0)) == 0.5


def test_float32_cotangents_stay_float32_under_broadcasting():
    x = jnp.ones((2, 3), "float32")
    y = jnp.ones((3,), "float32")
    gx, gy = tg.grad(lambda a, b: tnp.sum(tnp.maximum(a * 2.0, b) / b), argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == jnp.float32 and gy.shape == (3,)


def test_bad_shapes_name_the_op_and_operands():
    with pytest.raises((TypeError, ValueError), match=r"add.*float64\[2\].*float64\[3\]"):
        tnp.add(jnp.ones(2), jnp.ones(3))
    with pytest.raises((TypeError, ValueError), match="maximum"):
        tg.grad(lambda v: tnp.sum(tnp.maximum(v, jnp.ones(4))))(jnp.ones(3))


def test_aliases():
    assert tnp.divide is tnp.true_divide and tnp.remainder is tnp.mod
    assert tnp.pow is tnp.power and tnp.atan2 is tnp.arctan2


def test_tg_jvp_matches_jax_jvp_with_broadcasting():
    x = jnp.asarray([[0.3, 1.6, 2.0]])
    y = jnp.asarray([[1.5], [-0.7]])
    tx, ty = jnp.asarray([[1.0, -2.0, 0.5]]), jnp.asarray([[0.25], [3.0]])
    for fn, ref in [(tnp.multiply, jnp.multiply), (tnp.divide, jnp.divide), (tnp.power, jnp.power),
                    (tnp.maximum, jnp.maximum), (tnp.arctan2, jnp.arctan2), (tnp.logaddexp, jnp.logaddexp)]:
        a = jnp.abs(x) if fn is tnp.power else x
        out, tout = tg.jvp(fn, (a, y), (tx, ty))
        want, want_t = jax.jvp(ref, (a, y), (tx, ty))
        np.testing.assert_allclose(out, want, rtol=1e-14)
        np.testing.assert_allclose(tout, want_t, rtol=1e-13)
