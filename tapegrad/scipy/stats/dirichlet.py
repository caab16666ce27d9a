"""``tapegrad.scipy.stats.dirichlet``: the Dirichlet distribution, as ``jax.scipy.stats.dirichlet``.

``x`` holds the simplex coordinates along its *first* axis (``K`` of them, or ``K - 1`` with the last
implied), ``alpha`` is one-dimensional (``K``).

Example:
    >>> import jax.numpy as jnp
    >>> from tapegrad.scipy.stats import dirichlet
    >>> float(dirichlet.pdf(jnp.array([0.5, 0.5]), jnp.array([1.0, 1.0])))
    1.0
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import special
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpdf", "pdf"]


def _is_simplex(x: Array) -> Array:
    x_sum = tnp.sum(x, axis=0)
    return tnp.logical_and(tnp.all(x > 0, axis=0), tnp.abs(x_sum - 1) < 1e-6)


def logpdf(x: ArrayLike, alpha: ArrayLike) -> Array:
    """``sum((alpha - 1) log x) - (sum log Gamma(alpha) - log Gamma(sum alpha))`` on the simplex, else ``-inf``.

    Example:
        >>> round(float(logpdf(jnp.array([0.2, 0.3, 0.5]), jnp.array([2.0, 2.0, 2.0]))), 4)
        1.2809
    """
    x, alpha = promote("dirichlet.logpdf", x, alpha)
    if alpha.ndim != 1:
        raise ValueError(f"tapegrad.scipy.stats.dirichlet.logpdf: `alpha` must be one-dimensional; got "
                         f"alpha.shape={tuple(alpha.shape)}")
    if x.ndim < 1 or x.shape[0] not in (alpha.shape[0], alpha.shape[0] - 1):
        raise ValueError("tapegrad.scipy.stats.dirichlet.logpdf: `x` must have either the same number of "
                         "entries as `alpha` or one entry fewer (along its first axis); got "
                         f"x.shape={tuple(x.shape)}, alpha.shape={tuple(alpha.shape)}")
    if x.shape[0] != alpha.shape[0]:
        x = tnp.concatenate([x, 1 - tnp.sum(x, axis=0, keepdims=True)], axis=0)
    normalize_term = tnp.sum(special.gammaln(alpha)) - special.gammaln(tnp.sum(alpha))
    if x.ndim > 1:
        alpha = tnp.reshape(alpha, alpha.shape + (1,) * (x.ndim - 1))
    log_probs = tnp.sum(special.xlogy(alpha - 1, x), axis=0) - normalize_term
    return tnp.where(_is_simplex(x), log_probs, -jnp.inf)


def pdf(x: ArrayLike, alpha: ArrayLike) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(jnp.array([0.25]), jnp.array([2.0, 1.0]))), 4)
        0.5
    """
    return tnp.exp(logpdf(x, alpha))
