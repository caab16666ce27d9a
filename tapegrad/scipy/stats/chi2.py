"""``tapegrad.scipy.stats.chi2``: the chi-squared distribution with ``df`` degrees of freedom, as
``jax.scipy.stats.chi2``.

Example:
    >>> from tapegrad.scipy.stats import chi2
    >>> round(float(chi2.pdf(1.0, 2.0)), 4)
    0.3033
"""
from __future__ import annotations

import math

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, clamp, promote

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def logpdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``(df/2 - 1) log y - y/2 - log Gamma(df/2) - (df/2) log 2 - log(scale)``; ``-inf`` below ``loc``.

    Example:
        >>> round(float(logpdf(1.0, 2.0)), 4)
        -1.1931
    """
    x, df, loc, scale = promote("chi2.logpdf", x, df, loc, scale)
    y = (x - loc) / scale
    df_on_two = df / 2
    kernel = (df_on_two - 1) * tnp.log(y) - y / 2
    nrml_cnst = -(special.gammaln(df_on_two) + (math.log(2.0) * df) / 2)
    log_probs = (nrml_cnst - tnp.log(scale)) + kernel
    return tnp.where(x < loc, -jnp.inf, log_probs)


def pdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(3.0, 4.0)), 4)
        0.1673
    """
    return tnp.exp(logpdf(x, df, loc, scale))


def cdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``gammainc(df / 2, (x - loc) / (2 scale))``, the argument clamped to ``[0, inf]``.

    Differentiable in ``x``, ``loc``, ``scale`` to any order and in ``df`` once (as jax's gammainc).

    Example:
        >>> round(float(cdf(2.0, 2.0)), 4)  # 1 - exp(-1)
        0.6321
    """
    x, df, loc, scale = promote("chi2.cdf", x, df, loc, scale)
    return special.gammainc(df / 2, clamp(0.0, (x - loc) / (scale * 2), jnp.inf))


def logcdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(cdf)``.

    Example:
        >>> round(float(logcdf(2.0, 2.0)), 4)
        -0.4587
    """
    return tnp.log(cdf(x, df, loc, scale))


def sf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``gammaincc(df / 2, (x - loc) / (2 scale))``, the argument clamped to ``[0, inf]``.

    Example:
        >>> round(float(sf(2.0, 2.0)), 4)  # exp(-1)
        0.3679
    """
    x, df, loc, scale = promote("chi2.sf", x, df, loc, scale)
    return special.gammaincc(df / 2, clamp(0.0, (x - loc) / (scale * 2), jnp.inf))


def logsf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(sf)``.

    Example:
        >>> float(logsf(4.0, 2.0))
        -2.0
    """
    return tnp.log(sf(x, df, loc, scale))
