"""Index constructors with jax.numpy signatures: indices, ix_, diag/tril/triu indices, and conversions
between flat and multi-dimensional indices.

Indices are integers, so none has a derivative: they are constants made from shapes, or
non-differentiable primitives of integer inputs. The exception is ``ix_``: it only reshapes its
arguments, and JAX differentiates it, so here it is a composition of ``tnp.reshape``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.primitive import nondifferentiable
from tapegrad.numpy._values import arraylike, static_int

_ravel_multi_index = nondifferentiable("ravel_multi_index", lambda *idx, dims, mode, order, dtype: (
    jnp.ravel_multi_index(idx, dims, mode=mode, order=order, dtype=dtype)))
_unravel_index = nondifferentiable("unravel_index", lambda idx, shape: jnp.unravel_index(idx, shape),
                                   multiple_results=True)


def indices(dimensions: Sequence[int], dtype: Any = None, sparse: bool = False):
    """An index grid: ``out[i][j, k, ...]`` is the ``i``-th coordinate of position ``(j, k, ...)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.indices((2, 3))[1].tolist()
        [[0, 1, 2], [0, 1, 2]]
    """
    dims = tuple(static_int(d, "indices", "dimensions") for d in dimensions)
    return jnp.indices(dims, dtype=dtype, sparse=sparse)


def ix_(*args):
    """Open-mesh index arrays from 1-D sequences: ``a[ix_(rows, cols)]`` is the ``rows x cols`` sub-block.

    Each output is its input reshaped (``shape[i] = len(args[i])``, 1 elsewhere), so gradients flow
    through it, as in JAX.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> r, c = tnp.ix_(tnp.array([0, 2]), tnp.array([1, 3, 4]))
        >>> r.shape, c.shape
        ((2, 1), (1, 3))
    """
    arrays = [arraylike(a) for a in args]
    n = len(arrays)
    out = []
    for i, a in enumerate(arrays):
        if a.ndim != 1:
            raise ValueError(f"tnp.ix_: arguments must be 1-dimensional, got shapes {[tuple(x.shape) for x in arrays]}")
        if a.dtype == np.bool_:
            raise NotImplementedError("tnp.ix_: boolean arguments are not supported (as in jax.numpy); "
                                      "use tnp.nonzero(mask)[0]")
        shape = [1] * n
        shape[i] = a.shape[0]
        out.append(jnp.zeros(shape, jnp.result_type(int)) if a.size == 0 else tnp.reshape(a, tuple(shape)))
    return tuple(out)


def diag_indices(n: int, ndim: int = 2):
    """The indices of the main diagonal of an ``n x n x ...`` array (``ndim`` copies of ``arange(n)``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [i.tolist() for i in tnp.diag_indices(2)]
        [[0, 1], [0, 1]]
    """
    return jnp.diag_indices(static_int(n, "diag_indices", "n"), ndim=static_int(ndim, "diag_indices", "ndim"))


def diag_indices_from(arr):
    """The indices of the main diagonal of ``arr`` (at least 2-D, all sides equal).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> len(tnp.diag_indices_from(tnp.ones((3, 3, 3))))
        3
    """
    shape = tuple(tnp.shape(arr))
    if len(shape) < 2:
        raise ValueError(f"tnp.diag_indices_from: needs an array of at least 2 dimensions, got shape {shape}")
    if len(set(shape)) != 1:
        raise ValueError(f"tnp.diag_indices_from: all sides must be equal, got shape {shape}")
    return jnp.diag_indices(shape[0], ndim=len(shape))


def tril_indices(n: int, k: int = 0, m: int | None = None):
    """The indices of the lower triangle (on and below diagonal ``k``) of an ``n x m`` array.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [i.tolist() for i in tnp.tril_indices(2)]
        [[0, 1, 1], [0, 0, 1]]
    """
    return jnp.tril_indices(static_int(n, "tril_indices", "n"), k=static_int(k, "tril_indices", "k"),
                            m=None if m is None else static_int(m, "tril_indices", "m"))


def triu_indices(n: int, k: int = 0, m: int | None = None):
    """The indices of the upper triangle (on and above diagonal ``k``) of an ``n x m`` array.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [i.tolist() for i in tnp.triu_indices(2)]
        [[0, 0, 1], [0, 1, 1]]
    """
    return jnp.triu_indices(static_int(n, "triu_indices", "n"), k=static_int(k, "triu_indices", "k"),
                            m=None if m is None else static_int(m, "triu_indices", "m"))


def _shape2(arr, who):
    shape = tuple(tnp.shape(arr))
    if len(shape) != 2:
        raise ValueError(f"tnp.{who}: needs a 2-D array, got shape {shape}")
    return shape


def tril_indices_from(arr, k: int = 0):
    """The indices of the lower triangle of the 2-D ``arr`` (on and below diagonal ``k``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [i.tolist() for i in tnp.tril_indices_from(tnp.ones((2, 3)), k=-1)]
        [[1], [0]]
    """
    n, m = _shape2(arr, "tril_indices_from")
    return tril_indices(n, k=k, m=m)


def triu_indices_from(arr, k: int = 0):
    """The indices of the upper triangle of the 2-D ``arr`` (on and above diagonal ``k``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [i.tolist() for i in tnp.triu_indices_from(tnp.ones((2, 3)), k=2)]
        [[0], [2]]
    """
    n, m = _shape2(arr, "triu_indices_from")
    return triu_indices(n, k=k, m=m)


def ravel_multi_index(multi_index: Sequence[Any], dims: Sequence[int], mode: str = "raise", order: str = "C", *,
                      dtype: Any = None):
    """Flat indices of the coordinates ``multi_index`` into an array of shape ``dims``.

    ``mode='raise'`` checks the bounds (it needs concrete values); ``'wrap'`` and ``'clip'`` work under jit.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.ravel_multi_index((tnp.array([0, 1]), tnp.array([2, 0])), (2, 3)).tolist()
        [2, 3]
    """
    idx = [arraylike(i) for i in multi_index]
    if len(idx) != len(dims):
        raise ValueError(f"tnp.ravel_multi_index: {len(idx)} index arrays for {len(dims)} dimensions {tuple(dims)}")
    dims = tuple(static_int(d, "ravel_multi_index", "dims") for d in dims)
    return _ravel_multi_index(*idx, dims=dims, mode=mode, order=order,
                              dtype=None if dtype is None else jnp.dtype(dtype))


def unravel_index(indices, shape):
    """Coordinates, in an array of ``shape``, of the flat ``indices`` (out-of-bounds ones are clipped).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [i.tolist() for i in tnp.unravel_index(tnp.array([2, 3]), (2, 3))]
        [[0, 1], [2, 0]]
    """
    try:
        shape = list(shape)
    except TypeError:
        shape = [shape]
    shape = tuple(static_int(s, "unravel_index", "shape") for s in shape)
    return tuple(_unravel_index(arraylike(indices), shape=shape))
