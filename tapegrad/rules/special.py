"""Special functions (jax.scipy.special): primitives and their VJP rules.

Each forward is jax.scipy's own function, jitted (several are a dozen small ops; those jax.scipy jits
itself, expi expn hyp1f1 hyp2f1 bessel_jn gammasgn sici, are used as they are, sharing JAX's compiled
programs); each rule is written in tapegrad ops so every order works: erf' = 2/sqrt(pi) exp(-x^2), gammaln' = digamma,
digamma' = polygamma(1, .), polygamma(n, .)' = polygamma(n + 1, .), ...
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive, nondifferentiable

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_HALF_SQRT_PI = math.sqrt(math.pi) / 2.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _unary(name, impl, rule, uses="x"):
    prim = Primitive(name, jax.jit(impl), save_args=uses == "x", save_out=uses == "out")
    return prim.defvjp(rule)


erf = _unary("erf", jsp.erf, lambda g, out, x: g * _TWO_OVER_SQRT_PI * tnp.exp(-x * x))
erfc = _unary("erfc", jsp.erfc, lambda g, out, x: -g * _TWO_OVER_SQRT_PI * tnp.exp(-x * x))
# erfinv' = sqrt(pi)/2 exp(erfinv(x)^2): read from the output, no second erfinv.
erfinv = _unary("erfinv", jsp.erfinv, lambda g, out, x: g * _HALF_SQRT_PI * tnp.exp(out * out), uses="out")
# ndtri' = sqrt(2 pi) exp(ndtri(p)^2 / 2).
ndtri = _unary("ndtri", jsp.ndtri, lambda g, out, x: g * tnp.exp(out * out / 2) / _INV_SQRT_2PI, uses="out")


def _polygamma_impl(x, *, n):
    return jsp.polygamma(n, x)


# polygamma(n, x) with a static order n: its derivative is the next order, again this primitive.
polygamma_p = Primitive("polygamma", jax.jit(_polygamma_impl, static_argnames="n")).defvjp(
    lambda g, out, x, n: g * polygamma_p(x, n=n + 1))
digamma = _unary("digamma", jsp.digamma, lambda g, out, x: g * polygamma_p(x, n=1))
gammaln = _unary("gammaln", jsp.gammaln, lambda g, out, x: g * digamma(x))
# gamma' = gamma * digamma (the sign is in gamma itself).
gamma = Primitive("gamma", jax.jit(jsp.gamma), save_out=True).defvjp(lambda g, out, x: g * out * digamma(x))
# expit' = expit (1 - expit): read from the output, finite in both tails (the composition is inf/inf).
expit = _unary("expit", jsp.expit, lambda g, out, x: g * out * (1 - out), uses="out")


def _log_ndtr_rule(g, out, x):
    # d log Phi(x) = phi(x) / Phi(x) = exp(-x^2/2 - log Phi(x)) / sqrt(2 pi): no 0/0 in the far left tail,
    # where phi and Phi underflow together.
    return g * tnp.exp(-x * x / 2 - out) * _INV_SQRT_2PI


log_ndtr = Primitive("log_ndtr", jax.jit(jsp.log_ndtr), save_out=True).defvjp(_log_ndtr_rule)


# The rules are jax's (its xlogy/xlog1py JVPs): d/dx = log(y) even at x == 0 (-inf at y == 0, where the
# value's own convention xlogy(0, 0) == 0 holds only for the value), d/dy = x / y (NaN at (0, 0)).
def _xlogy_x(g, out, x, y):
    return g * tnp.log(y)


def _xlogy_y(g, out, x, y):
    return g * x / y


def _xlog1py_x(g, out, x, y):
    return g * tnp.log1p(y)


def _xlog1py_y(g, out, x, y):
    return g * x / (1 + y)


xlogy = Primitive("xlogy", jax.jit(jsp.xlogy)).defvjp(_xlogy_x, _xlogy_y)
xlog1py = Primitive("xlog1py", jax.jit(jsp.xlog1py)).defvjp(_xlog1py_x, _xlog1py_y)


def _entr_rule(g, out, x):
    # entr(x) = -x log x for x > 0, 0 at 0, -inf below: derivative -(1 + log x), as jax.vjp's (-inf at 0).
    return -g * (1 + tnp.log(x))


entr = _unary("entr", jsp.entr, _entr_rule)


def _i0e_rule(g, out, x):
    # i0e(x) = exp(-|x|) I0(x): i0e' = i1e - sign(x) i0e.
    return g * (i1e(x) - tnp.sign(x) * out)


def _i1e_rule(g, out, x):
    # i1e' = i0e - i1e (sign(x) + 1/x); at 0 the limit is 1/2 (i1e(x) ~ x/2).
    safe = tnp.where(x == 0, 1.0, x)
    return g * tnp.where(x == 0, 0.5, i0e(x) - out * (tnp.sign(x) + 1 / safe))


i0e = Primitive("i0e", jax.jit(jsp.i0e), save_out=True).defvjp(_i0e_rule)
i1e = Primitive("i1e", jax.jit(jsp.i1e), save_out=True).defvjp(_i1e_rule)


# ---- Bessel functions I0, I1: I0' = I1, I1' = I0 - I1 / x (1/2 at 0, where I1(x) ~ x/2). ----

def _i1_rule(g, out, x):
    safe = tnp.where(x == 0, 1.0, x)
    return g * tnp.where(x == 0, 0.5, i0(x) - out / safe)


i0 = Primitive("i0", jax.jit(jsp.i0)).defvjp(lambda g, out, x: g * i1(x))
i1 = Primitive("i1", jax.jit(jsp.i1), save_out=True).defvjp(_i1_rule)


# ---- Regularized incomplete gamma functions P(a, x) (gammainc) and Q(a, x) = 1 - P (gammaincc). ----
# d/dx P = x^(a-1) e^-x / Gamma(a); d/da P has no closed form: JAX computes it with its own series /
# continued fraction (lax.igamma_grad_a), which becomes a primitive here. JAX defines no derivative of
# igamma_grad_a, so differentiating through it again raises, as jax.grad does.

def _no_second_a(g, out, a, x):
    raise NotImplementedError(
        "tapegrad.scipy.special.gammainc/gammaincc: the derivative of d/da gammainc(a, x) (lax.igamma_grad_a) "
        "is not defined, as in JAX: second derivatives involving a are not available; x's are")


igamma_grad_a = Primitive("igamma_grad_a", jax.jit(lambda a, x: jax.lax.igamma_grad_a(*jnp.broadcast_arrays(a, x)))
                          ).defvjp(_no_second_a, _no_second_a)


def _igamma_dx(a, x):
    return tnp.exp(-x + (a - 1) * tnp.log(x) - gammaln(a))


gammainc = Primitive("gammainc", jax.jit(jsp.gammainc)).defvjp(
    lambda g, out, a, x: g * igamma_grad_a(a, x), lambda g, out, a, x: g * _igamma_dx(a, x))
gammaincc = Primitive("gammaincc", jax.jit(jsp.gammaincc)).defvjp(
    lambda g, out, a, x: -g * igamma_grad_a(a, x), lambda g, out, a, x: -g * _igamma_dx(a, x))


# ---- Regularized incomplete beta function I_x(a, b): JAX differentiates it in x only. ----

def _betainc_ab(g, out, a, b, x):
    raise ValueError("tapegrad.scipy.special.betainc: the gradient with respect to a and b is not supported "
                     "(nor in jax.scipy.special.betainc); only x is differentiable")


def _betainc_x(g, out, a, b, x):
    # x^(a-1) (1-x)^(b-1) / B(a, b), in logs (log1p keeps (1-x) exact for small x).
    return g * tnp.exp((b - 1) * tnp.log1p(-x) + (a - 1) * tnp.log(x) - betaln(a, b))


betainc = Primitive("betainc", jax.jit(jsp.betainc)).defvjp(_betainc_ab, _betainc_ab, _betainc_x)


# ---- Hurwitz zeta(s, q) = sum_n (n + q)^-s. ----
# d/dq = -s zeta(s + 1, q) exactly. d/ds has no closed form: JAX differentiates the Euler-Maclaurin series
# it uses for that purpose (Johansson 2015, eq. 5, N = M = 16 terms in float64, 8 in float32); the rule
# below is that series' s-derivative written out, so the values agree with jax.grad and every order works.

# (2k)! / B_2k, the series' coefficients (jax.scipy.special's table).
_ZETA_COEFS = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1307674368000 / 691, 74724249600.0,
               -10670622842880000 / 3617, 5109094217170944000 / 43867, -802857662698291200000 / 174611,
               14101100039391805440000 / 77683, -1693824136731743669452800000 / 236364091,
               186134520519971831808000000 / 657931, -37893265687455865519472640000000 / 3392780147,
               759790291646040068357842010112000000 / 1723168255201,
               -134196726836183700385281186201600000000 / 7709321041217)


def _zeta_ds(s, q):
    """d/ds of the series S + I + T with S = sum_k<N (q+k)^-s, I = (q+N)^(1-s) / (s-1),
    T = (q+N)^-s (1/2 + sum_j c_j / coef_j), c_j = prod_{m<=2j} (s+m) / (q+N)."""
    dt = tnp.result_type(s, q)
    n = 8 if dt == jnp.float32 else 16
    se, qe = tnp.expand_dims(s, -1), tnp.expand_dims(q, -1)
    qk = qe + tnp.arange(n, dtype=dt)
    d_sum = -tnp.sum(tnp.log(qk) * qk ** -se, axis=-1)
    big = q + n
    log_big = tnp.log(big)
    integral = big ** (1 - s) / (s - 1)
    d_integral = -(log_big + 1 / (s - 1)) * integral
    sm = se + tnp.arange(2 * n, dtype=dt)
    c = tnp.cumprod(sm / tnp.expand_dims(big, -1), axis=-1)[..., ::2]
    dlog_c = tnp.cumsum(1 / sm, axis=-1)[..., ::2]  # d log c_j / ds
    inv_coefs = jnp.asarray([1 / v for v in _ZETA_COEFS[:n]], dtype=dt)
    tail = big ** -s
    d_tail = -log_big * tail * (0.5 + tnp.sum(c * inv_coefs, axis=-1)) + tail * tnp.sum(c * dlog_c * inv_coefs,
                                                                                     axis=-1)
    return d_sum + d_integral + d_tail


zeta = Primitive("zeta", jax.jit(jsp.zeta)).defvjp(
    lambda g, out, s, q: g * _zeta_ds(s, q), lambda g, out, s, q: -g * s * zeta(s + 1, q))


# ---- Signs and beta: log|B(a, b)| with jax's forward (accurate for large arguments, where the sum of three
# gammaln cancels), and its exact derivatives psi(a) - psi(a + b), psi(b) - psi(a + b). ----

gammasgn = nondifferentiable("gammasgn", jsp.gammasgn)  # jsp.gammasgn is jitted already
betaln = Primitive("betaln", jax.jit(jsp.betaln)).defvjp(
    lambda g, out, a, b: g * (digamma(a) - digamma(a + b)), lambda g, out, a, b: g * (digamma(b) - digamma(a + b)))


# ---- Error-function relatives: erfcx(x) = exp(x^2) erfc(x), Faddeeva w(z) = exp(-z^2) erfc(-iz), Dawson's F. ----
# The complex rules are JAX's convention (the cotangent times the holomorphic derivative); the PyTorch
# conjugation happens at tg.grad's boundary, as for every primitive.

erfcx = Primitive("erfcx", jax.jit(jsp.erfcx), save_out=True).defvjp(
    lambda g, out, x: g * (2 * x * out - _TWO_OVER_SQRT_PI))
wofz = Primitive("wofz", jax.jit(jsp.wofz), save_out=True).defvjp(
    lambda g, out, z: g * (-2 * z * out + 1j * _TWO_OVER_SQRT_PI))
dawsn = Primitive("dawsn", jax.jit(jsp.dawsn), save_out=True).defvjp(lambda g, out, x: g * (1 - 2 * x * out))


# ---- Exponential and trigonometric integrals. ----

expi = Primitive("expi", jsp.expi).defvjp(lambda g, out, x: g * tnp.exp(x) / x)
# E_n'(x) = -E_(n-1)(x): again this primitive, so every order works (jax.grad's second derivative of expn
# fails in its custom_jvp tracing; the rule it states is this one). The order n gets no gradient (JAX: 0).
expn = Primitive("expn", jsp.expn).defvjp(None, lambda g, out, n, x: -g * expn(n - 1, x))


def _sici_rule(gs, out, x):
    g_si, g_ci = gs
    # Si' = sin(x)/x (sinc: 1 at 0), Ci' = cos(x)/x.
    return (g_si * tnp.sinc(x / math.pi) + g_ci * tnp.cos(x) / x,)


sici = Primitive("sici", jsp.sici, multiple_results=True).defvjp_all(_sici_rule)


def _sincospi_half_square(x):
    """``sin(pi x^2 / 2), cos(pi x^2 / 2)`` accurate for large |x| (jax's reduction of x^2/2 mod 2 first),
    in tapegrad ops: r = (s (|x| - s/2)) mod 2 with s = |x| mod 2 equals x^2/2 mod 2 exactly."""
    ax = tnp.abs(x)
    s = tnp.fmod(ax, 2.0)
    r = tnp.fmod(s * (ax - s / 2), 2.0)
    sinpi = tnp.where(r < 0.5, tnp.sin(math.pi * r),
                      tnp.where(r > 1.5, tnp.sin(math.pi * (r - 2.0)), -tnp.sin(math.pi * (r - 1.0))))
    cospi = tnp.where(r == 0.5, 0.0, tnp.where(r < 1.0, -tnp.sin(math.pi * (r - 0.5)),
                                                  tnp.sin(math.pi * (r - 1.5))))
    return sinpi, cospi


def _fresnel_rule(gs, out, x):
    g_s, g_c = gs
    sinpi, cospi = _sincospi_half_square(x)
    return (g_s * sinpi + g_c * cospi,)


fresnel = Primitive("fresnel", jax.jit(lambda x: tuple(jsp.fresnel(x))), multiple_results=True
                    ).defvjp_all(_fresnel_rule)


def _spence_rule(g, out, x):
    # spence(x) = int_1^x log(t) / (1 - t) dt: the derivative is log(x) / (1 - x), -1 at x == 1. (jax.grad
    # differentiates the rational approximations piecewise: NaN above 1 and 0 at 1.)
    one = x == 1
    return g * tnp.where(one, -1.0, tnp.log(x) / (1 - tnp.where(one, 0.0, x)))


spence = _unary("spence", jsp.spence, _spence_rule)


# ---- Owen's T function T(h, a): jax's derivatives. ----

def _owens_t_h(g, out, h, a):
    return -g * tnp.exp(-0.5 * h * h) * erf(a * h / math.sqrt(2.0)) / (2 * math.sqrt(2 * math.pi))


def _owens_t_a(g, out, h, a):
    a2 = a * a + 1
    return g * tnp.exp(-0.5 * a2 * h * h) / (2 * math.pi * a2)


owens_t = Primitive("owens_t", jax.jit(jsp.owens_t)).defvjp(_owens_t_h, _owens_t_a)


# ---- Pochhammer symbol (z)_m = Gamma(z + m) / Gamma(z): jax's derivatives (d/dm = psi(z + m) (z)_m, also
# at m == 0, where the value is the constant 1). ----

poch = Primitive("poch", jax.jit(jsp.poch), save_out=True).defvjp(
    lambda g, out, z, m: g * (digamma(z + m) - digamma(z)) * out, lambda g, out, z, m: g * digamma(z + m) * out)


# ---- Hypergeometric 1F1 and 2F1. ----
# d/dx is again the function (a/b 1F1(a+1, b+1, x), ab/c 2F1(a+1, b+1, c+1, x)), so x differentiates to any
# order. The parameter derivatives are JAX's series (summed in a while loop until the terms fall below the
# dtype's eps relative to the sum); jax.grad cannot differentiate those again (reverse mode through a while
# loop), and neither can tapegrad: their derivative raises, naming the function.

def _param_series(init, ratio, weight, x):
    """``sum_k>=1 term_k * weight(k)`` with term_1 = init, term_(k+1) = term_k * ratio(k): JAX's loop."""
    eps = jnp.finfo(x.dtype).eps

    def body(state):
        total, k, term = state
        return total + term * weight(k), k + 1, term * ratio(k)

    def cond(state):
        total, k, term = state
        return (k < 250) & (jnp.abs(term) / jnp.abs(total) > eps)

    zero = jnp.zeros_like(x)
    return jax.lax.while_loop(cond, body, (zero, jnp.ones_like(x), init))[0]


def _hyp1f1_series(a, b, x, *, wrt):
    def one(a, b, x):
        ratio = lambda k: (a + k) / (b + k) * x / (k + 1)  # noqa: E731
        weight = {"a": lambda k: jsp.digamma(a + k) - jsp.digamma(a),
                  "b": lambda k: jsp.digamma(b) - jsp.digamma(b + k)}[wrt]
        return _param_series(a / b * x, ratio, weight, x)
    return jnp.vectorize(one)(a, b, x)


def _hyp2f1_series(a, b, c, x, *, wrt):
    def one(a, b, c, x):
        ratio = lambda k: (a + k) * (b + k) / (c + k) / (k + 1) * x  # noqa: E731
        weight = {"a": lambda k: jsp.digamma(a + k) - jsp.digamma(a),
                  "b": lambda k: jsp.digamma(b + k) - jsp.digamma(b),
                  "c": lambda k: jsp.digamma(c) - jsp.digamma(c + k)}[wrt]
        return _param_series(a * b / c * x, ratio, weight, x)
    return jnp.vectorize(one)(a, b, c, x)


def _no_series_derivative(name):
    def rule(g, out, *args, wrt):
        raise NotImplementedError(
            f"tapegrad.scipy.special.{name}: the derivative of d/d{wrt} {name} (a series summed in a while loop, "
            f"as in JAX) is not defined: jax.grad cannot differentiate it either. Second derivatives involving "
            f"the parameters are not available; those in x are")
    return rule


hyp1f1_param = Primitive("hyp1f1_param", jax.jit(_hyp1f1_series, static_argnames="wrt")).defvjp(
    *[_no_series_derivative("hyp1f1")] * 3)
hyp2f1_param = Primitive("hyp2f1_param", jax.jit(_hyp2f1_series, static_argnames="wrt")).defvjp(
    *[_no_series_derivative("hyp2f1")] * 4)

hyp1f1 = Primitive("hyp1f1", jsp.hyp1f1).defvjp(
    lambda g, out, a, b, x: g * hyp1f1_param(a, b, x, wrt="a"),
    lambda g, out, a, b, x: g * hyp1f1_param(a, b, x, wrt="b"),
    lambda g, out, a, b, x: g * a / b * hyp1f1(a + 1, b + 1, x))
hyp2f1 = Primitive("hyp2f1", jsp.hyp2f1).defvjp(
    lambda g, out, a, b, c, x: g * hyp2f1_param(a, b, c, x, wrt="a"),
    lambda g, out, a, b, c, x: g * hyp2f1_param(a, b, c, x, wrt="b"),
    lambda g, out, a, b, c, x: g * hyp2f1_param(a, b, c, x, wrt="c"),
    lambda g, out, a, b, c, x: g * a * b / c * hyp2f1(a + 1, b + 1, c + 1, x))


# ---- Bessel functions of the first kind J_0..J_v (jax's backward recurrence; shape (v + 1, *z.shape)). ----
# J_0' = -J_1, J_k' = (J_(k-1) - J_(k+1)) / 2: one more order from the same primitive, so every order works.

def _bessel_jn_rule(g, out, z, v, n_iter):
    j = bessel_jn(z, v=v + 1, n_iter=n_iter)
    d = tnp.concatenate([-j[1:2], (j[:-2] - j[2:]) / 2], axis=0)
    return tnp.sum(g * d, axis=0)


bessel_jn = Primitive("bessel_jn", jsp.bessel_jn).defvjp(_bessel_jn_rule)


# ---- log(1 - exp(-x)) (jax.nn.log1mexp): jax's derivative 1 / expm1(x). ----

log1mexp = _unary("log1mexp", jax.nn.log1mexp, lambda g, out, x: g / tnp.expm1(x))


# ---- Spherical harmonics Y_n^m(theta, phi) (complex; n, m integer arrays, not differentiated). ----
# dY/dphi = i m Y; dY/dtheta = m cot(theta) Y + sqrt((n - m)(n + m + 1)) exp(-i phi) Y_n^(m+1) (the ladder
# relation under jax's Condon-Shortley phase; the factor is 0 where m == n). A real argument's cotangent is
# Re(g * dY), JAX's convention.

def _sph_theta(g, out, n, m, theta, phi, n_max):
    up = sph_harm_y(n, m + 1, theta, phi, n_max=n_max)
    # clamped at 0: where m >= n the raised harmonic vanishes (also in the rule's own derivative, m + 2)
    ladder = tnp.sqrt(tnp.astype(tnp.maximum((n - m) * (n + m + 1), 0), theta.dtype))
    d = m * tnp.cos(theta) / tnp.sin(theta) * out + ladder * tnp.exp(-1j * phi) * up
    return tnp.real(g * d)


def _sph_phi(g, out, n, m, theta, phi, n_max):
    return tnp.real(g * 1j * m * out)


sph_harm_y = Primitive("sph_harm_y", jax.jit(lambda n, m, theta, phi, n_max: jsp.sph_harm_y(
    n, m, theta, phi, n_max=n_max), static_argnames="n_max"), save_out=True).defvjp(None, None, _sph_theta, _sph_phi)
