"""``tapegrad.scipy.special``: jax.scipy.special's names and signatures, differentiable by tapegrad.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad.scipy import special
    >>> round(float(tg.grad(special.gammaln)(3.0)), 4)  # digamma(3)
    0.9228
"""
from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer
from tapegrad.rules import special as _r
from tapegrad.rules.reductions import logsumexp as _logsumexp

__all__ = ["betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit", "gamma", "gammaln", "i0e", "i1e",
           "log_ndtr", "log_softmax", "logit", "logsumexp", "ndtr", "ndtri", "polygamma", "softmax", "xlog1py",
           "xlogy"]

Array = Any


def _float(x: Any, who: str) -> Any:
    """``x`` as a floating array (integers promote as jax.scipy does); complex input is refused by name."""
    if type(x) is not Tracer:
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"tapegrad.scipy.special.{who}: complex input ({x.dtype}) is not supported, as in "
                        "jax.scipy.special; pass a real array")
    return x


def _pair(x: Any, y: Any, who: str) -> tuple[Any, Any]:
    x, y = _float(x, who), _float(y, who)
    dt = jnp.result_type(x.dtype, y.dtype)
    return (x if x.dtype == dt else tnp.astype(x, dt)), (y if y.dtype == dt else tnp.astype(y, dt))


def erf(x: Array) -> Array:
    """The error function ``2/sqrt(pi) int_0^x exp(-t^2) dt``.

    Example:
        >>> round(float(erf(0.5)), 4)
        0.5205
    """
    return _r.erf(_float(x, "erf"))


def erfc(x: Array) -> Array:
    """``1 - erf(x)``, accurate where erf is close to 1.

    Example:
        >>> round(float(erfc(0.5)), 4)
        0.4795
    """
    return _r.erfc(_float(x, "erfc"))


def erfinv(x: Array) -> Array:
    """The inverse of :func:`erf` on (-1, 1).

    Example:
        >>> round(float(erfinv(0.5)), 4)
        0.4769
    """
    return _r.erfinv(_float(x, "erfinv"))


def gammaln(x: Array) -> Array:
    """``log|Gamma(x)|``.

    Example:
        >>> round(float(gammaln(4.0)), 4)  # log 6
        1.7918
    """
    return _r.gammaln(_float(x, "gammaln"))


def gamma(x: Array) -> Array:
    """The gamma function.

    Example:
        >>> float(gamma(4.0))
        6.0
    """
    return _r.gamma(_float(x, "gamma"))


def digamma(x: Array) -> Array:
    """``d/dx log Gamma(x)``.

    Example:
        >>> round(float(digamma(1.0)), 4)  # -Euler's gamma
        -0.5772
    """
    return _r.digamma(_float(x, "digamma"))


def polygamma(n: Any, x: Array) -> Array:
    """The ``n``-th derivative of :func:`digamma` (``n`` a non-negative integer, not differentiated).

    Example:
        >>> round(float(polygamma(1, 1.0)), 4)  # pi^2 / 6
        1.6449
    """
    try:
        k = int(n)
    except TypeError:
        raise TypeError(f"tapegrad.scipy.special.polygamma: the order n must be a concrete non-negative "
                        f"integer, got {n!r}") from None
    if k != n or k < 0:
        raise ValueError(f"tapegrad.scipy.special.polygamma: n must be a non-negative integer, got {n!r}")
    return _r.polygamma_p(_float(x, "polygamma"), n=k)


def betaln(a: Array, b: Array) -> Array:
    """``log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)``.

    Example:
        >>> round(float(betaln(2.0, 3.0)), 4)  # log(1/12)
        -2.4849
    """
    a, b = _pair(a, b, "betaln")
    return _r.gammaln(a) + _r.gammaln(b) - _r.gammaln(a + b)


def xlogy(x: Array, y: Array) -> Array:
    """``x * log(y)``, 0 where ``x == 0`` (also its derivatives there, as JAX's).

    Example:
        >>> float(xlogy(0.0, 0.0))
        0.0
    """
    return _r.xlogy(*_pair(x, y, "xlogy"))


def xlog1py(x: Array, y: Array) -> Array:
    """``x * log1p(y)``, 0 where ``x == 0``.

    Example:
        >>> float(xlog1py(0.0, -1.0))
        0.0
    """
    return _r.xlog1py(*_pair(x, y, "xlog1py"))


def entr(x: Array) -> Array:
    """Elementwise entropy ``-x log x`` (0 at 0, ``-inf`` for negative x).

    Example:
        >>> round(float(entr(0.5)), 4)
        0.3466
    """
    return _r.entr(_float(x, "entr"))


def expit(x: Array) -> Array:
    """The logistic sigmoid ``1 / (1 + exp(-x))``; its derivative is finite in both tails.

    Example:
        >>> float(expit(0.0))
        0.5
    """
    return _r.expit(_float(x, "expit"))


def logit(x: Array) -> Array:
    """``log(x / (1 - x))``, the inverse of :func:`expit`.

    Example:
        >>> float(logit(0.5))
        0.0
    """
    x = _float(x, "logit")
    return tnp.log(x) - tnp.log1p(-x)


def ndtr(x: Array) -> Array:
    """The standard normal CDF ``(1 + erf(x / sqrt 2)) / 2``, computed as ``erfc(-x / sqrt 2) / 2``.

    Example:
        >>> float(ndtr(0.0))
        0.5
    """
    x = _float(x, "ndtr")
    return _r.erfc(x * (-1 / math.sqrt(2))) * 0.5


def log_ndtr(x: Array, series_order: int = 3) -> Array:
    """``log(ndtr(x))``, accurate in both tails (jax.scipy's asymptotic series on the left).

    Example:
        >>> round(float(log_ndtr(-10.0)), 2)
        -53.23
    """
    if series_order != 3:
        raise NotImplementedError("tapegrad.scipy.special.log_ndtr: only series_order=3 (jax's default) is "
                                  f"supported, got {series_order}")
    return _r.log_ndtr(_float(x, "log_ndtr"))


def ndtri(p: Array) -> Array:
    """The inverse of :func:`ndtr` (the standard normal quantile).

    Example:
        >>> float(ndtri(0.5))
        0.0
    """
    return _r.ndtri(_float(p, "ndtri"))


def i0e(x: Array) -> Array:
    """Exponentially scaled modified Bessel function of order 0, ``exp(-|x|) I0(x)``.

    Example:
        >>> float(i0e(0.0))
        1.0
    """
    return _r.i0e(_float(x, "i0e"))


def i1e(x: Array) -> Array:
    """Exponentially scaled modified Bessel function of order 1, ``exp(-|x|) I1(x)``.

    Example:
        >>> float(i1e(0.0))
        0.0
    """
    return _r.i1e(_float(x, "i1e"))


def logsumexp(a: Array, axis: Any = None, b: Array | None = None, keepdims: bool = False,
              return_sign: bool = False, where: Array | None = None) -> Any:
    """``log(sum(b * exp(a)))`` over ``axis``, stably (tnp.logsumexp).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> round(float(logsumexp(tnp.zeros(4))), 4)  # log 4
        1.3863
    """
    return _logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign, where=where)


def log_softmax(x: Array, axis: Any = -1) -> Array:
    """``x - logsumexp(x, axis, keepdims=True)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> round(float(log_softmax(tnp.zeros(2))[0]), 4)
        -0.6931
    """
    x = _float(x, "log_softmax")
    return x - _logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Array, axis: Any = -1) -> Array:
    """``exp(log_softmax(x, axis))``: sums to one along ``axis``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> softmax(tnp.zeros(2)).tolist()
        [0.5, 0.5]
    """
    return tnp.exp(log_softmax(x, axis))
