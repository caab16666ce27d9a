"""Primitives behind ``nn.functional``'s hot path: relu, log_softmax, attention's safe softmax, and
the class-weighted sum that every class-index loss ends in.

Each is one jitted forward (one dispatch and, for a new shape, one compile, where the same
function composed from ``tnp`` ops costs several of each) with its own VJP rule beside it, in
tapegrad ops, so higher orders work as for any primitive. PyTorch fuses the same steps
(``log_softmax`` + ``nll_loss`` kernels); the drawings still show them by name.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive

# relu: where(x <= 0, 0, x), so NaN stays NaN and passes its gradient, as torch's threshold does;
# the rule reads the output (out <= 0 exactly where x <= 0).
relu_p = Primitive("relu", jax.jit(lambda x: jnp.where(x <= 0, jnp.zeros((), x.dtype), x)),
                   save_args=False, save_out=True).defvjp(
    lambda g, out, x: tnp.where(out <= 0, 0.0, g))


def _log_softmax_impl(x, *, axis):
    shifted = x - jax.lax.stop_gradient(jnp.max(x, axis=axis, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))


# d log_softmax: g - softmax * sum(g). Written on the output, whose exp is the softmax.
log_softmax_p = Primitive("log_softmax", jax.jit(_log_softmax_impl, static_argnames="axis"),
                          save_args=False, save_out=True).defvjp(
    lambda g, out, x, axis: g - tnp.exp(out) * tnp.sum(g, axis=axis, keepdims=True))


def _safe_softmax_impl(x):
    # A row of only -inf gives zeros, not NaN (PyTorch's `_safe_softmax`): the max shift is 0 there
    # and the sum is 0, divided by 1 instead.
    m = jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
    e = jnp.exp(x - jnp.where(jnp.isfinite(m), m, jnp.zeros((), x.dtype)))
    s = jnp.sum(e, axis=-1, keepdims=True)
    return e / jnp.where(s == 0, jnp.ones((), x.dtype), s)


# d softmax: out * (g - sum(g * out)), on the output (zero on an all -inf row, whose output is zero).
# One primitive, where the composed version needs comparisons (isfinite, == 0) whose plain results
# would make a lazy segment run in the middle of every attention layer.
safe_softmax_p = Primitive("safe_softmax", jax.jit(_safe_softmax_impl), save_args=False, save_out=True).defvjp(
    lambda g, out, x: out * (g - tnp.sum(g * out, axis=-1, keepdims=True)))


def _weighted_sum_impl(x, coef, *, axis):
    # `where`, not a plain product: a -inf log-probability where the coefficient is 0 stays out.
    return jnp.sum(jnp.where(coef != 0, coef * x, jnp.zeros((), x.dtype)), axis=axis)


def _weighted_sum_rule(g, out, x, coef, axis):
    # Linear in x: the cotangent is the coefficient times g, put back along the summed axes.
    shape = tuple(x.shape)
    kept = tuple(1 if (axis is None or i in axis) else s for i, s in enumerate(shape))
    return tnp.where(coef != 0, coef * tnp.reshape(g, kept), 0.0)


@functools.partial(jax.jit, static_argnames=("c", "nd", "ignore_index", "reduction", "label_smoothing", "dtype"))
def class_coefficients(target, weight, *, c, nd, ignore_index, reduction, label_smoothing, dtype):
    """``coef`` with the input's shape such that the loss is ``sum(coef * logp)`` (over the class
    axis for reduction='none'): ``-(1 - ls) w[t] onehot(t) - (ls / C) w`` on the non-ignored
    targets, divided by their total weight for 'mean'. One jitted call, no derivative."""
    valid = target != ignore_index
    w = jnp.ones(c, dtype) if weight is None else weight.astype(dtype)
    hit = target[..., None] == jnp.arange(c)
    # w[t] as a masked sum over the classes, not a gather: under an explicit batch sharding a gather
    # from the replicated w by sharded targets has no unambiguous output sharding (ShardingTypeError).
    w_t = jnp.where(valid, jnp.sum(jnp.where(hit, w, jnp.zeros((), dtype)), axis=-1), jnp.zeros((), dtype))
    coef = ((1 - label_smoothing) * w_t)[..., None] * hit
    if label_smoothing > 0:
        coef = coef + (label_smoothing / c) * valid[..., None] * w
    if reduction == "mean":
        coef = coef / jnp.sum(w_t)  # PyTorch divides by the total weight (NaN if every target is ignored)
    coef = (-coef).astype(dtype)
    return coef if nd == 1 else jnp.moveaxis(coef, -1, 1)


# The same as a primitive that may stay pending in a lazy segment (its result feeds weighted_sum_p
# only): the coefficients are then computed inside the step's program, not by a call (and, for every
# new batch size, a compile) of their own.
class_coefficients_p = Primitive("class_coefficients", class_coefficients, differentiable=False)
class_coefficients_p.pending_constant = True

# weighted_sum(x, coef) = sum(where(coef != 0, coef * x, 0), axis): a loss's picked, weighted and
# normalised log-probabilities in one op. `coef` (targets and weights) has no derivative.
weighted_sum_p = Primitive("weighted_sum", jax.jit(_weighted_sum_impl, static_argnames="axis")).defvjp(
    _weighted_sum_rule, None)
