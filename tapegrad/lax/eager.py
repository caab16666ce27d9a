"""Eager loops compile once per structure, not once per call.

A control-flow primitive's forward runs ``jax.lax.scan`` (``switch``, ``while_loop``, ``vmap``) on
a body freshly closed for this call. Run eagerly, JAX compiles such a loop on every call: its
compilation cache compares loop bodies by identity, and the body is new each time. An eager RNN
step then costs a full XLA compile of its forward and backward loops (hundreds of ms).

:func:`compiled_once` wraps a primitive's impl. On concrete arrays it traces the impl to a jaxpr
(the Python tracing the loop costs anyway), and runs that jaxpr through a ``jax.jit`` kept per
*printed* jaxpr: the text names every equation, its params and every sub-jaxpr, shape and dtype,
and the jaxpr's captured constants are passed as arguments (so their values are never part of the
key and never baked in). Two calls share a compiled program exactly when they are the same program.
Under a JAX trace (``jax.jit``, ``jax.vmap``) the impl runs as it is: the outer trace compiles it.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jax
from jax.tree_util import tree_flatten, tree_unflatten

MAX_PROGRAMS = 64  # distinct loop programs kept compiled (LRU)

_programs: OrderedDict[Any, Callable] = OrderedDict()
_lock = threading.Lock()
enabled = True


def _concrete(args: tuple) -> bool:
    return not any(isinstance(a, jax.core.Tracer) for a in args)


def _aval(x: Any) -> tuple:
    return tuple(jax.numpy.shape(x)), str(jax.numpy.result_type(x)), bool(getattr(x, "weak_type", False))


def compiled_once(impl: Callable) -> Callable:
    """``impl(*arrays, **params)``, compiled once per distinct program when called on concrete arrays."""

    @functools.wraps(impl)
    def run(*args: Any, **params: Any) -> Any:
        if not enabled or not _concrete(args):
            return impl(*args, **params)
        closed, shape = jax.make_jaxpr(lambda *a: impl(*a, **params), return_shape=True)(*args)
        consts = list(closed.consts)
        key = (str(closed.jaxpr), *(_aval(c) for c in consts), None, *(_aval(a) for a in args))
        with _lock:
            program = _programs.get(key)
            if program is None:
                program = _programs[key] = jax.jit(functools.partial(jax.core.eval_jaxpr, closed.jaxpr))
                while len(_programs) > MAX_PROGRAMS:
                    _programs.popitem(last=False)
            else:
                _programs.move_to_end(key)
        flat = program(consts, *args)
        return tree_unflatten(tree_flatten(shape)[1], flat)

    return run


def clear() -> None:
    """Forget every compiled loop program."""
    with _lock:
        _programs.clear()


def cache_size() -> int:
    return len(_programs)
