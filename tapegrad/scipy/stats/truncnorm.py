"""``tapegrad.scipy.stats.truncnorm``: the normal distribution truncated to ``[a, b]`` (in standard
units: the support is ``[loc + a scale, loc + b scale]``), as ``jax.scipy.stats.truncnorm``.

The normalising mass is computed in log space from whichever tail is accurate, as jax does.

Example:
    >>> from tapegrad.scipy.stats import truncnorm
    >>> round(float(truncnorm.cdf(0.0, -1.0, 1.0)), 4)
    0.5
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats import norm
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def _broadcast(*xs: Array) -> list[Array]:
    shape = jnp.broadcast_shapes(*(tuple(tnp.shape(x)) for x in xs))
    return [x if tuple(tnp.shape(x)) == shape else tnp.broadcast_to(x, shape) for x in xs]


def _log_diff(x: Array, y: Array) -> Array:
    # log(exp(x) - exp(y)) through logsumexp with weights (1, -1), as jax. Like jax's logsumexp, take
    # log|sum| and put NaN where the sum is negative with a where, so that those entries (branches
    # the callers do not select) get a zero gradient rather than a NaN one.
    b = jnp.reshape(jnp.asarray([1.0, -1.0], x.dtype), (2,) + (1,) * tnp.ndim(x))
    out, sign = special.logsumexp(tnp.stack([x, y]), b=b, axis=0, return_sign=True)
    return tnp.where(sign < 0, jnp.nan, out)


def _log_gauss_mass(a: Array, b: Array) -> Array:
    # log(ndtr(b) - ndtr(a)): from the left tail when b <= 0, mirrored when a > 0, else via the centre.
    a, b = _broadcast(a, b)
    case_left = b <= 0
    case_right = a > 0
    case_central = tnp.logical_not(tnp.logical_or(case_left, case_right))
    a_tail = tnp.where(case_right, -b, a)
    b_tail = tnp.where(case_right, -a, b)
    mass_tail = _log_diff(special.log_ndtr(b_tail), special.log_ndtr(a_tail))
    mass_central = tnp.log1p(-special.ndtr(a) - special.ndtr(-b))
    return tnp.where(case_central, mass_central, mass_tail)


def logpdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``norm.logpdf(x, loc, scale) - log(ndtr(b) - ndtr(a))`` inside, ``-inf`` outside, NaN if ``a >= b``.

    Example:
        >>> round(float(logpdf(0.0, -1.0, 1.0)), 4)
        -0.5372
    """
    x, a, b, loc, scale = promote("truncnorm.logpdf", x, a, b, loc, scale)
    val = norm.logpdf(x, loc, scale) - _log_gauss_mass(a, b)
    x_scaled = (x - loc) / scale
    val = tnp.where(tnp.logical_or(x_scaled < a, x_scaled > b), -jnp.inf, val)
    return tnp.where(a >= b, jnp.nan, val)


def pdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(0.0, -1.0, 1.0)), 4)
        0.5844
    """
    return tnp.exp(logpdf(x, a, b, loc, scale))


def logcdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log P(X <= x)``; near 1 it switches to ``log1p(-sf)`` to keep precision, as jax.

    Example:
        >>> round(float(logcdf(0.0, -1.0, 1.0)), 4)
        -0.6931
    """
    x, a, b, loc, scale = promote("truncnorm.logcdf", x, a, b, loc, scale)
    x, a, b = _broadcast(x, a, b)
    x = (x - loc) / scale
    lgm_ab = _log_gauss_mass(a, b)
    log_cdf = _log_gauss_mass(a, x) - lgm_ab
    log_sf = _log_gauss_mass(x, b) - lgm_ab
    log_cdf = tnp.select([x >= b, x <= a, log_cdf > -0.1, x > a],
                         [0, -jnp.inf, tnp.log1p(-tnp.exp(log_sf)), log_cdf])
    return tnp.where(a >= b, jnp.nan, log_cdf)


def cdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logcdf)``.

    Example:
        >>> round(float(cdf(0.5, -1.0, 1.0)), 4)
        0.7805
    """
    return tnp.exp(logcdf(x, a, b, loc, scale))


def logsf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``log P(X > x)``: the mirrored ``logcdf(-x, -b, -a, -loc, scale)``.

    Example:
        >>> round(float(logsf(0.0, -1.0, 1.0)), 4)
        -0.6931
    """
    x, a, b, loc, scale = promote("truncnorm.logsf", x, a, b, loc, scale)
    return logcdf(-x, -b, -a, -loc, scale)


def sf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``exp(logsf)``.

    Example:
        >>> round(float(sf(0.5, -1.0, 1.0)), 4)
        0.2195
    """
    return tnp.exp(logsf(x, a, b, loc, scale))
