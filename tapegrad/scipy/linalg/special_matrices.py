"""Special matrices, as ``jax.scipy.linalg`` builds them.

Those built from arrays (``toeplitz``, ``hankel``, ``circulant``, ``companion``, ``leslie``,
``fiedler``, ``fiedler_companion``, ``convolution_matrix``, ``block_diag``) are gathers, pads and
concatenations of their inputs with tnp ops, so gradients flow to every input, batched over leading
dims as in jax.scipy. Those of a size alone (``hilbert``, ``pascal``, ``dft``, ...) are constants.
"""
from __future__ import annotations

import operator

import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.scipy.linalg._util import PREFIX, Array, array, conj, inexact, promote


def _vectors(who: str, *xs: Array) -> tuple[Array, ...]:
    """Arrays of at least one dim, promoted to one dtype, with their batch dims broadcast."""
    xs = tuple(tnp.atleast_1d(x) for x in promote(*xs, who=who))
    batch = jnp.broadcast_shapes(*(tuple(x.shape[:-1]) for x in xs))
    return tuple(tnp.broadcast_to(x, batch + tuple(x.shape[-1:])) for x in xs)


def _gather(v: Array, idx: np.ndarray) -> Array:
    """``v[..., idx]`` for a constant integer array ``idx``: one gather, whose VJP scatters back."""
    return tnp.take(v, jnp.asarray(idx), axis=-1)


def toeplitz(c: Array, r: Array | None = None) -> Array:
    """The Toeplitz matrix with first column ``c`` and first row ``r`` (``conj(c)`` when None; ``r[0]``
    is ignored). Differentiable in ``c`` and ``r``; batched over their leading dims.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> toeplitz(tnp.asarray([1.0, 2.0, 3.0]), tnp.asarray([1.0, 4.0])).tolist()
        [[1.0, 4.0], [2.0, 1.0], [3.0, 2.0]]
    """
    c = array(c, "toeplitz")
    r = conj(c) if r is None else r
    c, r = _vectors("toeplitz", c, r)
    m, n = c.shape[-1], r.shape[-1]
    if m == 0 or n == 0:
        return tnp.zeros(tuple(c.shape[:-1]) + (m, n), c.dtype)
    # T[i, j] = c[i - j] below the diagonal, r[j - i] above: both from concat(c[::-1], r[1:]).
    elems = tnp.concatenate([tnp.flip(c, axis=-1), r[..., 1:]], axis=-1)
    return _gather(elems, (m - 1) - np.arange(m)[:, None] + np.arange(n)[None, :])


def hankel(c: Array, r: Array | None = None) -> Array:
    """The Hankel matrix with first column ``c`` and last row ``r`` (zeros when None; ``r[0]`` is
    ignored). Differentiable in ``c`` and ``r``; batched over their leading dims.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> hankel(tnp.asarray([1.0, 2.0, 3.0])).tolist()
        [[1.0, 2.0, 3.0], [2.0, 3.0, 0.0], [3.0, 0.0, 0.0]]
    """
    c = array(c, "hankel")
    if c.ndim == 0:
        raise ValueError(f"{PREFIX}.hankel: c must be at least 1-dimensional, got a scalar")
    r = tnp.zeros_like(c) if r is None else array(r, "hankel")
    if r.ndim == 0:
        raise ValueError(f"{PREFIX}.hankel: r must be at least 1-dimensional, got a scalar")
    c, r = _vectors("hankel", c, r)
    m, n = c.shape[-1], r.shape[-1]
    if m == 0 or n == 0:
        return tnp.zeros(tuple(c.shape[:-1]) + (m, n), c.dtype)
    return _gather(tnp.concatenate([c, r[..., 1:]], axis=-1), np.arange(m)[:, None] + np.arange(n)[None, :])


def circulant(c: Array) -> Array:
    """The circulant matrix whose first column is ``c``: ``C[i, j] = c[(i - j) % n]``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> circulant(tnp.asarray([1.0, 2.0, 3.0])).tolist()
        [[1.0, 3.0, 2.0], [2.0, 1.0, 3.0], [3.0, 2.0, 1.0]]
    """
    (c,) = _vectors("circulant", array(c, "circulant"))
    n = c.shape[-1]
    return _gather(c, (np.arange(n)[:, None] - np.arange(n)[None, :]) % n)


def leslie(f: Array, s: Array) -> Array:
    """The Leslie matrix: fecundities ``f`` (length n) in the first row, survival rates ``s``
    (length n - 1) on the subdiagonal.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> leslie(tnp.asarray([0.5, 2.0, 1.0]), tnp.asarray([0.5, 0.25])).tolist()
        [[0.5, 2.0, 1.0], [0.5, 0.0, 0.0], [0.0, 0.25, 0.0]]
    """
    f, s = tnp.atleast_1d(array(f, "leslie")), tnp.atleast_1d(array(s, "leslie"))
    if f.shape[-1] < 2:
        raise ValueError(f"{PREFIX}.leslie: the length of f along the last axis must be at least 2; got shape "
                         f"{tuple(f.shape)}")
    if s.shape[-1] != f.shape[-1] - 1:
        raise ValueError(f"{PREFIX}.leslie: the length of s along the last axis must be one less than the length of "
                         f"f; got f shape {tuple(f.shape)} and s shape {tuple(s.shape)}")
    f, s = _vectors("leslie", f, s)
    n = f.shape[-1]
    below = s[..., :, None] * jnp.eye(n - 1, n, dtype=s.dtype)  # row i + 1 holds s[i] in column i
    return tnp.concatenate([f[..., None, :], below], axis=-2)


def companion(a: Array) -> Array:
    """The companion matrix of the polynomial with coefficients ``a`` (highest degree first): first row
    ``-a[1:] / a[0]``, ones on the subdiagonal.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> companion(tnp.asarray([1.0, -3.0, 2.0])).tolist()
        [[3.0, -2.0], [1.0, 0.0]]
    """
    (a,) = inexact(a, who="companion")
    a = tnp.atleast_1d(a)
    if a.shape[-1] < 2:
        raise ValueError(f"{PREFIX}.companion: the length of `a` along the last axis must be at least 2; got shape "
                         f"{tuple(a.shape)}")
    first = -a[..., 1:] / a[..., :1]
    m = a.shape[-1] - 1
    below = tnp.broadcast_to(jnp.eye(m, m, k=-1, dtype=a.dtype)[1:], tuple(a.shape[:-1]) + (m - 1, m))
    return tnp.concatenate([first[..., None, :], below], axis=-2)


def fiedler(a: Array) -> Array:
    """The Fiedler matrix ``|a[i] - a[j]|`` (the gradient of ``abs`` at a tie is 0, as jax's).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> fiedler(tnp.asarray([1.0, 4.0])).tolist()
        [[0.0, 3.0], [3.0, 0.0]]
    """
    a = tnp.atleast_1d(array(a, "fiedler"))
    return tnp.abs(a[..., :, None] - a[..., None, :])


def fiedler_companion(a: Array) -> Array:
    """The Fiedler companion matrix of the polynomial with coefficients ``a`` (a pentadiagonal matrix with
    the companion matrix's eigenvalues).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> fiedler_companion(tnp.asarray([1.0, -3.0, 2.0])).tolist()
        [[3.0, -2.0], [1.0, 0.0]]
    """
    (a,) = inexact(a, who="fiedler_companion")
    a = tnp.atleast_1d(a)
    if a.shape[-1] == 0:
        raise ValueError(f"{PREFIX}.fiedler_companion: requires the last axis of 'a' to have nonzero length, but got "
                         f"an array of shape {tuple(a.shape)}")
    n = a.shape[-1] - 1
    batch = tuple(a.shape[:-1])
    if n == 0:
        return tnp.zeros(batch + (0, 0), a.dtype)
    a = a / a[..., :1]
    if n == 1:
        return tnp.reshape(-a[..., 1:], batch + (1, 1))
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    even, odd = i % 2 == 0, i % 2 == 1
    conds = [(i == 0) & (j == 0), (i == 1) & (j == 0), (j == i + 1) & even, (j == i + 2) & even,
             (j == i - 1) & even & (i >= 2), (j == i - 2) & odd & (i >= 3)]
    sup = -_gather(a, np.broadcast_to(np.minimum(i + 2, n), (n, n)))
    sub = -_gather(a, np.broadcast_to(np.minimum(i + 1, n), (n, n)))
    choices = [-a[..., 1, None, None], 1.0, sup, 1.0, sub, 1.0]
    out = tnp.zeros(batch + (n, n), a.dtype)
    for cond, choice in zip(reversed(conds), reversed(choices)):  # the first true condition wins, as select
        out = tnp.where(cond, choice, out)
    return out


def convolution_matrix(a: Array, n: int, mode: str = "full") -> Array:
    """The matrix of the linear map ``v -> convolve(a, v, mode)`` on vectors ``v`` of length ``n``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> convolution_matrix(tnp.asarray([1.0, 2.0]), 2).tolist()
        [[1.0, 0.0], [2.0, 1.0], [0.0, 2.0]]
    """
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{PREFIX}.convolution_matrix: n must be an integer, got {n!r}") from None
    if n <= 0:
        raise ValueError(f"{PREFIX}.convolution_matrix: n must be a positive integer; got {n}")
    a = array(a, "convolution_matrix")
    if a.ndim == 0:
        raise ValueError(f"{PREFIX}.convolution_matrix: a must be at least 1-dimensional, got a scalar")
    m = a.shape[-1]
    if m < 1:
        raise ValueError(f"{PREFIX}.convolution_matrix: len(a) must be at least 1; got shape {tuple(a.shape)}")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"{PREFIX}.convolution_matrix: mode must be one of 'full', 'valid', 'same'; got {mode!r}")
    pad = [(0, 0)] * (a.ndim - 1) + [(0, n - 1)]
    az = tnp.pad(a, pad)
    raz = tnp.pad(tnp.flip(a, axis=-1), pad)
    size = m + n - 1
    if mode == "same":
        trim = min(n, m) - 1
        tb, te = trim // 2, trim - trim // 2
    elif mode == "valid":
        tb = te = min(n, m) - 1
    else:
        tb = te = 0
    return toeplitz(az[..., tb:size - te], raz[..., size - n - tb:size - tb])


def block_diag(*arrs: Array) -> Array:
    """The block-diagonal matrix of ``arrs`` (each at most 2-D), differentiable in each block.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> block_diag(tnp.asarray([[1.0, 2.0]]), tnp.asarray(3.0)).tolist()
        [[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]
    """
    if len(arrs) == 0:
        arrs = (jnp.zeros((1, 0)),)
    arrs = promote(*arrs, who="block_diag")
    bad = [i for i, a in enumerate(arrs) if a.ndim > 2]
    if bad:
        raise ValueError(f"{PREFIX}.block_diag: arguments must have at most 2 dimensions, got shape "
                         f"{tuple(arrs[bad[0]].shape)} at argument {bad[0]}")
    blocks = [tnp.atleast_2d(a) for a in arrs]
    total = sum(b.shape[1] for b in blocks)
    rows, col = [], 0
    for b in blocks:
        rows.append(tnp.pad(b, [(0, 0), (col, total - col - b.shape[1])]))
        col += b.shape[1]
    return tnp.concatenate(rows, axis=0)


# ---- constants: matrices of a size alone (no array input, nothing to differentiate) ----------

def hilbert(n: int) -> Array:
    """The Hilbert matrix ``1 / (i + j + 1)`` of order ``n``.

    Example:
        >>> hilbert(2)[0].tolist()
        [1.0, 0.5]
    """
    return jsl.hilbert(n)


def invhilbert(n: int) -> Array:
    """The inverse of the Hilbert matrix of order ``n`` (exact integers, as floats).

    Example:
        >>> [round(v) for v in invhilbert(2).ravel().tolist()]
        [4, -6, -6, 12]
    """
    return jsl.invhilbert(n)


def pascal(n: int, kind: str | None = None) -> Array:
    """The Pascal matrix of order ``n``: 'symmetric' (the default), 'lower' or 'upper'.

    Example:
        >>> pascal(3, "lower").round(3).tolist()
        [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 2.0, 1.0]]
    """
    return jsl.pascal(n, kind)


def invpascal(n: int, kind: str | None = None) -> Array:
    """The inverse of the Pascal matrix of order ``n`` ('symmetric', 'lower' or 'upper').

    Example:
        >>> (invpascal(2, "lower").round(3) + 0.0).tolist()
        [[1.0, 0.0], [-1.0, 1.0]]
    """
    return jsl.invpascal(n, kind)


def helmert(n: int, full: bool = False) -> Array:
    """The Helmert matrix of order ``n`` (its first row, ``1/sqrt(n)``, only with ``full``).

    Example:
        >>> helmert(2).shape
        (1, 2)
    """
    return jsl.helmert(n, full)


def hadamard(n: int, dtype=int) -> Array:
    """The Hadamard matrix of order ``n`` (a power of 2), Sylvester's construction.

    Example:
        >>> hadamard(2).tolist()
        [[1, 1], [1, -1]]
    """
    return jsl.hadamard(n, dtype)


def dft(n: int, scale: str | None = None, *, dtype=None) -> Array:
    """The discrete Fourier transform matrix ``exp(-2 pi i j k / n)``, scaled by None, 'sqrtn' or 'n'.

    Example:
        >>> dft(2).real.tolist()
        [[1.0, 1.0], [1.0, -1.0]]
    """
    return jsl.dft(n, scale, dtype=dtype)


__all__ = ["block_diag", "circulant", "companion", "convolution_matrix", "dft", "fiedler", "fiedler_companion",
           "hadamard", "hankel", "helmert", "hilbert", "invhilbert", "invpascal", "leslie", "pascal", "toeplitz"]
