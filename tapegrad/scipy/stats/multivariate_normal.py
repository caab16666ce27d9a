"""``tapegrad.scipy.stats.multivariate_normal``: the multivariate normal distribution over the last axis,
as ``jax.scipy.stats.multivariate_normal``; differentiable in ``x``, ``mean`` and ``cov``.

``cov`` may be a scalar (an isotropic covariance) or a batch of matrices; ``mean`` may be a scalar (then
``x`` is univariate). Matrices go through a Cholesky factor and a triangular solve, as in jax, whose
derivatives are tapegrad's own rules.

Example:
    >>> import jax.numpy as jnp
    >>> from tapegrad.scipy.stats import multivariate_normal
    >>> round(float(multivariate_normal.logpdf(jnp.zeros(2), jnp.zeros(2), jnp.eye(2))), 4)  # -log(2 pi)
    -1.8379
"""
from __future__ import annotations

import math

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.scipy import linalg
from tapegrad.scipy.stats._util import Array, ArrayLike, promote

__all__ = ["logpdf", "pdf"]


def _solve_lower(chol: Array, y: Array) -> Array:
    """``chol^-1 y`` over the last axis of ``y``, batch dims broadcast as jnp.vectorize would."""
    n = chol.shape[-1]
    batch = jnp.broadcast_shapes(tuple(chol.shape[:-2]), tuple(y.shape[:-1]))
    if chol.ndim == 2:
        # One factor for every point: a single solve with the points as columns.
        cols = tnp.transpose(tnp.reshape(tnp.broadcast_to(y, batch + (n,)), (-1, n)))
        return tnp.reshape(tnp.transpose(linalg.solve_triangular(chol, cols, lower=True)), batch + (n,))
    chol = tnp.broadcast_to(chol, batch + (n, n))
    y = tnp.broadcast_to(y, batch + (n,))
    return linalg.solve_triangular(chol, y[..., None], lower=True)[..., 0]


def logpdf(x: ArrayLike, mean: ArrayLike, cov: ArrayLike, allow_singular: None = None) -> Array:
    """``-(y.y)/2 - (n/2) log(2 pi) - sum(log diag L)`` with ``L = cholesky(cov)``, ``y = L^-1 (x - mean)``.

    Example:
        >>> round(float(logpdf(jnp.ones(2), jnp.zeros(2), 2.0)), 4)
        -3.031
    """
    if allow_singular is not None:
        raise NotImplementedError("tapegrad.scipy.stats.multivariate_normal.logpdf: allow_singular is not "
                                  "supported (as in jax)")
    x, mean, cov = promote("multivariate_normal.logpdf", x, mean, cov)
    if not tnp.shape(mean):
        return -1 / 2 * tnp.square(x - mean) / cov - 1 / 2 * (math.log(2 * math.pi) + tnp.log(cov))
    n = mean.shape[-1]
    if not tnp.shape(cov):
        y = x - mean
        return -1 / 2 * tnp.sum(y * y, axis=-1) / cov - n / 2 * (math.log(2 * math.pi) + tnp.log(cov))
    if cov.ndim < 2 or tuple(cov.shape[-2:]) != (n, n):
        raise ValueError(f"tapegrad.scipy.stats.multivariate_normal.logpdf: incompatible shapes, mean "
                         f"{tuple(mean.shape)} and cov {tuple(cov.shape)} (cov must be (..., {n}, {n}))")
    chol = tnp.linalg.cholesky(cov)
    y = _solve_lower(chol, x - mean)
    return (-1 / 2 * tnp.sum(y * y, axis=-1) - n / 2 * math.log(2 * math.pi)
            - tnp.sum(tnp.log(tnp.diagonal(chol, axis1=-1, axis2=-2)), axis=-1))


def pdf(x: ArrayLike, mean: ArrayLike, cov: ArrayLike) -> Array:
    """``exp(logpdf)``.

    Example:
        >>> round(float(pdf(jnp.zeros(2), jnp.zeros(2), jnp.eye(2))), 4)  # 1 / (2 pi)
        0.1592
    """
    return tnp.exp(logpdf(x, mean, cov))
