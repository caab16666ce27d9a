"""tapegrad.scipy.linalg against jax.scipy.linalg (values, jax.vjp/jax.jvp to second order, finite
differences) and torch.linalg where torch has the function. Small (3x3) batched float64 matrices; checks
are grouped per family so that JAX compiles little."""
# ruff: noqa: B023  (the lambdas in loops are called within their iteration)
import warnings

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.scipy import linalg as L
from tapegrad.testing import assert_vjp as _assert_vjp


def assert_vjp(*args, op_by_op=False, **kwargs):
    # JAX's jitted linalg (expm's scan of squarings, LU, Schur) is far slower run op by op, and the
    # shapes here are few and fixed: keep jit (compositions of small ops are cheaper op by op).
    return _assert_vjp(*args, op_by_op=op_by_op, **kwargs)

R = np.random.default_rng(0)


def randn(*shape):
    return jnp.asarray(R.standard_normal(shape))


def well(*shape):
    """Well-conditioned square matrices: the identity's multiple plus noise."""
    return randn(*shape) + 3.0 * jnp.eye(shape[-1])


def spd(*shape):
    a = randn(*shape)
    return a @ jnp.swapaxes(a, -1, -2) + shape[-1] * jnp.eye(shape[-1])


def against_jax(f, ref, args, tol=1e-10):
    """Values and the VJP of a random cotangent against jax.vjp of the (jitted: one compile) reference.

    With :func:`assert_vjp` without a reference (finite differences), this checks a composition at a
    fraction of the cost of assert_vjp's reference mode, which transforms each jax.scipy function apart.
    """
    out, pull = tg.vjp(f, *args)
    jout, jpull = jax.vjp(jax.jit(ref), *args)
    rng = np.random.default_rng(1)
    u = jax.tree.map(lambda o: jnp.asarray(rng.standard_normal(np.shape(o)), o.dtype), jout)
    for got, want in zip(jax.tree.leaves((out, pull(u))), jax.tree.leaves((jout, jpull(u)))):
        close(got, want, tol)


def sym(x):
    """The symmetric part (tnp ops, so it works on tapegrad and JAX values alike)."""
    return (x + tnp.swapaxes(x, -1, -2)) / 2


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def parts(fn):
    """``fn`` returning the real and imaginary parts of each output (assert_vjp checks real outputs)."""
    def f(*args):
        out = fn(*args)
        return tuple(p for o in (out if isinstance(out, tuple) else (out,)) for p in (tnp.real(o), tnp.imag(o)))
    return f


def complexify(fn, n=1):
    """``fn`` of ``n`` complex arrays as a function of their real and imaginary parts, with real outputs:
    how a complex op is checked with real-only finite differences."""
    return parts(lambda *p: fn(*[p[2 * i] + 1j * p[2 * i + 1] for i in range(n)], *p[2 * n:]))


def test_surface_is_jax_scipy_linalg():
    jax_names = {n for n in dir(jsl) if not n.startswith("_")}
    assert jax_names == set(L.__all__)
    for n in L.__all__:
        assert callable(getattr(L, n)) and getattr(L, n).__doc__


# ---- triangular solves ------------------------------------------------------------------------

def test_solve_triangular_forward_grads_torch():
    a, b, v = well(2, 3, 3), randn(3, 2), randn(3)
    combos = [(lower, trans, unit) for lower in (True, False) for trans in (0, 1, "C") for unit in (False, True)]

    def every(sl, a, b, v):  # all the variants, matrix and vector right-hand sides
        return [(sl(a, b, trans=t, lower=lo, unit_diagonal=u), sl(a[0], v, trans=t, lower=lo, unit_diagonal=u))
                for lo, t, u in combos]

    want = jax.jit(lambda a, b, v: every(jsl.solve_triangular, a, jnp.broadcast_to(b, (2, 3, 2)), v))(a, b, v)
    for got, w in zip(jax.tree.leaves(every(L.solve_triangular, a, b, v)), jax.tree.leaves(want)):
        close(got, w)

    def both(sl, a, b):  # two solves, each reading another triangle; b broadcasts against a's batch
        return (sl(a, b, lower=True), sl(a, b, trans=1, unit_diagonal=True))

    assert_vjp(lambda a, b: both(L.solve_triangular, a, b), (a, b), order=2,
               reference=lambda a, b: both(jsl.solve_triangular, a, jnp.broadcast_to(b, (2, 3, 2))))
    # complex, trans='C' (conjugate transpose): real and imaginary parts as the checked arguments
    ca, cb = well(3, 3) + 1j * randn(3, 3), randn(3, 2) + 1j * randn(3, 2)
    against_jax(complexify(lambda z, w: L.solve_triangular(z, w, trans="C", lower=True), 2),
                complexify(lambda z, w: jsl.solve_triangular(z, w, trans="C", lower=True), 2),
                (ca.real, ca.imag, cb.real, cb.imag))
    # torch: values and gradients (torch reads the same triangle)
    ta, tb = torch.tensor(np.asarray(a), requires_grad=True), torch.tensor(np.asarray(b), requires_grad=True)
    w = torch.tensor(R.standard_normal((2, 3, 2)))
    tx = torch.linalg.solve_triangular(ta, tb.expand(2, 3, 2), upper=True, unitriangular=True)
    (tx * w).sum().backward()
    gx = tg.grad(lambda a, b: tnp.sum(L.solve_triangular(a, b, unit_diagonal=True) * w.numpy()), argnums=(0, 1))(a, b)
    close(gx[0], ta.grad.numpy())
    close(gx[1], tb.grad.numpy())


def test_cholesky_cho_solve():
    a, b = spd(2, 3, 3), randn(2, 3, 2)
    for lower in (True, False):
        close(L.cholesky(a, lower=lower), jsl.cholesky(a, lower=lower))
        c, low = L.cho_factor(a, lower=lower)
        assert low is lower
        close(L.cho_solve((c, lower), b), jsl.cho_solve(jsl.cho_factor(a, lower=lower), b))

    # One triangle is read and (as jax's) the Cholesky rule assumes a symmetric perturbation: symmetric input.
    def chol(m, a, b):
        return (m.cholesky(sym(a)), m.cho_solve(m.cho_factor(sym(a), lower=True), b),
                m.cho_solve((m.cholesky(sym(a[0])), False), b[0, :, 0]))

    against_jax(lambda a, b: chol(L, a, b), lambda a, b: chol(jsl, a, b), (a, b))
    assert_vjp(lambda a, b: chol(L, a, b), (a, b), order=1, modes=("rev",))
    # complex (Hermitian) input, by real and imaginary parts; with polar's and qr's complex VJPs
    z = randn(3, 3) + 1j * randn(3, 3)
    h, cb = z @ jnp.conj(z.T) + 3 * jnp.eye(3), b[0] + 1j * b[1]

    def hermitian(m, h, b, z):
        return (m.cholesky(h), m.cho_solve(m.cho_factor(h, lower=True), b), *m.polar(z, method="svd"),
                *m.qr(z, mode="economic"))

    against_jax(complexify(lambda *zs: hermitian(L, *zs), 3), complexify(lambda *zs: hermitian(jsl, *zs), 3),
                (h.real, h.imag, cb.real, cb.imag, z.real, z.imag))


# ---- LU ----------------------------------------------------------------------------------------

def test_lu_family():
    a, b = randn(2, 3, 3), randn(3, 2)
    lu, piv = L.lu_factor(a)
    jlu, jpiv = jsl.lu_factor(a)
    close(lu, jlu)
    assert piv.dtype == jpiv.dtype and (np.asarray(piv) == np.asarray(jpiv)).all()
    for trans in (0, 1, 2):
        close(L.lu_solve((lu, piv), b, trans=trans),
              jax.vmap(lambda f, p: jsl.lu_solve((f, p), b, trans=trans))(jlu, jpiv))
    rect = (randn(4, 3), randn(3, 4))
    for x in (a[0],) + rect:
        for got, want in zip(L.lu(x), jsl.lu(x)):
            close(got, want)
        for got, want in zip(L.lu(x, permute_l=True), jsl.lu(x, permute_l=True)):
            close(got, want)
    # finite differences to second order; the first-order references are JAX's (below) and torch's
    assert_vjp(lambda a: L.lu_factor(a)[0], (a,), order=2)

    def more(m, x, y, a, b):  # the square and rectangular factors, and a transposed solve
        return m.lu(a)[1:] + m.lu(x)[1:] + m.lu(y)[1:] + (m.lu_solve(m.lu_factor(a), b, trans=1),)

    against_jax(lambda *xs: more(L, *xs), lambda *xs: more(jsl, *xs), rect + (a[0], b))
    # torch.linalg.lu_factor: the packed factors and their gradient
    ta = torch.tensor(np.asarray(a), requires_grad=True)
    w = R.standard_normal((2, 3, 3))
    tlu, _ = torch.linalg.lu_factor(ta)
    (tlu * torch.tensor(w)).sum().backward()
    close(lu, tlu.detach().numpy())
    close(tg.grad(lambda a: tnp.sum(L.lu_factor(a)[0] * w))(a), ta.grad.numpy())
    # complex: PyTorch's convention, against torch itself
    z = a[0] + 1j * randn(3, 3)
    tz = torch.tensor(np.asarray(z), requires_grad=True)
    (torch.linalg.lu_factor(tz)[0] * torch.tensor(w[0])).real.sum().backward()
    close(tg.grad(lambda z: tnp.sum(tnp.real(L.lu_factor(z)[0] * w[0])))(z), tz.grad.numpy())


# ---- matrix functions --------------------------------------------------------------------------

def test_expm_and_frechet():
    a, e = randn(2, 3, 3) / 2, randn(3, 3)
    close(L.expm(a), jsl.expm(a), 1e-12)
    close(L.expm(a), torch.linalg.matrix_exp(torch.tensor(np.asarray(a))).numpy(), 1e-12)
    for got, want in zip(L.expm_frechet(a[0], e), jsl.expm_frechet(a[0], e)):
        close(got, want, 1e-11)
    # Finite differences to second order; the first-order reference is torch's gradient of matrix_exp
    # below (jax.vjp/jvp of jax.scipy's expm compile for a minute: its Padé switch and squaring scan).
    assert_vjp(L.expm, (a,), order=2)
    ta = torch.tensor(np.asarray(a), requires_grad=True)
    w = R.standard_normal((2, 3, 3))
    (torch.linalg.matrix_exp(ta) * torch.tensor(w)).sum().backward()
    close(tg.grad(lambda x: tnp.sum(L.expm(x) * w))(a), ta.grad.numpy(), 1e-9)
    z = a[0] + 1j * a[1]  # complex: PyTorch's convention, against torch itself
    tz = torch.tensor(np.asarray(z), requires_grad=True)
    (torch.linalg.matrix_exp(tz) * torch.tensor(w[0])).real.sum().backward()
    close(tg.grad(lambda z: tnp.sum(tnp.real(L.expm(z) * w[0])))(z), tz.grad.numpy(), 1e-9)
    # a huge cotangent does not exhaust the squarings (the Fréchet block is scaled)
    g = tg.grad(lambda x: tnp.sum(L.expm(x) * w) * 1e12)(a)
    assert np.isfinite(np.asarray(g)).all()
    close(g / 1e12, ta.grad.numpy(), 1e-9)
    # the upper-triangular variant (a function of the upper triangle) and the Fréchet derivative
    assert_vjp(lambda x, e: (L.expm(tnp.triu(x), upper_triangular=True), L.expm_frechet(x, e, compute_expm=False)),
               (a[0], e), order=1, modes=("rev",))


def _sqrtm_spd(a):
    w, v = jnp.linalg.eigh(a)
    return ((v * jnp.sqrt(w)[..., None, :]) @ jnp.swapaxes(v, -1, -2)).astype(jnp.complex128)


def test_sqrtm_and_sylvester():
    s = spd(2, 3, 3)
    close(L.sqrtm(s[0]), jsl.sqrtm(s[0]), 1e-9)
    close(L.sqrtm(s), _sqrtm_spd(s), 1e-9)
    # jax.scipy's sqrtm has no derivative: the reference is the eigh form, valid for symmetric input
    assert_vjp(parts(lambda x: L.sqrtm(sym(x))), (s[0],), order=2, reference=parts(lambda x: _sqrtm_spd(sym(x))))
    A, B, C = well(3, 3), well(2, 2), randn(3, 2)
    x = L.solve_sylvester(A, B, C)
    close(x, jsl.solve_sylvester(A, B, C), 1e-10)
    close(A @ x + x @ B, C, 1e-10)
    # jax.scipy's solve_sylvester has no derivative either: finite differences, and a general sqrtm
    assert_vjp(lambda A, B, C: (L.solve_sylvester(A, B, C), *parts(L.sqrtm)(A)), (A, B, C), order=2)


def test_funm_schur_and_other_forward_only():
    a = randn(3, 3)
    close(L.funm(a / 3, jnp.exp), jsl.funm(a / 3, jnp.exp))
    for got, want in zip(L.schur(a), jsl.schur(a)):
        close(got, want)
    for got, want in zip(L.schur(a, output="complex"), jsl.schur(a, output="complex")):
        close(got, want)
    for got, want in zip(L.hessenberg(a, calc_q=True), jsl.hessenberg(a, calc_q=True)):
        close(got, want)
    d, e = randn(4), randn(3)
    close(L.eigh_tridiagonal(d, e, eigvals_only=True), jsl.eigh_tridiagonal(d, e, eigvals_only=True))
    for got, want in zip(L.polar(a), jsl.polar(a)):
        close(got, want, 1e-8)
    c = randn(2, 3)
    for got, want in zip(L.qr_multiply(a, c), jsl.qr_multiply(a, c)):
        close(got, want)
    # differentiating through them raises, naming the function (as JAX's have no derivative)
    cases = {
        "schur": lambda x: L.schur(x)[0],
        "hessenberg": lambda x: L.hessenberg(x),
        "funm": lambda x: tnp.real(L.funm(x, jnp.exp)),
        "polar": lambda x: L.polar(x)[1],
        "qr_multiply": lambda x: L.qr_multiply(x, c)[0],
        "eigh_tridiagonal": lambda x: L.eigh_tridiagonal(x[0], x[1, :2], eigvals_only=True),
    }
    for name, f in cases.items():
        with pytest.raises(NotImplementedError, match=rf"scipy\.linalg\.{name} is not differentiable"):
            tg.grad(lambda x: tnp.sum(f(x)))(a)
        tg.grad(lambda x: tnp.sum(x) + 0 * tnp.sum(tg.stop_gradient(f(x))))(a)  # forward only is fine


# ---- reused tnp.linalg, with scipy's arguments -----------------------------------------------

def test_eigh_svd_det_inv_solve_polar():
    s, a, b, m = spd(2, 3, 3), well(2, 3, 3), randn(2, 3, 2), randn(4, 3)
    for lower in (True, False):
        w, v = L.eigh(s, lower=lower)
        jw, jv = jsl.eigh(s, lower=lower)
        close(w, jw)
        close(jnp.abs(v), jnp.abs(jv))
        close(L.eigh(s, lower=lower, eigvals_only=True), jw)
    close(L.svd(a, compute_uv=False), jsl.svd(a, compute_uv=False))
    for f, jf in [(L.det, jsl.det), (L.inv, jsl.inv)]:
        close(f(a), jf(a))
    for assume_a in ("gen", "pos"):
        close(L.solve(s, b, assume_a=assume_a), jsl.solve(s, b, assume_a=assume_a))
    for side, x in (("right", m), ("left", m.T)):
        for got, want in zip(L.polar(x, side=side, method="svd"), jsl.polar(x, side=side, method="svd")):
            close(got, want)

    def all_of(n, s, a, b, m):
        return (n.eigh(s, eigvals_only=True), n.svd(a, compute_uv=False), n.det(a), n.inv(a), n.solve(a, b),
                *n.polar(m, method="svd"), *n.polar(m.T, side="left", method="svd"))

    against_jax(lambda *xs: all_of(L, *xs), lambda *xs: all_of(jsl, *xs), (s, a, b, m), 1e-9)


def test_qr():
    a, w = randn(4, 3), randn(3, 4)
    for x in (a, w, randn(2, 3, 3)):
        for mode in ("full", "economic", "r"):
            for piv in (False, True):
                for got, want in zip(L.qr(x, mode=mode, pivoting=piv), jsl.qr(x, mode=mode, pivoting=piv)):
                    close(got, want)

    def all_of(m, a, w):  # economic, full (R of a tall matrix, Q and R of a wide one), 'r', pivoted
        return (*m.qr(a, mode="economic"), *m.qr(a)[1:], *m.qr(w), *m.qr(a, mode="r"),
                *m.qr(a, mode="economic", pivoting=True)[:2])

    against_jax(lambda *xs: all_of(L, *xs), lambda *xs: all_of(jsl, *xs), (a, w))
    assert_vjp(lambda *xs: all_of(L, *xs), (a, w), order=1, modes=("rev",))


def test_rsf2csf():
    a = randn(4, 4)
    t, z = jsl.schur(a)
    for got, want in zip(L.rsf2csf(t, z), jsl.rsf2csf(t, z)):
        close(got, want)
    # perturb only T's nonzero pattern: a new subdiagonal entry would switch a rotation on (a jump)
    mask = np.asarray(t) != 0
    against_jax(parts(lambda t, z: L.rsf2csf(t * mask, z)), parts(lambda t, z: jsl.rsf2csf(t * mask, z)), (t, z))


# ---- special matrices ----------------------------------------------------------------------------

SPECIAL = [("toeplitz", (0, 1)), ("toeplitz", (0,)), ("hankel", (0, 1)), ("circulant", (0,)), ("companion", (2,)),
           ("fiedler", (2,)), ("fiedler_companion", (3,)), ("leslie", (1, 0))]


def test_special_matrices_forward_and_grads():
    c, r, v, u = randn(2, 3), randn(4), randn(4) + 2.0, randn(6) + 2.0
    blocks = (randn(2, 2), randn(3), randn(1, 2))

    def all_of(m, c, r, v, u, *blocks):
        arrays = (c, r, v, u)
        out = [getattr(m, name)(*(arrays[i] for i in which)) for name, which in SPECIAL]
        out += [m.convolution_matrix(v, 3, mode) for mode in ("full", "same")]
        return tuple(out) + (m.block_diag(*blocks),)

    # values and VJPs against jax.scipy's (these are linear maps, but for fiedler's abs and companion's
    # division: JAX's VJP is the oracle, finite differences would add nothing but time)
    against_jax(lambda *xs: all_of(L, *xs), lambda *xs: all_of(jsl, *xs), (c, r, v, u) + blocks)
    close(L.convolution_matrix(v, 3, "valid"), jsl.convolution_matrix(v, 3, "valid"))
    close(L.hankel(c), jsl.hankel(c))
    close(L.block_diag(), jsl.block_diag())
    ints = (jnp.ones((1, 1), int), jnp.ones(1, int))
    assert L.block_diag(*ints).dtype == jsl.block_diag(*ints).dtype
    for name, args in [("hilbert", (3,)), ("invhilbert", (3,)), ("pascal", (3,)), ("pascal", (3, "upper")),
                       ("invpascal", (3, "lower")), ("helmert", (4, True)), ("hadamard", (4,)), ("dft", (3, "n"))]:
        close(getattr(L, name)(*args), getattr(jsl, name)(*args))


# ---- errors and tapes -------------------------------------------------------------------------------

def test_errors_name_the_function():
    with pytest.raises(ValueError, match="solve_triangular"):
        L.solve_triangular(jnp.ones((2, 3)), jnp.ones(2))
    with pytest.raises(ValueError, match="solve_triangular.*trans"):
        L.solve_triangular(jnp.eye(2), jnp.ones(2), trans=3)
    with pytest.raises(ValueError, match="cho_solve"):
        L.cho_solve((jnp.eye(2), True), jnp.ones(3))
    with pytest.raises(ValueError, match="lu_solve"):
        L.lu_solve(L.lu_factor(jnp.eye(2)), jnp.ones((3, 1)))
    with pytest.raises(ValueError, match="expm"):
        L.expm(jnp.ones(3))
    with pytest.raises(ValueError, match="expm_frechet"):
        L.expm_frechet(jnp.eye(2), jnp.eye(3))
    with pytest.raises(ValueError, match="solve_sylvester"):
        L.solve_sylvester(jnp.eye(2), jnp.eye(2), jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="solve.*assume_a"):
        L.solve(jnp.eye(2), jnp.ones(2), assume_a="banded")
    with pytest.raises(NotImplementedError, match="eigh"):
        L.eigh(jnp.eye(2), jnp.eye(2))
    with pytest.raises(ValueError, match="schur"):
        L.schur(jnp.eye(2), output="bad")
    with pytest.raises(ValueError, match="leslie"):
        L.leslie(jnp.ones(3), jnp.ones(3))
    with pytest.raises(ValueError, match="block_diag"):
        L.block_diag(jnp.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="convolution_matrix"):
        L.convolution_matrix(jnp.ones(3), 0)
    with pytest.raises(NotImplementedError, match="sqrtm"):
        L.sqrtm(jnp.eye(2), blocksize=2)
    with pytest.raises(ValueError, match="polar"):
        L.polar(jnp.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FutureWarning, match="solve_triangular"):
            L.solve_triangular(jnp.broadcast_to(jnp.eye(2), (3, 2, 2)), jnp.ones((3, 2)))


def test_no_library_tape_uses_the_jax_bridge():
    a = well(3, 3)
    calls = [lambda x: L.expm(x), lambda x: L.solve_triangular(x, x[0]), lambda x: L.lu_factor(x)[0],
             lambda x: tnp.real(L.sqrtm(x @ x.T)), lambda x: L.solve_sylvester(x, x, x),
             lambda x: L.toeplitz(x[0], x[1])]
    for call in calls:
        tape = tg.make_tape(call)(a)
        assert len(tape) and not any(e.prim.name.startswith("from_jax") for e in tape)
