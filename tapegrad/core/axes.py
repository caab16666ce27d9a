"""The one axis normaliser all of tapegrad's numpy families share (rules and ``tapegrad.numpy`` alike).

Errors name the user-facing function (``op`` is its name without the ``tnp.`` prefix).
"""
from __future__ import annotations

import numpy as np


def canon_axis(axis, ndim: int, op: str) -> int:
    """``axis`` in ``[0, ndim)``; a clear error naming ``op`` when it is not an int or out of bounds.

    Example:
        >>> canon_axis(-1, 3, "sum")
        2
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"tnp.{op}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"tnp.{op}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return int(axis) % ndim


def canon_axes(axes, ndim: int, op: str) -> tuple[int, ...]:
    """A tuple of distinct axes in ``[0, ndim)`` (in the given order) from an int or a sequence.

    Example:
        >>> canon_axes((0, -1), 3, "flip")
        (0, 2)
    """
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    out = tuple(canon_axis(a, ndim, op) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"tnp.{op}: repeated axis in {axes}")
    return out


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """A reduction's ``axis`` (None: all, int or tuple, negatives allowed) as a sorted tuple.

    A scalar (``ndim == 0``) accepts axis 0 and -1, as jax.numpy's reductions do.

    Example:
        >>> normalize_axis((-1, 0), 3)
        (0, 2)
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))
