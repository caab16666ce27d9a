"""Operators and array methods of :class:`~tapegrad.Tracer`, as ordinary tnp calls.

Attached here (not in ``core``) because they are primitives, and the core
knows none. The list is explicit: what a tracer supports is readable below, with jax.Array's
signatures (``tests/test_numpy_more.py`` compares the set with ``dir(jax.Array)``).
"""
from __future__ import annotations

import operator
from typing import Any

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.accel.lazy import LazyArray
from tapegrad.core.primitive import Primitive, bind
from tapegrad.core.tracer import Tracer
from tapegrad.numpy.bitwise import and_p, not_p, or_p, xor_p
from tapegrad.rules.indexing import IndexUpdateHelper


def _swap(f):
    if isinstance(f, Primitive):
        return lambda self, other: bind(f, (other, self), {})
    return lambda self, other: f(other, self)


def _reshape(self, *shape: Any, order: str = "C", out_sharding: Any = None) -> Any:
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


def _view(self, dtype: Any = None, type: Any = None) -> Any:
    if type is not None:
        raise NotImplementedError("Tracer.view: the 'type' argument is not supported (as on jax arrays)")
    if dtype is None or jnp.dtype(dtype) == self.dtype:
        return self
    # A reinterpretation of the bits: its result carries no gradient.
    return jnp.asarray(self.primal()).view(dtype)


def _round_builtin(self, ndigits: int | None = None) -> Any:
    # round(x) rounds to integers (an integer array, without gradient); round(x, n) keeps the dtype.
    return tnp.astype(tnp.round(self), int) if ndigits is None else tnp.round(self, ndigits)


def _all_any(name):
    def method(self, axis=None, out=None, keepdims=False, *, where=None):
        if where is None:
            return getattr(tnp, name)(self, axis=axis, out=out, keepdims=keepdims)
        return getattr(jnp, name)(self.primal(), axis=axis, keepdims=keepdims, where=where)
    return method


def _primal_of(x: Any) -> Any:
    return x.primal() if type(x) is Tracer else x


# Every method of jax.Array that computes something, with jax.Array's signature, as a tnp call (looked
# up when called, so a family registered after this table still serves its method).
METHODS = {
    "__add__": tnp.add, "__radd__": _swap(tnp.add),
    "__sub__": tnp.subtract, "__rsub__": _swap(tnp.subtract),
    "__mul__": tnp.multiply, "__rmul__": _swap(tnp.multiply),
    "__truediv__": tnp.divide, "__rtruediv__": _swap(tnp.divide),
    "__floordiv__": tnp.floor_divide, "__rfloordiv__": _swap(tnp.floor_divide),
    "__mod__": tnp.mod, "__rmod__": _swap(tnp.mod),
    "__divmod__": lambda self, other: (tnp.floor_divide(self, other), tnp.mod(self, other)),
    "__rdivmod__": lambda self, other: (tnp.floor_divide(other, self), tnp.mod(other, self)),
    "__pow__": tnp.power, "__rpow__": _swap(tnp.power),
    "__matmul__": tnp.matmul, "__rmatmul__": _swap(tnp.matmul),
    "__neg__": tnp.negative, "__pos__": lambda self: self, "__abs__": tnp.abs,
    "__round__": _round_builtin,
    # Comparisons give plain boolean arrays: no gradient, usable in Python `if` when eager.
    "__lt__": tnp.less, "__le__": tnp.less_equal, "__gt__": tnp.greater, "__ge__": tnp.greater_equal,
    "__eq__": tnp.equal, "__ne__": tnp.not_equal,
    "__getitem__": tnp.getitem,
    "__iter__": lambda self: (self[i] for i in range(self.shape[0])) if self.ndim else iter_0d(self),
    "__setitem__": _setitem,
    # Reductions and scans.
    "sum": lambda self, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
    promote_integers=True: tnp.sum(self, axis, dtype, out, keepdims, initial, where),
    "prod": lambda self, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
    promote_integers=True: tnp.prod(self, axis, dtype, out, keepdims, initial, where),
    "mean": lambda self, axis=None, dtype=None, out=None, keepdims=False, *, where=None: tnp.mean(
        self, axis, dtype, out, keepdims, where=where),
    "max": lambda self, axis=None, out=None, keepdims=False, initial=None, where=None: tnp.max(
        self, axis, out, keepdims, initial, where),
    "min": lambda self, axis=None, out=None, keepdims=False, initial=None, where=None: tnp.min(
        self, axis, out, keepdims, initial, where),
    "var": lambda self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
    correction=None: tnp.var(self, axis, dtype, out, ddof, keepdims, where=where, correction=correction),
    "std": lambda self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
    correction=None: tnp.std(self, axis, dtype, out, ddof, keepdims, where=where, correction=correction),
    "ptp": lambda self, axis=None, out=None, keepdims=False: tnp.ptp(self, axis, out, keepdims),
    "cumsum": lambda self, axis=None, dtype=None, out=None: tnp.cumsum(self, axis, dtype, out),
    "cumprod": lambda self, axis=None, dtype=None, out=None: tnp.cumprod(self, axis, dtype, out),
    "all": _all_any("all"), "any": _all_any("any"),
    "argmax": lambda self, axis=None, out=None, keepdims=None: tnp.argmax(self, axis, out, bool(keepdims)),
    "argmin": lambda self, axis=None, out=None, keepdims=None: tnp.argmin(self, axis, out, bool(keepdims)),
    "nonzero": lambda self, *, fill_value=None, size=None: tnp.nonzero(self, size=size, fill_value=fill_value),
    # Shape.
    "reshape": _reshape, "transpose": _transpose,
    "astype": lambda self, dtype, copy=False, device=None: tnp.astype(self, dtype),
    "squeeze": lambda self, axis=None: tnp.squeeze(self, axis),
    "flatten": lambda self, order="C", *, out_sharding=None: tnp.ravel(self, order),
    "ravel": lambda self, order="C", *, out_sharding=None: tnp.ravel(self, order),
    "swapaxes": lambda self, axis1, axis2: tnp.swapaxes(self, axis1, axis2),
    "repeat": lambda self, repeats, axis=None, *, total_repeat_length=None, out_sharding=None: tnp.repeat(
        self, repeats, axis, total_repeat_length=total_repeat_length),
    "diagonal": lambda self, offset=0, axis1=0, axis2=1: tnp.diagonal(self, offset, axis1, axis2),
    # No `.trace()` method: `Tracer.trace` is the level a tracer belongs to (use tnp.trace).
    "T": property(lambda self: tnp.transpose(self)),
    "mT": property(lambda self: tnp.matrix_transpose(self)),
    # Selection and order.
    "take": lambda self, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False,
    fill_value=None: tnp.take(self, indices, axis, out, mode, fill_value=fill_value),
    "compress": lambda self, condition, axis=None, *, out=None, size=None, fill_value=0: tnp.compress(
        condition, self, axis, size=size, fill_value=fill_value, out=out),
    "choose": lambda self, choices, out=None, mode="raise": tnp.choose(self, choices, out, mode),
    "sort": lambda self, axis=-1, *, kind=None, order=None, stable=True, descending=False: tnp.sort(
        self, axis, kind=kind, order=order, stable=stable, descending=descending),
    "argsort": lambda self, axis=-1, *, kind=None, order=None, stable=True, descending=False: tnp.argsort(
        self, axis, kind=kind, order=order, stable=stable, descending=descending),
    # Integer results: computed on the values (no gradient), by jax.numpy.
    "argpartition": lambda self, kth, axis=-1: jnp.argpartition(_primal_of(self), kth, axis),
    "searchsorted": lambda self, v, side="left", sorter=None, *, method="scan": jnp.searchsorted(
        _primal_of(self), _primal_of(v), side, _primal_of(sorter), method=method),
    # Elementwise.
    "clip": lambda self, min=None, max=None: tnp.clip(self, min, max),
    "round": lambda self, decimals=0, out=None: tnp.round(self, decimals, out),
    "conj": lambda self: tnp.conj(self), "conjugate": lambda self: tnp.conj(self),
    "real": property(lambda self: tnp.real(self)),
    "imag": property(lambda self: tnp.imag(self)),
    "dot": lambda self, b, *, precision=None, preferred_element_type=None: tnp.dot(
        self, b, precision=precision, preferred_element_type=preferred_element_type),
    "at": property(lambda self: IndexUpdateHelper(self)),
}

# Bitwise and shift operators exist on jax arrays; a tracer is never an integer, so they raise
# jax.numpy's own dtype error (and a pending boolean of the library's rule code takes the same path).
_SHIFTS = {
    "__lshift__": lambda self, other: jnp.left_shift(_primal_of(self), _primal_of(other)),
    "__rlshift__": lambda self, other: jnp.left_shift(_primal_of(other), _primal_of(self)),
    "__rshift__": lambda self, other: jnp.right_shift(_primal_of(self), _primal_of(other)),
    "__rrshift__": lambda self, other: jnp.right_shift(_primal_of(other), _primal_of(self)),
}
METHODS.update(_SHIFTS)

# Concrete reads and queries, as on a jax array: eager only (they read the value, not a gradient).
TRACER_ONLY = {
    "item": lambda self, *args: self.primal().item(*args),
    "tolist": lambda self: self.primal().tolist(),
    "copy": lambda self: self, "__copy__": lambda self: self,  # immutable: a copy is the same value
    "__deepcopy__": lambda self, memo: self,
    "view": _view,
    "__contains__": lambda self, other: tnp.any(tnp.equal(self, other)),
    "__complex__": lambda self: complex(self.primal()),
    "__index__": lambda self: operator.index(self.primal()),
    "flat": property(lambda self: _no_flat()),
    "itemsize": property(lambda self: np.dtype(self.dtype).itemsize),
    "nbytes": property(lambda self: np.dtype(self.dtype).itemsize * self.size),
    "device": property(lambda self: self.primal().device),
    "devices": lambda self: self.primal().devices(),
    "sharding": property(lambda self: self.primal().sharding),
    "block_until_ready": lambda self: (self.primal().block_until_ready(), self)[1],
}


def _no_flat():
    raise NotImplementedError("tapegrad Tracers (like JAX arrays) do not implement .flat: use .flatten()")


def iter_0d(self):
    raise TypeError("iteration over a 0-d tapegrad Tracer")


def _as_method(fn):
    # Primitives are callable objects, not functions: they would not receive `self`.
    # Binding directly skips Primitive.__call__'s frame: operators are the hottest calls of all.
    if isinstance(fn, Primitive):
        return lambda self, *args: bind(fn, (self, *args), {})
    return fn


# Bitwise/logical operators: a tracer is never boolean or integer, but a pending comparison is.
_and, _or, _xor, _invert = and_p, or_p, xor_p, not_p
LAZY_ONLY = {
    "__and__": _and, "__rand__": _swap(_and), "__or__": _or, "__ror__": _swap(_or),
    "__xor__": _xor, "__rxor__": _swap(_xor), "__invert__": _invert,
}
for _name, _fn in LAZY_ONLY.items():
    setattr(LazyArray, _name, _as_method(_fn))

for _name, _fn in LAZY_ONLY.items():
    if _name not in METHODS:
        setattr(Tracer, _name, _as_method(_fn))  # a tracer is inexact: jax.numpy's dtype error
for _name, _fn in TRACER_ONLY.items():
    setattr(Tracer, _name, _as_method(_fn))
for _name, _fn in METHODS.items():
    setattr(Tracer, _name, _as_method(_fn))
    # Pending values (tapegrad.accel.lazy) take the same methods, so rule code on them stays pending;
    # `__setitem__` and the iteration error keep their Tracer wording, and are left out.
    if _name not in ("__setitem__", "__iter__"):
        setattr(LazyArray, _name, _as_method(_fn))
