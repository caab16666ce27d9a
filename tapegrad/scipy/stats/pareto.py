"""``tapegrad.scipy.stats.pareto``: the Pareto distribution with shape ``b``, as ``jax.scipy.stats.pareto``.

Example:
    >>> from tapegrad.scipy.stats import pareto
    >>> float(pareto.pdf(1.0, 2.0))
    2.0
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(b / scale) - (b + 1) log(z)`` for ``z = (x - loc) / scale >= 1``, ``-inf`` below.

    Example:
        >>> round(float(logpdf(2.0, 1.0)), 4)  # log(1/4)
        -1.3863
    """
    x, b, loc, scale = promote("pareto.logpdf", x, b, loc, scale)
    scaled_x = (x - loc) / scale
    normalize_term = tnp.log(scale / b)
    log_probs = -(normalize_term + (b + 1) * tnp.log(scaled_x))
    return tnp.where(x < loc + scale, -jnp.inf, log_probs)


def pdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> float(pdf(2.0, 1.0))
        0.25
    """
    return tnp.exp(logpdf(x, b, loc, scale))


def cdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``1 - z^-b`` on the support, 0 below.

    Example:
        >>> float(cdf(2.0, 1.0))
        0.5
    """
    x, b, loc, scale = promote("pareto.cdf", x, b, loc, scale)
    scaled_x = (x - loc) / scale
    return tnp.where(x < loc + scale, tnp.zeros((), x.dtype), 1 - tnp.power(scaled_x, -b))


def logcdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log1p(-z^-b)`` on the support, ``-inf`` below.

    Example:
        >>> round(float(logcdf(2.0, 1.0)), 4)
        -0.6931
    """
    x, b, loc, scale = promote("pareto.logcdf", x, b, loc, scale)
    scaled_x = (x - loc) / scale
    return tnp.where(x < loc + scale, -jnp.inf, tnp.log1p(-tnp.power(scaled_x, -b)))


def logsf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-b log(z)`` on the support, 0 below.

    Example:
        >>> round(float(logsf(2.0, 1.0)), 4)
        -0.6931
    """
    x, b, loc, scale = promote("pareto.logsf", x, b, loc, scale)
    scaled_x = (x - loc) / scale
    return tnp.where(x < loc + scale, tnp.zeros((), x.dtype), -(b * tnp.log(scaled_x)))


def sf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logsf)``.

    Example:
        >>> float(sf(2.0, 1.0))
        0.5
    """
    return tnp.exp(logsf(x, b, loc, scale))


def ppf(q: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``loc + scale (1 - q)^(-1/b)`` for ``q`` in [0, 1], NaN outside.

    Example:
        >>> float(ppf(0.5, 1.0))
        2.0
    """
    q, b, loc, scale = promote("pareto.ppf", q, b, loc, scale)
    ppf_val = loc + scale * tnp.power(1 - q, -(1 / b))
    bad = tnp.logical_or(tnp.logical_or(tnp.isnan(q), q < 0), q > 1)
    return tnp.where(bad, jnp.nan, ppf_val)
