"""``tapegrad.scipy.stats.geom``: the geometric distribution on ``{1, 2, ...}``, as ``jax.scipy.stats.geom``.

Example:
    >>> from tapegrad.scipy.stats import geom
    >>> float(geom.pmf(1, 0.25))
    0.25
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpmf", "pmf"]


def logpmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``(x - 1) log(1 - p) + log p`` with ``x = k - loc``; ``-inf`` for ``x <= 0``.

    Example:
        >>> round(float(logpmf(2, 0.5)), 4)
        -1.3863
    """
    k, p, loc = promote("geom.logpmf", k, p, loc)
    x = k - loc
    log_probs = special.xlog1py(x - 1, -p) + tnp.log(p)
    return tnp.where(x <= 0, -jnp.inf, log_probs)


def pmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """``exp(logpmf)``.

    Example:
        >>> float(pmf(2, 0.5))
        0.25
    """
    return tnp.exp(logpmf(k, p, loc))
