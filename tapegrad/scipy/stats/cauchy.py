"""``tapegrad.scipy.stats.cauchy``: the Cauchy distribution, as ``jax.scipy.stats.cauchy``.

Example:
    >>> from tapegrad.scipy.stats import cauchy
    >>> float(cauchy.cdf(0.0))
    0.5
"""
from __future__ import annotations

import math

import tapegrad.numpy as tnp
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-log(pi scale (1 + z^2))`` with ``z = (x - loc) / scale``.

    Example:
        >>> round(float(logpdf(0.0)), 4)  # -log(pi)
        -1.1447
    """
    x, loc, scale = promote("cauchy.logpdf", x, loc, scale)
    scaled_x = (x - loc) / scale
    normalize_term = tnp.log(scale * math.pi)
    return -(normalize_term + tnp.log1p(scaled_x * scaled_x))


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The Cauchy density, ``exp(logpdf)``.

    Example:
        >>> round(float(pdf(1.0)), 4)
        0.1592
    """
    return tnp.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``1/2 + arctan(z) / pi``.

    Example:
        >>> float(cdf(1.0))
        0.75
    """
    x, loc, scale = promote("cauchy.cdf", x, loc, scale)
    scaled_x = (x - loc) / scale
    return 0.5 + (1.0 / math.pi) * tnp.arctan(scaled_x)


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(cdf)``.

    Example:
        >>> round(float(logcdf(0.0)), 4)
        -0.6931
    """
    return tnp.log(cdf(x, loc, scale))


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``1 - cdf``, computed as ``cdf(-x, -loc, scale)``.

    Example:
        >>> float(sf(1.0))
        0.25
    """
    x, loc, scale = promote("cauchy.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(sf)``.

    Example:
        >>> round(float(logsf(1.0)), 4)
        -1.3863
    """
    x, loc, scale = promote("cauchy.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


def isf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The inverse survival function, ``loc + scale tan(pi/2 - pi q)``.

    Example:
        >>> round(float(isf(0.25)), 4)
        1.0
    """
    q, loc, scale = promote("cauchy.isf", q, loc, scale)
    unscaled = tnp.tan(math.pi / 2 - math.pi * q)
    return unscaled * scale + loc


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function, ``loc + scale tan(pi q - pi/2)``.

    Example:
        >>> round(float(ppf(0.75)), 4)
        1.0
    """
    q, loc, scale = promote("cauchy.ppf", q, loc, scale)
    unscaled = tnp.tan(math.pi * q - math.pi / 2)
    return unscaled * scale + loc
