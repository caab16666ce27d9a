"""Closure conversion for bodies that run inside a JAX loop: captured tracers stand in for inputs.

A ``tg.lax.scan`` body (a ``cond`` branch, a ``tg.vmap``-ed function) is the user's Python function.
It may close over tapegrad Tracers: a model's params while ``tg.grad`` differentiates them. The
body runs inside ``jax.lax.scan`` (``jax.lax.cond``, ``jax.vmap``) on plain JAX values, where a
tapegrad Tracer must never appear, and its derivative must reach those captured values.

So the loop primitive takes the captured tracers as explicit inputs (what JAX calls constvars),
and while the body runs, each of them *stands for* the value the loop gives it: every primitive
applied to a captured tracer (``bind``, ``custom_vjp``) sees the stand-in instead. The body is
thus a pure function of (stand-ins, carry, x), run on whatever values the loop supplies: JAX
tracers in the forward pass, a new level's tracers when its VJP is taken.

``discover`` finds the captured tracers: it runs the body once, abstractly, noting every tracer of
a level older than the loop that reaches a primitive. Only tracers that reach primitives count; a
captured tracer the body merely inspects (``.shape``) needs no stand-in.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tapegrad.core.tracer import Tracer, new_level_boundary

active = 0  # open stand-in maps and discoveries, in all threads (read on bind's hot path)
_local = threading.local()  # this thread's maps and discoveries, innermost last


def _maps() -> list[dict[int, Any]]:
    try:
        return _local.maps
    except AttributeError:
        _local.maps, _local.discoveries = [], []
        return _local.maps


def _discoveries() -> list[Discovery]:
    _maps()
    return _local.discoveries


class Discovery:
    """The tracers a body captures, in order of first use (a tracer of a level older than ``boundary``)."""

    def __init__(self) -> None:
        self.boundary = new_level_boundary()
        self.tracers: list[Tracer] = []
        self._seen: set[int] = set()

    def note(self, t: Tracer) -> None:
        if id(t) not in self._seen:
            self._seen.add(id(t))
            self.tracers.append(t)


def substitute(values: tuple) -> tuple:
    """``values`` with every captured tracer replaced by its stand-in (innermost map first)."""
    out = None
    for i, v in enumerate(values):
        if type(v) is not Tracer:
            continue
        new = stand_in(v)
        if new is not v:
            if out is None:
                out = list(values)
            out[i] = new
    return values if out is None else tuple(out)


def stand_in(v: Tracer) -> Any:
    for m in reversed(_maps()):
        s = m.get(id(v))
        if s is not None:
            return s
    for d in reversed(_discoveries()):
        if v.trace.level < d.boundary:
            d.note(v)
            return v.primal()  # the body is being traced abstractly: any value of the right aval does
    return v


@contextmanager
def standing_in(tracers: list[Tracer], values: list[Any]) -> Iterator[None]:
    """While open, each of ``tracers`` reaching a primitive is replaced by the matching ``values``."""
    global active
    maps = _maps()
    maps.append({id(t): v for t, v in zip(tracers, values, strict=True)})
    keep = tracers  # the ids stay valid while the map is open: the tracers are held here
    active += 1
    try:
        yield
    finally:
        active -= 1
        maps.pop()
        del keep


@contextmanager
def discovering() -> Iterator[Discovery]:
    """Note the captured tracers of a body run inside the block (their primals stand in meanwhile)."""
    global active
    d = Discovery()
    ds = _discoveries()
    ds.append(d)
    active += 1
    try:
        yield d
    finally:
        active -= 1
        ds.remove(d)


def call_with_stand_ins(fun: Callable, tracers: list[Tracer], values: list[Any], *args: Any) -> Any:
    """``fun(*args)`` with the captured ``tracers`` standing for ``values``; outputs substituted too."""
    from jax.tree_util import tree_map

    with standing_in(tracers, values):
        out = fun(*args)
        return tree_map(lambda v: stand_in(v) if type(v) is Tracer else v, out)

