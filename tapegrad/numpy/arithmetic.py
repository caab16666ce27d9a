"""Arithmetic on arrays with jax.numpy signatures (differences, cross products), composed of primitives.

The seam: ``tapegrad.rules`` defines primitives (impl + VJP rule); ``tapegrad.numpy`` defines the
signatures. These are compositions of primitives (bounds, selections, slicing, products): no rules of
their own.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axis
from tapegrad.core.tracer import Tracer


def clip(arr=None, /, min=None, max=None, *, a=None, a_min=None, a_max=None):
    """``arr`` limited to ``[min, max]`` (either bound may be None or an array).

    As jax.numpy: ``minimum(max, maximum(min, arr))``, so where ``min > max`` the result
    is ``max``, and at a tie the gradient is shared equally between ``arr`` and the bound.
    NumPy's spellings ``a=``, ``a_min=`` and ``a_max=`` are accepted too.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.clip(tnp.array([-2.0, 0.5, 3.0]), -1.0, 1.0).tolist()
        [-1.0, 0.5, 1.0]
        >>> tnp.clip(tnp.array([-2.0, 3.0]), a_min=0.0, a_max=1.0).tolist()
        [0.0, 1.0]
    """
    for new, old, name in ((arr, a, "a"), (min, a_min, "a_min"), (max, a_max, "a_max")):
        if new is not None and old is not None:
            raise TypeError(f"tnp.clip: got both {name}= and its other spelling")
    arr = a if arr is None else arr
    min = a_min if min is None else min
    max = a_max if max is None else max
    if arr is None:
        raise ValueError("tnp.clip: no input array was given")
    if min is not None:
        arr = tnp.maximum(min, arr)
    if max is not None:
        arr = tnp.minimum(max, arr)
    return arr if min is not None or max is not None or type(arr) is Tracer else jnp.asarray(arr)


def fmax(x1, x2):
    """Elementwise maximum ignoring NaNs; the gradient goes to the chosen argument (``x2`` at ties).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fmax(tnp.array([1.0, tnp.nan]), tnp.array([2.0, 0.0])).tolist()
        [2.0, 0.0]
    """
    return tnp.where(tnp.greater(x1, x2) | tnp.isnan(x2), x1, x2)


def fmin(x1, x2):
    """Elementwise minimum ignoring NaNs; the gradient goes to the chosen argument (``x2`` at ties).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fmin(tnp.array([1.0, tnp.nan]), tnp.array([2.0, 0.0])).tolist()
        [1.0, 0.0]
    """
    return tnp.where(tnp.less(x1, x2) | tnp.isnan(x2), x1, x2)


def copysign(x1, x2):
    """``|x1|`` with the sign of ``x2`` (no gradient to ``x2``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.copysign(tnp.array([2.0, -3.0]), tnp.array([-1.0, 1.0])).tolist()
        [-2.0, 3.0]
    """
    # The result takes both operands' promoted inexact dtype, as jnp.copysign's does.
    mag = tnp.astype(tnp.abs(x1), tnp.result_type(x1, x2, 1.0))
    return tnp.where(tnp.signbit(x2), -mag, mag)


def _along(axis: int, sl: slice) -> tuple:
    return (slice(None),) * axis + (sl,)


def diff(a, n: int = 1, axis: int = -1, prepend=None, append=None):
    """The ``n``-th forward difference along ``axis``: ``a[1:] - a[:-1]``, ``n`` times.

    ``prepend``/``append`` (scalars broadcast to one slice) are joined to ``a`` first, as jnp.diff.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.diff(tnp.array([1.0, 4.0, 9.0, 16.0])).tolist()
        [3.0, 5.0, 7.0]
    """
    a = tnp.asarray(a)
    if a.ndim == 0:
        raise ValueError("tnp.diff: needs an array of at least 1 dimension, got a scalar")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"tnp.diff: order n must be a non-negative int, got {n!r}")
    axis = canon_axis(axis, a.ndim, "diff")
    parts = []
    for extra in (prepend, a, append):
        if extra is None:
            continue
        extra = tnp.asarray(extra)
        if extra.ndim == 0:  # a scalar fills one slice along axis
            shape = list(a.shape)
            shape[axis] = 1
            extra = tnp.broadcast_to(extra, tuple(shape))
        parts.append(extra)
    if len(parts) > 1:
        a = tnp.concatenate(parts, axis=axis)
    for _ in range(int(n)):
        a = a[_along(axis, slice(1, None))] - a[_along(axis, slice(None, -1))]
    return a


def _broadcast(*xs):
    shape = np.broadcast_shapes(*(tnp.shape(x) for x in xs))
    return [tnp.broadcast_to(x, shape) for x in xs]


def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None):
    """The cross product of (batches of) 2- or 3-vectors along ``axisa``/``axisb``, as jnp.cross.

    Two 2-vectors give the scalar ``a0 b1 - a1 b0``; a 2-vector is otherwise read with z = 0.
    The batch dimensions broadcast.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.cross(tnp.array([1.0, 0.0, 0.0]), tnp.array([0.0, 1.0, 0.0])).tolist()
        [0.0, 0.0, 1.0]
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = tnp.asarray(a), tnp.asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"tnp.cross: needs arrays of vectors, got shapes {a.shape} and {b.shape}")
    a = tnp.moveaxis(a, canon_axis(axisa, a.ndim, "cross"), -1)
    b = tnp.moveaxis(b, canon_axis(axisb, b.ndim, "cross"), -1)
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"tnp.cross: vector dimensions must be 2 or 3, got shapes {a.shape} and {b.shape} "
                         "(vector axis moved last)")
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    if na == 3 and nb == 3:
        a2, b2 = a[..., 2], b[..., 2]
        x, y = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2
    elif na == 2:  # a2 = 0
        b2 = b[..., 2]
        x, y = a1 * b2, -(a0 * b2)
    else:  # b2 = 0
        a2 = a[..., 2]
        x, y = -(a2 * b1), a2 * b0
    out = tnp.stack(_broadcast(x, y, z), axis=-1)
    return tnp.moveaxis(out, -1, canon_axis(axisc, out.ndim, "cross"))
