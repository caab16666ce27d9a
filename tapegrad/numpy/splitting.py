"""Splitting with jax.numpy signatures: ``array_split``, ``hsplit``, ``vsplit``, ``dsplit``, ``unstack``.

All are the ``split`` primitive (whose rule is one concatenate of the pieces' cotangents) or
indexing, so a piece left unused gets a zero cotangent at no cost.
"""
from __future__ import annotations

import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axis


def _split(op: str, ary, indices_or_sections, axis: int, equal: bool):
    ary = tnp.asarray(ary)
    if ary.ndim == 0:
        raise ValueError(f"tnp.{op}: needs an array of at least 1 dimension, got a scalar")
    axis = canon_axis(axis, ary.ndim, op)
    n = ary.shape[axis]
    if isinstance(indices_or_sections, (list, tuple)) or np.ndim(indices_or_sections) > 0:
        indices = [int(i) for i in np.asarray(indices_or_sections).ravel()]
    else:
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"tnp.{op}: the number of sections must be positive, got {k}")
        size, rest = divmod(n, k)
        if rest and equal:
            raise ValueError(f"tnp.{op}: an axis of size {n} does not split into {k} equal sections "
                             f"(shape {tuple(ary.shape)}, axis {axis}); tnp.array_split allows unequal ones")
        # As NumPy: the first `rest` sections have one element more.
        sizes = [size + 1] * rest + [size] * (k - rest)
        indices = np.cumsum(sizes)[:-1].tolist()
    return tnp.split(ary, indices, axis=axis)


def array_split(ary, indices_or_sections, axis: int = 0):
    """``ary`` split along ``axis`` into ``n`` sections (the first ``size % n`` one longer) or at indices.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [p.tolist() for p in tnp.array_split(tnp.arange(5.0), 3)]
        [[0.0, 1.0], [2.0, 3.0], [4.0]]
    """
    return _split("array_split", ary, indices_or_sections, axis, equal=False)


def hsplit(ary, indices_or_sections):
    """Split column-wise: along axis 1, or axis 0 for a 1-D array.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [p.shape for p in tnp.hsplit(tnp.ones((2, 4)), 2)]
        [(2, 2), (2, 2)]
    """
    a = tnp.asarray(ary)
    return _split("hsplit", a, indices_or_sections, 1 if a.ndim > 1 else 0, equal=True)


def vsplit(ary, indices_or_sections):
    """Split row-wise (along axis 0) an array of at least 2 dimensions.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [p.shape for p in tnp.vsplit(tnp.ones((4, 2)), [1])]
        [(1, 2), (3, 2)]
    """
    a = tnp.asarray(ary)
    if a.ndim < 2:
        raise ValueError(f"tnp.vsplit: needs an array of at least 2 dimensions, got shape {tuple(a.shape)}")
    return _split("vsplit", a, indices_or_sections, 0, equal=True)


def dsplit(ary, indices_or_sections):
    """Split depth-wise (along axis 2) an array of at least 3 dimensions.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [p.shape for p in tnp.dsplit(tnp.ones((1, 2, 4)), 2)]
        [(1, 2, 2), (1, 2, 2)]
    """
    a = tnp.asarray(ary)
    if a.ndim < 3:
        raise ValueError(f"tnp.dsplit: needs an array of at least 3 dimensions, got shape {tuple(a.shape)}")
    return _split("dsplit", a, indices_or_sections, 2, equal=True)


def unstack(x, /, *, axis: int = 0):
    """The slices of ``x`` along ``axis``, as a tuple (the inverse of ``stack``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [p.tolist() for p in tnp.unstack(tnp.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)]
        [[1.0, 3.0], [2.0, 4.0]]
    """
    x = tnp.asarray(x)
    if x.ndim == 0:
        raise ValueError("tnp.unstack: needs an array of at least 1 dimension, got a scalar")
    axis = canon_axis(axis, x.ndim, "unstack")
    if x.shape[axis] == 0:
        return ()
    pieces = tnp.split(x, x.shape[axis], axis=axis) if x.shape[axis] > 1 else [x]
    return tuple(tnp.squeeze(p, axis) for p in pieces)
