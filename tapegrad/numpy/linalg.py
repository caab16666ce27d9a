"""``tnp.linalg``: all of ``jax.numpy.linalg``, batched over leading axes and complex-capable.

The primitives and their VJP rules live in ``tapegrad.rules.linalg`` (products, solvers,
determinants, Cholesky, SVD, norms) and ``tapegrad.rules.decompositions`` (eigh, eig, qr, pinv);
the rest are compositions of them. Each is differentiable where jax's is, with these differences:

- ``eig``'s eigenvectors are differentiable (``jnp.linalg.eig`` refuses): the derivative keeps
  LAPACK's normalisation (unit norm, largest component real), as ``jax.lax.linalg.eig(...,
  enable_eigvec_derivs=True)``; it is valid for distinct eigenvalues. ``eig`` computes on the CPU
  (XLA has no general eigensolver for accelerators; jax calls LAPACK on the host).
- Repeated eigenvalues / singular values: the gradient of the values alone stays finite; that of
  the vectors divides by zero (inf/nan), as jax's does.
- ``svd(full_matrices=True)`` of a non-square matrix and ``qr(mode='raw')`` have no derivative
  (nor in jax): use ``full_matrices=False`` / ``mode='reduced'``.
- ``lstsq`` also takes stacks of matrices (jax: 2-D only); its gradient flows through ``x``, the
  residuals and the singular values.
"""
# ruff: noqa: F401
import math as _math
import operator as _operator
from typing import NamedTuple as _NamedTuple

import jax.numpy as _jnp
import numpy as _np

import tapegrad.numpy as _tnp
from tapegrad.core.axes import canon_axes as _canon_axes
from tapegrad.core.primitive import nondifferentiable as _nondifferentiable
from tapegrad.rules.decompositions import eig_p as _eig_p
from tapegrad.rules.decompositions import eigh_p as _eigh_p
from tapegrad.rules.decompositions import pinv_p as _pinv_p
from tapegrad.rules.decompositions import qr_p as _qr_p
from tapegrad.rules.decompositions import qr_raw_p as _qr_raw_p
from tapegrad.rules.linalg import (
    SlogdetResult,
    SVDResult,
    _inexact,
    _matrix_norm,
    _mm,
    _square,
    _vector_norm,
    cholesky,
    det,
    inv,
    matmul,
    norm,
    slogdet,
    solve,
    svd,
    svdvals,
    tensordot,
)


def _matrix(a, op):
    if a.ndim < 2:
        raise ValueError(f"tnp.linalg.{op}: expected a matrix or a stack of them (shape (..., m, n)), "
                         f"got shape {tuple(a.shape)}")


def _real_dtype(dtype):
    return _jnp.finfo(dtype).dtype


# ---- eigendecompositions ---------------------------------------------------------------------

class EighResult(_NamedTuple):
    eigenvalues: object
    eigenvectors: object


class EigResult(_NamedTuple):
    eigenvalues: object
    eigenvectors: object


def eigh(a, UPLO: str | None = None, symmetrize_input: bool = True) -> EighResult:
    """Eigenvalues (ascending, real) and eigenvectors of a Hermitian (real symmetric) matrix, as
    ``jnp.linalg.eigh``. With ``symmetrize_input`` (the default) ``(a + a^H) / 2`` is decomposed.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> w, v = tnp.linalg.eigh(tnp.asarray([[2.0, 1.0], [1.0, 2.0]]))
    """
    a = _inexact(a, "linalg.eigh")
    _square(a, "linalg.eigh")
    if UPLO not in (None, "L", "U"):
        raise ValueError(f"tnp.linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    w, v = _eigh_p(a, lower=UPLO != "U", symmetrize_input=bool(symmetrize_input))
    return EighResult(w, v)


def eigvalsh(a, UPLO: str | None = "L", *, symmetrize_input: bool = True):
    """Eigenvalues (ascending, real) of a Hermitian (real symmetric) matrix, as ``jnp.linalg.eigvalsh``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> w = tnp.linalg.eigvalsh(tnp.asarray([[2.0, 1.0], [1.0, 2.0]]))
    """
    return eigh(a, UPLO=UPLO, symmetrize_input=symmetrize_input)[0]


def eig(a) -> EigResult:
    """Eigenvalues and right eigenvectors of a general square matrix, as ``jnp.linalg.eig``: complex
    outputs, also for real input; each eigenvector has unit norm and its largest component real.

    Differentiable in both outputs (eigenvectors for distinct eigenvalues: see the module notes).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> w, v = tnp.linalg.eig(tnp.asarray([[0.0, 1.0], [-2.0, -3.0]]))
        >>> sorted(w.real.tolist())
        [-2.0, -1.0]
    """
    a = _inexact(a, "linalg.eig")
    _square(a, "linalg.eig")
    w, v = _eig_p(a)
    return EigResult(w, v)


def eigvals(a):
    """Eigenvalues of a general square matrix (complex), as ``jnp.linalg.eigvals``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> w = tnp.linalg.eigvals(tnp.asarray([[0.0, -1.0], [1.0, 0.0]]))
        >>> sorted(w.imag.tolist())
        [-1.0, 1.0]
    """
    return eig(a).eigenvalues


# ---- QR, pseudo-inverse, least squares ------------------------------------------------------------

class QRResult(_NamedTuple):
    Q: object
    R: object


def qr(a, mode: str = "reduced"):
    """QR decomposition, as ``jnp.linalg.qr``: ``(Q, R)`` for ``mode`` 'reduced' (also 'full') and
    'complete', ``R`` alone for 'r', LAPACK's ``(h, tau)`` for 'raw'.

    Differentiable as jax's: every shape in 'reduced' and 'r', and in 'complete' (tall matrices too);
    'raw' has no derivative.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> q, r = tnp.linalg.qr(tnp.asarray([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        >>> q.shape, r.shape
        ((3, 2), (2, 2))
    """
    a = _inexact(a, "linalg.qr")
    _matrix(a, "qr")
    if mode == "raw":
        return QRResult(*_qr_raw_p(a))
    if mode in ("reduced", "r", "full"):
        full = False
    elif mode == "complete":
        full = True
    else:
        raise ValueError(f"tnp.linalg.qr: unsupported mode {mode!r} (use 'reduced', 'complete', 'r' or 'raw')")
    q, r = _qr_p(a, full_matrices=full)
    return r if mode == "r" else QRResult(q, r)


def pinv(a, rtol=None, hermitian: bool = False, *, rcond=None):
    """The Moore-Penrose pseudo-inverse, as ``jnp.linalg.pinv``: singular values at or below
    ``rtol * max(s)`` (default ``10 * max(m, n) * eps``) count as zero. ``hermitian=True`` reads
    ``(a + a^H) / 2``.

    Its gradient is the Golub-Pereyra formula (jax's too), right wherever the rank is locally
    constant, rank-deficient matrices included.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> p = tnp.linalg.pinv(tnp.asarray([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]]))
    """
    if rcond is not None:
        if rtol is not None:
            raise ValueError("tnp.linalg.pinv: only one of rtol and rcond may be specified")
        rtol = rcond
    a = _inexact(a, "linalg.pinv")
    _matrix(a, "pinv")
    m, n = a.shape[-2:]
    if m == 0 or n == 0:
        return _tnp.zeros(tuple(a.shape[:-2]) + (n, m), a.dtype)
    if rtol is None:
        rtol = 10.0 * max(m, n) * float(_jnp.finfo(a.dtype).eps)
    if not hasattr(rtol, "shape"):
        rtol = _jnp.asarray(rtol, _real_dtype(a.dtype))
    return _pinv_p(a, rtol, hermitian=bool(hermitian))


class LstsqResult(_NamedTuple):
    x: object
    residuals: object
    rank: object
    s: object


def lstsq(a, b, rcond=None, *, numpy_resid: bool = False):
    """The least-squares solution of ``a @ x = b``, as ``jnp.linalg.lstsq``: ``(x, residuals, rank, s)``.

    ``x = pinv(a, rcond) @ b`` (singular values below ``rcond * max(s)``, default ``eps * max(m, n)``,
    count as zero); ``residuals`` are the squared 2-norms of ``b - a @ x`` per column (always, unless
    ``numpy_resid``: then empty where NumPy's are, i.e. if ``rank < n`` or ``m <= n``); ``rank`` is an
    integer (no gradient); ``s`` the singular values of ``a``. ``a`` may be a stack ``(..., m, n)``,
    ``b`` then ``(..., m)`` or ``(..., m, k)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x, res, rank, s = tnp.linalg.lstsq(tnp.asarray([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]),
        ...                                     tnp.asarray([1.0, 2.0, 4.0]))
        >>> int(rank)
        2
    """
    a, b = _inexact(a, "linalg.lstsq"), _inexact(b, "linalg.lstsq")
    dtype = _tnp.result_type(a, b)
    a, b = _tnp.astype(a, dtype), _tnp.astype(b, dtype)
    if a.ndim < 2:
        raise TypeError(f"tnp.linalg.lstsq: {a.ndim}-dimensional array given; a must be a matrix (m, n) or a "
                        "stack of them")
    vector, b_shape = b.ndim == a.ndim - 1, tuple(b.shape)
    if vector:
        b = _tnp.expand_dims(b, -1)
    if b.ndim != a.ndim or b.shape[-2] != a.shape[-2]:
        raise ValueError(f"tnp.linalg.lstsq: b of shape {b_shape} does not match a of shape "
                         f"{tuple(a.shape)} (leading dimensions must match: b is (..., m) or (..., m, k))")
    m, n = a.shape[-2:]
    eps = float(_jnp.finfo(dtype).eps)
    if rcond is None:
        rcond = eps * max(m, n)
    else:
        rcond = _jnp.where(_jnp.asarray(rcond) < 0, eps, rcond)
    rcond = _jnp.asarray(rcond, _real_dtype(dtype))
    if a.size == 0:
        x = _tnp.zeros(tuple(a.shape[:-2]) + (n, b.shape[-1]), dtype)
        s = _tnp.zeros(tuple(a.shape[:-2]) + (0,), _real_dtype(dtype))
        rank = _jnp.zeros(a.shape[:-2], int)
    else:
        x = _mm(_pinv_p(a, rcond, hermitian=False), b)
        s = svdvals(a)
        # jnp's mask: s > 0 and s >= rcond * s[0] (comparisons give plain, non-differentiable arrays)
        keep = _tnp.logical_and(s > 0, s >= _jnp.expand_dims(rcond, -1) * s[..., :1])
        rank = _jnp.sum(keep, axis=-1)
    if numpy_resid and (bool(_jnp.any(rank < n)) or m <= n):
        resid = _jnp.asarray([], _real_dtype(dtype))
    else:
        r = b - _mm(a, x)
        resid = _tnp.sum(_tnp.real(r * _tnp.conj(r)), axis=-2)
    if vector:
        x = _tnp.squeeze(x, -1)
    return LstsqResult(x, resid, rank, s)


# ---- ranks, condition numbers, tensor inverses ----------------------------------------------------

_matrix_rank_p = _nondifferentiable("matrix_rank", lambda M, rtol, hermitian: _jnp.linalg.matrix_rank(
    M, rtol, hermitian=hermitian))


def matrix_rank(M, rtol=None, *, hermitian: bool = False, tol=None):
    """The rank (an integer, no gradient): the number of singular values above ``rtol`` (default
    ``max(s) * max(m, n) * eps``), as ``jnp.linalg.matrix_rank``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> int(tnp.linalg.matrix_rank(tnp.asarray([[1.0, 2.0], [2.0, 4.0]])))
        1
    """
    if tol is not None:
        if rtol is not None:
            raise ValueError("tnp.linalg.matrix_rank: only one of tol or rtol may be specified")
        rtol = tol
    return _matrix_rank_p(_inexact(M, "linalg.matrix_rank"), rtol, hermitian=bool(hermitian))


def cond(x, p=None):
    """The condition number in the ``p`` norm, as ``jnp.linalg.cond``: None/2/-2 from the singular
    values, any other matrix-norm order ('fro', 'nuc', 1, -1, inf, -inf) as
    ``norm(x, p) * norm(inv(x), p)`` (square matrices). A singular matrix gives inf.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.linalg.cond(tnp.asarray([[2.0, 0.0], [0.0, 0.5]])))
        4.0
    """
    x = _inexact(x, "linalg.cond")
    _matrix(x, "cond")
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"tnp.linalg.cond: input array must not be empty; got shape {tuple(x.shape)}")
    if p is None or (not isinstance(p, str) and p == 2):
        s = svdvals(x)
        return s[..., 0] / s[..., -1]
    if not isinstance(p, str) and p == -2:
        s = svdvals(x)
        r = s[..., -1] / s[..., 0]
    else:
        _square(x, f"linalg.cond (p={p!r})")
        r = norm(x, ord=p, axis=(-2, -1)) * norm(inv(x), ord=p, axis=(-2, -1))
    # NaN (from a singular matrix) becomes inf, unless the input held a NaN itself.
    bad = _jnp.logical_and(_tnp.isnan(r), _jnp.logical_not(_jnp.any(_tnp.isnan(x), axis=(-2, -1))))
    return _tnp.where(bad, _np.inf, r)


def tensorinv(a, ind: int = 2):
    """The inverse of ``a`` seen as a matrix ``prod(shape[:ind]) x prod(shape[ind:])``, reshaped to
    ``shape[ind:] + shape[:ind]``, as ``jnp.linalg.tensorinv``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.linalg.tensorinv(tnp.eye(6).reshape(2, 3, 6), ind=2).shape
        (6, 2, 3)
    """
    a = _inexact(a, "linalg.tensorinv")
    ind = _operator.index(ind)
    if ind <= 0:
        raise ValueError(f"tnp.linalg.tensorinv: ind must be a positive integer; got ind={ind}")
    head, tail = tuple(a.shape[:ind]), tuple(a.shape[ind:])
    rows, cols = _math.prod(head), _math.prod(tail)
    if rows != cols:
        raise ValueError(f"tnp.linalg.tensorinv: the product of the first ind={ind} dimensions must equal that of "
                         f"the rest; got shape {tuple(a.shape)}")
    return _tnp.reshape(inv(_tnp.reshape(a, (rows, cols))), tail + head)


def tensorsolve(a, b, axes=None):
    """The ``x`` with ``tensordot(a, x, x.ndim) == b``, as ``jnp.linalg.tensorsolve`` (``axes`` of ``a``
    are moved to the end first).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.linalg.tensorsolve(tnp.eye(6).reshape(2, 3, 6), tnp.ones((2, 3))).shape
        (6,)
    """
    a, b = _inexact(a, "linalg.tensorsolve"), _inexact(b, "linalg.tensorsolve")
    if axes is not None:
        axes = (axes,) if isinstance(axes, int) else tuple(axes)
        a = _tnp.moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    out_shape = tuple(a.shape[b.ndim:])
    if tuple(a.shape[:b.ndim]) != tuple(b.shape):
        raise ValueError(f"tnp.linalg.tensorsolve: after moving axes to the end, the leading shape of a must match "
                         f"b's; got a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}")
    if b.size != _math.prod(out_shape):
        raise ValueError(f"tnp.linalg.tensorsolve: needs prod(a.shape[:b.ndim]) == prod(a.shape[b.ndim:]); got "
                         f"a.shape={tuple(a.shape)}, b.ndim={b.ndim}")
    x = solve(_tnp.reshape(a, (b.size, _math.prod(out_shape))), _tnp.ravel(b))
    return _tnp.reshape(x, out_shape)


# ---- norms -------------------------------------------------------------------------------------

def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    """The vector ``ord``-norm over ``axis`` (an int, a tuple: those axes flattened, or None: all), as
    ``jnp.linalg.vector_norm``: ord 2 (or None), 1, inf, -inf, 0 (count, no gradient), any other p.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.linalg.vector_norm(tnp.asarray([[3.0], [4.0]])))
        5.0
    """
    x = _inexact(x, "linalg.vector_norm")
    if axis is None:
        axis = tuple(range(x.ndim))
    else:
        axis = _canon_axes(axis, x.ndim, "linalg.vector_norm")
    return _vector_norm(x, 2 if ord is None else ord, axis, keepdims)


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    """The matrix ``ord``-norm over the last two axes, as ``jnp.linalg.matrix_norm``: 'fro', 'nuc',
    1, -1, 2, -2, inf, -inf.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.linalg.matrix_norm(tnp.asarray([[3.0, 0.0], [0.0, 4.0]]), ord="nuc"))
        7.0
    """
    x = _inexact(x, "linalg.matrix_norm")
    _matrix(x, "matrix_norm")
    nd = x.ndim
    return _matrix_norm(x, ord, (nd - 2, nd - 1), keepdims)


# ---- matrix products and the array API's names -----------------------------------------------------

def matrix_power(a, n: int):
    """``a`` raised to the integer power ``n`` by repeated squaring (``inv(a)`` for ``n < 0``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> p = tnp.linalg.matrix_power(tnp.asarray([[1.0, 1.0], [0.0, 1.0]]), 3)
    """
    try:
        n = _operator.index(n)
    except TypeError:
        raise TypeError(f"tnp.linalg.matrix_power: n must be an integer, got {type(n).__name__}") from None
    a = _tnp.asarray(a)
    _square(a, "linalg.matrix_power")
    if n == 0:
        return _tnp.broadcast_to(_jnp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else _mm(result, a)
        n >>= 1
        if n:
            a = _mm(a, a)
    return result


def multi_dot(arrays, *, precision=None):
    """The product of a sequence of matrices (first may be 1-D, last may be 1-D), as ``jnp.linalg.multi_dot``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> p = tnp.linalg.multi_dot([tnp.ones((2, 3)), tnp.ones((3, 4)), tnp.ones(4)])
    """
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError(f"tnp.linalg.multi_dot: expected at least two arrays, got {len(arrays)}")
    out = arrays[0]
    for b in arrays[1:]:
        out = matmul(out, b, precision=precision)
    return out


def cross(x1, x2, /, *, axis=-1):
    """The cross product of (batches of) 3-vectors along ``axis``, as ``jnp.linalg.cross``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.linalg.cross(tnp.asarray([1.0, 0.0, 0.0]), tnp.asarray([0.0, 1.0, 0.0])).tolist()
        [0.0, 0.0, 1.0]
    """
    x1, x2 = _tnp.asarray(x1), _tnp.asarray(x2)
    for x in (x1, x2):
        if x.ndim == 0 or not -x.ndim <= axis < x.ndim or x.shape[axis] != 3:
            raise ValueError(f"tnp.linalg.cross: both inputs must be (arrays of) 3-vectors along axis={axis}; "
                             f"got shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    return _tnp.cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset: int = 0):
    """The ``offset`` diagonal of each matrix (last two axes), as ``jnp.linalg.diagonal``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.linalg.diagonal(tnp.asarray([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [1.0, 4.0]
    """
    return _tnp.diagonal(x, offset, -2, -1)


def matrix_transpose(x, /):
    """Each matrix transposed (the last two axes swapped), as ``jnp.linalg.matrix_transpose``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.linalg.matrix_transpose(tnp.ones((2, 3, 4))).shape
        (2, 4, 3)
    """
    return _tnp.matrix_transpose(x)


def outer(x1, x2, /):
    """The outer product of two 1-D arrays, as ``jnp.linalg.outer``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.linalg.outer(tnp.asarray([1.0, 2.0]), tnp.asarray([3.0, 4.0, 5.0])).shape
        (2, 3)
    """
    x1, x2 = _tnp.asarray(x1), _tnp.asarray(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"tnp.linalg.outer: inputs must be one-dimensional; got shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}")
    return _tnp.outer(x1, x2)


def trace(x, /, *, offset: int = 0, dtype=None):
    """The sum of each matrix's ``offset`` diagonal (last two axes), as ``jnp.linalg.trace``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.linalg.trace(tnp.asarray([[1.0, 2.0], [3.0, 4.0]])))
        5.0
    """
    return _tnp.trace(x, offset, -2, -1, dtype)


def vecdot(x1, x2, /, *, axis: int = -1, precision=None, preferred_element_type=None):
    """``sum(conj(x1) * x2)`` along ``axis`` (the other axes broadcast), as ``jnp.linalg.vecdot``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.linalg.vecdot(tnp.asarray([1.0, 2.0]), tnp.asarray([3.0, 4.0])))
        11.0
    """
    x1, x2 = _tnp.asarray(x1), _tnp.asarray(x2)
    if x1.ndim == 0 or x2.ndim == 0 or not (-x1.ndim <= axis < x1.ndim and -x2.ndim <= axis < x2.ndim) \
            or x1.shape[axis] != x2.shape[axis]:
        raise ValueError(f"tnp.linalg.vecdot: axes must match; got shapes {tuple(x1.shape)} and {tuple(x2.shape)} "
                         f"with axis={axis}")
    x1, x2 = _tnp.moveaxis(x1, axis, -1), _tnp.moveaxis(x2, axis, -1)
    out = _tnp.sum(_tnp.conj(x1) * x2, axis=-1)
    if preferred_element_type is not None:
        out = _tnp.astype(out, preferred_element_type)
    return out
