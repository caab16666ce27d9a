"""``tapegrad.scipy.stats.gaussian_kde``: a Gaussian kernel density estimator, as
``jax.scipy.stats.gaussian_kde``, differentiable in the points, the dataset and the weights.

The bandwidth, covariance and Cholesky factors are tnp compositions (cholesky, triangular solves, inv),
so a gradient taken through the constructor reaches the data as well.

Example:
    >>> import jax.numpy as jnp
    >>> from tapegrad.scipy.stats import gaussian_kde
    >>> kde = gaussian_kde(jnp.array([-1.0, 0.0, 1.0]))
    >>> round(float(kde.integrate_box_1d(-jnp.inf, jnp.inf)), 6)
    1.0
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer
from tapegrad.scipy import linalg, special
from tapegrad.scipy.stats._util import Array, as_array, inexact_dtype, promote

__all__ = ["gaussian_kde"]


def _cov(dataset: Array, weights: Array) -> Array:
    """``jnp.cov(dataset, rowvar=1, bias=False, aweights=weights)`` with weights that sum to one."""
    avg = tnp.sum(dataset * weights, axis=1, keepdims=True) / tnp.sum(weights)
    w_sum = tnp.sum(weights)
    fact = w_sum - tnp.sum(weights * weights) / w_sum  # ddof = 1 with analytic weights
    x = dataset - avg
    return tnp.matmul(x * weights, tnp.transpose(x)) / fact


def _kernel_eval(in_log: bool, points: Array, values: Array, xi: Array, precision: Array) -> Array:
    # jax's _gaussian_kernel_eval: whiten with chol(precision), then sum (or logsumexp) the kernels.
    d = points.shape[1]
    if xi.shape[1] != d:
        raise ValueError(f"tapegrad.scipy.stats.gaussian_kde: points have dimension {xi.shape[1]}, the dataset {d}")
    whitening = linalg.cholesky(precision, lower=True)
    points = tnp.matmul(points, whitening)
    xi = tnp.matmul(xi, whitening)
    log_norm = tnp.sum(tnp.log(tnp.diagonal(whitening))) - 0.5 * d * math.log(2 * math.pi)
    # arg[i, j]: test point i against training point j.
    arg = log_norm - 0.5 * tnp.sum(tnp.square(points[None, :, :] - xi[:, None, :]), axis=-1)
    if in_log:
        return special.logsumexp(tnp.log(tnp.transpose(values)) + arg, axis=1)
    return tnp.sum(tnp.transpose(values) * tnp.exp(arg), axis=1)


def _convolve(chol: Any, norm: Array, target: Array, weights: Array, mean: Array) -> Array:
    # norm * sum_j w_j exp(-(t_j - m)^T S^-1 (t_j - m) / 2), for each column of `mean` (d, k) at once
    # (jax vmaps over the columns; here they are one right-hand side).
    diff = target[:, :, None] - mean[:, None, :]                    # (d, n, k)
    d, n, k = diff.shape
    alpha = tnp.reshape(linalg.cho_solve(chol, tnp.reshape(diff, (d, n * k))), (d, n, k))
    arg = 0.5 * tnp.sum(diff * alpha, axis=0)                       # (n, k)
    return norm * tnp.sum(tnp.exp(-arg) * weights[:, None], axis=0)  # (k,)


class gaussian_kde:  # noqa: N801  (jax's name)
    """Gaussian kernel density estimator (``scipy.stats.gaussian_kde``'s interface, as jax's).

    Args:
        dataset: the data, ``(n,)`` or ``(d, n)``.
        bw_method: ``"scott"`` (default), ``"silverman"``, a scalar factor, or a callable of the kde.
        weights: optional weights, ``(n,)``; normalised to sum to one.

    Attributes: ``dataset (d, n)``, ``weights (n,)``, ``neff``, ``covariance``, ``inv_cov``, ``d``, ``n``.

    Example:
        >>> kde = gaussian_kde(jnp.array([0.0, 1.0, 3.0]), bw_method=0.5)
        >>> round(float(kde.evaluate(jnp.array([1.0]))[0]), 4)
        0.2536
    """

    __slots__ = ("neff", "dataset", "weights", "covariance", "inv_cov")

    def __init__(self, dataset: Any, bw_method: None | str | Any | Callable[[Any], Any] = None,
                 weights: Any = None) -> None:
        dataset = as_array(dataset)
        if jnp.issubdtype(tnp.result_type(dataset), jnp.complexfloating):
            raise NotImplementedError("tapegrad.scipy.stats.gaussian_kde does not support complex data")
        dataset = tnp.atleast_2d(dataset)
        if not tnp.size(dataset) > 1:
            raise ValueError("tapegrad.scipy.stats.gaussian_kde: `dataset` input should have multiple elements, "
                             f"got shape {tuple(tnp.shape(dataset))}")
        d, n = dataset.shape
        if weights is not None:
            dataset, weights = promote("gaussian_kde", dataset, as_array(weights))
            weights = tnp.atleast_1d(weights)
            weights = weights / tnp.sum(weights)
            if weights.ndim != 1:
                raise ValueError("tapegrad.scipy.stats.gaussian_kde: `weights` input should be one-dimensional, "
                                 f"got shape {tuple(weights.shape)}")
            if weights.shape[0] != n:
                raise ValueError(f"tapegrad.scipy.stats.gaussian_kde: `weights` input should be of length n={n}, "
                                 f"got {weights.shape[0]}")
        else:
            dataset, = promote("gaussian_kde", dataset)
            weights = jnp.full(n, 1.0 / n, dtype=dataset.dtype)
        self._setattr("dataset", dataset)
        self._setattr("weights", weights)
        neff = self._setattr("neff", 1 / tnp.sum(weights ** 2))

        bw_method = "scott" if bw_method is None else bw_method
        if isinstance(bw_method, str) and bw_method == "scott":
            factor = tnp.power(neff, -1.0 / (d + 4))
        elif isinstance(bw_method, str) and bw_method == "silverman":
            factor = tnp.power(neff * (d + 2) / 4.0, -1.0 / (d + 4))
        elif not isinstance(bw_method, str) and (np.isscalar(bw_method) or (
                type(bw_method) is Tracer or hasattr(bw_method, "shape")) and tnp.ndim(bw_method) == 0):
            factor = bw_method
        elif callable(bw_method):
            factor = bw_method(self)
        else:
            raise ValueError("tapegrad.scipy.stats.gaussian_kde: `bw_method` should be 'scott', 'silverman', a "
                             f"scalar, or a callable; got {bw_method!r}")

        data_covariance = tnp.atleast_2d(_cov(dataset, weights))
        data_inv_cov = tnp.linalg.inv(data_covariance)
        self._setattr("covariance", data_covariance * factor ** 2)
        self._setattr("inv_cov", data_inv_cov / factor ** 2)

    def _setattr(self, name: str, value: Any) -> Any:
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"tapegrad.scipy.stats.gaussian_kde is immutable (as jax's); cannot set {name!r}")

    def tree_flatten(self) -> tuple[tuple[Any, ...], None]:
        return (self.neff, self.dataset, self.weights, self.covariance, self.inv_cov), None

    @classmethod
    def tree_unflatten(cls, aux_data: Any, children: Any) -> gaussian_kde:
        del aux_data
        kde = cls.__new__(cls)
        for name, value in zip(cls.__slots__, children):
            kde._setattr(name, value)
        return kde

    @property
    def d(self) -> int:
        """The number of dimensions."""
        return self.dataset.shape[0]

    @property
    def n(self) -> int:
        """The number of data points."""
        return self.dataset.shape[1]

    def _reshape_points(self, points: Any) -> Array:
        points = as_array(points)
        if jnp.issubdtype(tnp.result_type(points), jnp.complexfloating):
            raise NotImplementedError("tapegrad.scipy.stats.gaussian_kde does not support complex coordinates")
        points = tnp.atleast_2d(points)
        d, m = points.shape
        if d != self.d:
            if d == 1 and m == self.d:
                points = tnp.reshape(points, (self.d, 1))
            else:
                raise ValueError(f"tapegrad.scipy.stats.gaussian_kde: points have dimension {d}, dataset has "
                                 f"dimension {self.d}")
        return points

    def _eval(self, in_log: bool, points: Any) -> Array:
        points = self._reshape_points(points)
        dt = inexact_dtype("gaussian_kde", self.dataset, self.weights, points, self.inv_cov)
        ds, w, pts, prec = (v if tnp.result_type(v) == dt else tnp.astype(v, dt)
                            for v in (self.dataset, self.weights, points, self.inv_cov))
        return _kernel_eval(in_log, tnp.transpose(ds), w[:, None], tnp.transpose(pts), prec)

    def evaluate(self, points: Any) -> Array:
        """The estimated density at ``points`` (``(d, m)``, or ``(m,)`` when ``d == 1``).

        Example:
            >>> kde = gaussian_kde(jnp.array([0.0, 1.0, 3.0]), bw_method=0.5)
            >>> kde.evaluate(jnp.array([0.0, 1.0])).shape
            (2,)
        """
        return self._eval(False, points)

    def __call__(self, points: Any) -> Array:
        return self.evaluate(points)

    def pdf(self, x: Any) -> Array:
        """The density, :meth:`evaluate`.

        Example:
            >>> kde = gaussian_kde(jnp.array([0.0, 1.0, 3.0]), bw_method=0.5)
            >>> round(float(kde.pdf(jnp.array([1.0]))[0]), 4)
            0.2536
        """
        return self.evaluate(x)

    def logpdf(self, x: Any) -> Array:
        """The log density, through logsumexp (finite far from the data).

        Example:
            >>> kde = gaussian_kde(jnp.array([0.0, 1.0, 3.0]), bw_method=0.5)
            >>> round(float(kde.logpdf(jnp.array([1.0]))[0]), 4)
            -1.3718
        """
        return self._eval(True, x)

    def integrate_gaussian(self, mean: Any, cov: Any) -> Array:
        """The integral of the estimate times the normal density ``N(mean, cov)``.

        Example:
            >>> kde = gaussian_kde(jnp.array([0.0, 1.0, 3.0]), bw_method=0.5)
            >>> round(float(kde.integrate_gaussian(jnp.array([1.0]), jnp.array([[1.0]]))), 4)
            0.2126
        """
        mean = tnp.atleast_1d(tnp.squeeze(as_array(mean)))
        cov = tnp.atleast_2d(as_array(cov))
        if tuple(mean.shape) != (self.d,):
            raise ValueError(f"tapegrad.scipy.stats.gaussian_kde.integrate_gaussian: mean does not have dimension "
                             f"{self.d}, got shape {tuple(mean.shape)}")
        if tuple(cov.shape) != (self.d, self.d):
            raise ValueError(f"tapegrad.scipy.stats.gaussian_kde.integrate_gaussian: covariance does not have "
                             f"dimension {self.d}, got shape {tuple(cov.shape)}")
        chol = linalg.cho_factor(self.covariance + cov)
        norm = 1.0 / (math.sqrt(2 * math.pi) ** self.d * tnp.prod(tnp.diagonal(chol[0])))
        return _convolve(chol, norm, self.dataset, self.weights, mean[:, None])[0]

    def integrate_box_1d(self, low: Any, high: Any) -> Array:
        """The probability mass between ``low`` and ``high`` (one-dimensional data only).

        Example:
            >>> kde = gaussian_kde(jnp.array([0.0, 1.0, 3.0]), bw_method=0.5)
            >>> round(float(kde.integrate_box_1d(0.0, 1.0)), 4)
            0.2713
        """
        if self.d != 1:
            raise ValueError("tapegrad.scipy.stats.gaussian_kde.integrate_box_1d() only handles 1D pdfs")
        if tnp.ndim(low) != 0 or tnp.ndim(high) != 0:
            raise ValueError("tapegrad.scipy.stats.gaussian_kde.integrate_box_1d: the limits of integration must "
                             "be scalars")
        sigma = tnp.squeeze(tnp.sqrt(self.covariance))
        low = tnp.squeeze((low - self.dataset) / sigma)
        high = tnp.squeeze((high - self.dataset) / sigma)
        return tnp.sum(self.weights * (special.ndtr(high) - special.ndtr(low)))

    def integrate_kde(self, other: gaussian_kde) -> Array:
        """The integral of the product of this estimate and ``other``.

        Example:
            >>> a = gaussian_kde(jnp.array([0.0, 1.0, 3.0]), bw_method=0.5)
            >>> round(float(a.integrate_kde(a)), 4)
            0.1931
        """
        if other.d != self.d:
            raise ValueError(f"tapegrad.scipy.stats.gaussian_kde.integrate_kde: KDEs are not the same "
                             f"dimensionality ({self.d} and {other.d})")
        chol = linalg.cho_factor(self.covariance + other.covariance)
        norm = 1.0 / (math.sqrt(2 * math.pi) ** self.d * tnp.prod(tnp.diagonal(chol[0])))
        sm, lg = (self, other) if self.n < other.n else (other, self)
        result = _convolve(chol, norm, lg.dataset, lg.weights, sm.dataset)
        return tnp.sum(result * sm.weights)

    def resample(self, key: Any, shape: tuple[int, ...] = ()) -> Array:
        """``d``-dimensional samples, ``(d,) + shape``: jax's draws (same ``key``, same numbers), the
        noise scaled by the covariance's Cholesky factor, so it is differentiable in the data.

        Example:
            >>> import jax
            >>> kde = gaussian_kde(jnp.array([0.0, 1.0, 3.0]))
            >>> kde.resample(jax.random.key(0), (5,)).shape
            (1, 5)
        """
        shape = tuple(shape)
        ind_key, eps_key = jax.random.split(key)
        weights = self.weights.primal() if type(self.weights) is Tracer else self.weights
        ind = jax.random.choice(ind_key, self.n, shape=shape, p=weights)
        # jax.random.multivariate_normal(eps_key, 0, covariance, shape) is  L z  with these z.
        z = jax.random.normal(eps_key, shape + (self.d,), tnp.result_type(self.dataset))
        factor = tnp.linalg.cholesky(self.covariance)
        eps = tnp.einsum("ij,...j->...i", factor, z)
        # jax transposes the draws (all axes reversed: (d,) + shape[::-1]); kept, so that results agree.
        return tnp.take(self.dataset, ind, axis=1) + tnp.transpose(eps)

    def integrate_box(self, low_bounds: Any, high_bounds: Any, maxpts: Any = None) -> Array:
        """Not implemented (as in jax): use :meth:`integrate_box_1d`."""
        del low_bounds, high_bounds, maxpts
        raise NotImplementedError("tapegrad.scipy.stats.gaussian_kde: only 1D box integrations are supported; "
                                  "use `integrate_box_1d`")

    def set_bandwidth(self, bw_method: Any = None) -> None:
        """Not implemented (as in jax): the bandwidth is fixed at construction."""
        del bw_method
        raise NotImplementedError("tapegrad.scipy.stats.gaussian_kde: dynamically changing the bandwidth method "
                                  "is not supported")


jax.tree_util.register_pytree_node(gaussian_kde, gaussian_kde.tree_flatten, gaussian_kde.tree_unflatten)
