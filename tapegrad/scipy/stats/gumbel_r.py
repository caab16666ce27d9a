"""``tapegrad.scipy.stats.gumbel_r``: the right-skewed Gumbel distribution, as
``jax.scipy.stats.gumbel_r`` (NaN where ``scale <= 0``).

Example:
    >>> from tapegrad.scipy.stats import gumbel_r
    >>> round(float(gumbel_r.pdf(0.0)), 4)
    0.3679
"""
from __future__ import annotations

import math

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def _log1mexp(x: Array) -> Array:
    # log(1 - exp(-x)) as jax.nn.log1mexp: two branches split at log 2. Each branch sees an input
    # inside its own range, so the branch not taken cannot leak a NaN into the gradient (jax gets
    # the same from its custom derivative, 1 / expm1(x)).
    c = math.log(2.0)
    small = x < c
    lo = tnp.where(small, x, c)
    hi = tnp.where(small, c, x)
    return tnp.where(small, tnp.log(-tnp.expm1(-lo)), tnp.log1p(-tnp.exp(-hi)))


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-(z + exp(-z)) - log(scale)`` with ``z = (x - loc) / scale``.

    Example:
        >>> float(logpdf(0.0))
        -1.0
    """
    x, loc, scale = promote("gumbel_r.logpdf", x, loc, scale)
    z = (x - loc) / scale
    log_pdf = -tnp.log(scale) + -(z + tnp.exp(-z))
    return tnp.where(scale > 0, log_pdf, jnp.nan)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(1.0)), 4)
        0.2546
    """
    return tnp.exp(logpdf(x, loc, scale))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-exp(-z)``.

    Example:
        >>> float(logcdf(0.0))
        -1.0
    """
    x, loc, scale = promote("gumbel_r.logcdf", x, loc, scale)
    z = (x - loc) / scale
    return tnp.where(scale > 0, -tnp.exp(-z), jnp.nan)


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(-exp(-z))``.

    Example:
        >>> round(float(cdf(0.0)), 4)
        0.3679
    """
    return tnp.exp(logcdf(x, loc, scale))


def ppf(p: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function, ``loc - scale log(-log p)`` for ``p`` in (0, 1), NaN elsewhere.

    Example:
        >>> round(float(ppf(0.5)), 4)
        0.3665
    """
    p, loc, scale = promote("gumbel_r.ppf", p, loc, scale)
    ok = tnp.logical_and(p > 0, p < 1)
    quantile = loc - scale * tnp.log(-tnp.log(p))
    return tnp.where(ok, quantile, jnp.nan)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``1 - exp(-exp(-z))``.

    Example:
        >>> round(float(sf(0.0)), 4)
        0.6321
    """
    x, loc, scale = promote("gumbel_r.sf", x, loc, scale)
    neg_z = (loc - x) / scale
    return tnp.where(scale > 0, 1 - tnp.exp(-tnp.exp(neg_z)), jnp.nan)


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(1 - exp(-exp(-z)))``, stable (jax.nn.log1mexp's two branches).

    Example:
        >>> round(float(logsf(0.0)), 4)
        -0.4587
    """
    x, loc, scale = promote("gumbel_r.logsf", x, loc, scale)
    neg_z = (loc - x) / scale
    return tnp.where(scale > 0, _log1mexp(tnp.exp(neg_z)), jnp.nan)
