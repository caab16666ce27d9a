"""``tapegrad.scipy.stats.poisson``: the Poisson distribution with mean ``mu``, as ``jax.scipy.stats.poisson``.

Differentiable in ``mu`` (and in ``k``/``loc`` through ``gammaln``, as jax's).

Example:
    >>> from tapegrad.scipy.stats import poisson
    >>> round(float(poisson.pmf(2, 2.0)), 4)
    0.2707
"""
from __future__ import annotations

import math

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["cdf", "entropy", "logpmf", "pmf"]


def logpmf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``x log(mu) - log(x!) - mu`` with ``x = k - loc``; ``-inf`` for ``x < 0`` or non-integer ``k``.

    Example:
        >>> float(logpmf(0, 1.0))
        -1.0
    """
    k, mu, loc = promote("poisson.logpmf", k, mu, loc)
    x = k - loc
    log_probs = special.xlogy(x, mu) - special.gammaln(x + 1) - mu
    return tnp.where(tnp.logical_or(x < 0, tnp.round(k) != k), -jnp.inf, log_probs)


def pmf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``exp(logpmf)``.

    Example:
        >>> round(float(pmf(1, 1.0)), 4)
        0.3679
    """
    return tnp.exp(logpmf(k, mu, loc))


def _entropy_sum(mu: Array, max_k: int, upper: Array) -> Array:
    # sum_k entr(pmf(k, mu)) over the first max_k integers, masked beyond jax's bound `upper`.
    k = jnp.arange(max_k, dtype=mu.dtype)[:, None]
    probs = pmf(k, mu, 0)
    probs_masked = tnp.where(k < upper[None, :], probs, 0.0)
    return tnp.sum(special.entr(probs_masked), axis=0)


def entropy(mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The entropy ``-sum_k p_k log p_k``: summed exactly for ``mu < 100``, asymptotically above (as jax).

    Example:
        >>> round(float(entropy(1.0)), 4)
        1.3048
    """
    mu, loc = promote("poisson.entropy", mu, loc)
    result_shape = jnp.broadcast_shapes(tuple(tnp.shape(mu)), tuple(tnp.shape(loc)))
    mu_flat = tnp.ravel(mu)
    # The masks' bounds go through ceil: no derivative, as in jax.
    small = _entropy_sum(mu_flat, 35, tnp.ceil(mu_flat + 20))
    medium = _entropy_sum(mu_flat, 250, tnp.ceil(mu_flat + 10 * tnp.sqrt(mu_flat) + 20))
    large = 0.5 * tnp.log(2 * math.pi * math.e * mu_flat) - 1.0 / (12 * mu_flat)
    result = tnp.where(mu_flat == 0, tnp.zeros_like(mu_flat),
                       tnp.where(mu_flat < 10, small, tnp.where(mu_flat < 100, medium, large)))
    return tnp.broadcast_to(tnp.reshape(result, tnp.shape(mu)), result_shape)


def cdf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``P(K <= k) = gammaincc(floor(k - loc + 1), mu)``; 0 below ``loc``. Differentiable in ``mu``.

    Example:
        >>> round(float(cdf(1, 1.0)), 4)  # 2 / e
        0.7358
    """
    k, mu, loc = promote("poisson.cdf", k, mu, loc)
    x = k - loc
    p = special.gammaincc(tnp.floor(1 + x), mu)
    return tnp.where(x < 0, tnp.zeros((), x.dtype), p)
