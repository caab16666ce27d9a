"""jax.scipy.stats' top-level functions: ``mode`` and ``rankdata`` (no derivative: plain arrays, as
ranks and counts are piecewise constant) and ``sem`` (differentiable, a composition of tnp ops).

Example:
    >>> import jax.numpy as jnp
    >>> from tapegrad.scipy.stats import rankdata
    >>> rankdata(jnp.array([10, 30, 20])).tolist()
    [1.0, 3.0, 2.0]
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import jax.scipy.stats as jss

import tapegrad.numpy as tnp
from tapegrad.core.primitive import nondifferentiable
from tapegrad.scipy.stats._util import Array, ArrayLike, as_array, promote

__all__ = ["ModeResult", "mode", "rankdata", "sem"]


class ModeResult(NamedTuple):
    """``mode(a)``'s ``(mode, count)``."""
    mode: Array
    count: Array


# Counting and ranking have no derivative: the forward is jax's own, on raw arrays (what a
# non-differentiable primitive's impl may call), and the results are plain arrays at every level.
_mode = nondifferentiable("stats_mode", lambda a, axis, nan_policy, keepdims: tuple(jss.mode(
    a, axis=axis, nan_policy=nan_policy, keepdims=keepdims)), multiple_results=True)
_rankdata = nondifferentiable("stats_rankdata", lambda a, method, axis, nan_policy: jss.rankdata(
    a, method, axis=axis, nan_policy=nan_policy))


def _check_policy(who: str, nan_policy: str) -> None:
    if nan_policy not in ("propagate", "omit", "raise"):
        raise ValueError(f"tapegrad.scipy.stats.{who}: illegal nan_policy value {nan_policy!r}; expected one of "
                         "{'propagate', 'omit', 'raise'}")


def mode(a: ArrayLike, axis: int | None = 0, nan_policy: str = "propagate", keepdims: bool = False) -> ModeResult:
    """The most common value along ``axis`` and how often it occurs (ties: the smallest value).

    Example:
        >>> m, c = mode(jnp.array([2, 4, 1, 1, 3, 4, 4, 2, 3]))
        >>> int(m), int(c)
        (4, 3)
    """
    _check_policy("mode", nan_policy)
    if nan_policy != "propagate":
        raise NotImplementedError(f"tapegrad.scipy.stats.mode: nan_policy={nan_policy!r} is not supported "
                                  "(as in jax); use 'propagate'")
    a = as_array(a)
    return ModeResult(*_mode(a, axis=axis, nan_policy=nan_policy, keepdims=bool(keepdims)))


def rankdata(a: ArrayLike, method: str = "average", *, axis: int | None = None,
             nan_policy: str = "propagate") -> Array:
    """Ranks from 1, ties by ``method`` (``average min max dense ordinal``); NaN anywhere gives all NaN.

    Example:
        >>> rankdata(jnp.array([1, 3, 2, 3])).tolist()
        [1.0, 3.5, 2.0, 3.5]
    """
    _check_policy("rankdata", nan_policy)
    if nan_policy != "propagate":
        raise NotImplementedError(f"tapegrad.scipy.stats.rankdata: nan_policy={nan_policy!r} is not supported "
                                  "(as in jax); use 'propagate'")
    if method not in ("average", "min", "max", "dense", "ordinal"):
        raise ValueError(f"tapegrad.scipy.stats.rankdata: unknown method {method!r}; expected one of "
                         "'average', 'min', 'max', 'dense', 'ordinal'")
    a = as_array(a)
    return _rankdata(a, method=method, axis=axis, nan_policy=nan_policy)


def sem(a: ArrayLike, axis: int | None = 0, ddof: int = 1, nan_policy: str = "propagate", *,
        keepdims: bool = False) -> Array:
    """The standard error of the mean, ``std(a, ddof) / sqrt(count)``; ``nan_policy='omit'`` skips NaNs.

    Example:
        >>> round(float(sem(jnp.array([2, 4, 1, 1, 3, 4, 4, 2, 3]))), 2)
        0.41
    """
    b, = promote("sem", a)
    if nan_policy == "propagate":
        size = b.size if axis is None else b.shape[axis]
        return tnp.std(b, axis, ddof=ddof, keepdims=keepdims) / jnp.sqrt(size).astype(b.dtype)
    if nan_policy == "omit":
        # jnp.nanstd's steps: the mean of what is there, centred squares with NaNs set to 0 (the
        # double where keeps NaN out of the gradient), NaN where fewer than ddof + 1 values are left.
        present = tnp.logical_not(tnp.isnan(b))
        mean = tnp.sum(tnp.where(present, b, 0.0), axis=axis, keepdims=True) / tnp.sum(
            present, axis=axis, keepdims=True)
        centered = tnp.square(tnp.where(present, b - mean, 0.0))
        count = jnp.sum(present, axis=axis, keepdims=keepdims)
        normalizer = count - ddof
        var = tnp.where(normalizer <= 0, jnp.nan, tnp.sum(centered, axis=axis, keepdims=keepdims))
        var = var / jnp.where(normalizer <= 0, 1, normalizer).astype(b.dtype)
        return tnp.sqrt(var) / jnp.sqrt(count).astype(b.dtype)
    raise ValueError(f"tapegrad.scipy.stats.sem: nan_policy={nan_policy!r} is not supported; use 'propagate' "
                     "or 'omit'")
