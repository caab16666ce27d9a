"""NaN-ignoring reductions with jax.numpy signatures: ``nansum nanprod nanmax nanmin nanmean nanvar
nanstd nancumsum nancumprod nanargmax nanargmin nanmedian nanquantile nanpercentile``.

Each is jax.numpy's composition: NaNs are replaced (``where``) by the reduction's identity, then the
ordinary reduction runs. So the gradient is jax's: zero at the NaN entries, the plain reduction's
elsewhere (``nanvar`` centres with the double-``where`` trick, so no NaN leaks into the gradient).
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.numpy.statistics import _check_quantile_args, quantile_core


def _inexact_dtype(dt):
    return jnp.issubdtype(dt, jnp.inexact)


def _nan_reduction(name, reduction, identity, nan_if_all_nan, a, axis, keepdims, where, **kw):
    a = tnp.asarray(a)
    if not _inexact_dtype(a.dtype):
        return reduction(a, axis=axis, keepdims=keepdims, where=where, **kw)
    nan = tnp.isnan(a)
    out = reduction(tnp.where(nan, tnp.full_like(a, identity), a), axis=axis, keepdims=keepdims, where=where, **kw)
    if nan_if_all_nan:
        return tnp.where(tnp.all(nan, axis=axis, keepdims=keepdims), np.nan, out)
    return out


def _no_out(name, out):
    if out is not None:
        raise NotImplementedError(f"tnp.{name}: the 'out' argument is not supported (arrays are immutable)")


def nansum(a, axis=None, dtype=None, out=None, keepdims: bool = False, initial=None, where=None):
    """The sum over ``axis`` with NaNs counted as 0 (they get no gradient).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nansum(tnp.array([1.0, tnp.nan, 2.0])))
        3.0
    """
    _no_out("nansum", out)
    return _nan_reduction("nansum", tnp.sum, 0, False, a, axis, keepdims, where, dtype=dtype, initial=initial)


def nanprod(a, axis=None, dtype=None, out=None, keepdims: bool = False, initial=None, where=None):
    """The product over ``axis`` with NaNs counted as 1 (they get no gradient).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanprod(tnp.array([2.0, tnp.nan, 3.0])))
        6.0
    """
    _no_out("nanprod", out)
    return _nan_reduction("nanprod", tnp.prod, 1, False, a, axis, keepdims, where, dtype=dtype, initial=initial)


def nanmax(a, axis=None, out=None, keepdims: bool = False, initial=None, where=None):
    """The maximum over ``axis`` ignoring NaNs (NaN for an all-NaN slice when ``initial`` is None).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanmax(tnp.array([1.0, tnp.nan, 2.0])))
        2.0
    """
    _no_out("nanmax", out)
    return _nan_reduction("nanmax", tnp.max, -np.inf, initial is None, a, axis, keepdims, where, initial=initial)


def nanmin(a, axis=None, out=None, keepdims: bool = False, initial=None, where=None):
    """The minimum over ``axis`` ignoring NaNs (NaN for an all-NaN slice when ``initial`` is None).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanmin(tnp.array([1.0, tnp.nan, 2.0])))
        1.0
    """
    _no_out("nanmin", out)
    return _nan_reduction("nanmin", tnp.min, np.inf, initial is None, a, axis, keepdims, where, initial=initial)


def _count(a, axis, keepdims, where, dtype):
    """The number of non-NaN entries (a constant), in ``dtype``."""
    return jnp.sum(~jnp.isnan(_primal(a)), axis=axis, keepdims=keepdims, where=_primal(where),
                   dtype=dtype)


def _primal(x):
    from tapegrad.core.tracer import Tracer

    return x.primal() if type(x) is Tracer else x


def nanmean(a, axis=None, dtype=None, out=None, keepdims: bool = False, where=None):
    """The mean over ``axis`` of the non-NaN entries (NaN for an all-NaN slice).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanmean(tnp.array([1.0, tnp.nan, 2.0])))
        1.5
    """
    _no_out("nanmean", out)
    a = tnp.asarray(a)
    if not _inexact_dtype(a.dtype):
        return tnp.mean(a, axis=axis, dtype=dtype, keepdims=keepdims, where=where)
    dtype = a.dtype if dtype is None else jnp.dtype(dtype)
    total = nansum(a, axis=axis, dtype=dtype, keepdims=keepdims, where=where)
    return total / _count(a, axis, keepdims, where, dtype)


def _real_dtype(dt):
    return jnp.finfo(dt).dtype if jnp.issubdtype(dt, jnp.complexfloating) else dt


def nanvar(a, axis=None, dtype=None, out=None, ddof: int = 0, keepdims: bool = False, where=None, mean=None):
    """The variance over ``axis`` of the non-NaN entries, divisor ``N - ddof`` (NaN where it is <= 0).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanvar(tnp.array([1.0, tnp.nan, 3.0])))
        1.0
    """
    _no_out("nanvar", out)
    a = tnp.asarray(a)
    comp = jnp.result_type(a.dtype if dtype is None else dtype, float)
    if dtype is not None and not _inexact_dtype(dtype):
        raise ValueError(f"tnp.nanvar: dtype must be inexact, got {dtype}")
    a = tnp.astype(a, comp)
    if mean is None:
        mean = nanmean(a, axis, dtype=comp, keepdims=True, where=where)
    else:
        mean = tnp.astype(tnp.asarray(mean), comp)
    nan = tnp.isnan(a)
    c = tnp.where(nan, 0.0, a - mean)  # the double-where: no NaN in the value or the gradient
    sq = tnp.real(c) * tnp.real(c) + tnp.imag(c) * tnp.imag(c) if jnp.issubdtype(comp, jnp.complexfloating) \
        else c * c
    n = _count(a, axis, keepdims, where, None) - ddof
    res = tnp.sum(sq, axis=axis, keepdims=keepdims, where=where)
    bad = n <= 0
    res = tnp.where(bad, np.nan, res) / jnp.where(bad, 1, n).astype(_real_dtype(comp))
    return tnp.astype(res, _real_dtype(comp) if dtype is None else _real_dtype(jnp.dtype(dtype)))


def nanstd(a, axis=None, dtype=None, out=None, ddof: int = 0, keepdims: bool = False, where=None, mean=None):
    """``sqrt(nanvar(...))``: the standard deviation of the non-NaN entries.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanstd(tnp.array([1.0, tnp.nan, 3.0])))
        1.0
    """
    _no_out("nanstd", out)
    return tnp.sqrt(nanvar(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims, where=where, mean=mean))


def _nan_scan(name, scan, identity, a, axis, dtype, out):
    _no_out(name, out)
    a = tnp.asarray(a)
    if _inexact_dtype(a.dtype):
        a = tnp.where(tnp.isnan(a), tnp.full_like(a, identity), a)
    return scan(a, axis=axis, dtype=dtype)


def nancumsum(a, axis=None, dtype=None, out=None):
    """The cumulative sum along ``axis`` (flattened when None) with NaNs counted as 0.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.nancumsum(tnp.array([1.0, tnp.nan, 2.0])).tolist()
        [1.0, 1.0, 3.0]
    """
    return _nan_scan("nancumsum", tnp.cumsum, 0, a, axis, dtype, out)


def nancumprod(a, axis=None, dtype=None, out=None):
    """The cumulative product along ``axis`` (flattened when None) with NaNs counted as 1.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.nancumprod(tnp.array([2.0, tnp.nan, 3.0])).tolist()
        [2.0, 2.0, 6.0]
    """
    return _nan_scan("nancumprod", tnp.cumprod, 1, a, axis, dtype, out)


def _nanarg(name, arg, fill, a, axis, out, keepdims):
    _no_out(name, out)
    a = jnp.asarray(_primal(tnp.asarray(a)))
    keepdims = bool(keepdims)
    if not _inexact_dtype(a.dtype):
        return arg(a, axis=axis, keepdims=keepdims)
    nan = jnp.isnan(a)
    res = arg(jnp.where(nan, fill, a), axis=axis, keepdims=keepdims)
    return jnp.where(jnp.all(nan, axis=axis, keepdims=keepdims), -1, res)


def nanargmax(a, axis: int | None = None, out=None, keepdims: bool | None = None):
    """The index of the maximum ignoring NaNs (-1 for an all-NaN slice); an integer array.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> int(tnp.nanargmax(tnp.array([1.0, tnp.nan, 2.0])))
        2
    """
    return _nanarg("nanargmax", jnp.argmax, -np.inf, a, axis, out, keepdims)


def nanargmin(a, axis: int | None = None, out=None, keepdims: bool | None = None):
    """The index of the minimum ignoring NaNs (-1 for an all-NaN slice); an integer array.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> int(tnp.nanargmin(tnp.array([1.0, tnp.nan, 0.5])))
        2
    """
    return _nanarg("nanargmin", jnp.argmin, np.inf, a, axis, out, keepdims)


def nanquantile(a, q, axis=None, out=None, overwrite_input: bool = False, method: str = "linear",
                keepdims: bool = False, *, weights=None):
    """The ``q``-th quantiles of the non-NaN entries along ``axis`` (see :func:`tnp.quantile`).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanquantile(tnp.array([1.0, tnp.nan, 3.0]), 0.5))
        2.0
    """
    _check_quantile_args("nanquantile", out, overwrite_input, method)
    return quantile_core("nanquantile", a, q, axis, method, keepdims, True, weights)


def nanpercentile(a, q, axis=None, out=None, overwrite_input: bool = False, method: str = "linear",
                  keepdims: bool = False, *, weights=None):
    """The ``q``-th percentiles (``q`` in [0, 100]) of the non-NaN entries: ``nanquantile(a, q / 100)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanpercentile(tnp.array([1.0, tnp.nan, 3.0]), 50))
        2.0
    """
    _check_quantile_args("nanpercentile", out, overwrite_input, method)
    q = tnp.asarray(q)
    q = tnp.astype(q, jnp.result_type(tnp.result_type(q), float)) / 100
    return quantile_core("nanpercentile", a, q, axis, method, keepdims, True, weights)


def nanmedian(a, axis=None, out=None, overwrite_input: bool = False, keepdims: bool = False):
    """The median of the non-NaN entries along ``axis`` (NaN for an all-NaN slice).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.nanmedian(tnp.array([1.0, tnp.nan, 3.0, 4.0])))
        3.0
    """
    _check_quantile_args("nanmedian", out, overwrite_input, "midpoint")
    return quantile_core("nanmedian", a, 0.5, axis, "midpoint", keepdims, True, None)
