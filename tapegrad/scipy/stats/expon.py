"""``tapegrad.scipy.stats.expon``: the exponential distribution, as ``jax.scipy.stats.expon``.

Example:
    >>> from tapegrad.scipy.stats import expon
    >>> float(expon.pdf(0.0))
    1.0
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-(x - loc) / scale - log(scale)`` for ``x >= loc``, ``-inf`` below.

    Example:
        >>> float(logpdf(1.0))
        -1.0
    """
    x, loc, scale = promote("expon.logpdf", x, loc, scale)
    log_scale = tnp.log(scale)
    linear_term = (x - loc) / scale
    log_probs = -(linear_term + log_scale)
    return tnp.where(x < loc, -jnp.inf, log_probs)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The exponential density, ``exp(logpdf)``.

    Example:
        >>> round(float(pdf(1.0)), 4)
        0.3679
    """
    return tnp.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-expm1(-(x - loc) / scale)`` for ``x >= loc``, 0 below.

    Example:
        >>> round(float(cdf(1.0)), 4)
        0.6321
    """
    x, loc, scale = promote("expon.cdf", x, loc, scale)
    neg_scaled_x = (loc - x) / scale
    return tnp.where(x < loc, tnp.zeros_like(neg_scaled_x), -tnp.expm1(neg_scaled_x))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log1p(-sf)``.

    Example:
        >>> round(float(logcdf(1.0)), 4)
        -0.4587
    """
    return tnp.log1p(-sf(x, loc, scale))


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-(x - loc) / scale`` for ``x >= loc``, 0 below.

    Example:
        >>> float(logsf(2.0))
        -2.0
    """
    x, loc, scale = promote("expon.logsf", x, loc, scale)
    neg_scaled_x = (loc - x) / scale
    return tnp.where(x < loc, tnp.zeros_like(neg_scaled_x), neg_scaled_x)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logsf)``.

    Example:
        >>> round(float(sf(1.0)), 4)
        0.3679
    """
    return tnp.exp(logsf(x, loc, scale))


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``loc - scale log1p(-q)`` for ``q`` in [0, 1], NaN outside.

    Example:
        >>> round(float(ppf(0.5)), 4)  # log 2
        0.6931
    """
    q, loc, scale = promote("expon.ppf", q, loc, scale)
    bad = tnp.logical_or(tnp.logical_or(tnp.isnan(q), q < 0), q > 1)
    return tnp.where(bad, jnp.nan, loc - scale * tnp.log1p(-q))
