"""``tapegrad.scipy.stats.bernoulli``: the Bernoulli distribution with success probability ``p``, as
``jax.scipy.stats.bernoulli``.

Example:
    >>> from tapegrad.scipy.stats import bernoulli
    >>> float(bernoulli.pmf(1, 0.25))
    0.25
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "logpmf", "pmf", "ppf"]


def logpmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``x log p + (1 - x) log(1 - p)`` with ``x = k - loc``; ``-inf`` outside ``{0, 1}``'s range.

    Example:
        >>> round(float(logpmf(0, 0.25)), 4)
        -0.2877
    """
    k, p, loc = promote("bernoulli.logpmf", k, p, loc)
    x = k - loc
    log_probs = special.xlogy(x, p) + special.xlog1py(1 - x, -p)
    return tnp.where(tnp.logical_or(x < 0, x > 1), -jnp.inf, log_probs)


def pmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``exp(logpmf)``.

    Example:
        >>> float(pmf(0, 0.25))
        0.75
    """
    return tnp.exp(logpmf(k, p, loc))


def cdf(k: ArrayLike, p: ArrayLike) -> Array:
    """0 below 0, ``1 - p`` on [0, 1), 1 from 1 on; NaN for NaN input or ``p`` outside [0, 1].

    Example:
        >>> float(cdf(0.5, 0.25))
        0.75
    """
    k, p = promote("bernoulli.cdf", k, p)
    bad = tnp.logical_or(tnp.logical_or(tnp.isnan(k), tnp.isnan(p)), tnp.logical_or(p < 0, p > 1))
    conds = [bad, k < 0, tnp.logical_and(k >= 0, k < 1), k >= 1]
    vals = [jnp.nan, tnp.zeros((), k.dtype), 1 - p, tnp.ones((), k.dtype)]
    return tnp.select(conds, vals)


def ppf(q: ArrayLike, p: ArrayLike) -> Array:
    """The quantile: 0 where ``q <= 1 - p``, else 1; NaN for NaN input or arguments outside [0, 1].

    Example:
        >>> float(ppf(0.9, 0.25))
        1.0
    """
    q, p = promote("bernoulli.ppf", q, p)
    bad = tnp.logical_or(tnp.logical_or(tnp.isnan(q), tnp.isnan(p)),
                         tnp.logical_or(tnp.logical_or(p < 0, p > 1), tnp.logical_or(q < 0, q > 1)))
    zero, one = tnp.zeros((), q.dtype), tnp.ones((), q.dtype)
    return tnp.where(bad, jnp.nan, tnp.where(q <= 1 - p, zero, one))
