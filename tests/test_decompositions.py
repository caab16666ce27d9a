"""tnp.linalg's decompositions and the rest of jax.numpy.linalg: eigh, eig/eigvals, qr, pinv, lstsq
(primitives or compositions with tapegrad's own VJPs), matrix_rank, cond, tensorinv/tensorsolve,
vector_norm/matrix_norm, the array-API names, matrix_power and multi_dot.

Each gradient is checked by assert_vjp (orders 1 and 2, float64) against jax.vjp/jax.jvp of the jnp
function and central finite differences, on batched inputs; complex inputs go through ``_split``
(one real argument holding re and im, complex outputs split into re and im), so the same oracle
checks them. Where torch has the op, tg.grad of a real loss equals torch's ``x.grad`` (PyTorch's
convention for complex inputs). Eigenvector losses are gauge-invariant (|v|^2) where torch is the
reference; against jax the full outputs are compared (LAPACK's normalisation is differentiated).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from jax.lax import linalg as lax_linalg

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.numpy import linalg as tla
from tapegrad.testing import assert_vjp

RNG = np.random.default_rng(0)


def _randn(*shape, complex_=False):
    x = RNG.standard_normal(shape)
    return x + 1j * RNG.standard_normal(shape) if complex_ else x


def _split(f, np_):
    """``f`` of a complex array as a function of one real array ``x`` (``x[0] + 1j x[1]``); every
    complex output leaf becomes its real and imaginary parts."""
    def g(x):
        out = f(x[0] + 1j * x[1])
        leaves = out if isinstance(out, tuple) else (out,)
        res = []
        for o in leaves:
            res += [np_.real(o), np_.imag(o)] if np_.iscomplexobj(o) else [o]
        return tuple(res)
    return g


def _stack(z):
    return np.stack([np.real(z), np.imag(z)])


def _check(f, jf, args, complex_=False, order=2):
    if complex_:
        assert_vjp(_split(f, tnp), [_stack(args[0])], order=order, reference=_split(jf, jnp))
    else:
        assert_vjp(f, args, order=order, reference=jf)


def _torch_grad(tf, *arrays):
    ts = [torch.tensor(np.asarray(a), requires_grad=True) for a in arrays]
    tf(*ts).backward()
    return [t.grad.resolve_conj().numpy() for t in ts]


def _close(a, b, tol=1e-8):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def _herm(z):
    """A Hermitian matrix with well-separated eigenvalues (F = 1/(w_j - w_i) stays tame)."""
    n = z.shape[-1]
    return (z + np.conj(np.swapaxes(z, -1, -2))) / 2 + np.diag(np.arange(n) * 3.0)


K3 = np.arange(3.0)


def _const(np_, x):
    return torch.tensor(x) if np_ is torch else x


def _gauge_loss(w, v, np_=tnp):
    # v_j -> v_j e^{i phi} (a sign for real v) is a gauge: a weighted sum of |v|^2 is invariant.
    k = _const(np_, K3)
    return np_.sum(np_.real(w) * k) + np_.sum(np_.abs(v) ** 2 * k)


# ---- eigh ---------------------------------------------------------------------------------

@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_eigh_against_jax_fd_second_order(complex_):
    a = _herm(_randn(2, 3, 3, complex_=complex_))
    _check(lambda x: (_gauge_loss(*tla.eigh(x)), tla.eigvalsh(x)),
           lambda x: (_gauge_loss(*jnp.linalg.eigh(x), np_=jnp), jnp.linalg.eigvalsh(x)), [a], complex_)


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_eigh_vs_torch(complex_):
    a = _herm(_randn(2, 3, 3, complex_=complex_))
    g = tg.grad(lambda x: _gauge_loss(*tla.eigh(x)))(a)
    (t,) = _torch_grad(lambda x: _gauge_loss(*torch.linalg.eigh(x), np_=torch), a)
    # torch reads the lower triangle; jax (and tapegrad) symmetrize: compare the Hermitian parts
    _close(g, (t + np.conj(np.swapaxes(t, -1, -2))) / 2)


# ---- eig, eigvals -------------------------------------------------------------------------

def _jax_eig(x):
    # jnp.linalg.eig refuses eigenvector derivatives; lax.linalg.eig differentiates LAPACK's normalisation.
    w, v = lax_linalg.eig(x, compute_left_eigenvectors=False, enable_eigvec_derivs=True)
    return w, v


def test_eig_real_against_jax_fd_second_order():
    # Real input, complex outputs (a complex-conjugate pair and a real eigenvalue here).
    a = _randn(2, 3, 3)
    _check(_split(lambda x: tuple(tla.eig(x)), tnp), _split(_jax_eig, jnp), [a])
    w, v = tla.eig(a)
    jw, jv = jnp.linalg.eig(a)
    assert w.dtype == jw.dtype == v.dtype == jnp.complex128
    _close(w, jw, 1e-12)
    _close(v, jv, 1e-12)


def test_eig_complex_and_eigvals_against_jax():
    # The full complex decomposition at order 1 (order 2 of its eigenvalues below, the rest by torch).
    z = _randn(3, 3, complex_=True)
    _check(lambda x: tuple(tla.eig(x)), _jax_eig, [z], complex_=True, order=1)
    # eigvals: jax differentiates jnp.linalg.eigvals once only (its JVP calls eig without eigvec derivs)
    zb = _randn(2, 3, 3, complex_=True)
    _check(tla.eigvals, lambda x: _jax_eig(x)[0], [zb], complex_=True)
    _check(_split(tla.eigvals, tnp), _split(jnp.linalg.eigvals, jnp), [_randn(2, 3, 3)], order=1)


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_eig_vs_torch_first_and_second_order(complex_):
    a = _randn(2, 3, 3, complex_=complex_)
    loss = lambda x: _gauge_loss(*tla.eig(x))  # noqa: E731
    (t,) = _torch_grad(lambda x: _gauge_loss(*torch.linalg.eig(x), np_=torch), a)
    _close(tg.grad(loss)(a), t)
    # second order: the gradient of <grad, w> against torch's double backward
    w = _randn(*a.shape, complex_=complex_)
    ours = tg.grad(lambda x: tnp.real(tnp.sum(tg.grad(loss)(x) * w)))(a)
    ta = torch.tensor(a, requires_grad=True)
    (first,) = torch.autograd.grad(_gauge_loss(*torch.linalg.eig(ta), np_=torch), ta, create_graph=True)
    (second,) = torch.autograd.grad(torch.real(torch.sum(first * torch.tensor(w))), ta)
    _close(ours, second.resolve_conj().numpy(), 1e-7)


def test_degenerate_spectra_as_jax():
    """Repeated eigenvalues (singular values): the values' gradient is finite, the vectors' is not."""
    k = jnp.arange(3.0)
    s = np.diag([1.0, 1.0, 2.0])
    a = s.copy()
    a[0, 2] = 0.5  # non-symmetric, eigenvalues 1, 1, 2, diagonalizable
    cases = [
        (lambda x: tnp.sum(tla.eigvalsh(x) * k), lambda x: jnp.sum(jnp.linalg.eigvalsh(x) * k), s, True),
        (lambda x: tnp.sum(tla.eigh(x)[0] * k), lambda x: jnp.sum(jnp.linalg.eigh(x)[0] * k), s, True),
        (lambda x: tnp.sum(tla.eigh(x)[1] ** 2 * k), lambda x: jnp.sum(jnp.linalg.eigh(x)[1] ** 2 * k), s, False),
        (lambda x: tnp.sum(tnp.real(tla.eig(x)[0]) * k), lambda x: jnp.sum(jnp.real(jnp.linalg.eigvals(x)) * k),
         a, True),
        (lambda x: tnp.sum(tnp.abs(tla.eig(x)[1]) ** 2 * k), lambda x: jnp.sum(jnp.abs(_jax_eig(x)[1]) ** 2 * k),
         a, False),
        (lambda x: tnp.sum(tla.svd(x)[1] * k), lambda x: jnp.sum(jnp.linalg.svd(x)[1] * k), s, True),
        (lambda x: tnp.sum(tla.svd(x)[0] ** 2 * k), lambda x: jnp.sum(jnp.linalg.svd(x)[0] ** 2 * k), s, False),
    ]
    for f, jf, x, finite in cases:
        got, want = np.asarray(tg.grad(f)(x)), np.asarray(jax.grad(jf)(x))
        assert np.all(np.isfinite(got)) == finite and np.all(np.isfinite(want)) == finite
        if finite:
            _close(got, want, 1e-12)


# ---- qr -------------------------------------------------------------------------------------

def _qr_all(m):
    # reduced and complete modes of a tall matrix and of its (wide) transpose ('r' is reduced's R)
    modes = lambda x: (*m.linalg.qr(x), *m.linalg.qr(x, mode="complete"))  # noqa: E731
    return lambda x: modes(x) + modes(m.swapaxes(x, -1, -2))


def test_qr_every_mode_against_jax():
    # tall (reduced; complete by arXiv:2409.13374) and wide (m < n: square block, then R2 = Q^H X2) as jax.
    # Complex input runs every term of the rule (a real one skips the i Im parts); real is torch's below.
    _check(_qr_all(tnp), _qr_all(jnp), [_randn(2, 3, 2, complex_=True)], complex_=True)


@pytest.mark.parametrize("shape, complex_", [((2, 4, 3), False), ((3, 3), True), ((2, 4), False)])
def test_qr_vs_torch(shape, complex_):
    a = _randn(*shape, complex_=complex_)
    w = _randn(*shape[:-2], shape[-2], min(shape[-2:]))
    # |r|^2 as r conj(r): R's zeros would make abs' derivative 0/0 (tapegrad's abs gives NaN at complex 0)
    loss = lambda m, x: (lambda q, r: m.sum(m.abs(q) ** 2 * _const(m, w)) + m.sum(m.real(r * m.conj(r))))(  # noqa: E731
        *m.linalg.qr(x))
    (t,) = _torch_grad(lambda x: loss(torch, x), a)
    _close(tg.grad(lambda x: loss(tnp, x))(a), t)


def test_qr_r_and_raw_values_raw_has_no_derivative():
    a = _randn(4, 3)
    _close(tla.qr(a, mode="r"), jnp.linalg.qr(a, mode="r"), 1e-12)
    _close(tla.qr(a, mode="full")[0], jnp.linalg.qr(a, mode="full")[0], 1e-12)
    for ours, theirs in zip(tla.qr(a, mode="raw"), jnp.linalg.qr(a, mode="raw")):
        _close(ours, theirs, 1e-12)
    with pytest.raises(NotImplementedError, match="raw"):
        tg.grad(lambda x: tnp.sum(tla.qr(x, mode="raw")[0]))(a)
    with pytest.raises(ValueError, match="mode"):
        tla.qr(a, mode="economic")


# ---- pinv, lstsq ----------------------------------------------------------------------------

def test_pinv_against_jax():
    # tall and wide (batched, complex: every term of the rule), hermitian=True
    _check(lambda x: (tla.pinv(x), tla.pinv(tnp.swapaxes(x, -1, -2))),
           lambda x: (jnp.linalg.pinv(x), jnp.linalg.pinv(jnp.swapaxes(x, -1, -2))), [_randn(2, 3, 2, complex_=True)],
           complex_=True)
    h = _randn(3, 3)
    _check(lambda x: tla.pinv(x, hermitian=True), lambda x: jnp.linalg.pinv(x, hermitian=True), [h + h.T], order=1)
    # rank-deficient (rank 2 of 4 x 3): finite differences leave the rank-2 set, so jax is the oracle
    d = _randn(4, 2) @ _randn(2, 3)
    u = _randn(3, 4)
    _close(tg.vjp(tla.pinv, d)[1](u)[0], jax.vjp(jnp.linalg.pinv, d)[1](u)[0])
    _close(tla.pinv(d, rtol=0.5), jnp.linalg.pinv(d, rtol=0.5), 1e-12)
    _close(tla.pinv(d, rcond=1e-3), jnp.linalg.pinv(d, rcond=1e-3), 1e-12)


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
def test_pinv_vs_torch(complex_):
    a = _randn(2, 4, 3, complex_=complex_)
    w = _randn(2, 3, 4)
    (t,) = _torch_grad(lambda x: torch.sum(torch.abs(torch.linalg.pinv(x)) ** 2 * torch.tensor(w)), a)
    _close(tg.grad(lambda x: tnp.sum(tnp.abs(tla.pinv(x)) ** 2 * w))(a), t)


def test_lstsq_values_and_torch():
    a, b, bv = _randn(4, 3), _randn(4, 2), _randn(4)
    for args in [(a, bv), (a[:3, :2].T, _randn(2))]:  # tall, wide (underdetermined)
        for ours, theirs in zip(tla.lstsq(*args), jnp.linalg.lstsq(*args)):
            assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
            _close(ours, theirs, 1e-12)
    # torch's least-squares solution (full rank) and its gradients
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    torch.sum(torch.linalg.lstsq(ta, tb).solution ** 3).backward()
    ga, gb = tg.grad(lambda a, b: tnp.sum(tla.lstsq(a, b)[0] ** 3), (0, 1))(a, b)
    _close(ga, ta.grad.numpy())
    _close(gb, tb.grad.numpy())
    # NumPy's residuals: empty when rank < n or m <= n; a rank-deficient a: rank 1, minimum-norm x
    assert tla.lstsq(a[:3], b[:3], numpy_resid=True).residuals.shape == (0,)
    d = np.outer(_randn(4), _randn(3))
    for ours, theirs in zip(tla.lstsq(d, b, rcond=1e-6), np.linalg.lstsq(d, b, rcond=1e-6)):
        if np.size(theirs):
            _close(ours, theirs, 1e-10)
    # stacks of matrices (jax takes 2-D only): one lstsq per matrix
    ab = np.stack([a, d])
    x = tla.lstsq(ab, np.stack([b, b])).x
    for i in range(2):
        _close(x[i], np.linalg.lstsq(ab[i], b, rcond=None)[0], 1e-10)


def test_matrix_rank():
    cases = [_randn(4, 3), np.ones((3, 3)), _randn(2, 3, 4), np.zeros(3), np.outer(_randn(3), _randn(4)),
             _randn(3, 3, complex_=True)]
    for m in cases:
        np.testing.assert_array_equal(tla.matrix_rank(m), jnp.linalg.matrix_rank(m))
    np.testing.assert_array_equal(tla.matrix_rank(cases[0], rtol=10.0), jnp.linalg.matrix_rank(cases[0], rtol=10.0))
    x = _randn(3, 3)
    assert float(tg.grad(lambda x: tnp.sum(x) * tla.matrix_rank(x))(x)[0, 0]) == 3.0  # a constant, no gradient


CONDS = [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf]


def _compositions(m, x, y, v, a):
    """Every name built from the primitives above and in rules/linalg (each checked to order 2 there)."""
    lx, lres, _, ls = m.linalg.lstsq(m.concatenate([x[0], x[1]]), m.concatenate([y.T, y.T[::-1]]))
    terms = [m.linalg.cond(x, p) for p in CONDS] + [
        m.linalg.vector_norm(x, axis=(0, 2), ord=3), m.linalg.matrix_norm(x, ord="nuc"), m.linalg.cross(y, v),
        m.linalg.diagonal(x, offset=1), m.linalg.matrix_transpose(x), m.linalg.outer(y[0], v),
        m.linalg.trace(x, offset=-1), m.linalg.vecdot(x, y[0]), m.linalg.vecdot(y.T, v[:, None], axis=0),
        m.linalg.tensorinv(a, 2), m.linalg.tensorsolve(a, y), lx, lres, ls]
    return terms


def test_compositions_against_jax():
    # Compiled once each (op-by-op checks of these 25 outputs would compile hundreds of small kernels): values
    # and the gradient of a weighted sum of every output, vs jax. (Their second derivatives are those of the
    # primitives they compose, checked to order 2 by assert_vjp.)
    args = (_randn(2, 3, 3), _randn(2, 3), _randn(3), _randn(2, 3, 6))
    both = [jax.jit(lambda *b, m=m: _compositions(m, *b))(*args) for m in (tnp, jnp)]
    for ours, theirs in zip(*both, strict=True):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        _close(ours, theirs, 1e-10)

    def loss(m):
        return lambda *args: sum(m.sum(t * m.cos(m.arange(t.size).reshape(t.shape) * 1.0))
                                 for t in _compositions(m, *args))

    ours, theirs = (jax.jit(grad(loss(m), (0, 1, 2, 3)))(*args) for grad, m in [(tg.grad, tnp), (jax.grad, jnp)])
    for g, h in zip(ours, theirs, strict=True):
        _close(g, h)


def test_compositions_values_and_torch():
    assert float(tla.cond(np.ones((2, 2)), 1)) == np.inf == float(jnp.linalg.cond(np.ones((2, 2)), 1))
    z = _randn(3, 3, complex_=True)
    for p in [None, -2]:  # (torch's cond through inv, p='fro' or 1, fails in its own backward)
        (t,) = _torch_grad(lambda x, p=p: torch.linalg.cond(x, p), z)
        _close(tg.grad(lambda x, p=p: tla.cond(x, p))(z), t)
    a, b = _randn(2, 3, 6), _randn(2, 3)
    ta, tb = torch.tensor(a), torch.tensor(b)
    _close(tla.tensorsolve(a, b), torch.linalg.tensorsolve(ta, tb).numpy(), 1e-10)
    _close(tla.tensorinv(a, 2), torch.linalg.tensorinv(ta, 2).numpy(), 1e-10)
    moved = np.moveaxis(a, 2, 0)
    _close(tla.tensorsolve(moved, b, (0,)), jnp.linalg.tensorsolve(moved, b, (0,)), 1e-12)
    x = _randn(2, 3, 4)
    axes = [None, 1, (0, 2)]
    for k, ord in enumerate([2, None, 1, np.inf, -np.inf, 3, 0.5, 0]):
        for axis in (axes[k % 3], axes[(k + 1) % 3]):
            keepdims = k % 2 == 0
            ours = tla.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
            theirs = jnp.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
            assert ours.shape == theirs.shape
            _close(ours, theirs, 1e-12)
    for k, ord in enumerate(["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]):
        keepdims = k % 3 == 0
        ours, theirs = tla.matrix_norm(x, keepdims=keepdims, ord=ord), jnp.linalg.matrix_norm(x, keepdims=keepdims,
                                                                                               ord=ord)
        assert ours.shape == theirs.shape
        _close(ours, theirs, 1e-12)
    # vecdot conjugates its first argument: torch's gradient of a real loss of a complex input
    z, w = _randn(2, 3, complex_=True), _randn(3, complex_=True)
    _check(lambda z: tla.vecdot(z, z[::-1]), lambda z: jnp.linalg.vecdot(z, z[::-1]), [z], complex_=True)
    (t,) = _torch_grad(lambda z: torch.sum(torch.abs(torch.linalg.vecdot(z, torch.tensor(w))) ** 2), z)
    _close(tg.grad(lambda z: tnp.sum(tnp.abs(tla.vecdot(z, w)) ** 2))(z), t)


# ---- matrix_power, multi_dot --------------------------------------------------------------------

def test_matrix_power():
    a = jnp.asarray(RNG.standard_normal((2, 3, 3)) / 3 + np.eye(3))
    ns = [0, 1, 3, -2]
    assert_vjp(lambda x: tuple(tla.matrix_power(x, n) for n in ns), [a], order=2,
               reference=lambda x: tuple(jnp.linalg.matrix_power(x, n) for n in ns))
    for n in ns:
        t = torch.linalg.matrix_power(torch.tensor(np.asarray(a)), n).numpy()
        _close(tla.matrix_power(a, n), t, 1e-10)


def test_multi_dot():
    xs = [jnp.asarray(RNG.standard_normal(s)) for s in [(3,), (3, 4), (4, 2), (2,)]]
    assert_vjp(lambda *a: tla.multi_dot(a), xs, order=2, reference=lambda *a: jnp.linalg.multi_dot(a))


# ---- jax transforms, errors ------------------------------------------------------------------------

def test_jit_of_vmap_of_grad_matches_jax():
    def f(m, x):
        return (m.real(m.sum(m.linalg.eigvals(x))) + m.sum(m.linalg.qr(x)[1]) + m.sum(m.linalg.pinv(x))
                + m.sum(m.linalg.eigh(x + x.T)[0] * K3))

    b = _randn(2, 3, 3)
    ours, theirs = tg.grad(lambda x: f(tnp, x)), jax.grad(lambda x: f(jnp, x))
    _close(jax.jit(jax.vmap(ours))(b), jax.jit(jax.vmap(theirs))(b))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: tla.eigh(jnp.ones((2, 3))), ValueError, r"eigh.*\(2, 3\)"),
    (lambda: tla.eig(jnp.ones((2, 3))), ValueError, r"eig.*\(2, 3\)"),
    (lambda: tla.qr(jnp.ones(3)), ValueError, r"qr.*\(3,\)"),
    (lambda: tla.pinv(jnp.ones(3)), ValueError, r"pinv.*\(3,\)"),
    (lambda: tla.pinv(jnp.ones((2, 2)), rtol=0.1, rcond=0.1), ValueError, "rcond"),
    (lambda: tla.lstsq(jnp.ones(3), jnp.ones(3)), TypeError, "lstsq"),
    (lambda: tla.lstsq(jnp.ones((3, 2)), jnp.ones(2)), ValueError, r"lstsq.*\(2,\)"),
    (lambda: tla.cond(jnp.ones(3)), ValueError, "cond"),
    (lambda: tla.cond(jnp.ones((2, 3)), 1), ValueError, r"cond.*\(2, 3\)"),
    (lambda: tla.tensorinv(jnp.ones((2, 3)), 1), ValueError, "tensorinv"),
    (lambda: tla.tensorsolve(jnp.ones((2, 3)), jnp.ones(3)), ValueError, "tensorsolve"),
    (lambda: tla.vector_norm(jnp.ones(3), ord="fro"), ValueError, "fro"),
    (lambda: tla.matrix_norm(jnp.ones(3)), ValueError, "matrix_norm"),
    (lambda: tla.cross(jnp.ones(2), jnp.ones(3)), ValueError, "cross"),
    (lambda: tla.outer(jnp.ones((2, 2)), jnp.ones(3)), ValueError, "outer"),
    (lambda: tla.vecdot(jnp.ones(2), jnp.ones(3)), ValueError, "vecdot"),
    (lambda: tla.matrix_power(jnp.eye(2), 1.5), TypeError, "matrix_power"),
    (lambda: tla.multi_dot([jnp.eye(2)]), ValueError, "multi_dot"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
