"""Tracers and levels.

A :class:`Tracer` carries ``(value, trace, id)``. Its ``value`` is a JAX array
or, when transforms nest, a tracer of an outer (lower) level. Each transform
call opens a :class:`Trace` with a fresh level number, higher than every live
one. A primitive applied to tracers of several levels records on the innermost
(highest) level only; that single rule gives higher-order derivatives and
prevents perturbation confusion.

The stack of open traces is thread-local, so threads differentiate
independently.
"""
from __future__ import annotations

import itertools
import os
import sys
import threading
from typing import Any

import jax

from tapegrad.core.tape import Aval, Tape

_levels = itertools.count(1)  # next() on a count is atomic under the GIL
_local = threading.local()


_lazy_type: type | None = None  # pending values (tapegrad.accel.lazy): computed when read


def set_lazy_type(t: type | None) -> None:
    global _lazy_type
    _lazy_type = t


def new_level_boundary() -> int:
    """A level number above every trace that exists now and below every trace made later."""
    return next(_levels)


def trace_stack() -> list[Trace]:
    """This thread's open traces, outermost first."""
    try:
        return _local.stack
    except AttributeError:
        _local.stack = []
        return _local.stack


class Trace:
    """One level of differentiation: a level number and the tape it records on."""

    __slots__ = ("level", "tape", "alive", "_next_id")

    def __init__(self) -> None:
        self.level = next(_levels)
        self.tape = Tape()
        self.alive = True
        self._next_id = 0

    def new_id(self) -> int:
        i = self._next_id
        self._next_id = i + 1
        return i

    def new_tracer(self, value: Any, name: str | None = None) -> Tracer:
        """A tracer for a transform's input: a leaf of the tape."""
        t = Tracer(value, self, self.new_id())
        self.tape.inputs.append((t.id, name, _aval(value)))
        return t

    def __enter__(self) -> Trace:
        trace_stack().append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.alive = False
        stack = trace_stack()
        # Normally the top; a generator or an error can leave it elsewhere.
        if stack and stack[-1] is self:
            stack.pop()
        elif self in stack:
            stack.remove(self)


# JAX's control flow and transforms, by the code name of their frames, and tapegrad's spelling.
_JAX_TRANSFORMS = {"scan": "tg.lax.scan", "cond": "tg.lax.cond", "switch": "tg.lax.switch",
                   "fori_loop": "tg.lax.fori_loop", "while_loop": "tg.lax.while_loop", "map": "tg.lax.map",
                   "vmap_f": "tg.vmap", "fun_remat": "tg.checkpoint", "remat": "tg.checkpoint",
                   "checkpoint": "tg.checkpoint"}
_JAX_DIR = os.path.dirname(os.path.abspath(jax.__file__)) + os.sep


def _enclosing_jax_transform() -> str | None:
    """The tapegrad spelling of the outermost JAX loop/transform on the stack (e.g. 'tg.lax.scan')."""
    found = None
    f = sys._getframe(1)
    while f is not None:
        if f.f_code.co_filename.startswith(_JAX_DIR) and f.f_code.co_name in _JAX_TRANSFORMS:
            found = _JAX_TRANSFORMS[f.f_code.co_name]
        f = f.f_back
    return found


def _hint() -> str:
    spelled = _enclosing_jax_transform()
    if spelled is not None:
        return (f"; JAX's control flow and transforms cannot carry tapegrad values: use {spelled} (tg.lax.scan, "
                "tg.lax.cond, tg.lax.switch, tg.lax.fori_loop, tg.lax.while_loop, tg.lax.map, tg.vmap, "
                "tg.checkpoint), or differentiate through JAX's with tg.from_jax(fun)")
    return ""


class _TracerMeta(type):
    # JAX's own errors print `type(x)` when a tracer reaches plain jax.numpy;
    # this makes every one of those messages point the user to tnp (or tg.lax, inside a JAX loop).
    def __repr__(cls) -> str:
        return (
            "<class 'tapegrad.Tracer'> (a tapegrad Tracer reached plain jax.numpy/numpy, which would "
            "lose its gradient: call the same function from tapegrad.numpy, e.g. "
            "`import tapegrad.numpy as tnp; tnp.sin(x)`, or wrap a JAX function you cannot port, "
            f"`tg.from_jax(fun)(x)`{_hint()})"
        )


class Tracer(metaclass=_TracerMeta):
    """A value being differentiated: ``(value, level, id)``.

    Operators, indexing and the array methods are attached by
    ``tapegrad.numpy`` (they are ordinary primitives).
    """

    __slots__ = ("value", "trace", "id", "__weakref__")
    # No __array_ufunc__: with a higher priority NumPy's operators defer to our
    # reflected ones (`np_array * tracer` works), while NumPy *functions* call
    # __array__ below and get an error pointing to tnp.
    __array_priority__ = 1000

    def __init__(self, value: Any, trace: Trace, id: int) -> None:
        self.value = value
        self.trace = trace
        self.id = id

    @property
    def level(self) -> int:
        return self.trace.level

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    def __len__(self) -> int:
        return len(self.value)

    __hash__ = object.__hash__

    def primal(self) -> Any:
        """The raw JAX array underneath every level (no gradient); a pending value is computed."""
        v = self.value
        while type(v) is Tracer:
            v = v.value
        if type(v) is _lazy_type:
            v = v.force()
        return v

    # Concrete conversions are explicit escapes from differentiation, as
    # PyTorch's `.item()`: they work in eager mode only.
    def __float__(self) -> float:
        return float(self.primal())

    def __int__(self) -> int:
        return int(self.primal())

    def __bool__(self) -> bool:
        return bool(self.primal())

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"A tapegrad Tracer of shape {self.shape} and dtype {self.dtype} was converted to a NumPy "
            "array, which would silently drop its gradient. Use the tapegrad.numpy (tnp) function "
            "instead; for a JAX function tapegrad does not mirror (an optax loss, a Flax model, your "
            "own jitted helper) wrap it with tg.from_jax(fun), whose derivatives come from JAX; or "
            f"tg.stop_gradient(x) if you mean to drop the gradient{_hint()}."
        )

    def __repr__(self) -> str:
        return f"Tracer(level={self.level}, id=%{self.id}, value={self.value!r})"


def _aval(value: Any) -> Aval:
    return Aval(tuple(value.shape), value.dtype)
