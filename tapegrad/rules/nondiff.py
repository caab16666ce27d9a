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
signbit = nondifferentiable("signbit", jnp.signbit)
# Piecewise constant in both arguments: jax.vjp gives zero as well.
floor_divide = nondifferentiable("floor_divide", jnp.floor_divide)
isnan = nondifferentiable("isnan", jnp.isnan)
isinf = nondifferentiable("isinf", jnp.isinf)
isposinf = nondifferentiable("isposinf", jnp.isposinf)
isneginf = nondifferentiable("isneginf", jnp.isneginf)
isfinite = nondifferentiable("isfinite", jnp.isfinite)
logical_and = nondifferentiable("logical_and", jnp.logical_and)
logical_or = nondifferentiable("logical_or", jnp.logical_or)
logical_not = nondifferentiable("logical_not", jnp.logical_not)
logical_xor = nondifferentiable("logical_xor", jnp.logical_xor)
_round = nondifferentiable("round", lambda x, decimals: jnp.round(x, decimals))
_all = nondifferentiable("all", lambda x, axis, keepdims: jnp.all(x, axis=axis, keepdims=keepdims))
_any = nondifferentiable("any", lambda x, axis, keepdims: jnp.any(x, axis=axis, keepdims=keepdims))
_count_nonzero = nondifferentiable("count_nonzero", lambda x, axis, keepdims: jnp.count_nonzero(
    x, axis=axis, keepdims=keepdims))
_isclose = nondifferentiable("isclose", lambda a, b, rtol, atol, equal_nan: jnp.isclose(
    a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
_array_equal = nondifferentiable("array_equal", lambda a, b, equal_nan: jnp.array_equal(
    a, b, equal_nan=equal_nan))
_argmax = nondifferentiable("argmax", lambda x, axis, keepdims: jnp.argmax(x, axis=axis, keepdims=keepdims))
_argmin = nondifferentiable("argmin", lambda x, axis, keepdims: jnp.argmin(x, axis=axis, keepdims=keepdims))
_argsort = nondifferentiable("argsort", lambda x, axis, stable, descending: jnp.argsort(
    x, axis=axis, stable=stable, descending=descending))
_allclose = nondifferentiable("allclose", lambda a, b, rtol, atol, equal_nan: jnp.allclose(
    a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
_nonzero = nondifferentiable("nonzero", lambda x: jnp.nonzero(x), multiple_results=True)


def round(a, decimals: int = 0, out=None):
    """Round to ``decimals`` places (no derivative)."""
    _no_out("round", out)
    return _round(a, decimals=int(decimals))


around = round


def argmax(a, axis=None, out=None, keepdims=False):
    """Indices of the maxima (no derivative)."""
    _no_out("argmax", out)
    return _argmax(a, axis=_axis(axis), keepdims=bool(keepdims))


def argmin(a, axis=None, out=None, keepdims=False):
    """Indices of the minima (no derivative)."""
    _no_out("argmin", out)
    return _argmin(a, axis=_axis(axis), keepdims=bool(keepdims))


def argsort(a, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    """Indices that sort ``a`` (no derivative)."""
    if order is not None:
        raise NotImplementedError("tnp.argsort: 'order' (structured arrays) is not supported")
    return _argsort(a, axis=_axis(axis), stable=stable, descending=descending)


def all(a, axis=None, out=None, keepdims=False):
    """Whether all elements along ``axis`` are true (no derivative)."""
    _no_out("all", out)
    return _all(a, axis=_axis(axis), keepdims=bool(keepdims))


def any(a, axis=None, out=None, keepdims=False):
    """Whether any element along ``axis`` is true (no derivative)."""
    _no_out("any", out)
    return _any(a, axis=_axis(axis), keepdims=bool(keepdims))


def count_nonzero(a, axis=None, keepdims=False):
    """Number of non-zero elements along ``axis`` (no derivative)."""
    return _count_nonzero(a, axis=_axis(axis), keepdims=bool(keepdims))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether all elements are close (no derivative)."""
    return _allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (no derivative)."""
    return _isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def array_equal(a1, a2, equal_nan=False):
    """Whether two arrays have the same shape and elements (no derivative)."""
    return _array_equal(a1, a2, equal_nan=equal_nan)


def nonzero(a, *, size=None, fill_value=None):
    """Indices of non-zero elements (no derivative); ``size`` makes it usable under jit."""
    if size is not None or fill_value is not None:
        return tuple(_nonzero_sized(a, size=size, fill_value=fill_value))
    return tuple(_nonzero(a))


_nonzero_sized = nondifferentiable("nonzero_sized", lambda x, size, fill_value: jnp.nonzero(
    x, size=size, fill_value=fill_value), multiple_results=True)


def _axis(axis):
    # Params must be hashable: lists become tuples.
    return tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else axis


def _no_out(name, out):
    if out is not None:
        raise NotImplementedError(f"tnp.{name}: the 'out' argument is not supported (arrays are immutable)")
