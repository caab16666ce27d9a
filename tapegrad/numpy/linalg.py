"""``tnp.linalg``: differentiable linear algebra (rules in ``tapegrad.rules.linalg``).

Every name here has a VJP rule; ``svd(full_matrices=True)`` of a non-square matrix is
differentiable only with ``full_matrices=False`` (as in jax).
"""
# ruff: noqa: F401
from typing import NamedTuple as _NamedTuple

import jax.numpy as _jnp

from tapegrad.rules.decompositions import eigh_p as _eigh_p
from tapegrad.rules.linalg import (
    SlogdetResult,
    SVDResult,
    _inexact,
    _mm,
    _square,
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


class EighResult(_NamedTuple):
    eigenvalues: object
    eigenvectors: object


def eigh(a, UPLO: str | None = None, symmetrize_input: bool = True) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of a real symmetric matrix, as ``jnp.linalg.eigh``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> w, v = eigh(tnp.asarray([[2.0, 1.0], [1.0, 2.0]]))
    """
    a = _inexact(a, "linalg.eigh")
    _square(a, "linalg.eigh")
    if UPLO not in (None, "L", "U"):
        raise ValueError(f"tnp.linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    w, v = _eigh_p(a, lower=UPLO != "U", symmetrize_input=bool(symmetrize_input))
    return EighResult(w, v)


def eigvalsh(a, UPLO: str | None = "L", *, symmetrize_input: bool = True):
    """Eigenvalues (ascending) of a real symmetric matrix, as ``jnp.linalg.eigvalsh``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> w = eigvalsh(tnp.asarray([[2.0, 1.0], [1.0, 2.0]]))
    """
    return eigh(a, UPLO=UPLO, symmetrize_input=symmetrize_input)[0]


def matrix_power(a, n: int):
    """``a`` raised to the integer power ``n`` by repeated squaring (``inv(a)`` for ``n < 0``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> p = matrix_power(tnp.asarray([[1.0, 1.0], [0.0, 1.0]]), 3)
    """
    import operator

    import tapegrad.numpy as tnp
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"tnp.linalg.matrix_power: n must be an integer, got {type(n).__name__}") from None
    a = tnp.asarray(a)
    _square(a, "linalg.matrix_power")
    if n == 0:
        return tnp.broadcast_to(_jnp.eye(a.shape[-1], dtype=a.dtype), a.shape)
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
        >>> p = multi_dot([tnp.ones((2, 3)), tnp.ones((3, 4)), tnp.ones(4)])
    """
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError(f"tnp.linalg.multi_dot: expected at least two arrays, got {len(arrays)}")
    out = arrays[0]
    for b in arrays[1:]:
        out = matmul(out, b, precision=precision)
    return out
