"""``tapegrad.scipy.stats.logistic``: the logistic distribution, as ``jax.scipy.stats.logistic``.

Example:
    >>> from tapegrad.scipy.stats import logistic
    >>> float(logistic.cdf(0.0))
    0.5
"""
from __future__ import annotations

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "isf", "logpdf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-2 logaddexp(z/2, -z/2) - log(scale)``, stable in both tails.

    Example:
        >>> round(float(logpdf(0.0)), 4)  # log(1/4)
        -1.3863
    """
    x, loc, scale = promote("logistic.logpdf", x, loc, scale)
    x = (x - loc) / scale
    half_x = x / 2
    return -2 * tnp.logaddexp(half_x, -half_x) - tnp.log(scale)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The logistic density, ``exp(logpdf)``.

    Example:
        >>> float(pdf(0.0))
        0.25
    """
    return tnp.exp(logpdf(x, loc, scale))


def ppf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function, ``loc + scale logit(x)``.

    Example:
        >>> float(ppf(0.5))
        0.0
    """
    x, loc, scale = promote("logistic.ppf", x, loc, scale)
    return special.logit(x) * scale + loc


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``expit(-(x - loc) / scale)``.

    Example:
        >>> float(sf(0.0))
        0.5
    """
    x, loc, scale = promote("logistic.sf", x, loc, scale)
    return special.expit(-((x - loc) / scale))


def isf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The inverse survival function, ``loc - scale logit(x)``.

    Example:
        >>> float(isf(0.5))
        0.0
    """
    x, loc, scale = promote("logistic.isf", x, loc, scale)
    return -special.logit(x) * scale + loc


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``expit((x - loc) / scale)``.

    Example:
        >>> round(float(cdf(1.0)), 4)
        0.7311
    """
    x, loc, scale = promote("logistic.cdf", x, loc, scale)
    return special.expit((x - loc) / scale)
