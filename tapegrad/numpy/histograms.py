"""Histograms with jax.numpy signatures: bincount, histogram_bin_edges, histogram, histogram2d, histogramdd.

Which bin a sample falls in is piecewise constant (no derivative), but JAX differentiates the rest,
and so does tapegrad, with the same formulas in tapegrad ops:

- counts are sums of ``weights`` per bin (a scatter-add: linear in the weights);
- the bin edges are ``linspace(lo, hi)``, with ``lo, hi`` the data's min and max (or ``range``), so they
  move with the extreme samples and with ``range``;
- ``density=True`` divides by the total and by the bin widths, which depend on the edges.

Bin indices are computed on the primal values by non-differentiable ops (``searchsorted``). Without
``length=``, ``bincount``'s output length depends on the values: under ``jax.jit`` it needs ``length``.
"""
from __future__ import annotations

import builtins
import math

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.numpy._values import arraylike, concrete_or_error, static_int


def _inexact(*arrays):
    """The arrays promoted together to an inexact dtype (as jax.numpy's promote_dtypes_inexact)."""
    dtype = tnp.result_type(*arrays)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.promote_types(dtype, jnp.result_type(float))
    return [tnp.astype(a, dtype) for a in arrays]


def bincount(x, weights=None, minlength: int = 0, *, length: int | None = None):
    """How many times each non-negative integer occurs in 1-D ``x`` (or the sum of ``weights`` for each).

    The result has ``length`` entries (default ``max(minlength, max(x) + 1)``, which needs concrete
    values); negative values count as 0 and values past the end are dropped. Differentiable in ``weights``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bincount(tnp.array([0, 1, 1, 3])).tolist()
        [1, 2, 0, 1]
    """
    x = arraylike(x)
    if x.dtype == np.bool_:
        x = tnp.astype(x, "int32")
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"tnp.bincount: x must have an integer dtype, got {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"tnp.bincount: x must be 1-dimensional, got shape {tuple(x.shape)}")
    minlength = static_int(minlength, "bincount", "minlength")
    if length is None:
        xv = concrete_or_error(x, "bincount", "the output length is max(x) + 1, which a traced x does not have; "
                                              "pass a static length=")
        length = max(minlength, max(0, int(jnp.max(xv))) + 1 if xv.size else 0)
    else:
        length = static_int(length, "bincount", "length")
    if weights is None:
        weights = np.array(1, dtype=jnp.result_type(int))
    else:
        weights = arraylike(weights)
        if tuple(weights.shape) != tuple(x.shape):
            raise ValueError(f"tnp.bincount: weights must have x's shape {tuple(x.shape)}, got {tuple(weights.shape)}")
    dtype = weights.dtype
    # A scatter-add of the weights (routed through tapegrad's .at[] when they are traced).
    return jnp.zeros(length, dtype).at[jnp.clip(x, 0)].add(weights, mode="drop")


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """The edges of ``bins`` equal bins over ``range`` (default: the data's min to max), or ``bins`` itself
    when it is an array of edges.

    Differentiable: the edges move with the data's extremes (or with ``range``), as in JAX.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.histogram_bin_edges(tnp.array([1.0, 3.0, 2.0]), bins=4).tolist()
        [1.0, 1.5, 2.0, 2.5, 3.0]
    """
    del weights  # as jax.numpy: the edges do not depend on them
    if isinstance(bins, str):
        raise NotImplementedError(f"tnp.histogram_bin_edges: string values for bins ({bins!r}) are not supported")
    arr = arraylike(a)
    dtype = arr.dtype if jnp.issubdtype(arr.dtype, jnp.inexact) else jnp.promote_types(
        arr.dtype, jnp.result_type(float))
    if np.ndim(bins) == 1:
        return tnp.astype(arraylike(bins), dtype)
    n = static_int(bins, "histogram_bin_edges", "bins")
    if range is None:
        if arr.size == 0:
            raise ValueError("tnp.histogram_bin_edges: an empty array has no min and max: pass range")
        range = [tnp.min(arr), tnp.max(arr)]
    lo, hi = _range_pair(range, dtype)
    # A zero-width range is widened by 0.5 each side, as NumPy does.
    flat = tnp.equal(lo, hi)
    lo, hi = tnp.where(flat, lo - 0.5, lo), tnp.where(flat, hi + 0.5, hi)
    return tnp.linspace(lo, hi, n + 1, dtype=dtype)


def _range_pair(range, dtype):
    """``range`` as two scalars of ``dtype`` (traced ones keep their gradients)."""
    r = tnp.astype(arraylike(list(range) if isinstance(range, tuple) else range), dtype)
    if tuple(r.shape) != (2,):
        raise ValueError(f"tnp.histogram: range must be None or a pair of scalars (lo, hi), got shape {r.shape}")
    return r[0], r[1]


def histogram(a, bins=10, range=None, weights=None, density: bool | None = None):
    """The histogram of ``a`` (flattened): ``(counts, bin_edges)``; each bin holds ``[edge_i, edge_i+1)``, the
    last one its right edge too.

    Differentiable in ``weights`` (the counts sum them) and, through the bin edges, in the data's
    extremes and ``range`` when ``density`` is set, as in JAX.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> counts, edges = tnp.histogram(tnp.array([0.0, 0.5, 1.0, 2.0]), bins=2)
        >>> counts.tolist(), edges.tolist()
        ([2.0, 2.0], [0.0, 1.0, 2.0])
    """
    a = arraylike(a)
    if weights is None:
        (a,) = _inexact(a)
        weights = tnp.ones_like(a)
    else:
        weights = arraylike(weights)
        if tuple(a.shape) != tuple(weights.shape):
            raise ValueError(f"tnp.histogram: weights must have a's shape {tuple(a.shape)}, "
                             f"got {tuple(weights.shape)}")
        a, weights = _inexact(a, weights)
    edges = histogram_bin_edges(a, bins, range)
    n = edges.shape[0]
    idx = tnp.searchsorted(edges, a, side="right")
    idx = tnp.where(tnp.equal(a, edges[-1]), n - 1, idx)
    counts = jnp.zeros(n, weights.dtype).at[idx].add(weights)[1:]
    if density:
        counts = counts / tnp.diff(edges) / tnp.sum(counts)
    return counts, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density: bool | None = None):
    """The 2-D histogram of the points ``(x[i], y[i])``: ``(counts, x_edges, y_edges)``.

    ``bins`` is a count or an edge array for both axes, or a pair of them. Differentiable as
    :func:`histogram`.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> h, xe, ye = tnp.histogram2d(tnp.array([0.0, 1.0, 1.0]), tnp.array([0.0, 0.0, 1.0]), bins=2)
        >>> h.tolist()
        [[1, 0], [1, 1]]
    """
    x, y = arraylike(x), arraylike(y)
    try:
        n = len(bins)
    except TypeError:
        n = 1
    if n not in (1, 2):
        bins = [bins, bins]
    hist, edges = histogramdd(tnp.transpose(tnp.stack([x, y])), bins, range, weights, density)
    return hist, edges[0], edges[1]


def histogramdd(sample, bins=10, range=None, weights=None, density: bool | None = None):
    """The histogram of ``N`` points in ``D`` dimensions (``sample`` of shape ``(N, D)``):
    ``(counts, [edges per dimension])``.

    Counts are integers without ``weights`` (as in jax.numpy). Differentiable as :func:`histogram`.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> h, edges = tnp.histogramdd(tnp.array([[0.0, 0.0], [1.0, 1.0]]), bins=2)
        >>> h.tolist(), len(edges)
        ([[1, 0], [0, 1]], 2)
    """
    sample = arraylike(sample)
    if weights is None:
        (sample,) = _inexact(sample)
    else:
        weights = arraylike(weights)
        if tuple(weights.shape) != tuple(sample.shape)[:1]:
            raise ValueError(f"tnp.histogramdd: needs one weight per sample: weights of shape {tuple(weights.shape)} "
                             f"for a sample of shape {tuple(sample.shape)}")
        sample, weights = _inexact(sample, weights)
    if sample.ndim != 2:
        raise ValueError(f"tnp.histogramdd: sample must be 2-D (N, D), got shape {tuple(sample.shape)}")
    N, D = sample.shape
    if range is not None and (len(range) != D or builtins.any(r is not None and np.shape(r)[0] != 2 for r in range)):
        raise ValueError(f"tnp.histogramdd: for sample of shape {(N, D)}, range must be a sequence of {D} pairs "
                         f"or Nones, got {range!r}")
    try:
        per_dim = list(bins)
    except TypeError:
        per_dim = D * [bins]
    else:
        if len(per_dim) != D:
            raise ValueError(f"tnp.histogramdd: needs bins for each of the {D} dimensions, got {len(per_dim)}")
    idx_by_dim, edges_by_dim = [], []
    for i in builtins.range(D):
        col = sample[:, i]
        edges = histogram_bin_edges(col, per_dim[i], None if range is None else range[i])
        idx = tnp.searchsorted(edges, col, side="right")
        idx = tnp.where(tnp.equal(col, edges[-1]), idx - 1, idx)
        idx_by_dim.append(idx)
        edges_by_dim.append(edges)
    nbins = tuple(e.shape[0] + 1 for e in edges_by_dim)
    flat = jnp.ravel_multi_index(tuple(idx_by_dim), nbins, mode="clip")
    hist = bincount(flat, weights, length=math.prod(nbins))
    hist = tnp.reshape(hist, nbins)[(slice(1, -1),) * D]
    if density:
        hist = tnp.astype(hist, sample.dtype)
        hist = hist / tnp.sum(hist)
        for norm in tnp.ix_(*[tnp.diff(e) for e in edges_by_dim]):
            hist = hist / norm
    return hist, edges_by_dim
