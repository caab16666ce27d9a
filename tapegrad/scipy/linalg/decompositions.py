"""Decompositions: eigh, svd, polar and the complex Schur form (differentiable), schur, hessenberg,
eigh_tridiagonal, qr_multiply and polar by QDWH (forward only, as in JAX).

``eigh`` and ``svd`` are ``tnp.linalg``'s with scipy's arguments. ``polar(method='svd')`` and
``rsf2csf`` are compositions, so gradients flow as through JAX's. The forward-only ones are
primitives whose VJP raises, naming the function, when something differentiates through them.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer
from tapegrad.numpy import linalg as _tla
from tapegrad.rules import matrix_functions as _mf
from tapegrad.scipy.linalg._util import PREFIX, Array, array, inexact, is_complex, mH, square


def _traced(*xs: Array) -> bool:
    return any(type(x) is Tracer for x in xs)


def eigh(a: Array, b: Array | None = None, lower: bool = True, eigvals_only: bool = False,
         overwrite_a: bool = False, overwrite_b: bool = False, turbo: bool = True, eigvals: None = None,
         type: int = 1, check_finite: bool = True) -> Array | tuple[Array, Array]:
    """Eigenvalues (ascending) and eigenvectors of a Hermitian matrix, reading its ``lower`` (or upper)
    triangle; ``w`` alone with ``eigvals_only``. Only the standard problem (``b=None``) exists, as in JAX.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> eigh(tnp.asarray([[2.0, 1.0], [1.0, 2.0]]), eigvals_only=True).tolist()
        [1.0, 3.0]
    """
    del overwrite_a, overwrite_b, turbo, check_finite
    if b is not None:
        raise NotImplementedError(f"{PREFIX}.eigh: only the b=None case of eigh is implemented")
    if type != 1:
        raise NotImplementedError(f"{PREFIX}.eigh: only the type=1 case of eigh is implemented")
    if eigvals is not None:
        raise NotImplementedError(f"{PREFIX}.eigh: only the eigvals=None case of eigh is implemented")
    (a,) = inexact(a, who="eigh")
    w, v = _tla.eigh(a, UPLO="L" if lower else "U")
    return w if eigvals_only else (w, v)


def eigh_tridiagonal(d: Array, e: Array, *, eigvals_only: bool = False, select: str = "a",
                     select_range: tuple[float, float] | None = None, tol: float | None = None,
                     key: Array | None = None) -> Array | tuple[Array, Array]:
    """Eigenvalues (by bisection) and, unless ``eigvals_only``, eigenvectors (inverse iteration from
    ``key``) of the symmetric tridiagonal matrix with diagonal ``d`` and off-diagonal ``e``.

    Not differentiable, as jax.scipy's is not (its bisection is a while loop): use :func:`eigh` on the
    full matrix for gradients.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [round(x, 6) for x in eigh_tridiagonal(tnp.asarray([2.0, 2.0]), tnp.asarray([1.0]),
        ...                                        eigvals_only=True).tolist()]
        [1.0, 3.0]
    """
    d, e = array(d, "eigh_tridiagonal"), array(e, "eigh_tridiagonal")
    if not _traced(d, e):
        return jsl.eigh_tridiagonal(d, e, eigvals_only=eigvals_only, select=select, select_range=select_range,
                                    tol=tol, key=key)
    if not eigvals_only and key is None:
        key = jax.random.key(42)  # jax.scipy's default
    if key is not None and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key_data, key_impl = jax.random.key_data(key), str(jax.random.key_impl(key))
    else:  # a raw uint32 key
        key_data, key_impl = key, None
    out = _mf.eigh_tridiagonal_p(d, e, key_data, eigvals_only=bool(eigvals_only), select=select,
                                 select_range=select_range, tol=tol, key_impl=key_impl)
    return out[0] if eigvals_only else tuple(out)


def svd(a: Array, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd") -> Array | tuple[Array, Array, Array]:
    """``(U, s, Vh)`` with ``a = U @ diag(s) @ Vh``, or ``s`` alone. Gradients of ``U``/``Vh`` of a
    non-square matrix need ``full_matrices=False``, as in JAX.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> svd(tnp.asarray([[3.0, 0.0], [0.0, 4.0]]), compute_uv=False).tolist()
        [4.0, 3.0]
    """
    del overwrite_a, check_finite, lapack_driver
    (a,) = inexact(a, who="svd")
    out = _tla.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def schur(a: Array, output: str = "real") -> tuple[Array, Array]:
    """``(T, Z)`` with ``a = Z @ T @ Z^H``: quasi-triangular ``T`` ('real') or triangular ('complex').
    Not differentiable (nor is jax.scipy's).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> t, z = schur(tnp.asarray([[1.0, 2.0], [0.0, 3.0]]))
    """
    if output not in ("real", "complex"):
        raise ValueError(f"{PREFIX}.schur: expected 'output' to be either 'real' or 'complex', got output={output!r}")
    (a,) = inexact(a, who="schur")
    square(a, "schur")
    if output == "complex" and not is_complex(a):
        a = tnp.astype(a, jnp.result_type(a.dtype, jnp.complex64))
    return tuple(_mf.schur_p(a, output=output))


def hessenberg(a: Array, *, calc_q: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> Array | tuple[Array, Array]:
    """The upper Hessenberg form ``H`` of ``a`` (``a = Q @ H @ Q^H``), and ``Q`` with ``calc_q``.
    Not differentiable (nor is jax.scipy's).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> hessenberg(tnp.eye(3)).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    del overwrite_a, check_finite
    (a,) = inexact(a, who="hessenberg")
    square(a, "hessenberg")
    out = _mf.hessenberg_p(a, calc_q=bool(calc_q))
    return tuple(out) if calc_q else out[0]


def polar(a: Array, side: str = "right", *, method: str = "qdwh", eps: float | None = None,
          max_iterations: int | None = None) -> tuple[Array, Array]:
    """``(u, p)`` with ``a = u @ p`` (``side='right'``) or ``a = p @ u`` ('left'): ``u`` unitary, ``p``
    Hermitian positive semi-definite.

    ``method='svd'`` is differentiable (through the SVD); ``'qdwh'`` (the default) iterates in a while
    loop and, as in JAX, is not.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> u, p = polar(tnp.asarray([[2.0, 0.0], [0.0, 3.0]]), method="svd")
        >>> p.tolist()
        [[2.0, 0.0], [0.0, 3.0]]
    """
    (a,) = inexact(a, who="polar")
    if a.ndim < 2:
        raise ValueError(f"{PREFIX}.polar: the input `a` must be at least a 2-D array, got shape {tuple(a.shape)}")
    if side not in ("right", "left"):
        raise ValueError(f"{PREFIX}.polar: the argument `side` must be either 'right' or 'left', got {side!r}")
    if method == "qdwh":
        m, n = a.shape[-2:]
        if (side == "right" and m < n) or (side == "left" and m >= n):
            raise NotImplementedError(f"{PREFIX}.polar: method='qdwh' supports m >= n with side='right' and m < n "
                                      f"with side='left', got shape {tuple(a.shape)} with side={side!r}")
        return tuple(_mf.polar_qdwh_p(a, side=side, eps=eps, max_iterations=max_iterations))
    if method != "svd":
        raise ValueError(f"{PREFIX}.polar: unknown polar decomposition method {method!r}; expected 'qdwh' or 'svd'")
    u, s, vh = _tla.svd(a, full_matrices=False)
    s = tnp.astype(s, u.dtype) if is_complex(u) else s
    unitary = tnp.matmul(u, vh)
    if side == "right":
        return unitary, tnp.matmul(mH(vh) * s[..., None, :], vh)
    return unitary, tnp.matmul(u * s[..., None, :], mH(u))


def qr(a: Array, overwrite_a: bool = False, lwork=None, mode: str = "full", pivoting: bool = False,
       check_finite: bool = True) -> tuple[Array, ...]:
    """``(Q, R)`` with ``a = Q @ R`` ('full': ``Q`` is ``(m, m)``; 'economic': ``(m, k)``), ``(R,)`` for
    ``mode='r'``, with the column permutation ``P`` appended when ``pivoting``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> (r,) = qr(tnp.asarray([[3.0, 0.0], [4.0, 5.0]]), mode="r")
    """
    del overwrite_a, lwork, check_finite
    if mode not in ("full", "r", "economic"):
        raise ValueError(f"{PREFIX}.qr: unsupported QR decomposition mode {mode!r}; expected 'full', 'r' or 'economic'")
    (a,) = inexact(a, who="qr")
    if a.ndim < 2:
        raise ValueError(f"{PREFIX}.qr: expected a matrix or a stack of them, got shape {tuple(a.shape)}")
    if pivoting:
        # Column pivoting: the permutation is chosen on the values; the factorization of the permuted
        # columns is then the unpivoted QR, differentiable as JAX's.
        p = jsl.qr(a.primal() if type(a) is Tracer else a, mode="r", pivoting=True)[1]
        a = tnp.take_along_axis(a, jnp.broadcast_to(p[..., None, :], tuple(a.shape[:-2]) + (a.shape[-2], p.shape[-1])),
                                axis=-1)
    q, r = _tla.qr(a, mode="complete" if mode in ("full", "r") else "reduced")
    out = (r,) if mode == "r" else (q, r)
    return out + (p,) if pivoting else out


def qr_multiply(a: Array, c: Array, mode: str = "right", pivoting: bool = False, conjugate: bool = False,
                overwrite_a: bool = False, overwrite_c: bool = False) -> tuple[Array, ...]:
    """``(c @ Q, R)`` ('right') or ``(Q @ c, R)`` ('left') from the QR factorization of ``a``, with the
    permutation appended when ``pivoting``. Not differentiable (nor is jax.scipy's: Householder
    reflectors have no derivative rule); ``qr`` then a product is.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> cq, r = qr_multiply(tnp.eye(2), tnp.ones((1, 2)))
    """
    del overwrite_a, overwrite_c
    if mode not in ("right", "left"):
        raise ValueError(f"{PREFIX}.qr_multiply: mode must be 'right' or 'left', got {mode!r}")
    a, c = inexact(a, c, who="qr_multiply")
    if a.ndim < 2:
        raise ValueError(f"{PREFIX}.qr_multiply: expected a to be a matrix, got shape {tuple(a.shape)}")
    if not _traced(a, c):
        return tuple(jsl.qr_multiply(a, c, mode=mode, pivoting=pivoting, conjugate=conjugate))
    return tuple(_mf.qr_multiply_p(a, c, mode=mode, pivoting=bool(pivoting), conjugate=bool(conjugate)))


# ---- real to complex Schur form --------------------------------------------------------------

def _first_eig(blk: Array) -> Array:
    """The eigenvalue of a 2x2 block that LAPACK lists first, with the closed form's derivative.

    The closed form ``tr/2 +- sqrt(tr^2/4 - det)`` gives both roots, differentiably; the one nearer
    the first of ``jnp.linalg.eigvals`` on the values is taken, so the numbers are JAX's.
    """
    p, q, r, s = blk[..., 0, 0], blk[..., 0, 1], blk[..., 1, 0], blk[..., 1, 1]
    half = (p + s) / 2
    disc = tnp.sqrt(((p - s) / 2) ** 2 + q * r)
    raw = jnp.linalg.eigvals(blk.primal() if type(blk) is Tracer else blk)[..., 0]  # a constant
    plus, minus = half + disc, half - disc
    return tnp.where(tnp.abs(plus - raw) <= tnp.abs(minus - raw), plus, minus)


def _rsf2csf_step(T: Array, Z: Array, m: int, eps: float) -> tuple[Array, Array]:
    """One Givens rotation of rows/columns m-1, m that zeroes ``T[m, m-1]`` (where it is not already)."""
    n = T.shape[-1]
    sub = T[..., m, m - 1]
    flag = tnp.abs(sub) > eps * (tnp.abs(T[..., m - 1, m - 1]) + tnp.abs(T[..., m, m]))
    mu = _first_eig(T[..., m - 1:m + 1, m - 1:m + 1]) - T[..., m, m]
    r = tnp.sqrt(tnp.real(mu * tnp.conj(mu)) + tnp.real(sub * tnp.conj(sub)))
    r = tnp.astype(tnp.where(flag, r, 1.0), T.dtype)  # the skipped branch must stay finite (its gradient too)
    c, s = mu / r, sub / r
    G = tnp.stack([tnp.stack([tnp.conj(c), s], axis=-1), tnp.stack([-s, c], axis=-1)], axis=-2)
    GH = mH(G)
    cols = np.arange(n) >= m - 1
    rows = T[..., m - 1:m + 1, :]
    rows = tnp.where(cols, tnp.matmul(G, tnp.where(cols, rows, 0.0)), rows)
    T2 = tnp.concatenate([T[..., :m - 1, :], rows, T[..., m + 1:, :]], axis=-2)
    keep = (np.arange(n) < m + 1)[:, None]
    tc = T2[..., :, m - 1:m + 1]
    tc = tnp.where(keep, tnp.matmul(tnp.where(keep, tc, 0.0), GH), tc)
    T2 = tnp.concatenate([T2[..., :, :m - 1], tc, T2[..., :, m + 1:]], axis=-1)
    Z2 = tnp.concatenate([Z[..., :, :m - 1], tnp.matmul(Z[..., :, m - 1:m + 1], GH), Z[..., :, m + 1:]], axis=-1)
    f = flag[..., None, None]
    T, Z = tnp.where(f, T2, T), tnp.where(f, Z2, Z)
    zero = np.ones((n, n), bool)
    zero[m, m - 1] = False
    return tnp.where(zero, T, 0.0), Z


def rsf2csf(T: Array, Z: Array, check_finite: bool = True) -> tuple[Array, Array]:
    """The complex Schur form ``(T, Z)`` from the real one (``schur(a)``): Givens rotations zero the
    subdiagonal of each 2x2 block. Differentiable in ``T`` and ``Z``, as JAX's.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> t, z = rsf2csf(tnp.asarray([[0.0, -1.0], [1.0, 0.0]]), tnp.eye(2))
        >>> [round(v, 6) for v in tnp.diagonal(t).imag.tolist()]
        [1.0, -1.0]
    """
    del check_finite
    T, Z = array(T, "rsf2csf"), array(Z, "rsf2csf")
    if T.ndim < 2 or T.shape[-1] != T.shape[-2]:
        raise ValueError(f"{PREFIX}.rsf2csf: input 'T' must be square, got shape {tuple(T.shape)}")
    if Z.ndim < 2 or Z.shape[-1] != Z.shape[-2]:
        raise ValueError(f"{PREFIX}.rsf2csf: input 'Z' must be square, got shape {tuple(Z.shape)}")
    if T.shape[-1] != Z.shape[-1]:
        raise ValueError(f"{PREFIX}.rsf2csf: input array shapes must match: Z: {tuple(Z.shape)} vs. T: "
                         f"{tuple(T.shape)}")
    dt = jnp.result_type(T.dtype, Z.dtype, jnp.complex64)
    T, Z = tnp.astype(T, dt), tnp.astype(Z, dt)
    batch = jnp.broadcast_shapes(tuple(T.shape[:-2]), tuple(Z.shape[:-2]))
    T = tnp.broadcast_to(T, batch + tuple(T.shape[-2:]))
    Z = tnp.broadcast_to(Z, batch + tuple(Z.shape[-2:]))
    eps = float(jnp.finfo(dt).eps)
    for m in range(T.shape[-1] - 1, 0, -1):
        T, Z = _rsf2csf_step(T, Z, m, eps)
    return T, Z


__all__ = ["eigh", "eigh_tridiagonal", "hessenberg", "polar", "qr", "qr_multiply", "rsf2csf", "schur", "svd"]
