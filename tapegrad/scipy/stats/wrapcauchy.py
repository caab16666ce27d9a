"""``tapegrad.scipy.stats.wrapcauchy``: the wrapped Cauchy distribution on ``[0, 2 pi]``, as
``jax.scipy.stats.wrapcauchy`` (NaN unless ``0 < c < 1``).

Example:
    >>> from tapegrad.scipy.stats import wrapcauchy
    >>> round(float(wrapcauchy.pdf(0.0, 0.5)), 4)
    0.4775
"""
from __future__ import annotations

import math

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpdf", "pdf"]


def logpdf(x: ArrayLike, c: ArrayLike) -> Array:
    """``log(1 - c^2) - log(2 pi) - log(1 + c^2 - 2 c cos x)`` on ``[0, 2 pi]``, ``-inf`` outside.

    Example:
        >>> round(float(logpdf(0.0, 0.5)), 4)
        -0.7393
    """
    x, c = promote("wrapcauchy.logpdf", x, c)
    val = tnp.log(1 - c * c) - math.log(2 * math.pi) - tnp.log(1 + c * c - 2 * c * tnp.cos(x))
    inside = tnp.where(tnp.logical_and(x >= 0, x <= 2 * math.pi), val, -jnp.inf)
    return tnp.where(tnp.logical_and(c > 0, c < 1), inside, jnp.nan)


def pdf(x: ArrayLike, c: ArrayLike) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(math.pi, 0.5)), 4)
        0.0531
    """
    return tnp.exp(logpdf(x, c))
