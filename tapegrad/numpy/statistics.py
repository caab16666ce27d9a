"""Statistics with jax.numpy signatures: ``average``, ``cov``, ``corrcoef``, ``ptp``, ``quantile``,
``percentile`` (and the quantile core that ``nanquantile`` shares).

Compositions of primitives. A quantile is order statistics: the positions (a sort permutation, the
floor/ceil of ``q * (n - 1)``) are integers computed from values that carry no gradient, and the
result gathers the chosen elements of ``a`` with ``take_along_axis``, so the gradient reaches exactly
the elements jax's reaches, with the same interpolation weights; the gradient to ``q`` comes from
those weights (``d/dq = (high - low) * (n - 1)`` for ``'linear'``), as jax.grad's.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axes
from tapegrad.numpy._values import inexact as _inexact
from tapegrad.numpy._values import raw_array as _raw

QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf")


def ptp(a, axis=None, out=None, keepdims: bool = False):
    """The range (peak to peak), ``max - min`` along ``axis``; ties share the gradient as in max/min.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.ptp(tnp.array([3.0, -1.0, 2.0])))
        4.0
    """
    if out is not None:
        raise NotImplementedError("tnp.ptp: the 'out' argument is not supported (arrays are immutable)")
    return tnp.max(a, axis=axis, keepdims=keepdims) - tnp.min(a, axis=axis, keepdims=keepdims)


def average(a, axis=None, weights=None, returned: bool = False, keepdims: bool = False):
    """The weighted mean along ``axis``: ``sum(a * w) / sum(w)``; with ``returned`` also ``sum(w)``.

    ``weights`` has ``a``'s shape, or the shape of ``a`` along ``axis`` (in ``axis``'s order).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.average(tnp.array([1.0, 2.0, 4.0]), weights=tnp.array([1.0, 1.0, 2.0])))
        2.75
    """
    a = _inexact(a)
    axes = canon_axes(tuple(range(a.ndim)) if axis is None else axis, a.ndim, "average")
    if weights is None:
        avg = tnp.mean(a, axis=axis, keepdims=keepdims)
        count = int(np.prod([a.shape[d] for d in axes], dtype=np.int64))
        wsum = jnp.full((), count, tnp.result_type(avg))
    else:
        dt = jnp.result_type(tnp.result_type(a, weights), float)
        a, w = tnp.astype(a, dt), tnp.astype(tnp.asarray(weights), dt)
        if tuple(w.shape) != tuple(a.shape):
            if axis is None:
                raise ValueError(f"tnp.average: axis must be given when a and weights differ in shape, got "
                                 f"{tuple(a.shape)} and {tuple(w.shape)}")
            if tuple(w.shape) != tuple(a.shape[d] for d in axes):
                raise ValueError(f"tnp.average: weights of shape {tuple(w.shape)} do not match a of shape "
                                 f"{tuple(a.shape)} along axis {axis}")
            # weights' axes follow `axis`'s order: put them in increasing order, then broadcast.
            w = tnp.transpose(w, tuple(int(i) for i in np.argsort(axes)))
            w = tnp.reshape(w, tuple(n if d in axes else 1 for d, n in enumerate(a.shape)))
        wsum = tnp.sum(tnp.broadcast_to(w, tuple(a.shape)) if w.ndim else w, axis=axis, keepdims=keepdims)
        avg = tnp.sum(a * w, axis=axis, keepdims=keepdims) / wsum
    if returned:
        if tuple(tnp.shape(wsum)) != tuple(tnp.shape(avg)):
            wsum = tnp.broadcast_to(wsum, tuple(tnp.shape(avg)))
        return avg, wsum
    return avg


def cov(m, y=None, rowvar: bool = True, bias: bool = False, ddof: int | None = None, fweights=None,
        aweights=None, dtype=None):
    """The covariance matrix of the variables in the rows of ``m`` (columns when ``rowvar=False``),
    with optional frequency and analytic weights, as ``jnp.cov``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.cov(tnp.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])).tolist()
        [[1.0, -1.0], [-1.0, 1.0]]
    """
    m = _inexact(m)
    if m.ndim > 2:
        raise ValueError(f"tnp.cov: m has more than 2 dimensions (shape {tuple(m.shape)})")
    if dtype is not None and not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(f"tnp.cov: dtype must be float or complex, got {dtype}")
    X = tnp.atleast_2d(m)
    if not rowvar and m.ndim != 1:
        X = tnp.transpose(X)
    if X.shape[0] == 0:
        return jnp.zeros((0, 0), tnp.result_type(X))
    if y is not None:
        y = _inexact(y)
        if y.ndim > 2:
            raise ValueError(f"tnp.cov: y has more than 2 dimensions (shape {tuple(y.shape)})")
        Y = tnp.atleast_2d(y)
        if not rowvar and Y.shape[0] != 1:
            Y = tnp.transpose(Y)
        dt = tnp.result_type(X, Y)
        X = tnp.concatenate([tnp.astype(X, dt), tnp.astype(Y, dt)], axis=0)
    if X.shape[1] == 0:
        return jnp.full(() if X.shape[0] == 1 else (X.shape[0],) * 2, jnp.nan, tnp.result_type(X))
    if ddof is None:
        ddof = 1 if not bias else 0
    w = None
    if fweights is not None:
        fw = _raw(fweights)
        if fw.ndim > 1 or fw.shape[0] != X.shape[1]:
            raise ValueError(f"tnp.cov: fweights must be 1-D with one weight per observation ({X.shape[1]}), "
                             f"got shape {fw.shape}")
        if not jnp.issubdtype(fw.dtype, jnp.integer):
            raise TypeError(f"tnp.cov: fweights must be integers, got dtype {fw.dtype}")
        w = jnp.abs(fw)
    if aweights is not None:
        aweights = tnp.abs(tnp.asarray(aweights))
        if aweights.ndim > 1 or aweights.shape[0] != X.shape[1]:
            raise ValueError(f"tnp.cov: aweights must be 1-D with one weight per observation ({X.shape[1]}), "
                             f"got shape {tuple(aweights.shape)}")
        w = aweights if w is None else w * aweights
    if dtype is not None:
        X = tnp.astype(X, dtype)
        w = None if w is None else tnp.astype(w, dtype)
    avg, w_sum = average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        f = X.shape[1] - ddof
    elif ddof == 0:
        f = w_sum
    elif aweights is None:
        f = w_sum - ddof
    else:
        f = w_sum - ddof * tnp.sum(w * aweights) / w_sum
    X = X - avg[:, None]
    XT = tnp.transpose(X if w is None else X * w)
    return tnp.squeeze(tnp.dot(X, tnp.conj(XT)) / f)


def corrcoef(x, y=None, rowvar: bool = True, dtype=None):
    """Pearson correlation coefficients: ``cov`` normalised by the standard deviations, clipped to
    ``[-1, 1]`` (real and imaginary parts separately), as ``jnp.corrcoef``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.corrcoef(tnp.array([[0.0, 1.0, 2.0], [1.0, 3.0, 5.0]])).round(6).tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    if dtype is not None and not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(f"tnp.corrcoef: dtype must be float or complex, got {dtype}")
    c = cov(x, y, rowvar, dtype=dtype)
    if tnp.ndim(c) == 0:
        return c / c
    d = tnp.diagonal(c)
    std = tnp.astype(tnp.sqrt(tnp.real(d)), tnp.result_type(c))
    c = c / std[:, None] / std[None, :]
    re = tnp.clip(tnp.real(c), -1, 1)
    if tnp.iscomplexobj(c):
        return re + 1j * tnp.clip(tnp.imag(c), -1, 1)
    return re


# ---- quantiles ---------------------------------------------------------------------------------

def _check_quantile_args(op, out, overwrite_input, method):
    if out is not None or overwrite_input:
        raise ValueError(f"tnp.{op}: overwrite_input=True and out are not supported (arrays are immutable)")
    if method not in QUANTILE_METHODS:
        raise ValueError(f"tnp.{op}: method must be one of {', '.join(map(repr, QUANTILE_METHODS))}, "
                         f"got {method!r}")


def _gather_last(a, pos, q_nd):
    """``a[..., pos]`` along the last axis: ``a`` is ``K + (n,)``, ``pos`` integers ``Q + K``; gives ``Q + K``."""
    k_nd = a.ndim - 1
    if q_nd:
        pos = jnp.moveaxis(pos, 0, -1)
    else:
        pos = pos[..., None]
    out = tnp.take_along_axis(a, jnp.broadcast_to(pos, tuple(a.shape[:k_nd]) + (pos.shape[-1],)), axis=-1)
    return tnp.moveaxis(out, -1, 0) if q_nd else out[..., 0]


def quantile_core(op, a, q, axis, method, keepdims, squash_nans, weights):
    """jax.numpy's ``_quantile`` in tapegrad ops (``squash_nans``: nanquantile's NaN handling)."""
    a = _inexact(a)
    if jnp.issubdtype(a.dtype, jnp.complexfloating):
        raise ValueError(f"tnp.{op}: complex input is not supported (as in jax.numpy: quantiles of complex "
                         "values are poorly defined)")
    q = tnp.asarray(q)
    if q.ndim > 1:
        raise ValueError(f"tnp.{op}: q must have rank <= 1, got shape {tuple(q.shape)}")
    qdt = jnp.result_type(tnp.result_type(q), float)
    q = tnp.astype(q, qdt)
    if weights is not None:
        if method != "inverted_cdf":
            raise NotImplementedError(f"tnp.{op}: weights are supported with method='inverted_cdf' only (as in "
                                      f"jax.numpy), got method={method!r}")
        weights = _raw(tnp.asarray(weights))  # positions only: no gradient flows to the weights
        if jnp.issubdtype(weights.dtype, jnp.complexfloating):
            raise ValueError(f"tnp.{op}: weights cannot be complex")
        weights = weights.astype(a.dtype)
        if tuple(weights.shape) != tuple(a.shape):
            if axis is None:
                raise ValueError(f"tnp.{op}: weights of shape {weights.shape} must match a's {tuple(a.shape)} "
                                 "when axis is None")
            axes = canon_axes(axis, a.ndim, op)
            if tuple(weights.shape) != tuple(a.shape[d] for d in axes):
                raise ValueError(f"tnp.{op}: weights of shape {weights.shape} must match a's reduced axes "
                                 f"{tuple(a.shape[d] for d in axes)}")
            weights = jnp.broadcast_to(jnp.reshape(jnp.transpose(weights, np.argsort(axes)),
                                                   tuple(n if d in axes else 1 for d, n in enumerate(a.shape))),
                                       tuple(a.shape))
    nd, shape = a.ndim, tuple(a.shape)
    axes = tuple(range(nd)) if axis is None else canon_axes(axis, nd, op)
    if len(set(axes)) != len(axes):
        raise ValueError(f"tnp.{op}: repeated axis in {axis!r}")
    keep = tuple(d for d in range(nd) if d not in axes)
    kept = tuple(a.shape[d] for d in keep)
    n = int(np.prod([a.shape[d] for d in axes], dtype=np.int64))
    perm = keep + tuple(sorted(axes))
    # The reduced axes moved last and merged: every quantile is along one axis.
    a = tnp.reshape(tnp.transpose(a, perm), kept + (n,))
    if weights is not None:
        weights = jnp.reshape(jnp.transpose(weights, perm), kept + (n,))
    isnan = tnp.isnan(a)
    if squash_nans:
        a = tnp.where(isnan, np.nan, a)  # a positive NaN, so that it sorts last
    else:
        a = tnp.where(tnp.any(isnan, axis=-1, keepdims=True), np.nan, a)
    order = jnp.argsort(_raw(a), axis=-1)
    a = tnp.take_along_axis(a, order, axis=-1)  # sorted; its gradient is the permutation's
    if weights is not None:
        weights = jnp.take_along_axis(weights, order, axis=-1)
    raw = _raw(a)
    q_nd = q.ndim
    qx = jnp.expand_dims(_raw(q), tuple(range(q_nd, q_nd + len(kept))))  # Q + (1,)*K
    nan_sorted = jnp.isnan(raw)
    if squash_nans:
        counts = jnp.sum(~nan_sorted, axis=-1).astype(qdt)  # K
    else:
        counts = jnp.full(kept, n, qdt)

    if method == "inverted_cdf":
        w = jnp.ones_like(raw) if weights is None else weights
        bad = (w < 0) | jnp.isnan(w)
        cum = jnp.cumsum(jnp.where(bad | nan_sorted, 0, w), axis=-1)
        target = qx * cum[..., -1]  # Q + K
        pos = jnp.sum(cum[(None,) * q_nd] < target[..., None], axis=-1)
        pos = jnp.clip(pos, 0, (counts - 1).astype(pos.dtype))
        result = _gather_last(a, pos, q_nd)
        force = jnp.any(bad, axis=-1) | (counts == 0 if squash_nans else jnp.any(nan_sorted, axis=-1))
        result = tnp.where(jnp.broadcast_to(force, tuple(tnp.shape(result))), np.nan, result)
    else:
        qn_raw = qx * (counts - 1)
        low_f = jnp.floor(qn_raw)
        hi_w = q if q_nd == 0 else tnp.reshape(q, tuple(q.shape) + (1,) * len(kept))
        hi_w = hi_w * (counts - 1) - low_f  # differentiable in q: the interpolation weight
        top = (counts - 1).astype(int)
        low = jnp.clip(low_f.astype(int), 0, jnp.maximum(top, 0))
        high = jnp.clip(jnp.ceil(qn_raw).astype(int), 0, jnp.maximum(top, 0))
        if method in ("linear", "lower", "midpoint", "nearest"):
            lo_v = _gather_last(a, low, q_nd)
        if method in ("linear", "higher", "midpoint", "nearest"):
            hi_v = _gather_last(a, high, q_nd)
        if method == "linear":
            result = lo_v * (1 - hi_w) + hi_v * hi_w
        elif method == "lower":
            result = lo_v
        elif method == "higher":
            result = hi_v
        elif method == "nearest":
            result = tnp.where(_raw(hi_w) <= 0.5, lo_v, hi_v)
        else:
            result = (lo_v + hi_v) * 0.5
    if keepdims:
        result = tnp.reshape(result, tuple(q.shape) + tuple(1 if d in axes else s for d, s in enumerate(shape)))
    return tnp.astype(result, tnp.result_type(a))


def quantile(a, q, axis=None, out=None, overwrite_input: bool = False, method: str = "linear",
             keepdims: bool = False, *, weights=None):
    """The ``q``-th quantiles (``q`` in [0, 1], a scalar or 1-D) of ``a`` along ``axis``, as ``jnp.quantile``.

    ``method``: ``'linear'`` (interpolate), ``'lower'``, ``'higher'``, ``'midpoint'``, ``'nearest'``, or
    ``'inverted_cdf'`` (which alone takes ``weights``). A NaN in a slice makes its quantile NaN.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.quantile(tnp.array([1.0, 2.0, 3.0, 4.0]), tnp.array([0.25, 0.5])).tolist()
        [1.75, 2.5]
    """
    _check_quantile_args("quantile", out, overwrite_input, method)
    return quantile_core("quantile", a, q, axis, method, keepdims, False, weights)


def percentile(a, q, axis=None, out=None, overwrite_input: bool = False, method: str = "linear",
               keepdims: bool = False, *, weights=None):
    """The ``q``-th percentiles (``q`` in [0, 100]): ``quantile(a, q / 100, ...)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.percentile(tnp.array([1.0, 2.0, 3.0, 4.0]), 50))
        2.5
    """
    _check_quantile_args("percentile", out, overwrite_input, method)
    return quantile_core("percentile", a, _inexact(q) / 100, axis, method, keepdims, False, weights)
