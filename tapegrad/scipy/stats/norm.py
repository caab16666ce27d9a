"""``tapegrad.scipy.stats.norm``: the normal distribution, as ``jax.scipy.stats.norm``.

Every function is differentiable in every argument (tapegrad's rules for log, ndtr, log_ndtr, ndtri).

Example:
    >>> from tapegrad.scipy.stats import norm
    >>> round(float(norm.pdf(0.0)), 4)
    0.3989
"""
from __future__ import annotations

import math

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log`` of the normal density with mean ``loc`` and standard deviation ``scale``.

    Example:
        >>> round(float(logpdf(0.0)), 4)  # -log(2 pi) / 2
        -0.9189
    """
    x, loc, scale = promote("norm.logpdf", x, loc, scale)
    scale_sqrd = tnp.square(scale)
    log_normalizer = tnp.log(scale_sqrd * (2 * math.pi))
    quadratic = tnp.square(x - loc) / scale_sqrd
    return (log_normalizer + quadratic) / -2


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The normal density, ``exp(logpdf)``.

    Example:
        >>> round(float(pdf(1.0, 1.0, 2.0)), 4)
        0.1995
    """
    return tnp.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``P(X <= x)``: ``ndtr((x - loc) / scale)``.

    Example:
        >>> float(cdf(0.0))
        0.5
    """
    x, loc, scale = promote("norm.cdf", x, loc, scale)
    return special.ndtr((x - loc) / scale)


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log P(X <= x)``, accurate in the left tail (``log_ndtr``).

    Example:
        >>> round(float(logcdf(-10.0)), 2)
        -53.23
    """
    x, loc, scale = promote("norm.logcdf", x, loc, scale)
    return special.log_ndtr((x - loc) / scale)


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function, ``loc + scale * ndtri(q)`` (NaN outside [0, 1]).

    Example:
        >>> round(float(ppf(0.975)), 4)
        1.96
    """
    q, loc, scale = promote("norm.ppf", q, loc, scale)
    out = special.ndtri(q) * scale + loc
    # jax casts the result to the default float dtype (float64 under x64, else float32).
    dt = jnp.result_type(float)
    return out if out.dtype == dt else tnp.astype(out, dt)


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log P(X > x)``, accurate in the right tail.

    Example:
        >>> round(float(logsf(10.0)), 2)
        -53.23
    """
    x, loc, scale = promote("norm.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``P(X > x) = 1 - cdf``, computed as ``cdf(-x, -loc, scale)``.

    Example:
        >>> round(float(sf(1.0)), 4)
        0.1587
    """
    x, loc, scale = promote("norm.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


def isf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The inverse survival function, ``ppf(1 - q)``.

    Example:
        >>> round(float(isf(0.025)), 4)
        1.96
    """
    q, loc, scale = promote("norm.isf", q, loc, scale)
    return ppf(1 - q, loc, scale)
