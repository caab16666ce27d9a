"""Unary elementwise math. Each derivative sits beside its forward, micrograd style."""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.accel.dispatch import jitted_elementwise
from tapegrad.core.primitive import Primitive


def _unary(name, impl, rule, uses="x"):
    """A unary primitive whose rule reads ``x`` (its input) or ``out`` (its output)."""
    # Jitted: one cheap dispatch per call in eager mode (see jitted_elementwise).
    prim = Primitive(name, jitted_elementwise(impl), save_args=uses == "x", save_out=uses == "out")
    return prim.defvjp(rule)


exp = _unary("exp", jnp.exp, lambda g, out, x: g * out, uses="out")
exp2 = _unary("exp2", jnp.exp2, lambda g, out, x: g * out * 0.6931471805599453, uses="out")
expm1 = _unary("expm1", jnp.expm1, lambda g, out, x: g * (out + 1), uses="out")
log = _unary("log", jnp.log, lambda g, out, x: g / x)
log2 = _unary("log2", jnp.log2, lambda g, out, x: g / (x * 0.6931471805599453))
log10 = _unary("log10", jnp.log10, lambda g, out, x: g / (x * 2.302585092994046))
log1p = _unary("log1p", jnp.log1p, lambda g, out, x: g / (x + 1))
sqrt = _unary("sqrt", jnp.sqrt, lambda g, out, x: g / (2 * out), uses="out")
cbrt = _unary("cbrt", jnp.cbrt, lambda g, out, x: g / (3 * out * out), uses="out")
sin = _unary("sin", jnp.sin, lambda g, out, x: g * tnp.cos(x))
cos = _unary("cos", jnp.cos, lambda g, out, x: -g * tnp.sin(x))
tan = _unary("tan", jnp.tan, lambda g, out, x: g * (1 + out * out), uses="out")
arcsin = _unary("arcsin", jnp.arcsin, lambda g, out, x: g / tnp.sqrt(1 - x * x))
arccos = _unary("arccos", jnp.arccos, lambda g, out, x: -g / tnp.sqrt(1 - x * x))
arctan = _unary("arctan", jnp.arctan, lambda g, out, x: g / (1 + x * x))
sinh = _unary("sinh", jnp.sinh, lambda g, out, x: g * tnp.cosh(x))
cosh = _unary("cosh", jnp.cosh, lambda g, out, x: g * tnp.sinh(x))
tanh = _unary("tanh", jnp.tanh, lambda g, out, x: g * (1 - out * out), uses="out")
arcsinh = _unary("arcsinh", jnp.arcsinh, lambda g, out, x: g / tnp.sqrt(x * x + 1))
# (x - 1) * (x + 1), not x * x - 1: exact near x == 1, where the derivative blows up.
arccosh = _unary("arccosh", jnp.arccosh, lambda g, out, x: g / tnp.sqrt((x - 1) * (x + 1)))
arctanh = _unary("arctanh", jnp.arctanh, lambda g, out, x: g / (1 - x * x))
# |x|' = sign(x); at 0 jax.vjp takes the subgradient 1 (x >= 0), and so do we (PyTorch takes 0).
abs = _unary("abs", jnp.abs, lambda g, out, x: _abs_complex(g, x) if _is_complex(x) else tnp.where(x >= 0, g, -g))
absolute = abs
fabs = _unary("fabs", jnp.fabs, lambda g, out, x: tnp.where(x >= 0, g, -g))  # always a float result


# ---- complex numbers: JAX's conventions (a VJP is the transpose of the R-linear map; for a
# real-valued function of complex z, the cotangent is conj of the Wirtinger gradient, as jax.vjp). ----

def _is_complex(x) -> bool:
    return jnp.issubdtype(x.dtype, jnp.complexfloating)


def _abs_complex(g, x):
    # d|z| = Re(conj(z) dz) / |z|; its transpose sends g to g * conj(z) / |z| (jax.vjp's value). At
    # z == 0 the numerator is 0: dividing by 1 there gives JAX's and torch's 0 instead of 0/0 = NaN.
    r = abs(x)
    return g * conj(x) / tnp.where(r == 0, 1, r)


# Linear ops: the rules need only shapes (their input dtype is restored by the core's un-broadcast).
real = Primitive("real", jnp.real, save_args=False).defvjp(lambda g, out, x: g)
imag = Primitive("imag", jnp.imag, save_args=False).defvjp(
    lambda g, out, x: -1j * g if _is_complex(x) else tnp.zeros_like(g))  # a real x has imag 0: no gradient
conj = Primitive("conj", jnp.conj, save_args=False).defvjp(lambda g, out, x: conj(g))
conjugate = conj

# Array-API spellings.
acos, asin, atan, acosh, asinh, atanh = arccos, arcsin, arctan, arccosh, arcsinh, arctanh

_DEG = 0.017453292519943295  # pi / 180
# Linear: the rules read no residuals.
deg2rad = Primitive("deg2rad", jnp.deg2rad, save_args=False).defvjp(lambda g, out, x: g * _DEG)
rad2deg = Primitive("rad2deg", jnp.rad2deg, save_args=False).defvjp(lambda g, out, x: g * (1 / _DEG))
radians, degrees = deg2rad, rad2deg
