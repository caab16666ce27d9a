"""Special functions (jax.scipy.special): primitives and their VJP rules.

Each forward is jax.scipy's own function (jitted: several are a dozen small ops); each rule is
written in tapegrad ops so every order works: erf' = 2/sqrt(pi) exp(-x^2), gammaln' = digamma,
digamma' = polygamma(1, .), polygamma(n, .)' = polygamma(n + 1, .), ...
"""
from __future__ import annotations

import math

import jax
import jax.scipy.special as jsp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive

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
