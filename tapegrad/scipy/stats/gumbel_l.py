"""``tapegrad.scipy.stats.gumbel_l``: the left-skewed Gumbel distribution, as
``jax.scipy.stats.gumbel_l`` (NaN where ``scale <= 0``).

Example:
    >>> from tapegrad.scipy.stats import gumbel_l
    >>> round(float(gumbel_l.pdf(0.0)), 4)
    0.3679
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``z - exp(z) - log(scale)`` with ``z = (x - loc) / scale``.

    Example:
        >>> float(logpdf(0.0))
        -1.0
    """
    x, loc, scale = promote("gumbel_l.logpdf", x, loc, scale)
    z = (x - loc) / scale
    # jax's xlogy(-1, scale) is -log(scale) for every scale that reaches the result.
    log_pdf = -tnp.log(scale) + (z - tnp.exp(z))
    return tnp.where(scale > 0, log_pdf, jnp.nan)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(1.0)), 4)
        0.1794
    """
    return tnp.exp(logpdf(x, loc, scale))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(1 - exp(-exp(z)))``.

    Example:
        >>> round(float(logcdf(0.0)), 4)
        -0.4587
    """
    x, loc, scale = promote("gumbel_l.logcdf", x, loc, scale)
    z = (x - loc) / scale
    log_cdf = tnp.log(-tnp.expm1(-tnp.exp(z)))
    return tnp.where(scale > 0, log_cdf, jnp.nan)


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``1 - exp(-exp(z))``.

    Example:
        >>> round(float(cdf(0.0)), 4)
        0.6321
    """
    return tnp.exp(logcdf(x, loc, scale))


def ppf(p: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function, ``loc + scale log(-log1p(-p))`` for ``p`` in (0, 1), NaN elsewhere.

    Example:
        >>> round(float(ppf(0.5)), 4)
        -0.3665
    """
    p, loc, scale = promote("gumbel_l.ppf", p, loc, scale)
    ok = tnp.logical_and(p > 0, p < 1)
    quantile = loc + scale * tnp.log(-tnp.log1p(-p))
    return tnp.where(ok, quantile, jnp.nan)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(-exp(z))``.

    Example:
        >>> round(float(sf(0.0)), 4)
        0.3679
    """
    return tnp.exp(logsf(x, loc, scale))


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-exp(z)``.

    Example:
        >>> float(logsf(0.0))
        -1.0
    """
    x, loc, scale = promote("gumbel_l.logsf", x, loc, scale)
    z = (x - loc) / scale
    return tnp.where(scale > 0, -tnp.exp(z), jnp.nan)
