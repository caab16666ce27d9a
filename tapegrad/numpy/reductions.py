"""Reductions with jax.numpy signatures composed of primitives (order statistics).

The seam: ``tapegrad.rules`` defines primitives (impl + VJP rule); ``tapegrad.numpy`` defines the
signatures. ``median`` is a sort and a gather: the gradient goes to the middle element(s), as jax's.
``cumulative_sum``/``cumulative_prod`` are the Array API's spellings of the scans.
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axis, normalize_axis


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


def _cumulative(name, scan, identity, x, axis, dtype, include_initial):
    x = tnp.asarray(x)
    if x.ndim == 0:
        raise ValueError(f"tnp.{name}: the input must be non-scalar, got shape {tuple(x.shape)}")
    if axis is None:
        if x.ndim > 1:
            raise ValueError(f"tnp.{name}: axis is only optional for 1-D arrays, got shape {tuple(x.shape)}")
        axis = 0
    axis = canon_axis(axis, x.ndim, name)
    out = scan(x, axis=axis, dtype=dtype)
    if include_initial:
        shape = list(out.shape)
        shape[axis] = 1
        out = tnp.concatenate([tnp.full(tuple(shape), identity, dtype=out.dtype), out], axis=axis)
    return out


def cumulative_sum(x, /, *, axis: int | None = None, dtype=None, include_initial: bool = False):
    """The Array API cumulative sum: ``cumsum`` along ``axis`` (optional for 1-D only), with a leading 0
    when ``include_initial``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.cumulative_sum(tnp.array([1.0, 2.0, 3.0]), include_initial=True).tolist()
        [0.0, 1.0, 3.0, 6.0]
    """
    return _cumulative("cumulative_sum", tnp.cumsum, 0, x, axis, dtype, include_initial)


def cumulative_prod(x, /, *, axis: int | None = None, dtype=None, include_initial: bool = False):
    """The Array API cumulative product: ``cumprod`` along ``axis`` (optional for 1-D only), with a
    leading 1 when ``include_initial``; its gradient is exact at zeros.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.cumulative_prod(tnp.array([1.0, 2.0, 3.0])).tolist()
        [1.0, 2.0, 6.0]
    """
    return _cumulative("cumulative_prod", tnp.cumprod, 1, x, axis, dtype, include_initial)
