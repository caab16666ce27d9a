"""``tapegrad.scipy.stats.multinomial``: the multinomial distribution over the last axis, as
``jax.scipy.stats.multinomial``. Counts ``x`` and ``n`` are integers; ``p`` is differentiable.

Example:
    >>> from tapegrad.scipy.stats import multinomial
    >>> import jax.numpy as jnp
    >>> round(float(multinomial.pmf(jnp.array([1, 1]), 2, jnp.array([0.5, 0.5]))), 4)
    0.5
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpmf", "pmf"]


def logpmf(x: ArrayLike, n: ArrayLike, p: ArrayLike) -> Array:
    """``log n! + sum(x log p - log x!)``; ``-inf`` where the counts do not add up to ``n``.

    As in jax, the check sums *all* of ``x`` (not per row).

    Example:
        >>> round(float(logpmf(jnp.array([2, 0]), 2, jnp.array([0.5, 0.5]))), 4)
        -1.3863
    """
    p, = promote("multinomial.logpmf", p)
    x, n = (v.primal() if type(v) is Tracer else jnp.asarray(v) for v in (x, n))
    if not (jnp.issubdtype(x.dtype, jnp.integer) and jnp.issubdtype(n.dtype, jnp.integer)):
        raise ValueError(f"tapegrad.scipy.stats.multinomial.logpmf: x and n must be of integer type; got "
                         f"x.dtype={x.dtype}, n.dtype={n.dtype}")
    x = x.astype(p.dtype)
    n = n.astype(p.dtype)
    logprobs = special.gammaln(n + 1) + tnp.sum(special.xlogy(x, p) - special.gammaln(x + 1), axis=-1)
    return tnp.where(jnp.sum(x) == n, logprobs, -jnp.inf)


def pmf(x: ArrayLike, n: ArrayLike, p: ArrayLike) -> Array:
    """``exp(logpmf)``.

    Example:
        >>> float(pmf(jnp.array([0, 1]), 1, jnp.array([0.25, 0.75])))
        0.75
    """
    return tnp.exp(logpmf(x, n, p))
