"""``tapegrad.scipy.stats.gennorm``: the generalized normal distribution with shape ``beta``, as
``jax.scipy.stats.gennorm``.

Example:
    >>> from tapegrad.scipy.stats import gennorm
    >>> round(float(gennorm.pdf(0.0, 2.0)), 4)  # 1/sqrt(pi)
    0.5642
"""
from __future__ import annotations

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logpdf", "pdf"]


def logpdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """``log(beta / 2) - log Gamma(1 / beta) - |x|^beta``.

    Example:
        >>> round(float(logpdf(1.0, 2.0)), 4)
        -1.5724
    """
    x, beta = promote("gennorm.logpdf", x, beta)
    return tnp.log(0.5 * beta) - special.gammaln(1 / beta) - tnp.power(tnp.abs(x), beta)


def pdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(1.0, 1.0)), 4)
        0.1839
    """
    return tnp.exp(logpdf(x, beta))


def cdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """``(1 + sign(x) gammainc(1 / beta, |x|^beta)) / 2``.

    Differentiable in ``x`` to any order and in ``beta`` once (as jax's gammainc).

    Example:
        >>> float(cdf(0.0, 2.0))
        0.5
    """
    x, beta = promote("gennorm.cdf", x, beta)
    return 0.5 * (1 + tnp.sign(x) * special.gammainc(1 / beta, tnp.power(tnp.abs(x), beta)))
