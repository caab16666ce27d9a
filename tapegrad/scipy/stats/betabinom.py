"""``tapegrad.scipy.stats.betabinom``: the beta-binomial distribution, as ``jax.scipy.stats.betabinom``.

Example:
    >>> from tapegrad.scipy.stats import betabinom
    >>> round(float(betabinom.pmf(1, 2, 1.0, 1.0)), 4)  # uniform on {0, 1, 2}
    0.3333
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpmf", "pmf"]


def logpmf(k: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``log C(n, y) + log B(y + a, n - y + b) - log B(a, b)``, ``y = floor(k) - loc``.

    ``-inf`` outside the support, NaN unless ``n >= 0`` and ``a, b > 0`` (as jax).

    Example:
        >>> round(float(logpmf(0, 2, 1.0, 1.0)), 4)
        -1.0986
    """
    k, n, a, b, loc = promote("betabinom.logpmf", k, n, a, b, loc)
    y = tnp.floor(k) - loc
    combiln = -(tnp.log1p(n) + special.betaln(n - y + 1, y + 1))
    beta_lns = special.betaln(y + a, n - y + b) - special.betaln(a, b)
    log_probs = combiln + beta_lns
    log_probs = tnp.where(tnp.logical_and(y == 0, n == 0), 0.0, log_probs)
    y_cond = tnp.logical_or(tnp.logical_or(y < -loc, y > n), y + a <= 0)
    log_probs = tnp.where(y_cond, -jnp.inf, log_probs)
    n_a_b_cond = tnp.logical_or(tnp.logical_or(n < 0, a <= 0), b <= 0)
    return tnp.where(n_a_b_cond, jnp.nan, log_probs)


def pmf(k: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``exp(logpmf)``.

    Example:
        >>> round(float(pmf(1, 1, 2.0, 2.0)), 4)
        0.5
    """
    return tnp.exp(logpmf(k, n, a, b, loc))
