"""An optimizer's step on concrete arrays as one compiled XLA call (with lazy segments on).

``step`` is pure jax.numpy over the params, grads and state: run eagerly, every small op of every
leaf is a dispatch of its own (a plain SGD step of the seed MLP costs ~1 ms in dispatches for a few
microseconds of arithmetic). With lazy segments switched on (``tg.config.update("lazy", True)``),
a step whose inputs are all concrete JAX arrays runs as ``jax.jit`` of the same function instead,
cached per optimizer (optimizers are frozen dataclasses: equal hyperparameters share a program).
The numbers are XLA's for the same ops, equal to eager up to float rounding where XLA fuses them.

An optimizer that cannot be hashed (a ``groups`` dict) gets a program of its own, keyed by its
identity and the repr of its hyperparameters (so editing the dict is seen). One that cannot be
traced (a schedule that reads its step with Python ``if``) keeps the eager step; under ``jax.jit``
the step is traced as it always was.
"""
from __future__ import annotations

import functools
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jax

from tapegrad.accel import errors, lazy
from tapegrad.accel.key import ARRAY

_NEVER = object()
_PROGRAMS: OrderedDict = OrderedDict()  # key -> (weak reference to the optimizer, jitted step) (LRU)
_MAX = 64


def _key(opt: Any) -> Any:
    """The optimizer itself where it hashes (equal hyperparameters share a program); else (a
    ``groups`` dict) this very object, as it is now: its identity and its hyperparameters' repr."""
    try:
        hash(opt)
        return opt
    except TypeError:
        return (id(opt), repr(opt))


def run(step: Callable[..., Any], opt: Any, params: Any, grads: Any, state: Any) -> Any:
    """``step(opt, params, grads, state)``, compiled where lazy segments are on and it can be."""
    if not lazy.enabled or not all(type(v) is ARRAY for v in jax.tree_util.tree_leaves((params, grads, state))):
        return step(opt, params, grads, state)
    key = _key(opt)
    entry = _PROGRAMS.get(key)
    if entry is not None and entry[0]() is not opt and type(key) is tuple:  # another object at a reused id
        entry = None
    program = None if entry is None else entry[1]
    if program is _NEVER:
        return step(opt, params, grads, state)
    if program is None:
        program = jax.jit(functools.partial(step, opt))
        _PROGRAMS[key] = (weakref.ref(opt), program)
        while len(_PROGRAMS) > _MAX:
            _PROGRAMS.popitem(last=False)
    try:
        return program(params, grads, state)
    except Exception as e:
        if errors.cannot_be_traced(e):
            _PROGRAMS[key] = (weakref.ref(opt), _NEVER)
        return step(opt, params, grads, state)  # the eager step: its result, or its own error


def clear() -> None:
    _PROGRAMS.clear()
