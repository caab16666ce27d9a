"""Searching and ordering with jax.numpy signatures: searchsorted, digitize, argpartition, lexsort,
argwhere, flatnonzero.

Each returns indices, so none has a derivative: non-differentiable primitives, whose results are plain
arrays at every level of ``grad`` (a tracer input gives its primal value). ``argwhere`` and
``flatnonzero`` have value-dependent output shapes: under ``jax.jit`` they need ``size=``.
"""
from __future__ import annotations

import jax.numpy as jnp

from tapegrad.core.primitive import nondifferentiable
from tapegrad.numpy._values import SIZE_HINT, arraylike, concrete_or_error, static_int

_searchsorted = nondifferentiable("searchsorted", lambda a, v, sorter, side, method: jnp.searchsorted(
    a, v, side=side, sorter=sorter, method=method))
_digitize = nondifferentiable("digitize", lambda x, bins, right, method: jnp.digitize(
    x, bins, right=right, method=method))
_argpartition = nondifferentiable("argpartition", lambda a, kth, axis: jnp.argpartition(a, kth, axis=axis))
_lexsort = nondifferentiable("lexsort", lambda *keys, axis: jnp.lexsort(keys, axis=axis))
_argwhere = nondifferentiable("argwhere", lambda a, fill_value, size: jnp.argwhere(
    a, size=size, fill_value=fill_value))
_flatnonzero = nondifferentiable("flatnonzero", lambda a, fill_value, size: jnp.flatnonzero(
    a, size=size, fill_value=fill_value))


def searchsorted(a, v, side: str = "left", sorter=None, *, method: str = "scan"):
    """Where to insert ``v`` into the sorted 1-D ``a`` to keep it sorted (no derivative).

    ``side='left'`` gives the first suitable index, ``'right'`` the last; ``sorter`` sorts an unsorted ``a``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.searchsorted(tnp.array([1.0, 2.0, 2.0, 3.0]), tnp.array([2.0, 2.5]), side="right").tolist()
        [3, 3]
    """
    if side not in ("left", "right"):
        raise ValueError(f"tnp.searchsorted: side must be 'left' or 'right', got {side!r}")
    a = arraylike(a)
    if a.ndim != 1:
        raise ValueError(f"tnp.searchsorted: a must be 1-dimensional, got shape {tuple(a.shape)}")
    return _searchsorted(a, arraylike(v), None if sorter is None else arraylike(sorter), side=side, method=method)


def digitize(x, bins, right: bool = False, *, method: str | None = None):
    """The index of the bin of ``bins`` (monotonic, increasing or decreasing) holding each ``x``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.digitize(tnp.array([0.5, 1.0, 2.5]), tnp.array([1.0, 2.0])).tolist()
        [0, 1, 2]
    """
    bins = arraylike(bins)
    if bins.ndim != 1:
        raise ValueError(f"tnp.digitize: bins must be 1-dimensional, got shape {tuple(bins.shape)}")
    return _digitize(arraylike(x), bins, right=bool(right), method=method)


def argpartition(a, kth: int, axis: int = -1):
    """Indices that partition ``a`` along ``axis``: the ``kth`` smallest at ``kth``, smaller ones before it,
    larger ones after (in no particular order).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> a = tnp.array([5.0, 1.0, 4.0, 2.0])
        >>> int(tnp.argpartition(a, 1)[1])
        3
    """
    return _argpartition(arraylike(a), kth=static_int(kth, "argpartition", "kth"),
                         axis=static_int(axis, "argpartition", "axis"))


def lexsort(keys, axis: int = -1):
    """Indices that sort by several keys: the *last* key is the primary one (a stable sort).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> last, first = tnp.array([1, 2, 1]), tnp.array([0, 0, 1])
        >>> tnp.lexsort((last, first)).tolist()
        [0, 1, 2]
    """
    if hasattr(keys, "shape"):  # an array: its rows are the keys
        keys = [keys[i] for i in range(keys.shape[0])]
    keys = [arraylike(k) for k in keys]
    if not keys:
        raise TypeError("tnp.lexsort: need at least one key")
    return _lexsort(*keys, axis=static_int(axis, "lexsort", "axis"))


def argwhere(a, *, size: int | None = None, fill_value=None):
    """The indices of ``a``'s nonzero elements, one row per element (shape ``(N, a.ndim)``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.argwhere(tnp.array([[0.0, 1.0], [2.0, 0.0]])).tolist()
        [[0, 1], [1, 0]]
    """
    a = arraylike(a)
    if size is None:
        concrete_or_error(a, "argwhere", SIZE_HINT)
    else:
        size = static_int(size, "argwhere", "size")
    return _argwhere(a, fill_value, size=size)


def flatnonzero(a, *, size: int | None = None, fill_value=None):
    """The indices of the nonzero elements of ``ravel(a)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.flatnonzero(tnp.array([[0.0, 1.0], [2.0, 0.0]])).tolist()
        [1, 2]
    """
    a = arraylike(a)
    if size is None:
        concrete_or_error(a, "flatnonzero", SIZE_HINT)
    else:
        size = static_int(size, "flatnonzero", "size")
    return _flatnonzero(a, fill_value, size=size)
