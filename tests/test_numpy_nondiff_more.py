"""tnp's integer, boolean, index, set, window, histogram and constructor functions (issue 13 §2).

Each name against jax.numpy: values and dtypes on several inputs (broadcasting, empty arrays, tracer
inputs inside ``tg.grad``), gradients against ``jax.grad``/``jax.vjp`` where JAX differentiates (sets'
values, histogram weights and edges, ranges' bounds, kaiser's beta, frexp/modf/divmod), zero where it
does not, ``jax.jit`` with ``size=``, and the errors. Table tests, one per family, to stay fast.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.testing import assert_vjp

X = jnp.array([3.0, 1.0, 2.0, 1.0, 5.0])  # a repeated value
XU = jnp.array([3.0, 1.0, 2.0, 4.5, 5.0])  # tie-free: finite differences see the same set
Y = jnp.array([1.0, 5.0, 7.0])
W = jnp.array([0.5, 1.5, 2.0, 3.0, 1.0])
I = jnp.array([[12, -7, 0], [5, 3, 255]])
J = jnp.array([3, 2, 1])


def _same(a, b, exact=True):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb), (a, b)
    for p, q in zip(la, lb):
        assert not isinstance(p, tg.Tracer)
        p, q = np.asarray(p), np.asarray(q)
        assert p.shape == q.shape and p.dtype == q.dtype, (p, q)
        if exact:
            np.testing.assert_array_equal(p, q)
        else:
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _plain_inside_grad(op, ref, args):
    """``op`` on tracers inside grad gives plain arrays equal to ``ref`` on the values, and zero gradients."""
    seen = []

    def f(*xs):
        out = op(*xs)
        seen.append(out)
        return sum(tnp.sum(tnp.astype(o, "float64")) for o in _as_tuple(out)) + tnp.sum(xs[0]) * 0

    grads = tg.grad(f, argnums=tuple(range(len(args))))(*args)
    _same(seen[0], ref(*args))
    for g in grads:
        assert not np.any(np.asarray(g))


# ---- bits and integers ------------------------------------------------------------------------------

BITWISE = [
    (tnp.bitwise_and, jnp.bitwise_and, (I, J)), (tnp.bitwise_or, jnp.bitwise_or, (I, J)),
    (tnp.bitwise_xor, jnp.bitwise_xor, (I, 6)), (tnp.bitwise_and, jnp.bitwise_and, (I > 0, [True, False, True])),
    (tnp.bitwise_not, jnp.bitwise_not, (I,)), (tnp.invert, jnp.invert, (I > 3,)),
    (tnp.bitwise_invert, jnp.bitwise_invert, (I.astype("uint8"),)), (tnp.bitwise_count, jnp.bitwise_count, (I,)),
    (tnp.left_shift, jnp.left_shift, (I, J)), (tnp.bitwise_left_shift, jnp.bitwise_left_shift, (J, 2)),
    (tnp.right_shift, jnp.right_shift, (I, J)), (tnp.bitwise_right_shift, jnp.bitwise_right_shift, (I, 1)),
    (tnp.right_shift, jnp.right_shift, (I.astype("uint8"), J.astype("uint8"))),
    (tnp.gcd, jnp.gcd, (I, J)), (tnp.lcm, jnp.lcm, (I, J)), (tnp.gcd, jnp.gcd, (jnp.zeros(0, int), 4)),
    (tnp.packbits, jnp.packbits, (I > 0,)), (lambda a: tnp.packbits(a, axis=1, bitorder="little"),
                                              lambda a: jnp.packbits(a, axis=1, bitorder="little"), (I,)),
    (tnp.unpackbits, jnp.unpackbits, (I.astype("uint8"),)),
    (lambda a: tnp.unpackbits(a, axis=0, count=5), lambda a: jnp.unpackbits(a, axis=0, count=5),
     (I.astype("uint8"),)),
]


def test_bitwise_and_integer_functions_match_jax():
    for op, ref, args in BITWISE:
        _same(op(*args), ref(*[jnp.asarray(a) for a in args]))
    # Python lists are accepted, as NumPy does.
    _same(tnp.bitwise_and([12, 10], [6, 6]), jnp.bitwise_and(jnp.array([12, 10]), 6))
    with pytest.raises(TypeError, match="bitwise_and"):
        tnp.bitwise_and(jnp.ones(2), 1)
    with pytest.raises((TypeError, ValueError), match="lcm"):
        tnp.lcm(jnp.ones(2), 2)


# ---- searching, ordering, predicates, indices -------------------------------------------------------

A2 = jnp.array([[0.0, 1.5, -2.0], [3.0, 0.0, 1.0]])
SORTED = jnp.array([1.0, 2.0, 2.0, 4.0])
NONDIFF = [
    (lambda a, v: tnp.searchsorted(a, v), lambda a, v: jnp.searchsorted(a, v), (SORTED, A2)),
    (lambda a, v: tnp.searchsorted(a, v, side="right", sorter=jnp.array([3, 1, 0, 2])),
     lambda a, v: jnp.searchsorted(a, v, side="right", sorter=jnp.array([3, 1, 0, 2])), (SORTED[::-1], Y)),
    (lambda a, v: tnp.searchsorted(a, v), lambda a, v: jnp.searchsorted(a, v), (jnp.zeros(0), Y)),
    (lambda x, b: tnp.digitize(x, b), lambda x, b: jnp.digitize(x, b), (A2, SORTED)),
    (lambda x, b: tnp.digitize(x, b, right=True), lambda x, b: jnp.digitize(x, b, right=True), (A2, SORTED[::-1])),
    (lambda a: tnp.argpartition(a, 2), lambda a: jnp.argpartition(a, 2), (XU,)),
    (lambda a: tnp.argpartition(a, 0, axis=0), lambda a: jnp.argpartition(a, 0, axis=0), (A2,)),
    (lambda a, b: tnp.lexsort((a, b)), lambda a, b: jnp.lexsort((a, b)), (X, W)),
    (lambda a: tnp.lexsort(a, axis=0), lambda a: jnp.lexsort(a, axis=0), (A2,)),
    (tnp.argwhere, jnp.argwhere, (A2,)), (tnp.argwhere, jnp.argwhere, (jnp.zeros((0, 2)),)),
    (lambda a: tnp.argwhere(a, size=6, fill_value=-1), lambda a: jnp.argwhere(a, size=6, fill_value=-1), (A2,)),
    (tnp.flatnonzero, jnp.flatnonzero, (A2,)),
    (lambda a: tnp.flatnonzero(a, size=2), lambda a: jnp.flatnonzero(a, size=2), (A2,)),
    (tnp.isin, jnp.isin, (A2, Y)), (lambda a, b: tnp.isin(a, b, invert=True), lambda a, b: jnp.isin(
        a, b, invert=True), (X, Y)), (tnp.isin, jnp.isin, (jnp.zeros(0), Y)),
    (tnp.array_equiv, jnp.array_equiv, (A2, A2[1])), (tnp.array_equiv, jnp.array_equiv, (X, X)),
    # Shapes that do not broadcast: False, as NumPy (jax.numpy 0.10 raises its own TypeError there).
    (tnp.array_equiv, lambda a, b: jnp.array(np.array_equiv(a, b)), (X, Y)),
    (tnp.iscomplex, jnp.iscomplex, (A2,)), (tnp.isreal, jnp.isreal, (A2,)),
    (tnp.nextafter, jnp.nextafter, (A2, Y)), (tnp.spacing, jnp.spacing, (A2,)),
    (lambda a: tnp.unique(a, return_index=True, return_inverse=True, return_counts=True)[1:],
     lambda a: jnp.unique(a, return_index=True, return_inverse=True, return_counts=True)[1:], (X,)),
]


def test_searching_and_predicates_match_jax_and_are_plain_inside_grad():
    for op, ref, args in NONDIFF:
        _same(op(*args), ref(*args))
        _plain_inside_grad(op, ref, args)
    z = jnp.array([1 + 1j, 2 + 0j, 0 - 3j])
    _same(tnp.iscomplex(z), jnp.iscomplex(z))
    _same(tnp.isreal(z), jnp.isreal(z))
    assert tnp.iterable([1, 2]) and tnp.iterable(jnp.ones(2)) and not tnp.iterable(jnp.ones(()))
    seen = []
    tg.grad(lambda x: (seen.append(tnp.iterable(x)), tnp.sum(x))[1])(jnp.ones(2))  # a tracer iterates
    assert not tnp.iterable(3.0) and seen == [True]
    _same(tnp.searchsorted([1, 2, 3], [2]), jnp.searchsorted(jnp.array([1, 2, 3]), jnp.array([2])))
    with pytest.raises(ValueError, match="searchsorted.*1-dimensional"):
        tnp.searchsorted(A2, 1.0)
    with pytest.raises(ValueError, match="searchsorted.*side"):
        tnp.searchsorted(SORTED, 1.0, side="middle")
    with pytest.raises(ValueError, match="digitize.*1-dimensional"):
        tnp.digitize(X, A2)
    with pytest.raises((TypeError, ValueError), match="spacing"):
        tnp.spacing(jnp.array([1j]))


INDEXES = [
    (lambda: tnp.indices((2, 3)), lambda: jnp.indices((2, 3))),
    (lambda: tnp.indices((2, 3), dtype="int8", sparse=True), lambda: jnp.indices((2, 3), dtype="int8", sparse=True)),
    (lambda: tnp.indices(()), lambda: jnp.indices(())),
    (lambda: tnp.diag_indices(3), lambda: jnp.diag_indices(3)),
    (lambda: tnp.diag_indices(2, ndim=3), lambda: jnp.diag_indices(2, ndim=3)),
    (lambda: tnp.diag_indices_from(jnp.ones((2, 2, 2))), lambda: jnp.diag_indices_from(jnp.ones((2, 2, 2)))),
    (lambda: tnp.tril_indices(3), lambda: jnp.tril_indices(3)),
    (lambda: tnp.tril_indices(3, k=-1, m=4), lambda: jnp.tril_indices(3, k=-1, m=4)),
    (lambda: tnp.triu_indices(3, k=1), lambda: jnp.triu_indices(3, k=1)),
    (lambda: tnp.triu_indices(2, m=4), lambda: jnp.triu_indices(2, m=4)),
    (lambda: tnp.tril_indices_from(A2, k=1), lambda: jnp.tril_indices_from(A2, k=1)),
    (lambda: tnp.triu_indices_from(A2), lambda: jnp.triu_indices_from(A2)),
    (lambda: tnp.ravel_multi_index((J, jnp.array([0, 4, 1])), (4, 5)),
     lambda: jnp.ravel_multi_index((J, jnp.array([0, 4, 1])), (4, 5))),
    (lambda: tnp.ravel_multi_index([J, [7, -1, 2]], (3, 4), mode="clip", order="F"),
     lambda: jnp.ravel_multi_index((J, jnp.array([7, -1, 2])), (3, 4), mode="clip", order="F")),
    (lambda: tnp.ravel_multi_index((J, 9), (3, 4), mode="wrap", dtype="int16"),
     lambda: jnp.ravel_multi_index((J, 9), (3, 4), mode="wrap", dtype="int16")),
    (lambda: tnp.unravel_index(jnp.array([0, 7, 11, 13, -1]), (3, 4)),
     lambda: jnp.unravel_index(jnp.array([0, 7, 11, 13, -1]), (3, 4))),
    (lambda: tnp.unravel_index(5, 6), lambda: jnp.unravel_index(5, 6)),
    (lambda: tnp.ix_(J, jnp.array([0, 1])), lambda: jnp.ix_(J, jnp.array([0, 1]))),
    (lambda: tnp.ix_(J, jnp.zeros(0, int)), lambda: jnp.ix_(J, jnp.zeros(0, int))),
]


def test_index_constructors_match_jax():
    for op, ref in INDEXES:
        _same(op(), ref())
    with pytest.raises(ValueError, match="ix_.*1-dimensional"):
        tnp.ix_(A2)
    with pytest.raises(NotImplementedError, match="ix_.*boolean"):
        tnp.ix_(jnp.array([True]))
    with pytest.raises(ValueError, match="diag_indices_from.*equal"):
        tnp.diag_indices_from(A2)
    with pytest.raises(ValueError, match="tril_indices_from.*2-D"):
        tnp.tril_indices_from(X)
    with pytest.raises(ValueError, match="ravel_multi_index"):
        tnp.ravel_multi_index((J,), (3, 4))
    with pytest.raises(ValueError, match="ravel_multi_index"):
        tnp.ravel_multi_index((J, J), (2, 2))  # out of bounds in mode 'raise'


# ---- constructors, windows, dtypes -----------------------------------------------------------------

def test_constructors_windows_and_dtypes_match_jax():
    cases = [
        (lambda: tnp.empty((2, 3)), lambda: jnp.empty((2, 3))),
        (lambda: tnp.empty(2, dtype="int8"), lambda: jnp.empty(2, dtype="int8")),
        (lambda: tnp.empty_like(A2), lambda: jnp.empty_like(A2)),
        (lambda: tnp.empty_like(I, dtype="float32", shape=(4,)),
         lambda: jnp.empty_like(I, dtype="float32", shape=(4,))),
        (lambda: tnp.identity(3), lambda: jnp.identity(3)),
        (lambda: tnp.identity(2, dtype=tnp.int8), lambda: jnp.identity(2, dtype=jnp.int8)),
        (lambda: tnp.tri(3), lambda: jnp.tri(3)), (lambda: tnp.tri(2, 4, k=-1, dtype=tnp.uint8),
                                                   lambda: jnp.tri(2, 4, k=-1, dtype=jnp.uint8)),
        (lambda: tnp.linspace(0, 1, 5, endpoint=False, retstep=True),
         lambda: jnp.linspace(0, 1, 5, endpoint=False, retstep=True)),
        (lambda: tnp.logspace(0, 2, 4, base=2.0), lambda: jnp.logspace(0, 2, 4, base=2.0)),
        (lambda: tnp.geomspace(1, 8, 4, dtype="int32"), lambda: jnp.geomspace(1, 8, 4, dtype="int32")),
    ]
    for m in (0, 1, 6, 7):
        for name in ("bartlett", "blackman", "hamming", "hanning"):
            cases.append((lambda n=name, m=m: getattr(tnp, n)(m), lambda n=name, m=m: getattr(jnp, n)(m)))
        cases.append((lambda m=m: tnp.kaiser(m, 4.0), lambda m=m: jnp.kaiser(m, 4.0)))
    for op, ref in cases:
        _same(op(), ref(), exact=False)
    # empty_like of a tracer is a constant: no gradient flows through it.
    assert float(tg.grad(lambda x: tnp.sum(tnp.empty_like(x) + 1.0) + x[0])(XU)[0]) == 1.0
    assert tnp.finfo(tnp.float32).eps == jnp.finfo(jnp.float32).eps and tnp.iinfo(tnp.int8).max == 127
    for name in ("int8", "int16", "uint8", "uint16", "uint32", "uint64", "complex64", "complex128"):
        assert tnp.astype(X, getattr(tnp, name)).dtype == jnp.dtype(name)
    with pytest.raises(jax.errors.ConcretizationTypeError, match="tnp.hamming"):
        jax.jit(lambda m: tnp.hamming(m))(3)


# ---- differentiable: sets, histograms, ranges, windows, float decomposition -------------------------

H = jnp.array([1.0, 1.7, 2.6, 3.4, 5.0])  # samples away from the inner edges of 2, 4 or 8 equal bins
HW = jnp.array([0.5, 1.5, 2.0, 3.0, 1.0])
HS = jnp.stack([H, H[::-1] * 1.1 + 0.05, H ** 2], 1)
R = jnp.array([0.5, 6.0])  # a histogram range
Z = jnp.array([-7.0, 4.0, 0.5])  # disjoint from X: union and xor keep their sizes under small steps
# name -> (tnp function, jnp reference, args). Each is checked against jax.vjp and, to second order,
# against jax's Hessian-vector products; the FD set below also by finite differences (assert_vjp).
DIFF = {
    "unique_size": (lambda a: tnp.unique(a, size=6), lambda a: jnp.unique(a, size=6), [X]),
    "unique_fill": (lambda a, f: tnp.unique(a, size=6, fill_value=f),
                    lambda a, f: jnp.unique(a, size=6, fill_value=f), [X, jnp.array(9.0)]),
    "unique_axis": (lambda a: tnp.unique(a, axis=1, size=6, fill_value=0.5),
                    lambda a: jnp.unique(a, axis=1, size=6, fill_value=0.5), [jnp.concatenate([A2, A2[:, :1]], 1)]),
    "union1d": (lambda a, b: tnp.union1d(a, b, size=6), lambda a, b: jnp.union1d(a, b, size=6), [X, Y]),
    "union1d_fill": (lambda a, b, f: tnp.union1d(a, b, size=6, fill_value=f),
                     lambda a, b, f: jnp.union1d(a, b, size=6, fill_value=f), [X, Z, jnp.array(2.5)]),
    "intersect1d": (lambda a, b: tnp.intersect1d(a, b, size=6), lambda a, b: jnp.intersect1d(a, b, size=6), [X, Y]),
    "intersect1d_neg": (lambda a, b: tnp.intersect1d(a, b, size=6), lambda a, b: jnp.intersect1d(a, b, size=6),
                        [-X, -Y]),
    "intersect1d_au_size": (lambda a, b: tnp.intersect1d(a, b, assume_unique=True, size=6),
                            lambda a, b: jnp.intersect1d(a, b, assume_unique=True, size=6), [XU, Y]),
    "setdiff1d": (lambda a, b: tnp.setdiff1d(a, b, size=6), lambda a, b: jnp.setdiff1d(a, b, size=6), [X, Y]),
    "setdiff1d_fill": (lambda a, b, f: tnp.setdiff1d(a, b, size=6, fill_value=f),
                       lambda a, b, f: jnp.setdiff1d(a, b, size=6, fill_value=f), [X, Y, jnp.array(-1.0)]),
    "setxor1d": (lambda a, b: tnp.setxor1d(a, b, size=6), lambda a, b: jnp.setxor1d(a, b, size=6), [X, Y]),
    "setxor1d_au_size": (lambda a, b: tnp.setxor1d(a, b, assume_unique=True, size=6),
                         lambda a, b: jnp.setxor1d(a, b, assume_unique=True, size=6), [XU, Y]),
    "bincount": (lambda w: tnp.bincount(jnp.array([0, 1, 1, 3, 7]), w, length=6),
                 lambda w: jnp.bincount(jnp.array([0, 1, 1, 3, 7]), w, length=6), [HW]),
    "hist_density": (lambda a, w: tnp.histogram(a, bins=4, weights=w, density=True)[0],
                     lambda a, w: jnp.histogram(a, bins=4, weights=w, density=True)[0], [H, HW]),
    "hist_range": (lambda r, a: tnp.histogram(a, bins=4, range=r, density=True)[0],
                   lambda r, a: jnp.histogram(a, bins=4, range=r, density=True)[0], [R, H]),
    "hist_bins": (lambda b: tnp.histogram(H, bins=b, density=True)[0],
                  lambda b: jnp.histogram(H, bins=b, density=True)[0], [jnp.array([0.0, 2.5, 3.0, 6.0])]),
    "hist2d": (lambda a, w: tnp.histogram2d(a, a[::-1] * 0.9, bins=4, weights=w, density=True)[0],
               lambda a, w: jnp.histogram2d(a, a[::-1] * 0.9, bins=4, weights=w, density=True)[0], [H, HW]),
    "histdd": (lambda s, w: tnp.histogramdd(s, bins=4, weights=w, density=True)[0],
               lambda s, w: jnp.histogramdd(s, bins=4, weights=w, density=True)[0], [HS, HW]),
    "linspace": (lambda a, b: tnp.linspace(a, b, 5, axis=-1), lambda a, b: jnp.linspace(a, b, 5, axis=-1),
                 [Y, jnp.array([[2.0], [3.0]])]),
    "logspace": (lambda a, b, base: tnp.logspace(a, b, 4, base=base, axis=1),
                 lambda a, b, base: jnp.logspace(a, b, 4, base=base, axis=1), [Y, jnp.array(0.5), jnp.array(3.0)]),
    "geomspace_neg": (lambda a, b: tnp.geomspace(a, b, 3, endpoint=False),
                      lambda a, b: jnp.geomspace(a, b, 3, endpoint=False), [-Y, jnp.array(-2.0)]),
    "kaiser": (lambda b: tnp.kaiser(7, b), lambda b: jnp.kaiser(7, b), [jnp.array(3.0)]),
    "frexp": (lambda a: tnp.frexp(a)[0], lambda a: jnp.frexp(a)[0], [A2 * 3.3 + 0.1]),
    "modf": (lambda a: tnp.modf(a)[0], lambda a: jnp.modf(a)[0], [A2 * 1.3 + 0.15]),
    "divmod": (lambda a, b: tnp.divmod(a, b)[1], lambda a, b: jnp.divmod(a, b)[1],
               [A2 + 0.1, jnp.array([0.7, -0.9, 2.1])]),
    "ix_": (lambda a, b: tnp.ix_(a, b)[0] * tnp.ix_(a, b)[1], lambda a, b: jnp.ix_(a, b)[0] * jnp.ix_(a, b)[1],
            [XU, Y]),
}
# The smooth ones also go through assert_vjp (finite differences, jax.vjp/jax.jvp, second order), on values
# that stay put under small steps: no sample on a bin edge, no integer in modf. (The set functions are
# gathers: exact first derivatives, zero second ones, and finite differences would see ties break.)
FD = {"hist_range": [R, H], "geomspace_neg": None, "kaiser": None, "frexp": None, "modf": None}


EAGER = ["unique_fill", "setxor1d"]  # also checked op by op (the smooth ones are, in assert_vjp)


def _vjps(fun, ref, args, u):
    """Values and VJPs (on cotangent ``u``) of the tnp function and of its jax.numpy reference."""
    out, pull = tg.vjp(fun, *args)
    want, jpull = jax.vjp(ref, *args)
    return out, pull(u), want, jpull(u)


def _cotangent(ref, args, seed):
    shape = jax.eval_shape(ref, *args).shape
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape))


def _check(name, got, where=""):
    out, g, want, h = got
    try:
        _same(out, want, exact=False)
        for a, b in zip(g, h, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)
    except AssertionError as e:
        raise AssertionError(f"{name}{where}: {e}") from e


def test_differentiable_against_jax_vjp_under_jit_and_eager():
    # Every case in one jax.jit program (with size= the shapes are static): one compilation costs far
    # less than the hundreds of small ones eager JAX makes for these few dozen functions.
    items = list(DIFF.items())
    us = [_cotangent(ref, args, i) for i, (_, (_, ref, args)) in enumerate(items)]
    run = jax.jit(lambda us, argss: [_vjps(f, r, a, u) for (_, (f, r, _)), a, u in zip(items, argss, us)])
    for (name, _), got in zip(items, run(us, [args for _, (_, _, args) in items])):
        _check(name, got, " (under jit)")
    for name in EAGER:
        fun, ref, args = DIFF[name]
        _check(name, _vjps(fun, ref, args, _cotangent(ref, args, 0)))


@pytest.mark.parametrize("name", sorted(FD))
def test_differentiable_against_finite_differences(name):
    fun, ref, args = DIFF[name]
    assert_vjp(fun, FD[name] or args, order=2, reference=ref)


# ---- edge cases, jit, errors ------------------------------------------------------------------------

SPECIAL = jnp.array([0.0, -0.0, 1e-40, 3.5, -7.25, jnp.inf, -jnp.inf, jnp.nan], "float32")


def test_set_and_histogram_edge_cases_match_jax():
    nan = jnp.array([2.0, jnp.nan, 1.0, jnp.nan, 2.0])
    e = jnp.zeros(0)
    cases = [
        (lambda: tnp.unique(e), lambda: jnp.unique(e)),
        (lambda: tnp.unique(e, size=2, fill_value=3.0), lambda: jnp.unique(e, size=2, fill_value=3.0)),
        (lambda: tnp.unique(nan, return_counts=True), lambda: jnp.unique(nan, return_counts=True)),
        (lambda: tnp.unique(nan, equal_nan=False, size=6), lambda: jnp.unique(nan, equal_nan=False, size=6)),
        (lambda: tnp.unique(jnp.array([1 + 1j, 1 - 1j, 1 + 1j])),
         lambda: jnp.unique(jnp.array([1 + 1j, 1 - 1j, 1 + 1j]))),
        (lambda: tuple(tnp.unique_all(X)), lambda: tuple(jnp.unique_all(X))),
        (lambda: tuple(tnp.unique_counts(X, size=5)), lambda: tuple(jnp.unique_counts(X, size=5))),
        (lambda: tuple(tnp.unique_inverse(A2)), lambda: tuple(jnp.unique_inverse(A2))),
        (lambda: tnp.union1d([3, 1], [2, 3]), lambda: jnp.union1d(jnp.array([3, 1]), jnp.array([2, 3]))),
        (lambda: tnp.intersect1d(X, Y, return_indices=True, size=4),
         lambda: jnp.intersect1d(X, Y, return_indices=True, size=4)),
        (lambda: tnp.intersect1d(I, J, return_indices=True), lambda: jnp.intersect1d(I, J, return_indices=True)),
        (lambda: tnp.intersect1d(e, Y, size=2), lambda: jnp.intersect1d(e, Y, size=2)),
        (lambda: tnp.setdiff1d(e, Y), lambda: jnp.setdiff1d(e, Y)),
        (lambda: tnp.setdiff1d(X, e, size=6), lambda: jnp.setdiff1d(X, e, size=6)),
        (lambda: tnp.setxor1d(e, e), lambda: jnp.setxor1d(e, e)),
        (lambda: tnp.setxor1d(X, X, size=2), lambda: jnp.setxor1d(X, X, size=2)),
        (lambda: tnp.setxor1d(I, J), lambda: jnp.setxor1d(I, J)),
        (lambda: tnp.bincount(jnp.array([], int)), lambda: jnp.bincount(jnp.array([], int))),
        (lambda: tnp.bincount(jnp.array([-2, 1, 1]), minlength=4),
         lambda: jnp.bincount(jnp.array([-2, 1, 1]), minlength=4)),
        (lambda: tnp.bincount(jnp.array([True, False, True])), lambda: jnp.bincount(jnp.array([True, False, True]))),
        (lambda: tnp.histogram(jnp.full(3, 2.0), bins=2), lambda: jnp.histogram(jnp.full(3, 2.0), bins=2)),
        # 0, -0, a subnormal (which XLA on CPU flushes), inf, nan: frexp and modf give jnp's values.
        (lambda: tnp.frexp(SPECIAL), lambda: jnp.frexp(SPECIAL)),
        (lambda: tnp.modf(SPECIAL), lambda: jnp.modf(SPECIAL)),
        (lambda: tnp.divmod(I, J), lambda: jnp.divmod(I, J)),
        (lambda: tnp.histogram(e, bins=3, range=(0, 1)), lambda: jnp.histogram(e, bins=3, range=(0, 1))),
        (lambda: tnp.histogram(I, bins=[0, 5, 300]), lambda: jnp.histogram(I, bins=jnp.array([0, 5, 300]))),
        (lambda: tnp.histogramdd(HS, bins=(2, 1, 3), range=[None, (0, 9), None]),
         lambda: jnp.histogramdd(HS, bins=(2, 1, 3), range=[None, (0, 9), None])),
    ]
    for op, ref in cases:
        _same(op(), ref(), exact=False)


def test_without_size_the_values_are_constants_as_in_jax():
    # jax.numpy reads the concrete value of what it passes through unique(): zero gradients there.
    for op in (tnp.unique, lambda a: tnp.union1d(a, Y), lambda a: tnp.intersect1d(a, Y),
               lambda a: tnp.setdiff1d(a, Y), lambda a: tnp.setxor1d(a, Y)):
        g = tg.grad(lambda a, op=op: tnp.sum(op(a) ** 2))(X)
        np.testing.assert_array_equal(np.asarray(g), np.zeros(5))
    np.testing.assert_array_equal(jax.grad(lambda a: jnp.sum(jnp.setxor1d(a, Y) ** 2))(X), np.zeros(5))


def test_under_jit_with_size_and_errors_without():
    def f(x, w, lib):
        return (lib.sum(lib.unique(x, size=6, fill_value=w[0]) ** 2) + lib.sum(lib.setxor1d(x, Y, size=5) ** 3)
                + lib.sum(lib.histogram(x, bins=3, weights=w, density=True)[0] ** 2)
                + lib.sum(lib.bincount(lib.argwhere(x > 1.5, size=4)[:, 0], w[:4], length=6) ** 2)
                + lib.sum(lib.logspace(w[0], w[1], 3)))

    got = jax.jit(tg.grad(lambda x, w: f(x, w, tnp), argnums=(0, 1)))(X, W)
    want = jax.jit(jax.grad(lambda x, w: f(x, w, jnp), argnums=(0, 1)))(X, W)
    for g, h in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(h), rtol=1e-10)
    for name, op in [("unique", tnp.unique), ("union1d", lambda a: tnp.union1d(a, Y)),
                     ("intersect1d", lambda a: tnp.intersect1d(a, Y)), ("setdiff1d", lambda a: tnp.setdiff1d(a, Y)),
                     ("setxor1d", lambda a: tnp.setxor1d(a, Y)), ("argwhere", tnp.argwhere),
                     ("flatnonzero", tnp.flatnonzero), ("bincount", lambda a: tnp.bincount(a.astype(int))),
                     ("histogram_bin_edges", lambda a: tnp.histogram_bin_edges(X, bins=a.astype(int)[0]))]:
        with pytest.raises(jax.errors.ConcretizationTypeError, match=f"tnp.{name}"):
            jax.jit(tg.grad(lambda a, op=op: tnp.sum(op(a)) * 0.0 + tnp.sum(a)))(X)


def test_bad_inputs_raise_naming_the_op():
    bad = [
        (TypeError, "bincount.*integer", lambda: tnp.bincount(X)),
        (ValueError, "bincount.*1-dimensional", lambda: tnp.bincount(I)),
        (ValueError, "bincount.*weights", lambda: tnp.bincount(J, weights=X)),
        (ValueError, "histogram.*weights", lambda: tnp.histogram(X, weights=Y)),
        (ValueError, "histogram.*range", lambda: tnp.histogram(X, range=(0, 1, 2))),
        (NotImplementedError, "histogram_bin_edges.*string", lambda: tnp.histogram(X, bins="auto")),
        (ValueError, "histogramdd.*weight", lambda: tnp.histogramdd(HS, weights=Y)),
        (ValueError, "histogramdd.*range", lambda: tnp.histogramdd(HS, range=[(0, 1)])),
        (ValueError, "histogramdd.*bins", lambda: tnp.histogramdd(HS, bins=(2, 2))),
        (ValueError, "unique.*fill_value", lambda: tnp.unique(jnp.zeros(0), size=2)),
        (ValueError, "unique", lambda: tnp.unique(A2, axis=2)),
        (TypeError, "frexp.*complex", lambda: tnp.frexp(jnp.array([1j]))),
        (TypeError, "modf.*complex", lambda: tnp.modf(jnp.array([1j]))),
        (NotImplementedError, "modf.*out", lambda: tnp.modf(X, out=X)),
        (ValueError, "linspace.*non-negative", lambda: tg.grad(lambda s: tnp.sum(tnp.linspace(s, 1.0, -1)))(0.0)),
        (TypeError, "kaiser.*M", lambda: tnp.kaiser(2.5, 1.0)),
    ]
    for exc, match, call in bad:
        with pytest.raises(exc, match=match):
            call()
