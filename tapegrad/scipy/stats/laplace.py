"""``tapegrad.scipy.stats.laplace``: the Laplace distribution, as ``jax.scipy.stats.laplace``.

Example:
    >>> from tapegrad.scipy.stats import laplace
    >>> float(laplace.cdf(0.0))
    0.5
"""
from __future__ import annotations

import tapegrad.numpy as tnp
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logpdf", "pdf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-|x - loc| / scale - log(2 scale)`` (its x-derivative at ``x == loc`` is jax's, 0).

    Example:
        >>> round(float(logpdf(0.0)), 4)  # -log 2
        -0.6931
    """
    x, loc, scale = promote("laplace.logpdf", x, loc, scale)
    linear_term = tnp.abs(x - loc) / scale
    return -(linear_term + tnp.log(scale * 2))


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The Laplace density, ``exp(logpdf)``.

    Example:
        >>> float(pdf(0.0))
        0.5
    """
    return tnp.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(z) / 2`` for ``z <= 0``, ``1 - exp(-z) / 2`` above.

    Example:
        >>> round(float(cdf(1.0)), 4)
        0.8161
    """
    x, loc, scale = promote("laplace.cdf", x, loc, scale)
    diff = (x - loc) / scale
    return tnp.where(diff <= 0, 0.5 * tnp.exp(diff), 1 - 0.5 * tnp.exp(-diff))
