"""Operations with no derivative: their results are plain arrays at every level.

The explicit list: comparisons, rounding, sign, argmax and friends, logical
ops. Declared here, so a test can assert that every ``tnp`` name either has a
VJP rule or is on this list.
"""
from __future__ import annotations

import jax.numpy as jnp

from tapegrad.core.primitive import nondifferentiable

equal = nondifferentiable("equal", jnp.equal)
not_equal = nondifferentiable("not_equal", jnp.not_equal)
less = nondifferentiable("less", jnp.less)
less_equal = nondifferentiable("less_equal", jnp.less_equal)
greater = nondifferentiable("greater", jnp.greater)
greater_equal = nondifferentiable("greater_equal", jnp.greater_equal)
floor = nondifferentiable("floor", jnp.floor)
ceil = nondifferentiable("ceil", jnp.ceil)
trunc = nondifferentiable("trunc", jnp.trunc)
rint = nondifferentiable("rint", jnp.rint)
sign = nondifferentiable("sign", jnp.sign)
floor_divide = nondifferentiable("floor_divide", jnp.floor_divide)
isnan = nondifferentiable("isnan", jnp.isnan)
isinf = nondifferentiable("isinf", jnp.isinf)
isfinite = nondifferentiable("isfinite", jnp.isfinite)
logical_and = nondifferentiable("logical_and", jnp.logical_and)
logical_or = nondifferentiable("logical_or", jnp.logical_or)
logical_not = nondifferentiable("logical_not", jnp.logical_not)
logical_xor = nondifferentiable("logical_xor", jnp.logical_xor)
_round = nondifferentiable("round", lambda x, decimals: jnp.round(x, decimals))
_argmax = nondifferentiable("argmax", lambda x, axis, keepdims: jnp.argmax(x, axis=axis, keepdims=keepdims))
_argmin = nondifferentiable("argmin", lambda x, axis, keepdims: jnp.argmin(x, axis=axis, keepdims=keepdims))
_argsort = nondifferentiable("argsort", lambda x, axis, stable, descending: jnp.argsort(
    x, axis=axis, stable=stable, descending=descending))
_allclose = nondifferentiable("allclose", lambda a, b, rtol, atol, equal_nan: jnp.allclose(
    a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
_nonzero = nondifferentiable("nonzero", lambda x: jnp.nonzero(x), multiple_results=True)


def round(x, decimals: int = 0):
    """Round to ``decimals`` places (no derivative)."""
    return _round(x, decimals=decimals)


around = round


def argmax(a, axis=None, keepdims=False):
    """Indices of the maxima (no derivative)."""
    return _argmax(a, axis=axis, keepdims=keepdims)


def argmin(a, axis=None, keepdims=False):
    """Indices of the minima (no derivative)."""
    return _argmin(a, axis=axis, keepdims=keepdims)


def argsort(a, axis=-1, stable=True, descending=False):
    """Indices that sort ``a`` (no derivative)."""
    return _argsort(a, axis=axis, stable=stable, descending=descending)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether all elements are close (no derivative)."""
    return _allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def nonzero(a):
    """Indices of non-zero elements, eager only (no derivative)."""
    return tuple(_nonzero(a))
