"""Reductions and scans: sum, mean, max, prod, var, logsumexp, cumsum, cumprod, …

Every reduction's rule first restores the reduced axes (``keepdims``), then
broadcasts; ``_expand`` is that one step.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(out))


def _expand(g, x, axis, keepdims):
    """``g`` with the reduced axes put back as size-1 dims, broadcast to ``x``'s shape."""
    if not keepdims:
        axes = normalize_axis(axis, x.ndim)
        g = tnp.reshape(g, tuple(1 if i in axes else s for i, s in enumerate(x.shape)))
    return tnp.broadcast_to(g, x.shape)


_sum = Primitive("sum", lambda x, axis, keepdims: jnp.sum(x, axis=axis, keepdims=keepdims),
                 save_args=False).defvjp(
    lambda g, out, x, axis, keepdims: _expand(g, x, axis, keepdims))
_mean = Primitive("mean", lambda x, axis, keepdims: jnp.mean(x, axis=axis, keepdims=keepdims),
                  save_args=False).defvjp(
    lambda g, out, x, axis, keepdims: _expand(g, x, axis, keepdims) / _count(x, axis))


def _count(x, axis) -> int:
    return int(np.prod([x.shape[a] for a in normalize_axis(axis, x.ndim)], dtype=np.int64))


def _extremum_rule(g, out, x, axis, keepdims):
    # The gradient is shared equally among tied extrema (jax.numpy's convention).
    out = _expand(out, x, axis, keepdims)
    hit = tnp.where(x == out, 1.0, 0.0)
    return _expand(g, x, axis, keepdims) * hit / tnp.sum(hit, axis=axis, keepdims=True)


_max = Primitive("max", lambda x, axis, keepdims: jnp.max(x, axis=axis, keepdims=keepdims),
                 save_out=True).defvjp(_extremum_rule)
_min = Primitive("min", lambda x, axis, keepdims: jnp.min(x, axis=axis, keepdims=keepdims),
                 save_out=True).defvjp(_extremum_rule)


def sum(a, axis=None, dtype=None, keepdims=False):
    """Sum of elements over ``axis``."""
    if dtype is not None:
        a = tnp.asarray(a).astype(dtype)
    return _sum(a, axis=_static_axis(axis), keepdims=keepdims)


def mean(a, axis=None, dtype=None, keepdims=False):
    """Arithmetic mean over ``axis``."""
    if dtype is not None:
        a = tnp.asarray(a).astype(dtype)
    return _mean(a, axis=_static_axis(axis), keepdims=keepdims)


def max(a, axis=None, keepdims=False):
    """Maximum over ``axis``; ties share the gradient equally."""
    return _max(a, axis=_static_axis(axis), keepdims=keepdims)


def min(a, axis=None, keepdims=False):
    """Minimum over ``axis``; ties share the gradient equally."""
    return _min(a, axis=_static_axis(axis), keepdims=keepdims)


amax = max
amin = min


def _static_axis(axis):
    # Params must be hashable and printable: lists become tuples.
    return tuple(axis) if isinstance(axis, list) else axis
