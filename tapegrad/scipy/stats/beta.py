"""``tapegrad.scipy.stats.beta``: the beta distribution on ``[loc, loc + scale]``, as
``jax.scipy.stats.beta`` (NaN unless ``a, b, scale > 0``).

Example:
    >>> from tapegrad.scipy.stats import beta
    >>> round(float(beta.pdf(0.5, 2.0, 2.0)), 4)
    1.5
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, clamp, promote

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def logpdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``(a-1) log y + (b-1) log(1-y) - log B(a, b) - log(scale)`` on the support, ``-inf`` outside.

    Example:
        >>> round(float(logpdf(0.5, 2.0, 2.0)), 4)
        0.4055
    """
    x, a, b, loc, scale = promote("beta.logpdf", x, a, b, loc, scale)
    shape_term = -special.betaln(a, b)
    y = (x - loc) / scale
    log_linear_term = special.xlogy(a - 1, y) + special.xlog1py(b - 1, -y)
    log_probs = (shape_term + log_linear_term) - tnp.log(scale)
    result = tnp.where(tnp.logical_or(x > loc + scale, x < loc), -jnp.inf, log_probs)
    bad = tnp.logical_or(tnp.logical_or(a <= 0, b <= 0), scale <= 0)
    return tnp.where(bad, jnp.nan, result)


def pdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(0.25, 2.0, 3.0)), 4)
        1.6875
    """
    return tnp.exp(logpdf(x, a, b, loc, scale))


def cdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``betainc(a, b, y)`` with ``y = (x - loc) / scale`` clamped to ``[0, 1]``.

    Differentiable in ``x``, ``loc`` and ``scale``; not in ``a`` or ``b`` (betainc's derivative in its
    parameters raises, as in jax).

    Example:
        >>> round(float(cdf(0.5, 2.0, 2.0)), 4)
        0.5
    """
    x, a, b, loc, scale = promote("beta.cdf", x, a, b, loc, scale)
    return special.betainc(a, b, clamp(0.0, (x - loc) / scale, 1.0))


def logcdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(cdf)``.

    Example:
        >>> round(float(logcdf(0.5, 2.0, 2.0)), 4)
        -0.6931
    """
    return tnp.log(cdf(x, a, b, loc, scale))


def sf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``betainc(b, a, 1 - y)``, ``y`` clamped to ``[0, 1]``.

    Example:
        >>> round(float(sf(0.25, 2.0, 3.0)), 4)
        0.7383
    """
    x, a, b, loc, scale = promote("beta.sf", x, a, b, loc, scale)
    return special.betainc(b, a, 1 - clamp(0.0, (x - loc) / scale, 1.0))


def logsf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(sf)``.

    Example:
        >>> round(float(logsf(0.5, 2.0, 2.0)), 4)
        -0.6931
    """
    return tnp.log(sf(x, a, b, loc, scale))
