"""``tapegrad.scipy.stats.gamma``: the gamma distribution with shape ``a``, as ``jax.scipy.stats.gamma``.

Example:
    >>> from tapegrad.scipy.stats import gamma
    >>> round(float(gamma.pdf(1.0, 2.0)), 4)
    0.3679
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, clamp, promote

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def logpdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``(a - 1) log y - y - log Gamma(a) - log(scale)``, ``y = (x - loc) / scale``; ``-inf`` below ``loc``.

    Outside the support ``y`` is replaced by 1 before the logarithm, so the gradient there is 0, not NaN
    (as jax's).

    Example:
        >>> float(logpdf(1.0, 1.0))
        -1.0
    """
    x, a, loc, scale = promote("gamma.logpdf", x, a, loc, scale)
    ok = x >= loc
    y = tnp.where(ok, (x - loc) / scale, 1.0)
    log_linear_term = special.xlogy(a - 1, y) - y
    shape_terms = special.gammaln(a) + tnp.log(scale)
    return tnp.where(ok, log_linear_term - shape_terms, -jnp.inf)


def pdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(2.0, 3.0)), 4)
        0.2707
    """
    return tnp.exp(logpdf(x, a, loc, scale))


def cdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``gammainc(a, y)`` with ``y = (x - loc) / scale`` clamped to ``[0, inf]``.

    Differentiable in ``x``, ``loc``, ``scale`` to any order and in ``a`` once (as jax: the
    derivative of ``gammainc`` in ``a`` is not differentiated again).

    Example:
        >>> round(float(cdf(1.0, 1.0)), 4)  # 1 - exp(-1)
        0.6321
    """
    x, a, loc, scale = promote("gamma.cdf", x, a, loc, scale)
    return special.gammainc(a, clamp(0.0, (x - loc) / scale, jnp.inf))


def logcdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(cdf)``.

    Example:
        >>> round(float(logcdf(1.0, 1.0)), 4)
        -0.4587
    """
    return tnp.log(cdf(x, a, loc, scale))


def sf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``gammaincc(a, y)``; 1 below ``loc``.

    Example:
        >>> round(float(sf(1.0, 1.0)), 4)  # exp(-1)
        0.3679
    """
    x, a, loc, scale = promote("gamma.sf", x, a, loc, scale)
    y = (x - loc) / scale
    return tnp.where(y < 0, 1.0, special.gammaincc(a, y))


def logsf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log(sf)``.

    Example:
        >>> float(logsf(2.0, 1.0))
        -2.0
    """
    return tnp.log(sf(x, a, loc, scale))
