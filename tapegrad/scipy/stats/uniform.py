"""``tapegrad.scipy.stats.uniform``: the uniform distribution on ``[loc, loc + scale]``, as
``jax.scipy.stats.uniform``.

Example:
    >>> from tapegrad.scipy.stats import uniform
    >>> float(uniform.pdf(0.5, 0.0, 2.0))
    0.5
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logpdf", "pdf", "ppf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``-log(scale)`` on the support, ``-inf`` outside.

    Example:
        >>> float(logpdf(2.0))
        -inf
    """
    x, loc, scale = promote("uniform.logpdf", x, loc, scale)
    log_probs = -tnp.log(scale)
    return tnp.where(tnp.logical_or(x > loc + scale, x < loc), -jnp.inf, log_probs)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``1 / scale`` on the support, 0 outside.

    Example:
        >>> float(pdf(0.5))
        1.0
    """
    return tnp.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """0 below ``loc``, ``(x - loc) / scale`` on the support, 1 above.

    Example:
        >>> float(cdf(0.25))
        0.25
    """
    x, loc, scale = promote("uniform.cdf", x, loc, scale)
    hi = loc + scale
    conds = [x < loc, x > hi, tnp.logical_and(x >= loc, x <= hi)]
    vals = [tnp.zeros((), x.dtype), tnp.ones((), x.dtype), (x - loc) / scale]
    return tnp.select(conds, vals)


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """``loc + scale q`` for ``q`` in [0, 1], NaN outside.

    Example:
        >>> float(ppf(0.5, 1.0, 2.0))
        2.0
    """
    q, loc, scale = promote("uniform.ppf", q, loc, scale)
    bad = tnp.logical_or(tnp.logical_or(tnp.isnan(q), q < 0), q > 1)
    return tnp.where(bad, jnp.nan, loc + scale * q)
