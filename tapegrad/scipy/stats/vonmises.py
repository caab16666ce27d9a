"""``tapegrad.scipy.stats.vonmises``: the von Mises distribution on the circle, as
``jax.scipy.stats.vonmises`` (NaN where ``kappa <= 0``).

Example:
    >>> from tapegrad.scipy.stats import vonmises
    >>> round(float(vonmises.pdf(0.0, 1.0)), 4)
    0.3417
"""
from __future__ import annotations

import math

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpdf", "pdf"]


def logpdf(x: ArrayLike, kappa: ArrayLike) -> Array:
    """``kappa (cos x - 1) - log(2 pi i0e(kappa))`` (i0e keeps it finite for large kappa).

    Example:
        >>> round(float(logpdf(0.0, 1.0)), 4)
        -1.0738
    """
    x, kappa = promote("vonmises.logpdf", x, kappa)
    val = kappa * (tnp.cos(x) - 1) - tnp.log(2 * math.pi * special.i0e(kappa))
    return tnp.where(kappa > 0, val, jnp.nan)


def pdf(x: ArrayLike, kappa: ArrayLike) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(math.pi, 1.0)), 4)
        0.0462
    """
    return tnp.exp(logpdf(x, kappa))
