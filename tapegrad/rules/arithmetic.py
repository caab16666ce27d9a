"""Binary arithmetic with NumPy broadcasting: + - * / ** and friends."""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive

# Linear ops read no residuals: the tape keeps only shapes for them.
add = Primitive("add", jnp.add, save_args=False).defvjp(
    lambda g, out, x, y: g,
    lambda g, out, x, y: g)
subtract = Primitive("subtract", jnp.subtract, save_args=False).defvjp(
    lambda g, out, x, y: g,
    lambda g, out, x, y: -g)
negative = Primitive("negative", jnp.negative, save_args=False).defvjp(
    lambda g, out, x: -g)
multiply = Primitive("multiply", jnp.multiply).defvjp(
    lambda g, out, x, y: g * y,
    lambda g, out, x, y: g * x)
true_divide = Primitive("divide", jnp.true_divide).defvjp(
    lambda g, out, x, y: g / y,
    lambda g, out, x, y: -g * x / (y * y))
divide = true_divide


def _power_x(g, out, x, y):
    # y * x**(y-1), with the y == 0 case pinned to 0 (x**-1 would be inf at x == 0).
    return g * tnp.where(y == 0, 0.0, y * x ** tnp.where(y == 0, 1.0, y - 1))


def _power_y(g, out, x, y):
    # d/dy x**y = x**y log x; defined as 0 where x == 0 (JAX and PyTorch agree).
    safe_x = tnp.where(x == 0, 1.0, x)
    return g * tnp.where(x == 0, 0.0, x ** y * tnp.log(safe_x))


power = Primitive("power", jnp.power).defvjp(_power_x, _power_y)
square = Primitive("square", jnp.square).defvjp(
    lambda g, out, x: g * 2 * x)
reciprocal = Primitive("reciprocal", jnp.reciprocal, save_args=False, save_out=True).defvjp(
    lambda g, out, x: -g * out * out)
maximum = Primitive("maximum", jnp.maximum).defvjp(
    # Ties split the gradient equally, as jax.numpy does.
    lambda g, out, x, y: g * tnp.where(x > y, 1.0, tnp.where(x == y, 0.5, 0.0)),
    lambda g, out, x, y: g * tnp.where(y > x, 1.0, tnp.where(x == y, 0.5, 0.0)))
minimum = Primitive("minimum", jnp.minimum).defvjp(
    lambda g, out, x, y: g * tnp.where(x < y, 1.0, tnp.where(x == y, 0.5, 0.0)),
    lambda g, out, x, y: g * tnp.where(y < x, 1.0, tnp.where(x == y, 0.5, 0.0)))
arctan2 = Primitive("arctan2", jnp.arctan2).defvjp(
    lambda g, out, x, y: g * y / (x * x + y * y),
    lambda g, out, x, y: -g * x / (x * x + y * y))
# mod(x, y) = x - floor(x / y) * y: piecewise, d/dx = 1, d/dy = -floor(x / y).
mod = Primitive("mod", jnp.mod).defvjp(
    lambda g, out, x, y: g,
    lambda g, out, x, y: -g * tnp.floor_divide(x, y))
remainder = mod
hypot = Primitive("hypot", jnp.hypot, save_out=True).defvjp(
    lambda g, out, x, y: g * x / out,
    lambda g, out, x, y: g * y / out)
logaddexp = Primitive("logaddexp", jnp.logaddexp, save_out=True).defvjp(
    lambda g, out, x, y: g * tnp.exp(x - out),
    lambda g, out, x, y: g * tnp.exp(y - out))
