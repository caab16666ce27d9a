"""Products and linear algebra: values and VJPs against jax.vjp, JVPs against jax.jvp, and central
finite differences (orders 1 and 2 in float64, order 1 in float32), on hypothesis-drawn shapes.

Smooth ops take hypothesis-drawn values. Ops with kinks (max-type norms) or with derivatives that
blow up near degenerate inputs (solvers, singular values) take inputs built to stay away from
them: diagonally dominant or SPD matrices, prescribed well-separated singular values, magnitudes
bounded away from 0, and ``assume`` on the gap between competing maxima. The products and norms
also have a fixed canonical case each (``CANONICAL``: float64, orders 1 and 2, non-empty, batch
dimensions that broadcast where the op broadcasts), which runs in CI whatever hypothesis draws;
for the solvers and the singular-value norms, tests/test_ci_draws.py asserts that CI's draws check them so.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from family_checks import canonical_u, check_against_jax
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.testing import arrays, assert_vjp, broadcastable_shapes, shapes

DTYPES = st.sampled_from(["float32", "float64"])
# Each new shape costs XLA compiles of every op of the check (about 1 s), while a repeated shape
# costs milliseconds: sides are drawn from a few sizes (1 for broadcasting, 3 for the generic case).
SIDE = st.sampled_from([1, 3])
ELEMS = (-2, 2)


# The full VJP/JVP oracle (orders 1-2 in float64), then the output's shapes and dtypes against ref's.
check = check_against_jax


# ---- products ----------------------------------------------------------------------------

@st.composite
def matmul_args(draw):
    bx, by = draw(broadcastable_shapes(2, max_dims=2, max_side=2))
    n, k, m = draw(SIDE), draw(st.integers(0, 3)), draw(SIDE)
    x = (k,) if draw(st.booleans()) else bx + (n, k)
    y = (k,) if draw(st.booleans()) else by + (k, m)
    return x, y


@st.composite
def dot_args(draw):
    a = draw(shapes(max_dims=3, max_side=3))
    kind = draw(st.sampled_from(["scalar", "vector", "matrix"])) if a else "any"
    if kind == "scalar":
        return a, ()
    if kind == "vector":
        return a, a[-1:]
    if kind == "matrix":
        return a, draw(shapes(max_dims=1, max_side=2)) + (a[-1], draw(SIDE))
    return a, draw(shapes(max_dims=2, max_side=3))


@st.composite
def inner_args(draw):
    a = draw(shapes(max_dims=3, max_side=3))
    if not a or draw(st.integers(0, 4)) == 0:
        return a, () if a else draw(shapes(max_dims=2, max_side=3))
    return a, draw(shapes(max_dims=2, max_side=2)) + a[-1:]


@st.composite
def outer_args(draw):
    return draw(shapes(max_dims=2, max_side=3)), draw(shapes(max_dims=2, max_side=3))


@st.composite
def vdot_args(draw):
    a = draw(shapes(max_dims=3, max_side=3))
    return a, (a if draw(st.booleans()) else (int(np.prod(a)),))


@st.composite
def tensordot_args(draw):
    """Returns (a_shape, b_shape, axes); axes is an int or a pair of axis lists (negatives too)."""
    a = draw(shapes(max_dims=3, max_side=3))
    n = draw(st.integers(0, len(a)))
    free_b = list(draw(shapes(max_dims=2, max_side=3)))
    if draw(st.booleans()):
        return a, a[len(a) - n:] + tuple(free_b), n
    ax_a = draw(st.permutations(range(len(a))))[:n]
    b = free_b
    ax_b = []
    for i in ax_a:
        pos = draw(st.integers(0, len(b)))
        b.insert(pos, a[i])
        ax_b = [j + 1 if j >= pos else j for j in ax_b] + [pos]
    ax_b = [j - len(b) if draw(st.booleans()) else j for j in ax_b]  # negative axes too
    return a, tuple(b), (list(ax_a), ax_b)


PRODUCTS = {
    "matmul": (matmul_args(), lambda t: t.matmul),
    "dot": (dot_args(), lambda t: t.dot),
    "inner": (inner_args(), lambda t: t.inner),
    "outer": (outer_args(), lambda t: t.outer),
    "vdot": (vdot_args(), lambda t: t.vdot),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
@settings(max_examples=3)
@given(data=st.data(), dtype=DTYPES)
def test_products(name, data, dtype):
    strategy, pick = PRODUCTS[name]
    sa, sb = data.draw(strategy)
    a = data.draw(arrays(dtype, sa, elements=ELEMS))
    b = data.draw(arrays(dtype, sb, elements=ELEMS))
    check(pick(tnp), pick(jnp), (a, b), dtype)


@settings(max_examples=4)
@given(data=st.data(), dtype=DTYPES)
def test_tensordot(data, dtype):
    sa, sb, axes = data.draw(tensordot_args())
    a = data.draw(arrays(dtype, sa, elements=ELEMS))
    b = data.draw(arrays(dtype, sb, elements=ELEMS))
    check(lambda x, y: tnp.tensordot(x, y, axes), lambda x, y: jnp.tensordot(x, y, axes), (a, b), dtype)


def test_matmul_operator_and_mixed_dtypes():
    x = jnp.arange(6.0, dtype="float32").reshape(2, 3)
    y = jnp.arange(3.0, dtype="float64")
    out, vjp_fn = tg.vjp(lambda a, b: a @ b, x, y)
    gx, gy = vjp_fn(jnp.ones(2, out.dtype))
    assert out.dtype == jnp.float64 and gx.dtype == jnp.float32 and gy.dtype == jnp.float64
    np.testing.assert_allclose(gx, jnp.outer(jnp.ones(2), y))
    np.testing.assert_allclose(gy, x.sum(0))


def test_contractions_are_named_on_the_tape():
    a, b = jnp.ones((2, 3)), jnp.ones((3, 2))
    tape = tg.make_tape(lambda x, y: tnp.dot(x, y) + tnp.einsum("ij,jk->ik", x, y) + tnp.matmul(x, y))(a, b)
    assert [e.prim.name for e in tape] == ["dot", "einsum", "add", "matmul", "add"]


# ---- einsum --------------------------------------------------------------------------------

EINSUM = [
    "ij,jk->ik", "ii->i", "ii", "ij->", "bij,bjk->bik", "...ij,...jk->...ik", "i,j->ij", "ij,ij->",
    "ijk,k->ij", "ij,jk,kl->il", "ij,jk,ki->", "iij,jk->ki", "iii->i", "ba,ac", "...ii->...i", "i...,i->...",
]


def _einsum_shapes(draw, spec):
    ins = spec.split("->")[0].split(",")
    sizes = {c: draw(SIDE) for c in sorted(set("".join(ins)) - {"."})}  # sorted: set order varies by process
    n_ell = sum("..." in s for s in ins)
    ells = iter(draw(broadcastable_shapes(n_ell, max_dims=2, max_side=2)) if n_ell else ())
    out = []
    for s in ins:
        head, _, tail = s.partition("...")
        if "..." in s:
            out.append(tuple(sizes[c] for c in head) + next(ells) + tuple(sizes[c] for c in tail))
        else:
            out.append(tuple(sizes[c] for c in s))
    return out


@pytest.mark.parametrize("spec", EINSUM)
@settings(max_examples=2)
@given(data=st.data(), dtype=DTYPES)
def test_einsum(spec, data, dtype):
    ops = tuple(data.draw(arrays(dtype, s, elements=ELEMS)) for s in _einsum_shapes(data.draw, spec))
    check(lambda *xs: tnp.einsum(spec, *xs), lambda *xs: jnp.einsum(spec, *xs), ops, dtype)


@pytest.mark.parametrize("spec, shapes_", [
    ("ij,ij->ij", [(1, 3), (4, 3)]),   # explicit size-1 broadcasting of a letter
    ("ij,ij->", [(4, 3), (1, 3)]),     # the cotangent must be broadcast back up
    ("ij,kj->ik", [(2, 1), (4, 3)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
])
def test_einsum_size_one_letters(spec, shapes_):
    rng = np.random.RandomState(0)
    ops = tuple(rng.normal(size=s) for s in shapes_)
    check(lambda *xs: tnp.einsum(spec, *xs), lambda *xs: jnp.einsum(spec, *xs), ops, "float64")


def test_einsum_interleaved_and_constants():
    rng = np.random.RandomState(1)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(2, 4))
    check(lambda x, y: tnp.einsum(x, [0, 1], y, [1, 2], [0, 2]),
          lambda x, y: jnp.einsum(x, [0, 1], y, [1, 2], [0, 2]), (a, b), "float64")
    # A constant operand (plain array) gets no cotangent; the other one still does.
    g = tg.grad(lambda x: tnp.einsum("ij,jk->", x, jnp.asarray(b)))(a)
    np.testing.assert_allclose(g, jax.grad(lambda x: jnp.einsum("ij,jk->", x, b))(a))


@pytest.mark.parametrize("call, match", [
    (lambda: tnp.einsum("ij,jk->ik", jnp.ones((2, 3))), "einsum"),
    (lambda: tnp.einsum("ij->ii", jnp.ones((2, 2))), "einsum"),
    (lambda: tnp.einsum("ij,jk->ik", jnp.ones((2, 3)), jnp.ones((4, 2))), "einsum"),
    (lambda: tnp.tensordot(jnp.ones((2, 3)), jnp.ones((3, 2)), axes=([0], [0, 1])), "tensordot"),
    (lambda: tnp.tensordot(jnp.ones((2, 3)), jnp.ones((3, 2)), axes=3), "tensordot"),
    (lambda: tnp.tensordot(jnp.ones((2, 3)), jnp.ones((3, 2)), axes=([2], [0])), "tensordot"),
    (lambda: tnp.vdot(jnp.ones(3), jnp.ones(4)), "vdot"),
    (lambda: tnp.dot(jnp.ones((2, 3)), jnp.ones((2, 3))), "dot"),
    (lambda: tnp.matmul(jnp.ones((2, 3)), jnp.ones((2, 3))), "matmul"),
])
def test_product_errors_name_the_op(call, match):
    # jax raises TypeError for some shape mismatches (dot_general), ValueError for others.
    with pytest.raises((ValueError, TypeError), match=match):
        tg.grad(lambda s: tnp.sum(call()) * s)(1.0)


# ---- inverse, solve, determinants, Cholesky --------------------------------------------------

@st.composite
def well_conditioned(draw, dtype, batch, n):
    """n I + noise, diagonally dominant (so cond <= 3), with random row signs: det of both signs."""
    noise = draw(arrays(dtype, batch + (n, n), elements=(-1, 1)))
    signs = draw(arrays(dtype, batch + (n, 1), elements=st.sampled_from([-1.0, 1.0])))
    return (np.eye(n, dtype=dtype) * n + noise * 0.5 * (n > 1)) * signs


@st.composite
def spd(draw, dtype, batch, n):
    b = draw(arrays(dtype, batch + (n, n), elements=(-1, 1)))
    return b @ np.swapaxes(b, -1, -2) + n * np.eye(n, dtype=dtype)


BATCH = shapes(max_dims=1, min_side=1, max_side=2)


@settings(max_examples=2)
@given(data=st.data(), dtype=DTYPES, n=SIDE)
def test_inv_det_slogdet(data, dtype, n):
    a = data.draw(well_conditioned(dtype, data.draw(BATCH), n))
    check(tnp.linalg.inv, jnp.linalg.inv, (a,), dtype)
    check(tnp.linalg.det, jnp.linalg.det, (a,), dtype)
    check(lambda x: tuple(tnp.linalg.slogdet(x)), lambda x: tuple(jnp.linalg.slogdet(x)), (a,), dtype)


@settings(max_examples=3)  # the third draw is the broadcasting one (tests/test_ci_draws.py floor)
@given(data=st.data(), dtype=DTYPES, n=SIDE, k=SIDE, vector=st.booleans())
def test_solve(data, dtype, n, k, vector):
    ba, bb = data.draw(broadcastable_shapes(2, max_dims=2, min_side=1, max_side=2))
    ba, bb = ba[-1:], bb  # a's batch: at most one dim (keeps the compile cache small); b's up to two
    a = data.draw(well_conditioned(dtype, ba, n))
    b = data.draw(arrays(dtype, (n,) if vector else bb + (n, k), elements=ELEMS))
    check(tnp.linalg.solve, jnp.linalg.solve, (a, b), dtype)


@settings(max_examples=2)
@given(data=st.data(), dtype=DTYPES, n=SIDE, upper=st.booleans())
def test_cholesky(data, dtype, n, upper):
    # A non-symmetric perturbation checks the symmetrize_input convention against jax.vjp.
    a = data.draw(spd(dtype, data.draw(BATCH), n))
    a = a + 0.1 * data.draw(arrays(dtype, a.shape, elements=(-1, 1)))
    check(lambda x: tnp.linalg.cholesky(x, upper=upper), lambda x: jnp.linalg.cholesky(x, upper=upper),
          (a,), dtype)


def test_cholesky_without_symmetrization_matches_jax():
    # jax's rule then treats the whole input as free (no finite-difference check applies).
    rng = np.random.RandomState(2)
    b = rng.normal(size=(2, 3, 3))
    a = b @ np.swapaxes(b, -1, -2) + 3 * np.eye(3)
    u = rng.normal(size=a.shape)
    f = lambda x: tnp.linalg.cholesky(x, symmetrize_input=False)  # noqa: E731
    ref = lambda x: jnp.linalg.cholesky(x, symmetrize_input=False)  # noqa: E731
    np.testing.assert_allclose(tg.vjp(f, a)[1](u)[0], jax.vjp(ref, a)[1](u)[0], rtol=1e-10)
    np.testing.assert_allclose(tg.jvp(f, (a,), (u,))[1], jax.jvp(ref, (a,), (u,))[1], rtol=1e-10)


def test_det_gradient_at_singular_matrices_matches_jax():
    singular = (np.ones((3, 3)), np.diag([1.0, 2.0, 0.0]), np.zeros((2, 2)), np.array([[1.0, 2], [2, 4]]))
    for a in singular:
        got = tg.grad(tnp.linalg.det)(a)
        np.testing.assert_allclose(got, jax.grad(jnp.linalg.det)(a), atol=1e-12)
        assert np.all(np.isfinite(got))


def test_slogdet_sign_has_no_gradient():
    a = np.array([[0.0, 2.0], [1.0, 0.5]])  # det = -2
    sign, logabs = tnp.linalg.slogdet(a)
    assert float(sign) == -1.0 and np.isclose(float(logabs), np.log(2.0))
    np.testing.assert_array_equal(tg.grad(lambda x: tnp.linalg.slogdet(x).sign)(a), np.zeros((2, 2)))
    # det = sign * exp(logabsdet) has det's gradient, negative determinants included.
    g = tg.grad(lambda x: (lambda s: s.sign * tnp.exp(s.logabsdet))(tnp.linalg.slogdet(x)))(a)
    np.testing.assert_allclose(g, jax.grad(jnp.linalg.det)(a))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: tnp.linalg.inv(jnp.ones((2, 3))), ValueError, r"linalg.inv.*\(2, 3\)"),
    (lambda: tnp.linalg.det(jnp.ones(3)), ValueError, r"linalg.det.*\(3,\)"),
    (lambda: tnp.linalg.solve(jnp.eye(3), jnp.ones(2)), ValueError, r"linalg.solve.*\(2,\)"),
    (lambda: tnp.linalg.solve(jnp.eye(3), jnp.ones((2, 3))), ValueError, r"linalg.solve.*\(2, 3\)"),
    (lambda: tnp.linalg.cholesky(jnp.ones((2, 2, 3))), ValueError, "linalg.cholesky"),
    (lambda: tnp.linalg.norm(jnp.ones((2, 2)), ord="bad"), ValueError, "bad"),
    (lambda: tnp.linalg.norm(jnp.ones(3), ord="fro"), ValueError, "fro"),
    (lambda: tnp.linalg.norm(jnp.ones((2, 2, 2)), ord=2), ValueError, "number of axes"),
    (lambda: tnp.vdot(jnp.ones(2), jnp.ones(3)), ValueError, "vdot"),
])
def test_linalg_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---- norms and singular values ----------------------------------------------------------------

def _away_from_zero(rng, shape, dtype):
    return (rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.25, 2.0, size=shape)).astype(dtype)


def _separated_svals(rng, batch, m, n, dtype):
    """Random U diag(s) V^T with singular values >= 0.5 and pairwise gaps >= 0.4."""
    k = min(m, n)
    u = np.linalg.qr(rng.normal(size=batch + (m, m)))[0][..., :k]
    v = np.linalg.qr(rng.normal(size=batch + (n, n)))[0][..., :k]
    s = 0.5 + 0.4 * np.arange(k)[::-1] + rng.uniform(0, 0.1, size=batch + (k,))
    return ((u * s[..., None, :]) @ np.swapaxes(v, -1, -2)).astype(dtype)


def _top_gap(t, axis, largest):
    """The gap between the best and second-best entries along ``axis`` (inf if only one)."""
    t = np.sort(np.moveaxis(np.asarray(t, np.float64), axis, -1), axis=-1)
    if t.shape[-1] < 2 or t.size == 0:
        return np.inf
    return float(np.min(t[..., -1] - t[..., -2] if largest else t[..., 1] - t[..., 0]))


def _norms(ord, axis, keepdims):
    return (lambda a: tnp.linalg.norm(a, ord, axis, keepdims),
            lambda a: jnp.linalg.norm(a, ord, axis, keepdims))


# ord=2 (vector) and 'fro' take the same paths as None; the at-zero test below runs them.
VECTOR_ORDS = [None, 1, np.inf, -np.inf, 3, 0.5, -1.5]
MATRIX_ORDS = [None, 1, -1, np.inf, -np.inf, 2, -2, "nuc"]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
@settings(max_examples=2)
@given(dtype=DTYPES, shape=shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), seed=st.integers(0, 2**16),
       keepdims=st.booleans(), data=st.data())
def test_vector_norm(ord, dtype, shape, seed, keepdims, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _away_from_zero(np.random.RandomState(seed), shape, dtype)
    if ord in (np.inf, -np.inf):
        assume(_top_gap(np.abs(x), axis, ord > 0) > 0.05)
    check(*_norms(ord, axis, keepdims), (x,), dtype)


@pytest.mark.parametrize("ord", MATRIX_ORDS)
@settings(max_examples=2)
@given(dtype=DTYPES, m=SIDE, n=SIDE, batch=shapes(max_dims=1, min_side=1, max_side=2),
       seed=st.integers(0, 2**16), keepdims=st.booleans(), data=st.data())
def test_matrix_norm(ord, dtype, m, n, batch, seed, keepdims, data):
    rng = np.random.RandomState(seed)
    if ord in (2, -2, "nuc"):
        x = _separated_svals(rng, batch, m, n, dtype)
    else:
        x = _away_from_zero(rng, batch + (m, n), dtype)
    nd = x.ndim
    axis = tuple(data.draw(st.permutations(range(nd)))[:2])
    axis = tuple(a - nd if data.draw(st.booleans()) else a for a in axis)
    if ord in (1, -1, np.inf, -np.inf):
        r, c = (a % nd for a in axis)
        first, second = (r, c) if ord in (1, -1) else (c, r)
        sums = np.abs(x).sum(axis=first, keepdims=True)
        assume(_top_gap(sums, second, ord > 0) > 0.05)
    if ord in (2, -2, "nuc"):
        axis = (nd - 2, nd - 1) if data.draw(st.booleans()) else (nd - 1, nd - 2)  # transposed too
    check(*_norms(ord, axis, keepdims), (x,), dtype)


@settings(max_examples=3)
@given(dtype=DTYPES, shape=shapes(max_dims=3, min_side=1, max_side=3), seed=st.integers(0, 2**16),
       keepdims=st.booleans())
def test_norm_of_whole_array(dtype, shape, seed, keepdims):
    x = _away_from_zero(np.random.RandomState(seed), shape, dtype)
    check(lambda a: tnp.linalg.norm(a, keepdims=keepdims), lambda a: jnp.linalg.norm(a, keepdims=keepdims),
          (x,), dtype)


@pytest.mark.parametrize("ord, axis", [(None, None), (2, 0), (3, 1), ("fro", (0, 1)), (None, 1)])
def test_norm_gradient_at_zero_is_zero_like_torch(ord, axis):
    # jax's sqrt-of-sum gives NaN at 0; the subgradient 0 (PyTorch's choice) is what optimisers need.
    x = np.zeros((2, 3))
    x[1] = [1.0, -2.0, 0.5]  # one row (axis=1) or column (axis=0) is all zero, another is not
    f = lambda a: tnp.sum(tnp.linalg.norm(a, ord, axis))  # noqa: E731
    got = np.asarray(tg.grad(f)(x))
    xt = torch.tensor(x, requires_grad=True)
    torch.linalg.norm(xt, ord, axis).sum().backward()
    np.testing.assert_allclose(got, xt.grad.numpy(), atol=1e-12)
    assert not np.any(np.isnan(np.asarray(tg.hessian(f)(x))))
    assert not np.any(np.isnan(np.asarray(tg.grad(f)(np.zeros((2, 3))))))


def test_norm_ord_zero_counts_without_gradient():
    x = np.array([0.0, 1.5, -2.0])
    assert float(tnp.linalg.norm(x, 0)) == 2.0
    np.testing.assert_array_equal(tg.grad(lambda a: tnp.linalg.norm(a, 0))(x), np.zeros(3))


@pytest.mark.parametrize("m, n, batch", [(4, 2, (2,)), (2, 3, ())])
def test_svd_gauge_invariant_functions(m, n, batch):
    """U diag(s^3) V^T = A A^T A and the projectors U U^T, V V^T exercise all three cotangents.
    (Order 1 here: the matrix norms 'nuc', 2, -2 differentiate the SVD rule at order 2.)"""
    x = _separated_svals(np.random.RandomState(m * 10 + n), batch, m, n, "float64")

    def ours(a):
        u, s, vh = tnp.linalg.svd(a, full_matrices=False)
        return (tnp.matmul(u * tnp.expand_dims(s ** 3, -2), vh), tnp.matmul(u, tnp.swapaxes(u, -1, -2)),
                tnp.matmul(tnp.swapaxes(vh, -1, -2), vh))

    def ref(a):
        u, s, vh = jnp.linalg.svd(a, full_matrices=False)
        return a @ jnp.swapaxes(a, -1, -2) @ a, u @ jnp.swapaxes(u, -1, -2), jnp.swapaxes(vh, -1, -2) @ vh

    check(ours, ref, (x,), "float64", order=1)


def test_svd_full_matrices_of_a_non_square_matrix():
    a = _separated_svals(np.random.RandomState(3), (), 3, 2, "float64")
    u, s, vh = tnp.linalg.svd(a)
    assert u.shape == (3, 3) and s.shape == (2,) and vh.shape == (2, 2)
    # The values: jnp's singular values, orthogonal factors (U's third column completes the basis) that
    # rebuild a. Their derivative is not defined (JAX raises NotImplementedError too; use full_matrices=False).
    np.testing.assert_allclose(s, jnp.linalg.svd(a, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose(u.T @ u, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(vh @ vh.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose((u[:, :2] * s) @ vh, a, atol=1e-12)
    with pytest.raises(NotImplementedError, match="full_matrices"):
        tg.grad(lambda x: tnp.sum(tnp.linalg.svd(x)[0]))(a)


# ---- composition with jax transforms --------------------------------------------------------

def test_jit_of_grad_matches_jax():
    rng = np.random.RandomState(4)
    b = rng.normal(size=(3, 3))

    def ours(x):
        a = tnp.matmul(x, tnp.transpose(x)) + 3 * jnp.eye(3)
        sign, logdet = tnp.linalg.slogdet(a)
        return (logdet + tnp.linalg.norm(x, "nuc") + tnp.einsum("ii", tnp.linalg.cholesky(a))
                + tnp.sum(tnp.linalg.solve(a, x[0])) + tnp.linalg.det(x) + tnp.linalg.norm(x, 2))

    def theirs(x):
        a = x @ x.T + 3 * jnp.eye(3)
        sign, logdet = jnp.linalg.slogdet(a)
        return (logdet + jnp.linalg.norm(x, "nuc") + jnp.einsum("ii", jnp.linalg.cholesky(a))
                + jnp.sum(jnp.linalg.solve(a, x[0])) + jnp.linalg.det(x) + jnp.linalg.norm(x, 2))

    np.testing.assert_allclose(jax.jit(tg.grad(ours))(b), jax.jit(jax.grad(theirs))(b), rtol=1e-9)


def _complex(rng, *shape):
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def test_complex_constants_forward():
    rng = np.random.RandomState(5)
    a, b = _complex(rng, 2, 3, 3) + 3 * np.eye(3), _complex(rng, 3, 2)
    cases = [(tnp.linalg.inv, jnp.linalg.inv, (a,)), (tnp.linalg.det, jnp.linalg.det, (a,)),
             (tnp.linalg.solve, jnp.linalg.solve, (a, b)), (tnp.matmul, jnp.matmul, (a, b))]
    for ours, theirs, args in cases:
        np.testing.assert_allclose(ours(*args), theirs(*args), rtol=1e-12)


def _split(f, m):
    """``f`` of a complex array as a function of one real array ``x`` (``x[0] + 1j x[1]``), every complex
    output split into re and im: what assert_vjp checks (real in, real out), in either convention."""
    def g(x):
        out = f(x[0] + 1j * x[1])
        return tuple(p for o in (out if isinstance(out, tuple) else (out,))
                     for p in ((m.real(o), m.imag(o)) if m.iscomplexobj(o) else (o,)))
    return g


def _complex_decompositions(m):
    def f(z):
        a = z + 3 * np.eye(3)
        u, s, vh = m.linalg.svd(z, full_matrices=False)
        spd = m.matmul(z, m.conj(m.swapaxes(z, -1, -2))) + 3 * np.eye(3)
        return (m.matmul(u * (s ** 3)[..., None, :], vh), m.abs(u) ** 2, m.abs(vh) ** 2, *m.linalg.slogdet(a),
                m.linalg.cholesky(spd + 0.1 * z))
    return f


def _complex_norms(m):
    return lambda z: (*(m.linalg.norm(z, o, -1) for o in [None, 1, np.inf, 3, 0.5]),
                      *(m.linalg.norm(z, o, (-2, -1)) for o in ["fro", "nuc", 2, -2, 1, -np.inf]),
                      m.vdot(z, z[::-1]))


@pytest.mark.parametrize("name, op", [("decompositions", _complex_decompositions), ("norms and vdot", _complex_norms)])
def test_complex_inputs_against_jax(name, op):
    # svd (gauge-invariant outputs), svdvals (through 'nuc', 2, -2), slogdet (sign too), cholesky, norms, vdot
    z = _complex(np.random.RandomState(7), 2, 3, 3)
    assert_vjp(_split(op(tnp), tnp), [np.stack([z.real, z.imag])], order=2, reference=_split(op(jnp), jnp))


def test_complex_gradients_match_torch():
    # PyTorch's convention: tg.grad of a real loss is torch's z.grad
    rng = np.random.RandomState(8)
    z, w = _complex(rng, 2, 3, 3), rng.normal(size=(2, 3, 3))

    def loss(m, z):
        c = (lambda x: torch.tensor(x)) if m is torch else (lambda x: x)
        u, s, vh = m.linalg.svd(z, full_matrices=False)
        spd = m.matmul(z, m.conj(m.swapaxes(z, -1, -2))) + c(3 * np.eye(3))
        sign, logabs = m.linalg.slogdet(z + c(3 * np.eye(3)))
        low = m.linalg.cholesky(spd)
        return (m.sum(m.abs(u) ** 2 * c(w)) + m.sum(s ** 2) + m.sum(m.real(sign) + m.imag(sign) * 2) + m.sum(logabs)
                + m.sum(m.real(low * m.conj(low)) * c(w)) + m.sum(m.linalg.norm(z, 3, -1))
                + m.sum(m.linalg.matrix_norm(z, ord="nuc")))

    tz = torch.tensor(z, requires_grad=True)
    loss(torch, tz).backward()
    np.testing.assert_allclose(tg.grad(lambda z: loss(tnp, z))(z), tz.grad.resolve_conj().numpy(), rtol=1e-8, atol=1e-8)

    def thin_svd_loss(m, z):  # tall and wide: the parts of dU (dV) outside span(U) (span(V))
        u, s, vh = m.linalg.svd(z, full_matrices=False)
        return m.sum(m.abs(u[..., :1, :]) ** 2) + m.sum(m.abs(vh[..., :, :1]) ** 2) + m.sum(s ** 3)

    for shape in [(2, 4, 2), (2, 3)]:
        z = _complex(rng, *shape)
        tz = torch.tensor(z, requires_grad=True)
        thin_svd_loss(torch, tz).backward()
        np.testing.assert_allclose(tg.grad(lambda z: thin_svd_loss(tnp, z))(z), tz.grad.resolve_conj().numpy(),
                                   rtol=1e-8, atol=1e-8)


def test_vmap_of_grad():
    rng = np.random.RandomState(6)
    a = rng.normal(size=(4, 3, 3)) + 3 * np.eye(3)
    f = lambda x: tnp.linalg.slogdet(x)[1] + tnp.linalg.norm(x, "nuc")  # noqa: E731
    g = lambda x: jnp.linalg.slogdet(x)[1] + jnp.linalg.norm(x, "nuc")  # noqa: E731
    np.testing.assert_allclose(jax.vmap(tg.grad(f))(a), jax.vmap(jax.grad(g))(a), rtol=1e-9)


# ---- canonical cases: fixed, non-empty, float64 at orders 1 and 2, broadcasting batches ---------------

def _distinct_magnitudes(shape, seed):
    """Magnitudes 0.25 + 0.07 k for a permutation of k: all distinct (no ties for max-type norms)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.choice([-1.0, 1.0], n) * (0.25 + 0.07 * rng.permutation(n))).reshape(shape)


_X234 = _distinct_magnitudes((2, 3, 4), 0)
_MAX_TYPE = [1, -1, np.inf, -np.inf]


def _matrix_norms(m, x):
    return (tuple(m.linalg.norm(x, o, (1, 2)) for o in [None, "fro"] + _MAX_TYPE)
            + (m.linalg.norm(x, 1, (-1, 0), keepdims=True),))


def _both(op):
    return lambda *xs: op(tnp, *xs), lambda *xs: op(jnp, *xs)


# name: (op(m, *args) with m tnp or jnp, args); batch dimensions (2, 1) and (5,) broadcast. The solvers (inv,
# det, slogdet, solve, cholesky) and the singular-value norms have none: 5-20 s each op by op, and CI's draws of
# test_inv_det_slogdet, test_solve, test_cholesky and test_matrix_norm check them non-empty in float64 at order
# 2 (test_ci_draws asserts they still do).
CANONICAL = {
    "matmul": (lambda m, x, y: m.matmul(x, y), canonical_u((2, 1, 3, 4), (5, 4, 2))),
    "dot": (lambda m, a, b: m.dot(a, b), canonical_u((2, 3), (4, 3, 2))),
    "inner": (lambda m, a, b: m.inner(a, b), canonical_u((2, 3), (4, 3))),
    "outer": (lambda m, a, b: m.outer(a, b), canonical_u((2, 3), (4,))),
    "vdot": (lambda m, a, b: m.vdot(a, b), canonical_u((2, 3), (6,))),
    "tensordot": (lambda m, a, b: m.tensordot(a, b, ([1, 2], [1, -3])), canonical_u((2, 3, 4), (4, 3, 5))),
    "einsum": (lambda m, a, b: m.einsum("...ij,...jk->...ik", a, b), canonical_u((2, 1, 3, 4), (5, 4, 2))),
    "vector_norms": (lambda m, x: tuple(m.linalg.norm(x, o, 1, keepdims=i % 2 == 0)
                                        for i, o in enumerate(VECTOR_ORDS)), (_X234,)),
    # (The singular-value norms 2, -2 and 'nuc': CI's draws of test_matrix_norm; test_ci_draws asserts it.)
    "matrix_norms": (_matrix_norms, (_X234,)),
    "norm_of_whole_array": (lambda m, x: (m.linalg.norm(x), m.linalg.norm(x, keepdims=True)), (_X234,)),
}


def test_canonical_max_type_norms_have_no_ties():
    # Finite differences must not cross a tie between competing maxima (the precondition the drawn cases assume).
    assert _top_gap(np.abs(_X234), 1, True) > 0.05 and _top_gap(np.abs(_X234), 1, False) > 0.05
    for r, c in [(1, 2), (2, 1), (2, 0)]:  # (summed axis, maximised axis) of the cases above
        sums = np.abs(_X234).sum(axis=r, keepdims=True)
        assert _top_gap(sums, c, True) > 0.05 and _top_gap(sums, c, False) > 0.05, (r, c)


@pytest.mark.parametrize("name", sorted(CANONICAL))
def test_canonical_matches_jax(name):
    op, args = CANONICAL[name]
    check(*_both(op), tuple(np.asarray(a, "float64") for a in args), "float64")
