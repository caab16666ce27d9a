"""Binary arithmetic with NumPy broadcasting: + - * / ** and friends."""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.accel.dispatch import jitted_elementwise
from tapegrad.core.backward import register_add
from tapegrad.core.primitive import Primitive

# The common ops run jitted: one cheap dispatch, the same results (see jitted_elementwise). Not power,
# whose eager jax.numpy form special-cases integer-valued exponents.
# Linear ops read no residuals: the tape keeps only shapes for them.
add = Primitive("add", jitted_elementwise(jnp.add), save_args=False).defvjp(
    lambda g, out, x, y: g,
    lambda g, out, x, y: g)
subtract = Primitive("subtract", jitted_elementwise(jnp.subtract), save_args=False).defvjp(
    lambda g, out, x, y: g,
    lambda g, out, x, y: -g)
negative = Primitive("negative", jitted_elementwise(jnp.negative), save_args=False).defvjp(
    lambda g, out, x: -g)
multiply = Primitive("multiply", jitted_elementwise(jnp.multiply)).defvjp(
    lambda g, out, x, y: g * y,
    lambda g, out, x, y: g * x)
true_divide = Primitive("divide", jitted_elementwise(jnp.true_divide)).defvjp(
    lambda g, out, x, y: g / y,
    lambda g, out, x, y: -g * x / (y * y))
divide = true_divide


def _power_x(g, out, x, y):
    # y * x**(y-1). Only the base is replaced where x == y == 0 (0 * 0**-1 would be NaN;
    # the true derivative is 0, as PyTorch gives). Keeping y as a factor everywhere keeps
    # the y-derivative of this rule right at y == 0 (d2/dxdy x**y = 1/x there).
    return g * y * tnp.where((x == 0) & (y == 0), 1.0, x) ** (y - 1)


def _power_y(g, out, x, y):
    # d/dy x**y = x**y log x; defined as 0 where x == 0 (JAX and PyTorch agree).
    safe_x = tnp.where(x == 0, 1.0, x)
    return g * tnp.where(x == 0, 0.0, x ** y * tnp.log(safe_x))


power = Primitive("power", jnp.power).defvjp(_power_x, _power_y)
pow = power
square = Primitive("square", jitted_elementwise(jnp.square)).defvjp(
    lambda g, out, x: g * 2 * x)
reciprocal = Primitive("reciprocal", jnp.reciprocal, save_args=False, save_out=True).defvjp(
    lambda g, out, x: -g * out * out)
maximum = Primitive("maximum", jitted_elementwise(jnp.maximum)).defvjp(
    # Ties split the gradient equally, as jax.numpy (and PyTorch) do.
    lambda g, out, x, y: g * tnp.where(x > y, 1.0, tnp.where(x == y, 0.5, 0.0)),
    lambda g, out, x, y: g * tnp.where(y > x, 1.0, tnp.where(x == y, 0.5, 0.0)))
minimum = Primitive("minimum", jitted_elementwise(jnp.minimum)).defvjp(
    lambda g, out, x, y: g * tnp.where(x < y, 1.0, tnp.where(x == y, 0.5, 0.0)),
    lambda g, out, x, y: g * tnp.where(y < x, 1.0, tnp.where(x == y, 0.5, 0.0)))
# jnp.arctan2(x1, x2) is the angle of the point (x2, x1).
arctan2 = Primitive("arctan2", jnp.arctan2).defvjp(
    lambda g, out, x, y: g * y / (x * x + y * y),
    lambda g, out, x, y: -g * x / (x * x + y * y))
atan2 = arctan2
# mod(x, y) = x - floor(x / y) * y: piecewise, d/dx = 1, d/dy = -floor(x / y).
mod = Primitive("mod", jnp.mod).defvjp(
    lambda g, out, x, y: g,
    lambda g, out, x, y: -g * tnp.floor_divide(x, y))
remainder = mod
# fmod(x, y) = x - trunc(x / y) * y (C's fmod, sign of x).
fmod = Primitive("fmod", jnp.fmod).defvjp(
    lambda g, out, x, y: g,
    lambda g, out, x, y: -g * tnp.trunc(tnp.divide(x, y)))


def _hypot_rule(g, out, x, y):
    # x / hypot; at the origin jax.vjp gives 1/2 to each argument (a subgradient), so do we.
    zero = out == 0
    return g * tnp.where(zero, 0.5, x / tnp.where(zero, 1.0, out))


hypot = Primitive("hypot", jnp.hypot, save_out=True).defvjp(
    _hypot_rule, lambda g, out, x, y: _hypot_rule(g, out, y, x))


def _no_posinf(v):
    # jax's logaddexp rule reads +inf as 0 (so logaddexp(inf, y) has finite derivatives);
    # match it rather than return inf - inf = NaN.
    return tnp.where(v == float("inf"), 0.0, v)


logaddexp = Primitive("logaddexp", jnp.logaddexp, save_out=True).defvjp(
    lambda g, out, x, y: g * tnp.exp(_no_posinf(x) - _no_posinf(out)),
    lambda g, out, x, y: g * tnp.exp(_no_posinf(y) - _no_posinf(out)))
logaddexp2 = Primitive("logaddexp2", jnp.logaddexp2, save_out=True).defvjp(
    lambda g, out, x, y: g * tnp.exp2(_no_posinf(x) - _no_posinf(out)),
    lambda g, out, x, y: g * tnp.exp2(_no_posinf(y) - _no_posinf(out)))

# The common ops run jitted: one cheap dispatch, the same results (see jitted_elementwise). Not power,
# whose eager jax.numpy form special-cases integer-valued exponents. Set here, after the definitions,
# so that those read as plain jax.numpy (the docs print multiply's).
register_add(add)  # the backward sweep sums cotangents with this primitive

for _p in (add, subtract, negative, multiply, true_divide, square, maximum, minimum):
    _p.impl = jitted_elementwise(_p.impl)
del _p
