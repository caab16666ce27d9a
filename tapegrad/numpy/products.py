"""The Array API's batched products with jax.numpy signatures: ``vecdot``, ``matvec``, ``vecmat``.

Each is one ``matmul`` (batch dimensions broadcast, the rules sum them back), with ``vecdot`` and
``vecmat`` conjugating their first argument as the Array API specifies.
"""
from __future__ import annotations

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axis


def _conj(x):
    return tnp.conj(x) if tnp.iscomplexobj(x) else x


def vecdot(x1, x2, /, *, axis: int = -1, precision=None, preferred_element_type=None):
    """The dot product ``sum(conj(x1) * x2)`` along ``axis``, batched over the other (broadcast) axes.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.vecdot(tnp.array([[1.0, 2.0], [3.0, 4.0]]), tnp.array([1.0, 1.0])).tolist()
        [3.0, 7.0]
    """
    x1, x2 = tnp.asarray(x1), tnp.asarray(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError(f"tnp.vecdot: needs arrays of vectors, got shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    a = tnp.moveaxis(x1, canon_axis(axis, x1.ndim, "vecdot"), -1)
    b = tnp.moveaxis(x2, canon_axis(axis, x2.ndim, "vecdot"), -1)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"tnp.vecdot: the vectors along axis {axis} differ in size: shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}")
    out = tnp.matmul(_conj(a)[..., None, :], b[..., :, None], precision=precision,
                     preferred_element_type=preferred_element_type)
    return out[..., 0, 0]


def matvec(x1, x2, /):
    """Matrix-vector products: ``x1`` of shape ``(..., m, n)`` times ``x2`` of shape ``(..., n)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.matvec(tnp.array([[1.0, 2.0], [3.0, 4.0]]), tnp.array([1.0, 0.0])).tolist()
        [1.0, 3.0]
    """
    x1, x2 = tnp.asarray(x1), tnp.asarray(x2)
    if x1.ndim < 2 or x2.ndim < 1:
        raise ValueError(f"tnp.matvec: needs matrices and vectors, got shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}")
    return tnp.matmul(x1, x2[..., :, None])[..., 0]


def vecmat(x1, x2, /):
    """Vector-matrix products: ``conj(x1)`` of shape ``(..., m)`` times ``x2`` of shape ``(..., m, n)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.vecmat(tnp.array([1.0, 0.0]), tnp.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [1.0, 2.0]
    """
    x1, x2 = tnp.asarray(x1), tnp.asarray(x2)
    if x1.ndim < 1 or x2.ndim < 2:
        raise ValueError(f"tnp.vecmat: needs vectors and matrices, got shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}")
    return tnp.matmul(_conj(x1)[..., None, :], x2)[..., 0, :]
