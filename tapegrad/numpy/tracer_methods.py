"""Operators and array methods of :class:`~tapegrad.Tracer`, as ordinary tnp calls.

Attached here (not in ``core``) because they are primitives, and the core
knows none. The list is explicit: what a tracer supports is readable below.
"""
from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.accel.lazy import LazyArray
from tapegrad.core.primitive import Primitive, nondifferentiable
from tapegrad.core.tracer import Tracer
from tapegrad.rules.indexing import IndexUpdateHelper


def _swap(f):
    return lambda self, other: f(other, self)


def _reduce(name):
    # Looked up at call time: the reductions family registers after this table.
    def method(self, axis=None, keepdims=False, **kw):
        return getattr(tnp, name)(self, axis=axis, keepdims=keepdims, **kw)
    return method


def _reshape(self, *shape: Any, order: str = "C") -> Any:
    # x.reshape(2, -1) and x.reshape((2, -1)) both work, as on jax arrays.
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tnp.reshape(self, shape, order)


def _transpose(self, *axes: Any) -> Any:
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = axes[0]
    return tnp.transpose(self, axes or None)


def _setitem(self, idx: Any, value: Any) -> None:
    raise TypeError("tapegrad Tracers are immutable (like JAX arrays): instead of `x[idx] = y` write "
                    "`x = x.at[idx].set(y)` (or .add / .multiply)")


METHODS = {
    "__add__": tnp.add, "__radd__": _swap(tnp.add),
    "__sub__": tnp.subtract, "__rsub__": _swap(tnp.subtract),
    "__mul__": tnp.multiply, "__rmul__": _swap(tnp.multiply),
    "__truediv__": tnp.divide, "__rtruediv__": _swap(tnp.divide),
    "__floordiv__": tnp.floor_divide, "__rfloordiv__": _swap(tnp.floor_divide),
    "__mod__": tnp.mod, "__rmod__": _swap(tnp.mod),
    "__pow__": tnp.power, "__rpow__": _swap(tnp.power),
    "__matmul__": tnp.matmul, "__rmatmul__": _swap(tnp.matmul),
    "__neg__": tnp.negative, "__pos__": lambda self: self, "__abs__": tnp.abs,
    # Comparisons give plain boolean arrays: no gradient, usable in Python `if` when eager.
    "__lt__": tnp.less, "__le__": tnp.less_equal, "__gt__": tnp.greater, "__ge__": tnp.greater_equal,
    "__eq__": tnp.equal, "__ne__": tnp.not_equal,
    "__getitem__": tnp.getitem,
    "__iter__": lambda self: (self[i] for i in range(self.shape[0])) if self.ndim else iter_0d(self),
    "sum": _reduce("sum"), "mean": _reduce("mean"), "max": _reduce("max"), "min": _reduce("min"),
    "prod": _reduce("prod"), "var": _reduce("var"), "std": _reduce("std"),
    "argmax": lambda self, axis=None, keepdims=False: tnp.argmax(self, axis=axis, keepdims=keepdims),
    "argmin": lambda self, axis=None, keepdims=False: tnp.argmin(self, axis=axis, keepdims=keepdims),
    "__setitem__": _setitem,
    "reshape": _reshape, "transpose": _transpose,
    "astype": lambda self, dtype, copy=False: tnp.astype(self, dtype),
    "squeeze": lambda self, axis=None: tnp.squeeze(self, axis),
    "flatten": lambda self, order="C": tnp.ravel(self, order),
    "ravel": lambda self, order="C": tnp.ravel(self, order),
    "swapaxes": lambda self, a, b: tnp.swapaxes(self, a, b),
    "take": lambda self, indices, axis=None, mode=None, fill_value=None: tnp.take(
        self, indices, axis, mode=mode, fill_value=fill_value),
    "repeat": lambda self, repeats, axis=None, *, total_repeat_length=None: tnp.repeat(
        self, repeats, axis, total_repeat_length=total_repeat_length),
    "sort": lambda self, axis=-1, *, stable=True, descending=False: tnp.sort(
        self, axis, stable=stable, descending=descending),
    "argsort": lambda self, axis=-1, *, stable=True, descending=False: tnp.argsort(
        self, axis, stable=stable, descending=descending),
    "diagonal": lambda self, offset=0, axis1=0, axis2=1: tnp.diagonal(self, offset, axis1, axis2),
    # No `.trace()` method: `Tracer.trace` is the level a tracer belongs to (use tnp.trace).
    "clip": lambda self, min=None, max=None: tnp.clip(self, min, max),
    "dot": lambda self, other: tnp.dot(self, other),
    "T": property(lambda self: tnp.transpose(self)),
    "mT": property(lambda self: tnp.matrix_transpose(self)),
    "at": property(lambda self: IndexUpdateHelper(self)),
}


def iter_0d(self):
    raise TypeError("iteration over a 0-d tapegrad Tracer")


def _as_method(fn):
    # Primitives are callable objects, not functions: they would not receive `self`.
    if isinstance(fn, Primitive):
        return lambda self, *args: fn(self, *args)
    return fn


# Bitwise/logical operators: a tracer is never boolean or integer, but a pending comparison is.
_and = nondifferentiable("bitwise_and", jnp.bitwise_and)
_or = nondifferentiable("bitwise_or", jnp.bitwise_or)
_xor = nondifferentiable("bitwise_xor", jnp.bitwise_xor)
_invert = nondifferentiable("invert", jnp.invert)
LAZY_ONLY = {
    "__and__": _and, "__rand__": _swap(_and), "__or__": _or, "__ror__": _swap(_or),
    "__xor__": _xor, "__rxor__": _swap(_xor), "__invert__": _invert,
}
for _name, _fn in LAZY_ONLY.items():
    setattr(LazyArray, _name, _as_method(_fn))

for _name, _fn in METHODS.items():
    setattr(Tracer, _name, _as_method(_fn))
    # Pending values (tapegrad.accel.lazy) take the same methods, so rule code on them stays pending;
    # `__setitem__` and the iteration error keep their Tracer wording, and are left out.
    if _name not in ("__setitem__", "__iter__"):
        setattr(LazyArray, _name, _as_method(_fn))
