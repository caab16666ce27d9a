"""``tapegrad.scipy.stats.t``: Student's t distribution with ``df`` degrees of freedom, as
``jax.scipy.stats.t``.

Example:
    >>> from tapegrad.scipy.stats import t
    >>> round(float(t.pdf(0.0, 1.0)), 4)  # Cauchy at 0: 1/pi
    0.3183
"""
from __future__ import annotations

import math

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpdf", "pdf"]


def logpdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log Gamma((df+1)/2) - log Gamma(df/2) - log(pi df scale^2)/2 - (df+1)/2 log1p(z^2/df)``.

    Example:
        >>> round(float(logpdf(0.0, 1.0)), 4)
        -1.1447
    """
    x, df, loc, scale = promote("t.logpdf", x, df, loc, scale)
    scaled_x = (x - loc) / scale
    df_over_two = df / 2
    df_plus_one_over_two = df_over_two + 0.5
    normalize_term_const = (scale * scale) * math.pi
    normalize_term_tmp = tnp.log(normalize_term_const * df) / 2
    normalize_term = (special.gammaln(df_over_two) + normalize_term_tmp) - special.gammaln(df_plus_one_over_two)
    quadratic = (scaled_x * scaled_x) / df
    return -(normalize_term + df_plus_one_over_two * tnp.log1p(quadratic))


def pdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(0.0, 30.0)), 4)
        0.3956
    """
    return tnp.exp(logpdf(x, df, loc, scale))
