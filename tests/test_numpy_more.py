"""The rest of jax.numpy's differentiable surface (issue 13 §2): each function against jax.vjp/jax.jvp of
the same jnp function, central finite differences in float64 and second order; complex inputs through
their real and imaginary parts; torch where torch has the op; NumPy's array-likes (lists holding
tracers) and the tracer methods against jax.Array's."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.testing import assert_vjp


def _x(shape, seed=0, lo=-2.0, hi=2.0):
    return jnp.asarray(np.random.default_rng(seed).uniform(lo, hi, shape))


def _same(fn):
    """A case whose tnp and jnp calls are spelled alike: ``fn(tnp)`` and ``fn(jnp)``."""
    return fn(tnp), fn(jnp)


# Few shapes, shared by the cases: XLA compiles each op once per shape, and compiling dominates the time.
A = _x((3, 4))  # the matrix
V = _x((4,), 1)  # the vector (A's rows broadcast with it)
P = _x((4,), 2, 0.5, 2.0)  # positive
K = jnp.array([0.0, 0.5, 1.5, 3.0])  # increasing knots
Q = jnp.array([0.1, 0.45, 0.93])  # away from every method's kinks (q * (n - 1) never .0 or .5 for n = 3, 4)
IDX = jnp.array([0, 2, 2])
MASK = np.asarray(A > 0)  # a concrete mask: the shapes of extract's result depend on it


def _joins(m):
    def f(a, v):
        b = a[::-1]
        return (m.append(a, b, axis=1), m.append(a, v), m.block([[a, b[:, :1]], [v[None], v[None, :1]]]),
                m.stack(m.broadcast_arrays(a, v)), m.concat([a, v[None]], axis=0), m.concat([a, v], axis=None),
                m.dstack([a, b]), m.permute_dims(a[None], (2, 0, 1)), m.rollaxis(a[None], 2, 1), m.resize(a, (5, 3)),
                m.diagflat(v, -1))
    return f


def _removals(m):
    def f(a, v):
        return (m.delete(a, np.array([0, 2]), axis=1), m.delete(a, 1), m.insert(a, 1, v[:3], axis=1),
                m.insert(v, IDX, v[:3]), m.fill_diagonal(a, v[:2], inplace=False))
    return f


def _splits(m):
    def f(a):
        a3 = m.reshape(a, (3, 2, 2))
        return (*m.array_split(a, 3, axis=1), *m.hsplit(a, [1]), m.vsplit(a[:2], 2)[1], *m.dsplit(a3, 2),
                *m.unstack(a, axis=1))
    return f


def _selections(m):
    def f(a, v):
        return (m.choose(jnp.array([[0, 2, 1, 0]] * 3), [a, v, a * v], mode="clip"),
                m.compress(jnp.array([True, False, True]), a, size=3, fill_value=7.0),
                m.extract(MASK, a, size=int(MASK.sum())),
                m.place(a, MASK, v[:2], inplace=False),
                m.put(a, jnp.array([13, -1, 3]), v[:3], mode="wrap", inplace=False),
                m.put_along_axis(a, jnp.array([[2], [0], [1]]), v[:3, None], axis=1, inplace=False),
                m.partition(a, 1, axis=0), m.real(m.sort_complex(a)))
    return f


# name -> (tnp function, jnp reference, args, order). Non-empty, float64, broadcasting where the op does.
# The linear ones (joins, splits, selections: their Jacobian is constant) at first order, in groups.
CASES = {
    "joins": (_joins(tnp), _joins(jnp), [A, V], 1),
    "removals_insertions": (_removals(tnp), _removals(jnp), [A, V], 1),
    "splits": (_splits(tnp), _splits(jnp), [A], 1),
    "selections": (_selections(tnp), _selections(jnp), [A, V], 1),
    "ediff1d_scans": (*_same(lambda m: lambda a, v: (m.ediff1d(a, to_end=v, to_begin=1.0),
                                                     m.cumulative_sum(a, axis=1, include_initial=True),
                                                     m.nancumsum(a, 0))), [A, V], 1),
    # elementwise
    "float_power": (*_same(lambda m: m.float_power), [A + 2.5, V], 2),
    "heaviside": (*_same(lambda m: lambda a, b: (m.heaviside(a, b),
                                                 m.heaviside(jnp.array([-1.0, 0.0, 2.0, 0.0]), b))), [A, V], 2),
    "i0": (*_same(lambda m: m.i0), [A * 1.5], 2),
    "ldexp": (*_same(lambda m: lambda a: m.ldexp(a, jnp.array([1, -2, 3, 0]))), [A], 2),
    "cumulative_prod": (*_same(lambda m: lambda a: (m.cumulative_prod(a, axis=0, include_initial=True),
                                                    m.nancumprod(a, 1))), [A], 2),
    # products
    "vecdot_matvec_vecmat": (*_same(lambda m: lambda a, v: (m.vecdot(a, v), m.matvec(a, v), m.vecmat(v[:3], a))),
                             [A, V], 2),
    # statistics
    "ptp": (*_same(lambda m: lambda a: m.ptp(a, axis=0, keepdims=True)), [A], 2),
    "average": (*_same(lambda m: lambda a, w: (m.average(a, axis=1, weights=w, returned=True),
                                               m.average(m.stack([a, a * a]), axis=(2, 1),
                                                         weights=m.outer(w, w[:3])))), [A, P], 2),
    "cov": (*_same(lambda m: lambda a, v: (m.cov(a, v), m.cov(a, rowvar=False, fweights=jnp.array([1, 2, 1]),
                                                                aweights=v[:3] ** 2 + 0.5))), [A, V], 2),
    "corrcoef": (*_same(lambda m: m.corrcoef), [A], 2),
    "quantile": (*_same(lambda m: lambda a, q: m.quantile(a, q, axis=1)), [A, Q], 2),
    "quantile_methods": (*_same(lambda m: lambda a, q: tuple(m.quantile(a, q, axis=(0, 1), method=k, keepdims=True)
                                                             for k in ("lower", "higher", "midpoint", "nearest",
                                                                       "inverted_cdf"))), [A, Q], 1),
    "percentile": (*_same(lambda m: lambda a, q: m.percentile(a, q, axis=0)), [A, Q * 100], 2),
    # NaN-ignoring reductions (on NaN-free inputs here; at NaNs below)
    "nan_reductions": (*_same(lambda m: lambda a: m.stack([
        m.nanprod(a, 0), m.nanvar(a, 0, ddof=1), m.nanstd(a, 0), m.nanquantile(a, .3, 0)])), [A], 2),
    "nan_reductions_piecewise_linear": (*_same(lambda m: lambda a: m.stack([
        m.nansum(a, 0), m.nanmax(a, 0), m.nanmin(a, 0), m.nanmean(a, 0), m.nanmedian(a, 0),
        m.nanpercentile(a, 70, 0, method="nearest")])), [A], 1),
    # signals
    "convolve_correlate": (*_same(lambda m: lambda a, v: (m.convolve(a, v), m.convolve(v, a, "same"),
                                                          m.convolve(a, v, "valid"), m.correlate(a, v),
                                                          m.correlate(v, a, "full"), m.correlate(a, v, "same"))),
                           [A[0, :3], V], 2),
    "interp": (*_same(lambda m: m.interp), [A.ravel() + 1.0, K, V], 2),
    "interp_ends_period": (*_same(lambda m: lambda x, xp, fp: (m.interp(x, xp, fp, left=fp[1], right="extrapolate"),
                                                               m.interp(x, xp + 0.2, fp, period=3.5))),
                           [A.ravel() + 1.0, K, V], 1),
    "gradient_trapezoid": (*_same(lambda m: lambda a, h: (*m.gradient(a, 0.5, h), m.trapezoid(a, h),
                                                          m.trapezoid(a, dx=0.3, axis=0))), [A, K], 2),
    "unwrap": (*_same(lambda m: m.unwrap), [A * 3.5], 2),
    # polynomials
    "poly_arith": (*_same(lambda m: lambda p, v: (m.poly(p), m.polyadd(p, v) * m.polysub(v, p), m.polymul(p, v),
                                                  m.polyder(m.polyint(v, 2, p[:2]) * v[0], 3))), [V[:3], V], 2),
    "polydiv": (*_same(lambda m: lambda u, v: m.concatenate(m.polydiv(u, v))), [A[0], P[:3]], 2),
    "polyval_vander": (*_same(lambda m: lambda p, x: (m.polyval(p, x), m.vander(x[0], 4),
                                                      m.vander(x[0], increasing=True))), [V, A], 2),
    "polyfit": (*_same(lambda m: lambda x, y, w: m.polyfit(x, y, 2, w=w, cov=True)), [K + 0.2, V, P], 1),
}


def _against_jax(fun, ref, args, order=1, seed=0, pytorch_complex=False):
    """The outputs, ``J^T u`` at a random cotangent ``u``, ``J v`` along random directions ``v`` and, for
    ``order=2``, the gradient of ``<J^T u, v>`` (a second derivative), from tapegrad and from jax, equal to
    rounding. Each side is one jitted program: XLA compiles it once, where an eager check compiles every
    op of every derivative separately (most of a check's time). ``pytorch_complex``: complex arguments,
    whose VJP is PyTorch's ``conj(jax_vjp(conj(u)))``."""
    cplx = (lambda t: jnp.conj(t)) if pytorch_complex else (lambda t: t)
    imag = 1j if pytorch_complex else 0
    u = jax.tree_util.tree_map(lambda o: (_x(o.shape, seed + 7) + imag * _x(o.shape, seed + 8)).astype(o.dtype),
                               jax.eval_shape(ref, *args))
    v = tuple(_x(a.shape, seed + 11 + i).astype(a.dtype) for i, a in enumerate(args))

    def program(vjp, jvp, grad, m, f, conj):
        def pullback(a):
            ct = vjp(f, *a)[1](jax.tree_util.tree_map(conj, u))
            return tuple(conj(c) for c in (ct if isinstance(ct, tuple) else (ct,)))

        def run(a):
            res = [f(*a), pullback(a), jvp(f, a, v)[1]]
            if order == 2:
                res.append(grad(lambda *b: sum(m.sum(m.real(c * w)) for c, w in zip(pullback(b), v)),
                                argnums=tuple(range(len(a))))(*a))
            return res
        return jax.jit(run)

    ours = program(tg.vjp, tg.jvp, tg.grad, tnp, fun, lambda t: t)(tuple(args))
    theirs = program(jax.vjp, jax.jvp, jax.grad, jnp, ref, cplx)(tuple(args))
    for o, t in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs), strict=True):
        assert o.shape == t.shape and o.dtype == t.dtype
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_jax(name):
    fun, ref, args, order = CASES[name]
    for ours, theirs in zip(jax.tree_util.tree_leaves(fun(*args)), jax.tree_util.tree_leaves(ref(*args)), strict=True):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, name
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-11, atol=1e-12)
    _against_jax(fun, ref, args, order)


# The oracle independent of jax: central finite differences (and the transpose test, and jax again), to
# second order, eagerly, for the functions whose derivatives are most their own (interpolation weights,
# NaN masks, a Bessel function, data-dependent intervals).
FINITE_DIFFERENCES = ("i0", "quantile")


@pytest.mark.parametrize("name", FINITE_DIFFERENCES)
def test_finite_differences_second_order(name):
    fun, ref, args, order = CASES[name]
    assert_vjp(fun, args, order=2, reference=ref)


def test_roots_and_matrix_poly_against_finite_differences():
    # jax.grad of jnp.roots needs non-symmetric eigenvector derivatives, which jax refuses: finite differences
    # are the oracle (real and complex-conjugate roots), and the values equal jnp.roots'.
    p = jnp.array([2.0, 0.5, 2.5, 1.2])  # a real root and a complex pair
    np.testing.assert_allclose(np.asarray(tnp.roots(p)), np.asarray(jnp.roots(p)), rtol=1e-12)
    assert_vjp(lambda c: tnp.stack([tnp.real(tnp.roots(c)), tnp.imag(tnp.roots(c))]), [p], order=2)
    np.testing.assert_allclose(np.asarray(tnp.roots(jnp.array([0.0, 1.0, -3.0, 2.0]))),
                               np.asarray(jnp.roots(jnp.array([0.0, 1.0, -3.0, 2.0]))), rtol=1e-12)
    # poly of a square matrix: its characteristic polynomial, through the eigenvalues (jax cannot
    # differentiate jnp.poly there either: finite differences again).
    m = jnp.array([[2.0, 1.0, 0.0], [0.5, 3.0, 1.0], [0.0, 1.0, 1.0]])
    np.testing.assert_allclose(np.asarray(tnp.poly(m)), np.asarray(jnp.poly(m)), rtol=1e-12)
    assert_vjp(lambda a: tnp.real(tnp.poly(a)), [m], order=1)
    p0 = jnp.array([0.0, 1.0, -3.0, 2.0])
    np.testing.assert_allclose(np.asarray(tnp.roots(p0, strip_zeros=False)),
                               np.asarray(jnp.roots(p0, strip_zeros=False)), rtol=1e-12)


def _parts(m, f):
    """``f`` of a complex argument as a function of its real and imaginary parts, giving both parts."""
    def g(*reim):
        z = [reim[i] + 1j * reim[i + 1] for i in range(0, len(reim), 2)]
        out = f(*z)
        return jax.tree_util.tree_map(lambda o: (m.real(o), m.imag(o)), out)
    return g


COMPLEX = {
    "convolve_polynomials": (lambda m: lambda a, v: (m.convolve(a, v), m.correlate(a, v, "same"), m.polymul(v, a),
                                                     m.polyval(a, v)), [(4,), (3,)]),
    "reductions_products": (lambda m: lambda a, v: (m.cumulative_sum(a, axis=0, include_initial=True),
                                                    m.average(a, axis=0) + m.trapezoid(a, axis=0),
                                                    m.nansum(a, 0) * m.nanmean(a, 0), m.vecdot(a, v),
                                                    m.vecmat(v, m.outer(v, v))), [(4, 3), (3,)]),
    "cov_corrcoef": (lambda m: lambda a: m.cov(a) + m.corrcoef(a), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_complex_inputs(name):
    make, shapes = COMPLEX[name]
    parts = [_x(s, seed=2 * i + k) for i, s in enumerate(shapes) for k in (0, 1)]
    # As functions of the real and imaginary parts (real in, real out), to second order ...
    _against_jax(_parts(tnp, make(tnp)), _parts(jnp, make(jnp)), parts, order=2)
    # ... and on the complex function itself, in PyTorch's convention: vjp(g) = conj(jax_vjp(conj(g))).
    z = [parts[i] + 1j * parts[i + 1] for i in range(0, len(parts), 2)]
    _against_jax(make(tnp), make(jnp), z, order=1, pytorch_complex=True)


NAN_CALLS = (("nansum", {"axis": 1}), ("nanprod", {"axis": 1}), ("nanmax", {"axis": (0, 1), "keepdims": True}),
             ("nanmin", {"axis": 0}), ("nanmean", {"axis": 1}), ("nanvar", {"axis": 1, "ddof": 1}),
             ("nanstd", {"axis": 0, "keepdims": True}), ("nanmedian", {"axis": 1}), ("nancumsum", {"axis": 1}),
             ("nancumprod", {"axis": 0}), ("nanquantile", {"q": Q, "axis": 1}),
             ("nanpercentile", {"q": Q * 100, "axis": 1, "method": "inverted_cdf"}))


def test_nan_functions_at_nans_match_jax_grad():
    a = A.at[0, 1].set(jnp.nan).at[2, :].set(jnp.nan)  # one NaN, and an all-NaN row

    def program(m, grad):
        def run(a, q):
            outs = [getattr(m, n)(a, **kw) for n, kw in NAN_CALLS]
            # jax's gradient conventions: zero at the NaNs, the plain reduction's elsewhere, no NaN leaking.
            grads = [grad(lambda x, n=n, kw=kw: m.nansum(m.sin(getattr(m, n)(x, **kw))))(a) for n, kw in NAN_CALLS]
            quantiles = [m.nanquantile(a, q, axis=1, method=k) for k in ("lower", "higher", "midpoint", "nearest")]
            dq = grad(lambda q: m.nansum(m.nanquantile(a, q, axis=1)))(q)  # over the non-NaN count
            return outs, grads, quantiles, dq
        return jax.jit(run)

    ours, theirs = program(tnp, tg.grad)(a, Q), program(jnp, jax.grad)(a, Q)
    for o, t in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs), strict=True):
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-11, atol=1e-13)
    for n in ("nanargmax", "nanargmin"):
        np.testing.assert_array_equal(np.asarray(getattr(tnp, n)(a, axis=1)), np.asarray(getattr(jnp, n)(a, axis=1)))


def test_quantiles_every_method_and_weights():
    for method in ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf"):
        for axis, keepdims, q in ((None, False, Q), (-1, True, 0.37)):
            np.testing.assert_allclose(np.asarray(tnp.quantile(A, q, axis=axis, method=method, keepdims=keepdims)),
                                       np.asarray(jnp.quantile(A, q, axis=axis, method=method, keepdims=keepdims)),
                                       rtol=1e-13)
    w = P[:3]
    np.testing.assert_allclose(np.asarray(tnp.quantile(A, Q, axis=0, method="inverted_cdf", weights=w)),
                               np.asarray(jnp.quantile(A, Q, axis=0, method="inverted_cdf", weights=w)))
    # A NaN makes its slice's quantile NaN.
    an = A.at[0, 1].set(jnp.nan)
    np.testing.assert_allclose(np.asarray(tnp.quantile(an, Q, axis=1)), np.asarray(jnp.quantile(an, Q, axis=1)))
    with pytest.raises(ValueError, match="tnp.quantile: method"):
        tnp.quantile(A, 0.5, method="hazen")
    with pytest.raises(NotImplementedError, match="inverted_cdf"):
        tnp.quantile(A, 0.5, axis=0, weights=w)


def _torch_check(fun, tfun, args, seed=0):
    targs = [torch.tensor(np.asarray(a), requires_grad=True) for a in args]
    tout = tfun(*targs)
    cot = np.random.default_rng(seed).standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(cot))

    def ours(args, cot):
        out, back = tg.vjp(fun, *args)
        grads = back(cot)
        return out, grads if isinstance(grads, tuple) else (grads,)

    out, grads = jax.jit(ours)(tuple(args), jnp.asarray(cot))  # one compile, not one per op
    np.testing.assert_allclose(np.asarray(out), tout.detach().numpy(), rtol=1e-11, atol=1e-12)
    for g, t in zip(grads, targs, strict=True):
        np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_against_torch():
    an = A.at[1, 2].set(jnp.nan).at[2, 0].set(jnp.nan)
    qt = torch.tensor(np.asarray(Q))
    cases = [
        (lambda x: tnp.nansum(x, axis=1), lambda x: torch.nansum(x, dim=1), [an]),
        (lambda x: tnp.nanmean(x, axis=0), lambda x: torch.nanmean(x, dim=0), [an]),
        (lambda x, y: tnp.quantile(x, y, axis=1), lambda x, y: torch.quantile(x, y, dim=1), [A, Q]),
        (lambda x: tnp.nanquantile(x, Q, axis=1, method="midpoint"),
         lambda x: torch.nanquantile(x, qt, dim=1, interpolation="midpoint"), [an]),
        (lambda x: tnp.quantile(x, Q, axis=0, method="nearest"),
         lambda x: torch.quantile(x, qt, dim=0, interpolation="nearest"), [A]),
        (lambda y, x: tnp.trapezoid(y, x), lambda y, x: torch.trapezoid(y, x), [A, K]),
        (lambda x, w: tnp.cov(x, aweights=w), lambda x, w: torch.cov(x, aweights=w), [A, P]),
        (tnp.corrcoef, torch.corrcoef, [A]),
        (tnp.float_power, torch.float_power, [P, V]),
        (lambda x: tnp.ldexp(x, jnp.array([1, 2, -1, 0])),
         lambda x: torch.ldexp(x, torch.tensor([1.0, 2.0, -1.0, 0.0], dtype=torch.float64)), [A]),
        (lambda x, y: tnp.vecdot(x, y), lambda x, y: torch.linalg.vecdot(x, y), [A, V]),
        (lambda x: tnp.stack(tnp.gradient(x, 0.5)), lambda x: torch.stack(torch.gradient(x, spacing=0.5)), [A]),
        (tnp.i0, torch.i0, [A]),
    ]
    for i, (fun, tfun, args) in enumerate(cases):
        _torch_check(fun, tfun, args, seed=i)


def test_array_likes_hold_tracers():
    # Lists and tuples holding tracers and Python scalars are NumPy's array-likes: every tnp function
    # takes them (one conversion, in every primitive), and the gradient reaches each element.
    a, b = 0.5, -1.25
    cases = {
        "mean": (lambda a, b: tnp.mean([a, b]), lambda a, b: jnp.mean(jnp.array([a, b]))),
        "norm": (lambda a, b: tnp.linalg.norm([a, b]), lambda a, b: jnp.linalg.norm(jnp.array([a, b]))),
        "stack": (lambda a, b: tnp.sum(tnp.stack((a, 1.0)) * b), lambda a, b: jnp.sum(jnp.stack((a, 1.0)) * b)),
        "nested": (lambda a, b: tnp.sum(tnp.exp([[a, b], (b, 2.0)])),
                   lambda a, b: jnp.sum(jnp.exp(jnp.array([[a, b], [b, 2.0]])))),
        "binary": (lambda a, b: tnp.dot([a, b], [b, 3.0]),
                   lambda a, b: jnp.dot(jnp.array([a, b]), jnp.array([b, 3.0]))),
        "where": (lambda a, b: tnp.sum(tnp.where([True, False], [a, b], 0.5)),
                  lambda a, b: jnp.sum(jnp.where(jnp.array([True, False]), jnp.array([a, b]), 0.5))),
        "concatenate": (lambda a, b: tnp.sum(tnp.concatenate([[a, b], [1.0]]) ** 3),
                        lambda a, b: jnp.sum(jnp.concatenate([jnp.array([a, b]), jnp.array([1.0])]) ** 3)),
        "clip_numpy_names": (lambda a, b: tnp.sum(tnp.clip([a, b], a_min=-1.0, a_max=1.0)),
                             lambda a, b: jnp.sum(jnp.clip(jnp.array([a, b]), min=-1.0, max=1.0))),
        "clip_min_max": (lambda a, b: tnp.clip(a, min=b, max=1.0), lambda a, b: jnp.clip(a, min=b, max=1.0)),
    }
    # Under jax.jit (one program per side) ...
    ours = jax.jit(lambda a, b: {k: tg.grad(f, argnums=(0, 1))(a, b) for k, (f, _) in cases.items()})(a, b)
    theirs = jax.jit(lambda a, b: {k: jax.grad(f, argnums=(0, 1))(a, b) for k, (_, f) in cases.items()})(a, b)
    for name in cases:
        np.testing.assert_allclose(np.asarray(ours[name]), np.asarray(theirs[name]), rtol=1e-12, err_msg=name)
    # ... eagerly, and to second order through a list.
    for name in ("mean", "norm"):
        g = tg.grad(cases[name][0], argnums=(0, 1))(a, b)
        np.testing.assert_allclose(np.asarray(g), np.asarray(theirs[name]), rtol=1e-12, err_msg=name)
    h2 = tg.hessian(lambda v: tnp.sum(tnp.stack([v[0] ** 3, v[1] * v[0]]) ** 2))(jnp.array([a, b]))
    h2j = jax.hessian(lambda v: jnp.sum(jnp.stack([v[0] ** 3, v[1] * v[0]]) ** 2))(jnp.array([a, b]))
    np.testing.assert_allclose(np.asarray(h2), np.asarray(h2j), rtol=1e-12)
    assert tnp.shape([[1.0, 2.0]]) == (1, 2) and tnp.result_type([1.0]) == jnp.result_type(jnp.array([1.0]))
    with pytest.raises(TypeError, match="a_min"):
        tnp.clip(1.0, 0.0, a_min=0.5)


# jax.Array's computational methods; the rest of dir(jax.Array) are buffers, devices and shards (where a
# tracer's value lives), and `trace`, which a Tracer's level occupies (tnp.trace is the function).
NOT_METHODS = {"addressable_data", "addressable_shards", "byteswap", "committed", "copy_to_host_async",
               "format", "global_shards", "is_deleted", "is_fully_addressable", "is_fully_replicated", "is_ready",
               "on_device_size_in_bytes", "platform", "to_device", "tobytes", "traceback", "unsafe_buffer_pointer",
               "weak_type", "aval", "clone", "delete", "device_buffer", "device_buffers", "trace"}


def test_tracer_has_jax_array_methods():
    from tapegrad.core.tracer import Tracer

    public = {n for n in dir(jax.Array) if not n.startswith("_")}
    missing = sorted(public - set(dir(Tracer)) - NOT_METHODS)
    assert not missing, f"jax.Array methods a tapegrad Tracer lacks: {missing}"
    dunders = {"__and__", "__or__", "__xor__", "__invert__", "__lshift__", "__rshift__", "__divmod__", "__round__",
               "__contains__", "__copy__", "__deepcopy__", "__complex__", "__index__", "__matmul__", "__pow__"}
    assert dunders <= set(dir(Tracer))


METHOD_CALLS = {
    "cumsum": lambda x: x.cumsum(1), "cumprod": lambda x: x.cumprod(axis=0), "round": lambda x: x.round(1),
    "real": lambda x: x.real, "imag": lambda x: x.imag + x, "conj": lambda x: x.conj(),
    "conjugate": lambda x: x.conjugate(), "clip": lambda x: x.clip(-0.5, 1.0), "prod": lambda x: x.prod(0),
    "std": lambda x: x.std(1, ddof=1), "var": lambda x: x.var(None, None, None, 0, True),
    "dot": lambda x: x.dot(x.T), "argsort": lambda x: x.argsort(0), "repeat": lambda x: x.repeat(2, 1),
    "take": lambda x: x.take(np.array([0, 2]), 1), "all": lambda x: (x > -3).all(0),
    "any": lambda x: (x > 1).any(1, keepdims=True), "ptp": lambda x: x.ptp(0), "nonzero": lambda x: (x > 0).nonzero(),
    "searchsorted": lambda x: x.sort(1)[0].searchsorted(0.1), "diagonal": lambda x: x.diagonal(),
    "sort": lambda x: x.sort(1, descending=True), "argpartition": lambda x: x.argpartition(1, axis=0),
    "compress": lambda x: x.compress(np.array([True, False, True]), axis=1),
    "flatten": lambda x: x.flatten(), "ravel": lambda x: x.ravel(), "squeeze": lambda x: x[None].squeeze(0),
    "swapaxes": lambda x: x.swapaxes(0, 1), "max": lambda x: x.max(0, keepdims=True),
    "min": lambda x: x.min(initial=0.0), "argmax": lambda x: x.argmax(1), "argmin": lambda x: x.argmin(None),
    "mean": lambda x: x.mean((0, 1)), "sum": lambda x: x.sum(1, None, None, True), "astype": lambda x: x.astype(
        "float32"), "reshape": lambda x: x.reshape(3, 2), "transpose": lambda x: x.transpose(1, 0),
    "view": lambda x: x.view("int64"), "mT": lambda x: x.mT, "divmod": lambda x: divmod(x, 0.7),
    "round_builtin": lambda x: round(x), "contains": lambda x: jnp.asarray(x[0, 0] in x[0]),
}


EAGER_ONLY = ("nonzero", "contains")  # a data-dependent shape; a Python bool


def test_tracer_methods_match_jax_array():
    x = _x((2, 3))

    def ours(x, names):
        # The methods called on a tracer inside tg.grad; aux hands their values back.
        return tg.grad(lambda t: (tnp.sum(t), {k: METHOD_CALLS[k](t) for k in names}), has_aux=True)(x)[1]

    jitted = [k for k in METHOD_CALLS if k not in EAGER_ONLY]
    got = {**jax.jit(lambda x: ours(x, jitted))(x), **ours(x, EAGER_ONLY)}
    for name, call in METHOD_CALLS.items():
        for o, t in zip(jax.tree_util.tree_leaves(got[name]), jax.tree_util.tree_leaves(call(x)), strict=True):
            assert np.asarray(o).dtype == np.asarray(t).dtype, name
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-12, err_msg=name)
    # Methods differentiate like their functions; concrete reads work eagerly.
    loss = lambda t: t.cumsum(0).ptp() + t.clip(max=0.5).std() + t.cumprod(1).sum() + t.real.var(0, ddof=1).sum()
    np.testing.assert_allclose(np.asarray(jax.jit(tg.grad(loss))(x)), np.asarray(jax.grad(loss)(x)), rtol=1e-12)
    seen = []
    tg.grad(lambda t: (seen.append((t.item(1), t.tolist(), t.itemsize, t.nbytes, t.copy() is t)), tnp.sum(t))[1])(x)
    assert seen[0] == (float(x[0, 1]), np.asarray(x).tolist(), 8, 48, True)


def test_errors_name_the_function():
    with pytest.raises(ValueError, match="tnp.array_split"):
        tnp.array_split(jnp.float64(1.0), 2)
    with pytest.raises(ValueError, match="tnp.hsplit"):
        tnp.hsplit(jnp.ones((2, 3)), 2)
    with pytest.raises(ValueError, match="tnp.convolve"):
        tnp.convolve(jnp.ones((2, 2)), jnp.ones(2))
    with pytest.raises(ValueError, match="tnp.interp"):
        tnp.interp(jnp.ones(2), jnp.ones(3), jnp.ones(2))
    with pytest.raises(ValueError, match="tnp.gradient"):
        tnp.gradient(jnp.ones(1))
    with pytest.raises(ValueError, match="tnp.put"):
        tnp.put(jnp.ones(3), [0], jnp.ones(1))
    with pytest.raises(NotImplementedError, match="tnp.fill_diagonal"):
        tnp.fill_diagonal(jnp.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="tnp.choose"):
        tnp.choose(jnp.array([0, 3]), [jnp.ones(2), jnp.zeros(2)])
    with pytest.raises(ValueError, match="tnp.average"):
        tnp.average(jnp.ones((2, 3)), weights=jnp.ones(3))
    with pytest.raises(ValueError, match="tnp.poly"):
        tnp.poly(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="tnp.cumulative_sum"):
        tnp.cumulative_sum(jnp.ones((2, 2)))
    with pytest.raises(TypeError, match="tnp.ldexp"):
        tnp.ldexp(1.0, 2.5)
