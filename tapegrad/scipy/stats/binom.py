"""``tapegrad.scipy.stats.binom``: the binomial distribution (``n`` trials, probability ``p``), as
``jax.scipy.stats.binom``.

Example:
    >>> from tapegrad.scipy.stats import binom
    >>> round(float(binom.pmf(1, 2, 0.5)), 4)
    0.5
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpmf", "pmf"]


def logpmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``log C(n, y) + y log p + (n - y) log(1 - p)``, ``y = k - loc``; ``-inf`` outside ``[0, n]``.

    Example:
        >>> round(float(logpmf(1, 2, 0.5)), 4)
        -0.6931
    """
    k, n, p, loc = promote("binom.logpmf", k, n, p, loc)
    y = k - loc
    comb_term = special.gammaln(n + 1) - (special.gammaln(y + 1) + special.gammaln(n - y + 1))
    log_linear_term = special.xlogy(y, p) + special.xlog1py(n - y, -p)
    log_probs = comb_term + log_linear_term
    # p == 0 or 1 (and n == 0) make the point mass exact, as jax.
    y_n_cond = tnp.logical_or(tnp.logical_and(y == 0, n == 0), log_linear_term == 0)
    log_probs = tnp.where(y_n_cond, 0.0, log_probs)
    return tnp.where(tnp.logical_and(k >= loc, k < loc + n + 1), log_probs, -jnp.inf)


def pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``exp(logpmf)``.

    Example:
        >>> float(pmf(2, 2, 0.5))
        0.25
    """
    return tnp.exp(logpmf(k, n, p, loc))
