"""``tapegrad.scipy.stats.nbinom``: the negative binomial distribution (failures before the ``n``-th
success, success probability ``p``), as ``jax.scipy.stats.nbinom``.

Example:
    >>> from tapegrad.scipy.stats import nbinom
    >>> float(nbinom.pmf(0, 1, 0.5))
    0.5
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpmf", "pmf"]


def logpmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``log Gamma(y + n) - log Gamma(n) - log y! + n log p + y log(1 - p)``, ``y = k - loc``.

    Example:
        >>> round(float(logpmf(1, 1, 0.5)), 4)
        -1.3863
    """
    k, n, p, loc = promote("nbinom.logpmf", k, n, p, loc)
    y = k - loc
    comb_term = special.gammaln(y + n) - special.gammaln(n) - special.gammaln(y + 1)
    log_linear_term = special.xlogy(n, p) + special.xlogy(y, 1 - p)
    return tnp.where(k < loc, -jnp.inf, comb_term + log_linear_term)


def pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``exp(logpmf)``.

    Example:
        >>> float(pmf(1, 1, 0.5))
        0.25
    """
    return tnp.exp(logpmf(k, n, p, loc))
