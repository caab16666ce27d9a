"""Reductions and scans against jax.vjp/jax.jvp of jax.numpy and finite differences.

Table-driven: a row per reduction with its jnp reference and input domain.
Hypothesis draws the shape (scalars, size-0 and size-1 dims), the axis (None,
int, negative, tuple), keepdims, the dtype and an array ``u`` in [-1, 1] that
the row's domain maps to values. Every row runs canonical cases in float64 (orders 1
and 2), in CI too: first several axes of a 3-d array, whose cotangent is broadcast back
over both ends, and (an ``@example``) one axis with keepdims. Products and cumulative
products are also checked at exact zeros (one and two per slice).
"""
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import pytest
from family_checks import REDUCTION_POOL, UNARY_SHAPE, canonical_first, canonical_u, check_against_jax, varied
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.testing import arrays, assert_vjp, shapes

UNIFORM = arrays("float64", varied(REDUCTION_POOL, shapes(max_dims=3, max_side=2)), elements=(-1, 1))
DTYPES = st.sampled_from(["float32", "float64"])


def axes_for(ndim):
    """None, an int (negative too) or a tuple of distinct axes (possibly empty)."""
    if ndim == 0:
        return st.sampled_from([None, ()])
    one = st.integers(-ndim, ndim - 1)
    many = st.lists(one, unique_by=lambda a: a % ndim, max_size=ndim).map(tuple)
    return st.one_of(st.none(), one, many)


@st.composite
def u_and_axis(draw, axes=axes_for):
    """An array ``u`` of UNIFORM and an axis argument for it."""
    u = draw(UNIFORM)
    return u, draw(axes(u.ndim), label="axis")


def _reduced(shape, axis):
    axes = range(len(shape)) if axis is None else [a % len(shape) for a in np.atleast_1d(axis).tolist()]
    axes = set(axes)
    count = int(np.prod([s for i, s in enumerate(shape) if i in axes]))
    out = int(np.prod([s for i, s in enumerate(shape) if i not in axes]))
    return count, out


WIDE = lambda u: 2 * u
NEAR_ONE = lambda u: np.where(u >= 0, 1.0, -1.0) * (0.6 + 0.6 * np.abs(u))  # products stay moderate


def DISTINCT(u):
    # The ranks of u, spaced 0.3 apart: extrema are unique and stay so under finite differences.
    ranks = np.argsort(np.argsort(u, axis=None, kind="stable"), kind="stable").reshape(u.shape)
    return ranks * 0.3 - 0.15 * u.size + 0.05 * u


# (name, tnp op, jnp op, domain, fewest elements a reduction needs (0: an empty one is fine));
# var and std also draw ddof (0 or 1), and then need ddof + 1 elements (std: 2, so the variance is > 0).
REDUCTIONS = [
    ("sum", tnp.sum, jnp.sum, WIDE, 0),
    ("mean", tnp.mean, jnp.mean, WIDE, 1),
    ("max", tnp.max, jnp.max, DISTINCT, 1),
    ("min", tnp.min, jnp.min, DISTINCT, 1),
    ("prod", tnp.prod, jnp.prod, NEAR_ONE, 0),
    ("var", tnp.var, jnp.var, WIDE, 1),
    ("std", tnp.std, jnp.std, DISTINCT, 2),  # distinct values: variance > 0 (sqrt is singular at 0)
    ("logsumexp", tnp.logsumexp, jsp.logsumexp, WIDE, 1),
]


@pytest.mark.parametrize("name,fn,ref,domain,need", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
@settings(max_examples=3)
@given(case=canonical_first((canonical_u((2, 3, 2)), (0, -1)), u_and_axis(), DTYPES), keepdims=st.booleans(),
       ddof=st.sampled_from([0, 1]))
@example(case=((canonical_u(UNARY_SHAPE), 1), "float64"), keepdims=True, ddof=1)
def test_reduction_matches_jax(name, fn, ref, domain, need, case, keepdims, ddof):
    (u, axis), dtype = case
    shape = u.shape
    kw = {"axis": axis, "keepdims": keepdims}
    if name in ("var", "std"):  # ddof is drawn for every row, used by these two
        kw["ddof"] = ddof
        need = max(need, ddof + 1)
    count, out_size = _reduced(shape, axis)
    # An empty output needs nothing, except from max/min, which reject any empty reduction.
    assume(count >= need or (out_size == 0 and name not in ("max", "min")))
    x = jnp.asarray(domain(u), dtype)
    check_against_jax(lambda v: fn(v, **kw), lambda v: ref(v, **kw), (x,), dtype)


SCANS = [("cumsum", tnp.cumsum, jnp.cumsum, WIDE), ("cumprod", tnp.cumprod, jnp.cumprod, NEAR_ONE)]


def scan_axes(nd):
    return st.none() | st.integers(-nd, nd - 1) if nd else st.none()


@pytest.mark.parametrize("name,fn,ref,domain", SCANS, ids=[s[0] for s in SCANS])
@settings(max_examples=3)
@given(case=canonical_first((canonical_u((2, 3, 2)), -2), u_and_axis(scan_axes), DTYPES))
def test_scan_matches_jax(name, fn, ref, domain, case):
    (u, axis), dtype = case
    x = jnp.asarray(domain(u), dtype)
    check_against_jax(lambda v: fn(v, axis), lambda v: ref(v, axis), (x,), dtype)


# ---- exact zeros: the gradient of a product is the product of the others ---------------

ZERO_CASES = [
    ("one zero", [[1.5, 0.0, 2.0, -0.5], [3.0, 0.5, -1.0, 2.0]]),
    ("two zeros in a row", [[0.0, 2.0, 0.0, 1.5], [1.0, -1.5, 0.5, 2.0]]),
    ("all zeros", [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
]


@pytest.mark.parametrize("axis", [None, -1])
@pytest.mark.parametrize("case,values", ZERO_CASES, ids=[z[0] for z in ZERO_CASES])
def test_prod_at_exact_zeros_matches_jax(case, values, axis):
    x = jnp.asarray(values)
    assert_vjp(lambda v: tnp.prod(v, axis=axis), (x,), order=2,
              reference=lambda v: jnp.prod(v, axis=axis))


@pytest.mark.parametrize("axis", [None, 1])
@pytest.mark.parametrize("case,values", ZERO_CASES, ids=[z[0] for z in ZERO_CASES])
def test_cumprod_at_exact_zeros_matches_jax(case, values, axis):
    x = jnp.asarray(values)
    assert_vjp(lambda v: tnp.cumprod(v, axis=axis), (x,), order=2,
              reference=lambda v: jnp.cumprod(v, axis=axis))


def test_prod_over_several_axes_at_exact_zeros_matches_jax():
    x = jnp.asarray([[[0.0, 2.0], [1.5, -1.0]], [[1.0, 0.0], [0.0, 2.0]], [[0.5, 3.0], [-2.0, 1.0]]])
    assert_vjp(lambda v: tnp.prod(v, axis=(0, 2), keepdims=True), (x,), order=2,
               reference=lambda v: jnp.prod(v, axis=(0, 2), keepdims=True))


def test_product_gradients_at_zeros_to_third_order():
    x = jnp.asarray([0.0, 2.0, 0.0, -1.5])
    u = jnp.asarray([0.3, -1.0, 2.0, 0.5])
    f = lambda v: tnp.prod(v) + tnp.sum(tnp.cumprod(v) ** 2)
    jf = lambda v: jnp.prod(v) + jnp.sum(jnp.cumprod(v) ** 2)
    # Third derivative along u, by reverse over reverse over reverse.
    d3 = lambda v: tnp.sum(tg.grad(lambda w: tnp.sum(tg.grad(f)(w) * u))(v) * u)
    jd3 = lambda v: jnp.sum(jax.grad(lambda w: jnp.sum(jax.grad(jf)(w) * u))(v) * u)
    np.testing.assert_allclose(tg.grad(d3)(x), jax.grad(jd3)(x), rtol=1e-12, atol=1e-12)
    # Explicitly: d prod / dx_k is the product of the others, with no division by x.
    np.testing.assert_array_equal(tg.grad(tnp.prod)(jnp.asarray([0.0, 2.0, 3.0])), [6.0, 0.0, 0.0])
    np.testing.assert_array_equal(tg.grad(tnp.prod)(jnp.asarray([0.0, 2.0, 0.0])), [0.0, 0.0, 0.0])


def test_products_under_jit_and_vmap():
    x = jnp.asarray([[1.0, 0.0, 2.0], [3.0, 4.0, 0.5]])
    f = lambda v: tnp.sum(tnp.prod(v, axis=1)) + tnp.sum(tnp.cumprod(v, axis=0)[-1])
    jf = lambda v: jnp.sum(jnp.prod(v, axis=1)) + jnp.sum(jnp.cumprod(v, axis=0)[-1])
    np.testing.assert_allclose(jax.jit(tg.grad(f))(x), jax.grad(jf)(x), rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(tg.grad(lambda r: tnp.prod(r)))(x), jax.vmap(jax.grad(jnp.prod))(x))


# ---- ties, masks, ddof, log-sum-exp options ---------------------------------------------

def _vjp_equal(fn, ref, *args, tol=1e-13):
    # Op by op: JAX would otherwise compile each jitted jnp function once per static argument set.
    with jax.disable_jit():
        out = ref(*args)
        g = jnp.asarray(np.random.default_rng(3).normal(size=np.shape(out)))
        got, want = tg.vjp(fn, *args)[1](g), jax.vjp(ref, *args)[1](g)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol, equal_nan=True)


def test_tied_extrema_share_the_gradient_like_jax():
    x = jnp.asarray([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for axis in (None, 1):
        _vjp_equal(lambda v, a=axis: tnp.max(v, axis=a), lambda v, a=axis: jnp.max(v, axis=a), x)
        _vjp_equal(lambda v, a=axis: tnp.min(v, axis=a), lambda v, a=axis: jnp.min(v, axis=a), x)


def test_where_and_initial_match_jax():
    x = jnp.asarray([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    m = jnp.asarray([[True, False, True], [False, False, True]])
    _vjp_equal(lambda v: tnp.sum(v, axis=1, where=m, initial=2.0),
               lambda v: jnp.sum(v, axis=1, where=m, initial=2.0), x)
    _vjp_equal(lambda v: tnp.prod(v, axis=0, where=m, initial=1.5),
               lambda v: jnp.prod(v, axis=0, where=m, initial=1.5), x)
    _vjp_equal(lambda v: tnp.mean(v, axis=1, where=m), lambda v: jnp.mean(v, axis=1, where=m), x)
    _vjp_equal(lambda v: tnp.max(v, axis=1, where=m, initial=1.0),  # ties with initial split too
               lambda v: jnp.max(v, axis=1, where=m, initial=1.0), x)
    _vjp_equal(lambda v: tnp.var(v, axis=1, where=m), lambda v: jnp.var(v, axis=1, where=m), x)
    _vjp_equal(lambda v: tnp.std(v, axis=1, where=m, ddof=1),
               lambda v: jnp.std(v, axis=1, where=m, ddof=1), x)
    _vjp_equal(lambda v: tnp.logsumexp(v, axis=0, where=m), lambda v: jsp.logsumexp(v, axis=0, where=m), x)
    with pytest.raises(ValueError, match="initial"):
        tnp.max(x, where=m)


def test_var_and_std_options_match_jax():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 4)))
    _vjp_equal(lambda v: tnp.var(v, axis=0, correction=1), lambda v: jnp.var(v, axis=0, correction=1), x)
    _vjp_equal(lambda v: tnp.std(v, axis=(0, 1), ddof=2, keepdims=True),
               lambda v: jnp.std(v, axis=(0, 1), ddof=2, keepdims=True), x)
    mu = jnp.mean(x, axis=1, keepdims=True)
    _vjp_equal(lambda v: tnp.var(v, axis=1, mean=mu), lambda v: jnp.var(v, axis=1, mean=mu), x)
    # ddof >= N: NaN, as jax.numpy, with a zero (not NaN) gradient.
    _vjp_equal(lambda v: tnp.var(v, axis=0, ddof=3), lambda v: jnp.var(v, axis=0, ddof=3), x)
    assert tnp.var(jnp.arange(4, dtype="int32")).dtype == jnp.var(jnp.arange(4, dtype="int32")).dtype
    with pytest.raises(ValueError, match="ddof and correction"):
        tnp.var(x, ddof=1, correction=1)


def test_std_at_zero_variance_matches_jax():
    x = jnp.asarray([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    _vjp_equal(lambda v: tnp.std(v, axis=1), lambda v: jnp.std(v, axis=1), x)
    got = tg.grad(lambda v: tnp.std(v))(jnp.full(3, 2.0))
    want = jax.grad(jnp.std)(jnp.full(3, 2.0))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_logsumexp_options_match_jax():
    rng = np.random.default_rng(1)
    a = jnp.asarray(rng.normal(size=(2, 3)))
    b = jnp.asarray(rng.uniform(0.5, 2.0, size=(3,)))  # broadcasts against a
    assert_vjp(lambda x, w: tnp.logsumexp(x, axis=1, b=w), (a, b), order=1,
              reference=lambda x, w: jsp.logsumexp(x, axis=1, b=w))
    # return_sign: log|sum| and its sign; the log part is differentiable.
    bs = jnp.asarray([1.0, -2.0, 0.5])
    out, sign = tnp.logsumexp(a, axis=1, b=bs, return_sign=True)
    want_out, want_sign = jsp.logsumexp(a, axis=1, b=bs, return_sign=True)
    np.testing.assert_allclose(out, want_out, rtol=1e-13)
    np.testing.assert_array_equal(sign, want_sign)
    _vjp_equal(lambda x: tnp.logsumexp(x, axis=1, b=bs, return_sign=True)[0],
               lambda x: jsp.logsumexp(x, axis=1, b=bs, return_sign=True)[0], a)
    # Stable for large inputs; gradient is the softmax.
    big = jnp.asarray([1000.0, 1001.0, 999.0])
    np.testing.assert_allclose(tnp.logsumexp(big), jsp.logsumexp(big), rtol=1e-15)
    np.testing.assert_allclose(tg.grad(tnp.logsumexp)(big), jax.nn.softmax(big), rtol=1e-12)
    # Fully masked (-inf) rows give jax's numbers (NaN gradient) rather than something made up.
    _vjp_equal(lambda x: tnp.logsumexp(x, axis=1), lambda x: jsp.logsumexp(x, axis=1),
               jnp.asarray([[-np.inf, -np.inf], [0.0, 1.0]]))


def test_logsumexp_gradient_for_zero_weights_is_the_true_derivative():
    # jax masks a where b == 0 and so reports d/db = 0 there; the function is smooth in b,
    # and finite differences agree with tapegrad's exp(a - out).
    a = jnp.asarray([0.5, -1.0, 2.0])
    b = jnp.asarray([1.0, 0.0, 2.0])
    assert_vjp(lambda x, w: tnp.logsumexp(x, b=w), (a, b), order=2)


def test_axis_spellings_and_dtypes_follow_jnp():
    x = jnp.ones((2, 3, 4), "float32")
    got, want = tnp.var(x, axis=[0, 2], keepdims=True), jnp.var(x, axis=[0, 2], keepdims=True)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert tnp.logsumexp(x, axis=()).shape == jsp.logsumexp(x, axis=()).shape
    assert tnp.cumsum(jnp.float32(2.0)).shape == (1,)
    assert tnp.cumsum(jnp.asarray([True, True])).dtype == jnp.cumsum(jnp.asarray([True, True])).dtype
    np.testing.assert_array_equal(tnp.cumprod(jnp.arange(1, 5), dtype="float32"),
                                  jnp.cumprod(jnp.arange(1, 5), dtype="float32"))


def test_tracer_methods_differentiate():
    x = jnp.asarray([[1.0, 2.0], [3.0, 0.0]])
    got = tg.grad(lambda v: v.prod(axis=0).sum() + v.var() + v.std(axis=1).sum() + v.max())(x)
    want = jax.grad(lambda v: v.prod(axis=0).sum() + v.var() + v.std(axis=1).sum() + v.max())(x)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_bad_axes_and_out_are_clear_errors():
    x = jnp.ones((2, 3))
    with pytest.raises(ValueError, match=r"sum.*float64\[2,3\]"):
        tnp.sum(x, axis=2)
    with pytest.raises(ValueError, match="cumsum.*axis 2"):
        tnp.cumsum(x, axis=2)
    with pytest.raises(ValueError, match="prod.*(duplicate|repeated)"):
        tg.grad(lambda v: tnp.prod(v, axis=(0, -2)).sum())(x)
    with pytest.raises(NotImplementedError, match="'out'"):
        tnp.prod(x, out=x)


def test_tg_jvp_matches_jax_jvp():
    x = jnp.asarray([[0.3, 0.0, 2.0], [1.5, -0.7, 0.4]])
    t = jnp.asarray([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
    for fn, ref in [(lambda v: tnp.prod(v, axis=1), lambda v: jnp.prod(v, axis=1)),
                    (lambda v: tnp.cumprod(v, axis=1), lambda v: jnp.cumprod(v, axis=1)),
                    (lambda v: tnp.cumsum(v), lambda v: jnp.cumsum(v)),
                    (lambda v: tnp.std(v, axis=0, ddof=1), lambda v: jnp.std(v, axis=0, ddof=1)),
                    (lambda v: tnp.logsumexp(v, axis=-1, keepdims=True),
                     lambda v: jsp.logsumexp(v, axis=-1, keepdims=True)),
                    (lambda v: tnp.max(v, axis=0), lambda v: jnp.max(v, axis=0))]:
        out, tout = tg.jvp(fn, (x,), (t,))
        want, want_t = jax.jvp(ref, (x,), (t,))
        np.testing.assert_allclose(out, want, rtol=1e-14)
        np.testing.assert_allclose(tout, want_t, rtol=1e-13, atol=1e-15)
