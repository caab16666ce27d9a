"""Reductions with jax.numpy signatures composed of primitives (order statistics).

The seam: ``tapegrad.rules`` defines primitives (impl + VJP rule); ``tapegrad.numpy`` defines the
signatures. ``median`` is a sort and a gather: the gradient goes to the middle element(s), as jax's.
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.axes import normalize_axis


def median(a, axis=None, out=None, overwrite_input: bool = False, keepdims: bool = False):
    """The median along ``axis`` (None: all; an int or a tuple), the mean of the two middles for even counts.

    A slice holding nan has median nan, as jnp.median.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.median(tnp.array([3.0, 1.0, 4.0, 1.5])))
        2.25
    """
    if out is not None:
        raise NotImplementedError("tnp.median: the 'out' argument is not supported (arrays are immutable)")
    a = tnp.asarray(a)
    if not jnp.issubdtype(a.dtype, jnp.inexact):
        a = tnp.astype(a, jnp.result_type(float))
    axes = normalize_axis(axis, a.ndim)
    keep = [d for d in range(a.ndim) if d not in axes]
    kept_shape = tuple(a.shape[d] for d in keep)
    n = 1
    for d in axes:
        n *= a.shape[d]
    if n == 0:
        raise ValueError(f"tnp.median: cannot take the median of an empty slice (shape {a.shape}, axis {axis!r})")
    # The reduced axes moved last and merged into one: one sort along it.
    flat = tnp.reshape(tnp.transpose(a, tuple(keep) + axes), kept_shape + (n,))
    srt = tnp.sort(flat, axis=-1)
    lo, hi = srt[..., (n - 1) // 2], srt[..., n // 2]
    med = (lo + hi) / 2 if n % 2 == 0 else lo
    # sort puts nan last: the last element is nan exactly when the slice holds one.
    med = tnp.where(tnp.isnan(srt[..., n - 1]), tnp.full_like(med, jnp.nan), med)
    if keepdims:
        med = tnp.reshape(med, tuple(1 if d in axes else a.shape[d] for d in range(a.ndim)))
    return med
