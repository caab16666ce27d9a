"""``tapegrad.scipy.special``: jax.scipy.special's names and signatures, differentiable by tapegrad.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad.scipy import special
    >>> round(float(tg.grad(special.gammaln)(3.0)), 4)  # digamma(3)
    0.9228
"""
from __future__ import annotations

import math
import operator
from typing import Any

import jax.numpy as jnp
import jax.scipy.special as jsp

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer
from tapegrad.rules import special as _r
from tapegrad.rules.reductions import logsumexp as _logsumexp

__all__ = ["bernoulli", "bessel_jn", "beta", "betainc", "betaln", "boxcox", "boxcox1p", "comb", "dawsn", "digamma",
           "entr", "erf", "erfc", "erfcx", "erfinv", "exp1", "expi", "expit", "expn", "factorial", "fresnel",
           "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn", "hyp1f1", "hyp2f1", "i0", "i0e", "i1", "i1e",
           "kl_div", "log_ndtr", "log_softmax", "loggamma", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
           "owens_t", "poch", "polygamma", "rel_entr", "sici", "softmax", "spence", "sph_harm_y", "wofz", "xlog1py",
           "xlogy", "zeta"]

Array = Any


def _float(x: Any, who: str, complex_ok: bool = False) -> Any:
    """``x`` as a floating array (integers promote as jax.scipy does); complex input is refused by name."""
    if type(x) is not Tracer:
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            x = float(x)  # a weakly typed scalar, as jax.scipy keeps Python numbers: 2.0 * float32 stays float32
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
    if not complex_ok and jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"tapegrad.scipy.special.{who}: complex input ({x.dtype}) is not supported, as in "
                        "jax.scipy.special; pass a real array")
    return x


def _promote(who: str, *xs: Any) -> tuple[Any, ...]:
    """``xs`` as floating arrays of one dtype, as jax.scipy promotes them (Python scalars are weak)."""
    xs = tuple(_float(x, who) for x in xs)
    dt = jnp.result_type(*(x.dtype if type(x) is Tracer else x for x in xs))
    return tuple(x if x.dtype == dt else tnp.astype(x, dt) for x in xs)


def _pair(x: Any, y: Any, who: str) -> tuple[Any, Any]:
    return _promote(who, x, y)  # type: ignore[return-value]


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
        >>> round(float(gamma(4.0)), 6)
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
    """``log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)``, accurate for large arguments.

    Example:
        >>> round(float(betaln(2.0, 3.0)), 4)  # log(1/12)
        -2.4849
    """
    return _r.betaln(*_pair(a, b, "betaln"))


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


def log_softmax(x: Array, /, *, axis: Any = None) -> Array:
    """``x - logsumexp(x, axis, keepdims=True)``; ``axis=None`` (jax.scipy's default) normalizes over all axes.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> round(float(log_softmax(tnp.zeros(2))[0]), 4)
        -0.6931
    """
    x = _float(x, "log_softmax")
    return x - _logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Array, /, *, axis: Any = None) -> Array:
    """``exp(log_softmax(x, axis))``: sums to one along ``axis``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> softmax(tnp.zeros(2)).tolist()
        [0.5, 0.5]
    """
    return tnp.exp(log_softmax(x, axis=axis))


# ---- Incomplete gamma and beta functions, beta, Bessel I0/I1, zeta, divergences. ----

def gammainc(a: Array, x: Array) -> Array:
    """The regularized lower incomplete gamma function ``P(a, x) = gamma(a, x) / Gamma(a)``.

    Differentiable in ``x`` to any order and in ``a`` once (JAX's ``igamma_grad_a``, which JAX does not
    differentiate again: a second derivative involving ``a`` raises, as in JAX).

    Example:
        >>> round(float(gammainc(1.0, 2.0)), 4)  # 1 - exp(-2)
        0.8647
    """
    return _r.gammainc(*_promote("gammainc", a, x))


def gammaincc(a: Array, x: Array) -> Array:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``; derivatives as
    :func:`gammainc`'s.

    Example:
        >>> round(float(gammaincc(1.0, 2.0)), 4)  # exp(-2)
        0.1353
    """
    return _r.gammaincc(*_promote("gammaincc", a, x))


def betainc(a: Array, b: Array, x: Array) -> Array:
    """The regularized incomplete beta function ``I_x(a, b)``.

    Differentiable in ``x`` only, as in JAX: a gradient with respect to ``a`` or ``b`` raises ``ValueError``.

    Example:
        >>> round(float(betainc(2.0, 3.0, 0.5)), 4)
        0.6875
    """
    return _r.betainc(*_promote("betainc", a, b, x))


def beta(a: Array, b: Array) -> Array:
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``, as ``sign * exp(betaln(a, b))``.

    Example:
        >>> round(float(beta(2.0, 3.0)), 4)  # 1/12
        0.0833
    """
    a, b = _pair(a, b, "beta")
    sign = _r.gammasgn(a) * _r.gammasgn(b) * _r.gammasgn(a + b)
    return sign * tnp.exp(_r.betaln(a, b))


def gammasgn(x: Array) -> Array:
    """The sign of the gamma function (NaN at its poles); piecewise constant, so no gradient.

    Example:
        >>> float(gammasgn(-0.5))
        -1.0
    """
    return _r.gammasgn(_float(x, "gammasgn"))


def i0(x: Array) -> Array:
    """The modified Bessel function of order 0, ``I0(x)``; ``I0' = I1``.

    Example:
        >>> float(i0(0.0))
        1.0
    """
    return _r.i0(_float(x, "i0"))


def i1(x: Array) -> Array:
    """The modified Bessel function of order 1, ``I1(x)``; ``I1' = I0 - I1 / x`` (1/2 at 0).

    Example:
        >>> round(float(i1(1.0)), 4)
        0.5652
    """
    return _r.i1(_float(x, "i1"))


def zeta(x: Array, q: Array | None = None) -> Array:
    """The Hurwitz zeta function ``sum_n (n + q)^-x``; as in JAX, ``q`` is required (no Riemann zeta).

    The derivative in ``q`` is ``-x zeta(x + 1, q)``; the one in ``x`` is that of the Euler-Maclaurin
    series JAX differentiates, so both agree with ``jax.grad`` (and differentiate again).

    Example:
        >>> round(float(zeta(2.0, 1.0)), 4)  # pi^2 / 6
        1.6449
    """
    if q is None:
        raise NotImplementedError("tapegrad.scipy.special.zeta: the Riemann zeta function (q=None) is not "
                                  "implemented, as in JAX; pass q=1.0 for it, or another q for Hurwitz's")
    return _r.zeta(*_promote("zeta", x, q))


def multigammaln(a: Array, d: int) -> Array:
    """The log of the multivariate gamma function, ``log Gamma_d(a) = d(d-1)/4 log(pi) + sum_i<d
    gammaln(a - i/2)``; ``d`` is a concrete integer.

    Example:
        >>> round(float(multigammaln(2.0, 1)), 4)  # gammaln(2)
        0.0
    """
    try:
        k = int(d)
    except TypeError:
        raise TypeError(f"tapegrad.scipy.special.multigammaln: d must be a concrete integer, got {d!r}") from None
    if k != d:
        raise ValueError(f"tapegrad.scipy.special.multigammaln: d must be an integer, got {d!r}")
    a = _float(a, "multigammaln")
    shifts = jnp.arange(k, dtype=a.dtype) / 2
    constant = 0.25 * k * (k - 1) * math.log(math.pi)
    return tnp.sum(_r.gammaln(tnp.expand_dims(a, -1) - shifts), axis=-1) + constant


def rel_entr(p: Array, q: Array) -> Array:
    """Relative entropy ``p log(p / q)`` for ``p, q > 0``; 0 where ``p == 0 <= q``, ``inf`` elsewhere
    (gradients 0 outside ``p, q > 0``, as JAX's).

    Example:
        >>> round(float(rel_entr(0.5, 0.25)), 4)  # 0.5 log 2
        0.3466
    """
    p, q = _pair(p, q, "rel_entr")
    both = tnp.logical_and(p > 0, q > 0)
    p_zero = tnp.logical_and(p == 0, q >= 0)
    safe_p, safe_q = tnp.where(both, p, 1.0), tnp.where(both, q, 1.0)
    value = safe_p * tnp.log(safe_p) - _r.xlogy(safe_p, safe_q)
    return tnp.where(both, value, tnp.where(p_zero, 0.0, math.inf))


def kl_div(p: Array, q: Array) -> Array:
    """The Kullback-Leibler divergence term ``p log(p / q) - p + q`` (``q`` where ``p == 0``, ``inf`` outside
    the domain).

    Example:
        >>> round(float(kl_div(0.5, 0.25)), 4)
        0.0966
    """
    p, q = _pair(p, q, "kl_div")
    return rel_entr(p, q) - p + q


# ---- Error-function relatives. ----

def erfcx(x: Array) -> Array:
    """The scaled complementary error function ``exp(x^2) erfc(x)``, stable for large ``x``; complex ``x``
    is ``wofz(i x)``.

    Example:
        >>> float(erfcx(0.0))
        1.0
    """
    x = _float(x, "erfcx", complex_ok=True)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        return _r.wofz(x * 1j)
    return _r.erfcx(x)


def wofz(z: Array) -> Array:
    """The Faddeeva function ``w(z) = exp(-z^2) erfc(-i z)``, complex-valued (real ``z`` is promoted);
    ``w'(z) = -2 z w(z) + 2i / sqrt(pi)``.

    Example:
        >>> round(complex(wofz(0.0)).real, 6)
        1.0
    """
    z = _float(z, "wofz", complex_ok=True)
    if not jnp.issubdtype(z.dtype, jnp.complexfloating):
        z = tnp.astype(z, jnp.result_type(z.dtype, jnp.complex64))
    return _r.wofz(z)


def dawsn(x: Array) -> Array:
    """Dawson's integral ``exp(-x^2) int_0^x exp(t^2) dt``; ``F' = 1 - 2 x F``.

    Example:
        >>> round(float(dawsn(1.0)), 4)
        0.5381
    """
    return _r.dawsn(_float(x, "dawsn"))


# ---- Exponential, sine, cosine and Fresnel integrals; Spence's function. ----

def expi(x: Array) -> Array:
    """The exponential integral ``Ei(x) = int_-inf^x exp(t) / t dt``; ``Ei' = exp(x) / x``.

    Example:
        >>> round(float(expi(1.0)), 4)
        1.8951
    """
    return _r.expi(_float(x, "expi"))


def expn(n: Array, x: Array) -> Array:
    """The generalized exponential integral ``E_n(x) = int_1^inf exp(-x t) / t^n dt``; ``E_n' = -E_(n-1)``.
    The order ``n`` gets no gradient (JAX's is 0).

    Example:
        >>> round(float(expn(2, 1.0)), 4)
        0.1485
    """
    n, x = _pair(n, x, "expn")
    return _r.expn(n, x)


def exp1(x: Array) -> Array:
    """The exponential integral ``E_1(x) = expn(1, x)``; ``E_1' = -exp(-x) / x``.

    Example:
        >>> round(float(exp1(1.0)), 4)
        0.2194
    """
    x = _float(x, "exp1")
    return _r.expn(jnp.ones((), x.dtype), x)


def sici(x: Array) -> tuple[Array, Array]:
    """The sine and cosine integrals ``(Si(x), Ci(x))``; ``Si' = sin(x)/x``, ``Ci' = cos(x)/x``.

    Example:
        >>> [round(float(v), 4) for v in sici(1.0)]
        [0.9461, 0.3374]
    """
    si, ci = _r.sici(_float(x, "sici"))
    return si, ci


def fresnel(x: Array) -> tuple[Array, Array]:
    """The Fresnel integrals ``(S(x), C(x))``, ``S' = sin(pi x^2 / 2)`` and ``C' = cos(pi x^2 / 2)``.

    Example:
        >>> [round(float(v), 4) for v in fresnel(1.0)]
        [0.4383, 0.7799]
    """
    s, c = _r.fresnel(_float(x, "fresnel"))
    return s, c


def spence(x: Array) -> Array:
    """Spence's function (dilogarithm) ``int_1^x log(t) / (1 - t) dt`` for ``x >= 0`` (NaN below); its
    derivative ``log(x) / (1 - x)`` is exact here (jax.grad's is NaN above 1).

    Example:
        >>> round(float(spence(0.0)), 4)  # pi^2 / 6
        1.6449
    """
    x = _float(x, "spence")
    if x.dtype not in (jnp.float32, jnp.float64):
        raise TypeError(f"tapegrad.scipy.special.spence: x must be float32 or float64, got {x.dtype}")
    return _r.spence(x)


# ---- Owen's T, Pochhammer, hypergeometric and Bessel functions. ----

def owens_t(h: Array, a: Array) -> Array:
    """Owen's T function ``1/(2 pi) int_0^a exp(-h^2 (1 + t^2) / 2) / (1 + t^2) dt``.

    Example:
        >>> round(float(owens_t(0.0, 1.0)), 4)  # 1/8
        0.125
    """
    return _r.owens_t(*_pair(h, a, "owens_t"))


def poch(z: Array, m: Array) -> Array:
    """The Pochhammer symbol ``(z)_m = Gamma(z + m) / Gamma(z)``.

    Example:
        >>> round(float(poch(3.0, 2.0)), 6)  # 3 * 4
        12.0
    """
    return _r.poch(*_pair(z, m, "poch"))


def hyp1f1(a: Array, b: Array, x: Array) -> Array:
    """Kummer's confluent hypergeometric function ``1F1(a; b; x)``.

    Differentiable in ``x`` to any order; in ``a`` and ``b`` once, through JAX's series (a second
    derivative involving them raises, as ``jax.grad`` does).

    Example:
        >>> round(float(hyp1f1(1.0, 1.0, 1.0)), 4)  # e
        2.7183
    """
    return _r.hyp1f1(*_promote("hyp1f1", a, b, x))


def hyp2f1(a: Array, b: Array, c: Array, x: Array) -> Array:
    """The Gauss hypergeometric function ``2F1(a, b; c; x)``; derivatives as :func:`hyp1f1`'s.

    Example:
        >>> round(float(hyp2f1(1.0, 1.0, 2.0, 0.5)), 4)  # -log(1 - x) / x
        1.3863
    """
    return _r.hyp2f1(*_promote("hyp2f1", a, b, c, x))


def bessel_jn(z: Array, *, v: int, n_iter: int = 50) -> Array:
    """Bessel functions of the first kind ``J_0(z), ..., J_v(z)`` (shape ``(v + 1, *z.shape)``), by JAX's
    backward recurrence; ``J_0' = -J_1``, ``J_k' = (J_(k-1) - J_(k+1)) / 2``. ``v`` and ``n_iter`` are
    concrete integers (not differentiated).

    Example:
        >>> [round(float(j), 4) for j in bessel_jn(1.0, v=1)]
        [0.7652, 0.4401]
    """
    try:
        order, iters = operator.index(v), int(n_iter)
    except TypeError:
        raise TypeError(f"tapegrad.scipy.special.bessel_jn: v and n_iter must be concrete integers, got v={v!r}, "
                        f"n_iter={n_iter!r}") from None
    if order < 0:
        raise ValueError(f"tapegrad.scipy.special.bessel_jn: v must be non-negative, got {v}")
    return _r.bessel_jn(_float(z, "bessel_jn"), v=order, n_iter=iters)


# ---- Gamma relatives: loggamma, factorial, comb; Box-Cox; Bernoulli numbers. ----

def loggamma(x: Array) -> Array:
    """The principal branch of ``log(Gamma(x))``: ``gammaln(x)`` for ``x > 0``, NaN elsewhere (real input;
    JAX's complex branch is not provided).

    Example:
        >>> round(float(loggamma(4.0)), 4)  # log 6
        1.7918
    """
    x = _float(x, "loggamma")
    return tnp.where(x > 0, _r.gammaln(x), math.nan)


def factorial(n: Array, exact: bool = False) -> Array:
    """``n! = Gamma(n + 1)`` as a float (0 for negative ``n``), differentiable as JAX's.

    Example:
        >>> round(float(factorial(4)), 6)
        24.0
    """
    if exact:
        raise NotImplementedError("tapegrad.scipy.special.factorial: exact=True is not supported (nor in JAX)")
    n = _float(n, "factorial")
    return tnp.where(n < 0, 0.0, tnp.exp(_r.gammaln(n + 1)))


def comb(N: Array, k: Array, *, repetition: bool = False) -> Array:
    """The binomial coefficient ``N! / (k! (N - k)!)`` as a float, through :func:`gammaln` (0 where
    ``N < 0``, ``k < 0`` or ``k > N``); with ``repetition``, ``comb(N + k - 1, k)``.

    Example:
        >>> round(float(comb(5, 2)), 6)
        10.0
    """
    N, k = _pair(N, k, "comb")
    if repetition:
        return tnp.where(tnp.logical_and(k == 0, N >= 0), 1.0, comb(N + k - 1, k))
    ok = tnp.logical_and(tnp.logical_and(k <= N, N >= 0), k >= 0)
    safe_n, safe_k = tnp.where(ok, N, 0.0), tnp.where(ok, k, 0.0)
    value = tnp.exp(_r.gammaln(safe_n + 1) - _r.gammaln(safe_k + 1) - _r.gammaln(safe_n + 1 - safe_k))
    return tnp.where(ok, value, 0.0)


def _boxcox(log_x: Array, lmbda: Array) -> Array:
    zero = lmbda == 0
    safe = tnp.where(zero, 1.0, lmbda)
    return tnp.where(zero, log_x, tnp.expm1(safe * log_x) / safe)


def boxcox(x: Array, lmbda: Array) -> Array:
    """The Box-Cox transformation ``(x^lmbda - 1) / lmbda`` (``log(x)`` at ``lmbda == 0``).

    Example:
        >>> round(float(boxcox(4.0, 0.5)), 4)
        2.0
    """
    x, lmbda = _pair(x, lmbda, "boxcox")
    return _boxcox(tnp.log(x), lmbda)


def boxcox1p(x: Array, lmbda: Array) -> Array:
    """The Box-Cox transformation of ``1 + x``, accurate for small ``x``.

    Example:
        >>> round(float(boxcox1p(3.0, 0.5)), 4)
        2.0
    """
    x, lmbda = _pair(x, lmbda, "boxcox1p")
    return _boxcox(tnp.log1p(x), lmbda)


def bernoulli(n: int) -> Array:
    """The Bernoulli numbers ``B_0, ..., B_n`` (``B_1 = -1/2``): constants, no gradient.

    Example:
        >>> [round(float(b), 4) for b in bernoulli(2)]
        [1.0, -0.5, 0.1667]
    """
    try:
        k = operator.index(n)
    except TypeError:
        raise TypeError(f"tapegrad.scipy.special.bernoulli: n must be a concrete integer, got {n!r}") from None
    if k < 0:
        raise ValueError(f"tapegrad.scipy.special.bernoulli: n must be non-negative, got {n}")
    return jsp.bernoulli(k)


def sph_harm_y(n: Array, m: Array, theta: Array, phi: Array, diff_n: int | None = None,
               n_max: int | None = None) -> Array:
    """Spherical harmonics ``Y_n^m(theta, phi)`` (complex; ``theta`` the polar angle in ``[0, pi]``, ``phi`` the
    azimuth), with JAX's arguments: ``n`` and ``m`` 1-d integer arrays (not differentiated), ``n_max`` the
    largest ``n`` (static; by default ``max(n)``, which needs ``n`` concrete).

    Differentiable in ``theta`` (away from the poles 0 and pi, where ``cot(theta)`` appears) and ``phi``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> y = sph_harm_y(tnp.asarray([0]), tnp.asarray([0]), tnp.asarray([0.3]), tnp.asarray([0.4]))
        >>> round(float(y.real[0]), 4)  # 1 / sqrt(4 pi)
        0.2821
    """
    if diff_n is not None:
        raise NotImplementedError("tapegrad.scipy.special.sph_harm_y: diff_n is not supported (nor in JAX)")
    n, m = jnp.asarray(n), jnp.asarray(m)
    theta, phi = _pair(theta, phi, "sph_harm_y")
    if tnp.ndim(theta) == 0:
        theta = tnp.reshape(theta, (1,))
    if n_max is None:
        n_max = int(jnp.max(n))
    return _r.sph_harm_y(n, m, theta, phi, n_max=int(n_max))
