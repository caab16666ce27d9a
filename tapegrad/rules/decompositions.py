"""Matrix decompositions beyond the solvers: ``eigh``, ``eig``, ``qr`` and ``pinv`` primitives.

Each VJP is the transpose of jax's JVP for the same decomposition (jax/_src/lax/linalg.py,
jax/_src/numpy/linalg.py), written with tapegrad ops on the saved outputs so it differentiates
again. The rules are in JAX's convention for complex values (the transpose of the real-linear JVP
under ``Re sum(g * t)``): a conjugate transpose ``X^H`` in the JVP becomes ``conj(X)`` in the rule,
and ``Re``/``Im`` of a JVP term become a real or an ``i``-times-real cotangent. A real input's
cotangent is the real part of the complex one (the sweep casts it).

Degenerate spectra are handled as jax handles them: outputs without a cotangent arrive as ``None``
(symbolic zeros) and are skipped, so eigenvalues alone have a finite gradient at repeated
eigenvalues, while the eigenvectors' gradient there divides by zero (inf/nan), as jax's does.
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive
from tapegrad.rules.linalg import _H, _conj, _is_complex, _mm, _mT, _solve, _tri_solve


def _sum_terms(terms):
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _gap_inverse(w, eye):
    """``1 / (w_j - w_i)`` off the diagonal, 0 on it (the eye keeps the division finite there)."""
    return 1.0 / (tnp.expand_dims(w, -2) - tnp.expand_dims(w, -1) + eye) - eye


# ---- eigh: Hermitian (real symmetric) matrices -------------------------------------------------

def _eigh_impl(a, lower, symmetrize_input):
    w, v = jnp.linalg.eigh(a, UPLO="L" if lower else "U", symmetrize_input=symmetrize_input)
    return w, v


def _eigh_rule(gs, out, a, lower, symmetrize_input):
    # jax's JVP: M = V^H dA V, dw = Re diag(M), dV = V (F o M), F_ij = 1 / (w_j - w_i). Transposed:
    # gA = conj(V) (diag(gw) + F o (V^T gV)) V^T, made Hermitian when the input is ((A + A^H) / 2).
    gw, gv = gs
    w, v = out
    eye = jnp.eye(a.shape[-1], dtype=tnp.result_type(w))
    terms = []
    if gw is not None:
        terms.append(tnp.expand_dims(gw, -2) * eye)
    if gv is not None:
        terms.append(_gap_inverse(w, eye) * _mm(_mT(v), gv))
    ga = _mm(_mm(_conj(v), _sum_terms(terms)), _mT(v))
    if symmetrize_input:
        ga = (ga + _H(ga)) / 2
    return (ga,)


eigh_p = Primitive("eigh", _eigh_impl, save_args=False, save_out=True, multiple_results=True,
                   symbolic_zeros=True).defvjp_all(_eigh_rule)


# ---- eig: general square matrices (complex outputs) -----------------------------------------------

def _eig_impl(a):
    w, v = jnp.linalg.eig(a)
    return w, v


def _eig_rule(gs, out, a):
    """Transpose of jax's ``eig_jvp_rule`` (with ``enable_eigvec_derivs=True``).

    JVP: ``P = V^-1 dA V``, ``dw = diag(P)``, ``U = V (F o P)`` and ``dV = U + V diag(c)``, where
    ``c_j = -Re(v_j^H u_j) - i Im(u_kj) / Re(v_kj)`` (``k = argmax_i |v_ij|``) keeps LAPACK's
    normalisation: unit 2-norm, largest component real. Transposed, with ``gc = sum_i v_ij gV_ij``:
    ``gU = gV - conj(V) Re(gc) - i mask Im(gc) / Re(v_kj)``, ``gP = diag(gw) + F o (V^T gU)`` and
    ``gA = V^-T gP V^T``.
    """
    gw, gv = gs
    w, v = out
    n = a.shape[-1]
    eye = jnp.eye(n, dtype=v.dtype)
    vt = _mT(v)
    terms = []
    if gw is not None:
        terms.append(tnp.expand_dims(gw, -2) * eye)
    if gv is not None:
        # Where each eigenvector's largest component sits (piecewise constant: no derivative).
        k = tnp.argmax(tnp.abs(v), axis=-2)
        mask = (jnp.arange(n)[:, None] == jnp.asarray(k)[..., None, :]).astype(v.dtype)
        gc = tnp.sum(v * gv, axis=-2)
        vk = tnp.real(tnp.sum(mask * v, axis=-2))
        gu = (gv - tnp.conj(v) * tnp.expand_dims(tnp.real(gc), -2)
              - mask * tnp.expand_dims(1j * tnp.imag(gc) / vk, -2))
        terms.append(_gap_inverse(w, eye) * _mm(vt, gu))
    return (_solve(vt, _mm(_sum_terms(terms), vt)),)


eig_p = Primitive("eig", _eig_impl, save_args=False, save_out=True, multiple_results=True,
                  symbolic_zeros=True).defvjp_all(_eig_rule)


# ---- qr ------------------------------------------------------------------------------------

def _thin_qr_transpose(q, r, gq, gr):
    """The cotangent of X = QR (m >= n, Q m x n, R n x n): transpose of jax's ``_thin_qr_jvp``.

    JVP: ``K = dX R^-1``, ``M = Q^H K``, ``dO = tril(M, -1) - tril(M, -1)^H + i Im diag(M)``,
    ``dQ = Q (dO - M) + K``, ``dR = (M - dO) R``. Transposed, with ``E = Q^T gQ - gR R^T`` (the
    cotangent of dO): ``gM = -E + tril(E - E^H, -1) + i Im diag(E)``, ``gK = gQ + conj(Q) gM`` and
    ``gX = gK R^-T``.
    """
    e = _mm(_mT(q), gq) - _mm(gr, _mT(r))
    gm = tnp.tril(e - _H(e), -1) - e
    if _is_complex(e):
        gm = gm + jnp.eye(e.shape[-1], dtype=e.dtype) * (1j * tnp.imag(e))
    gk = gq + _mm(_conj(q), gm)
    # gX R^T = gK, i.e. R gX^T = gK^T: one triangular solve.
    return _mT(_tri_solve(r, _mT(gk), lower=False, transpose_a=False))


def _qr_impl(a, full_matrices):
    q, r = jnp.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    return q, r


def _qr_rule(gs, out, a, full_matrices):
    gq, gr = gs
    q, r = out
    m, n = a.shape[-2:]
    if m < n:
        # Wide: X = [X1 X2] with X1 = Q R1 square and R2 = Q^H X2, so dR2 = dQ^H X2 + Q^H dX2.
        x2 = a[..., :, m:]
        gr1, gr2 = gr[..., :, :m], gr[..., :, m:]
        gq = gq + _conj(_mm(x2, _mT(gr2)))
        gx1 = _thin_qr_transpose(q, r[..., :, :m], gq, gr1)
        return (tnp.concatenate([gx1, _mm(_conj(q), gr2)], axis=-1),)
    if not full_matrices or m == n:
        return (_thin_qr_transpose(q, r, gq, gr),)
    # Complete, tall (arXiv:2409.13374, as jax): the last m - n columns of Q follow the first n,
    # dQ_mp = dQ_mn Z^H - W (dQ_pn - Z dQ_nn)^H with Z = Q_pn (Q_nn - I)^-1, W = Q_mn + Q_mp Z.
    q_mn, q_mp = q[..., :, :n], q[..., :, n:]
    q_nn, q_pn = q_mn[..., :n, :], q_mn[..., n:, :]
    eye = jnp.eye(n, dtype=q.dtype)
    z = _mT(_solve(_mT(q_nn - eye), _mT(q_pn)))
    w = q_mn + _mm(q_mp, z)
    g_mp = gq[..., :, n:]
    g_t = -_conj(_mm(_mT(g_mp), w))  # the cotangent of T = dQ_pn - Z dQ_nn
    g_mn = (gq[..., :, :n] + _mm(g_mp, _conj(z))
            + tnp.concatenate([-_mm(_mT(z), g_t), g_t], axis=-2))
    return (_thin_qr_transpose(q_mn, r[..., :n, :], g_mn, gr[..., :n, :]),)


qr_p = Primitive("qr", _qr_impl, save_out=True, multiple_results=True).defvjp_all(_qr_rule)


def _qr_raw_rule(gs, out, a):
    raise NotImplementedError(
        f"tnp.linalg.qr: mode='raw' (Householder reflectors, shape {tuple(a.shape)}) has no derivative "
        "(nor in jax); use mode='reduced' or 'complete'")


qr_raw_p = Primitive("qr_raw", lambda a: tuple(jnp.linalg.qr(a, mode="raw")), save_out=False,
                     multiple_results=True).defvjp_all(_qr_raw_rule)


# ---- pinv -----------------------------------------------------------------------------------
# Its own rule rather than the SVD's: the Golub-Pereyra derivative (as jax's custom_jvp) needs only
# P and A, holds wherever the rank is locally constant (rank-deficient and repeated singular
# values included, where the SVD rule divides by zero), and costs a few products.

def _hermitian_part(x):
    return (x + _H(x)) / 2


def _pinv_impl(a, rtol, hermitian):
    return jnp.linalg.pinv(a, rtol=rtol, hermitian=hermitian)


def _pinv_rule(g, p, a, rtol, hermitian):
    # JVP: dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P. Transposed:
    # gA = -P^T g P^T + conj((I - A P) g^T P P^H) + conj(P^H P g^T (I - P A)).
    if hermitian:
        a = _hermitian_part(a)
    gt = _mT(g)
    s = _mm(_mm(gt, p), _H(p))  # g^T P P^H (m x n)
    t = _mm(_H(p), _mm(p, gt))  # P^H P g^T (m x n)
    ga = (-_mm(_mm(_mT(p), g), _mT(p)) + _conj(s - _mm(a, _mm(p, s)) + t - _mm(_mm(t, p), a)))
    if hermitian:
        ga = _hermitian_part(ga)
    return ga


pinv_p = Primitive("pinv", _pinv_impl, save_out=True).defvjp(_pinv_rule, None)
