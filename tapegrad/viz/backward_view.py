"""Record the backward pass of a tape, so that it can be drawn.

VJP rules are tapegrad code, so a backward sweep run under a live trace is
itself recorded, op by op. This module does exactly that, starting from an
already recorded forward tape (no second run of the user's function):

1. Open a fresh outer :class:`~tapegrad.core.tracer.Trace` (the "backward" level).
2. Copy every forward entry, replacing each residual it keeps (an argument or
   output value that its VJP rule reads) by a tracer of the outer level that
   *stands in* for the forward value ``%k``. One stand-in per forward id, so two
   rules reading ``x`` read the same stand-in. Arrays a custom rule keeps in
   its params (``custom_vjp``/``checkpoint`` residuals) are replaced too: by the
   stand-in of the forward value they are (the same object), else by a tracer
   of their own, so a checkpoint's recomputation shows up in the drawing.
3. Seed each forward output with a tracer of the outer level (the cotangent
   ``ones_like(out)``; the graph does not depend on the seed's values).
4. Run the library's own sweep (:func:`tapegrad.core.backward.backward`) over
   the copies. Every op a rule applies to a seed, a cotangent or a stand-in is
   recorded on the outer tape.

The result maps the outer tape back to the forward picture: which outer ids
stand for forward values (edges from forward nodes: the residuals read), which
are seeds, and which forward entry's rule emitted each backward entry.

Example:
    >>> import tapegrad as tg, tapegrad.numpy as tnp
    >>> fwd = tg.make_tape(lambda x: (x * x).sum())(tnp.ones(3))
    >>> bwd = record_backward(fwd)
    >>> [e.prim.name for e in bwd.tape.entries]
    ['reshape', 'broadcast_to', 'multiply', 'multiply', 'add']
"""
from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_map

from tapegrad.core.backward import backward
from tapegrad.core.primitive import INEXACT
from tapegrad.core.tape import Entry, Tape
from tapegrad.core.tracer import Aval, Trace, Tracer


class BackwardRecord:
    """The recorded backward pass of a forward tape.

    Attributes:
        tape: the outer tape; its entries are the backward ops.
        stand_ins: outer id -> forward id of the residual it stands for.
        held: outer id -> index of the forward entry whose params hold that array
            (a ``custom_vjp``'s or ``checkpoint``'s residuals that are not forward values).
        seeds: outer id -> index into the forward tape's ``outputs``.
        origin: for each backward entry, the index of the forward entry whose VJP
            rule emitted it (the cotangent accumulation and unbroadcasting after a
            rule count as that rule's).
        grads: one ``(forward input id, name, value)`` per forward input: the
            gradient, a tracer of the outer tape, a constant, or ``None`` (zero).
    """

    __slots__ = ("tape", "stand_ins", "held", "seeds", "origin", "grads", "trace")

    def __init__(self, trace: Trace, stand_ins: dict[int, int], held: dict[int, int], seeds: dict[int, int],
                 origin: list[int], grads: list[tuple[int, str | None, Any]]) -> None:
        self.trace = trace
        self.tape = trace.tape
        self.stand_ins = stand_ins
        self.held = held
        self.seeds = seeds
        self.origin = origin
        self.grads = grads


class _Watched:
    """A primitive that notes, before its VJP rule runs, where the outer tape stands.

    The sweep reads ``prim.multiple_results`` and calls ``prim.pullback`` (the rule
    plus un-broadcasting; older cores called ``prim.vjp``): both are watched, every
    other attribute is the wrapped primitive's.
    """

    __slots__ = ("_prim", "_k", "_marks", "_tape")

    def __init__(self, prim: Any, k: int, marks: list[tuple[int, int]], tape: Tape) -> None:
        self._prim = prim
        self._k = k
        self._marks = marks
        self._tape = tape

    def __getattr__(self, name: str) -> Any:
        return getattr(self._prim, name)

    def pullback(self, g: Any, entry: Entry) -> Any:
        self._marks.append((len(self._tape.entries), self._k))
        return self._prim.pullback(g, entry)

    def vjp(self, g: Any, entry: Entry) -> Any:
        self._marks.append((len(self._tape.entries), self._k))
        return self._prim.vjp(g, entry)


def _is_value(v: Any) -> bool:
    # A residual is a value the rule reads; Aval placeholders and Python scalars are not.
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, Aval)


def _is_float_value(v: Any) -> bool:
    return _is_value(v) and np.dtype(v.dtype) in INEXACT


class _Recorder:
    """The outer level's inputs: stand-ins for forward values, arrays held in params, seeds."""

    def __init__(self, outer: Trace) -> None:
        self.outer = outer
        self.shadow_of: dict[int, Tracer] = {}  # forward id -> its stand-in
        self.stand_ins: dict[int, int] = {}  # outer id -> forward id
        self.held: dict[int, int] = {}  # outer id -> index of the entry whose params hold it
        self.known: dict[int, int] = {}  # id(array) -> forward id, for residuals found in params

    def stand_in(self, fid: int, value: Any) -> Tracer:
        t = self.shadow_of.get(fid)
        if t is None:
            t = self.shadow_of[fid] = self.outer.new_tracer(value, f"%{fid}")
            self.stand_ins[t.id] = fid
        return t

    def params(self, k: int, params: dict) -> dict:
        """``params`` with their float arrays (a custom rule's residuals) replaced by tracers.

        An array that is a forward value (same object) gets that value's stand-in;
        any other is held by entry ``k`` alone and gets a tracer of its own.
        """
        def swap(leaf: Any) -> Any:
            if not _is_float_value(leaf):
                return leaf
            fid = self.known.get(id(leaf))
            if fid is not None:
                return self.stand_in(fid, leaf)
            t = self.outer.new_tracer(leaf, f"held by entry {k}")
            self.held[t.id] = k
            return t

        changed = None
        for key, v in params.items():
            if isinstance(v, (tuple, list, dict)) or _is_float_value(v):
                new = tree_map(swap, v)
                if new is not v:
                    changed = changed or dict(params)
                    changed[key] = new
        return changed or params


def record_backward(tape: Tape) -> BackwardRecord:
    """Run ``tape``'s backward sweep under a fresh trace and return what it recorded.

    Raises:
        ValueError: the tape was consumed by a backward sweep (its residuals are gone),
            or it has no differentiable output to seed.
    """
    if any(e is None for e in tape.entries):
        raise ValueError("this tape was consumed by a backward sweep (its residuals are freed), so its "
                         "backward pass cannot be drawn; record a fresh one with tg.make_tape(fun)(*args)")
    seeded = [(n, oid, aval) for n, (oid, _, aval) in enumerate(tape.outputs) if oid is not None]
    if not seeded:
        raise ValueError("the tape has no differentiable output to seed, so it has no backward pass")

    marks: list[tuple[int, int]] = []
    seeds: dict[int, int] = {}
    with Trace() as outer:
        rec = _Recorder(outer)
        for e in tape.entries:  # which arrays are forward values, to recognise them in params
            for i, a in zip(e.in_ids, e.args, strict=True):
                if i is not None and _is_value(a):
                    rec.known[id(a)] = i
            if e.out is not None:
                outs = e.out if e.prim.multiple_results else (e.out,)
                for i, o in zip(e.out_ids, outs, strict=True):
                    if i is not None:
                        rec.known[id(o)] = i

        shadow = Tape()
        shadow.inputs = tape.inputs
        for k, e in enumerate(tape.entries):
            args = tuple(rec.stand_in(i, a) if i is not None and _is_value(a) else a
                         for i, a in zip(e.in_ids, e.args, strict=True))
            out = e.out
            if out is not None:
                if e.prim.multiple_results:
                    out = type(out)(o if i is None else rec.stand_in(i, o)
                                    for i, o in zip(e.out_ids, out, strict=True))
                elif e.out_ids[0] is not None:
                    out = rec.stand_in(e.out_ids[0], out)
            params = rec.params(k, e.params) if e.params else e.params
            shadow.entries.append(Entry(_Watched(e.prim, k, marks, outer.tape), e.in_ids, e.out_ids, args,
                                        out, params, e.out_avals, e.where))

        seed_cts: dict[int, Any] = {}
        for n, oid, (shape, dtype) in seeded:
            if oid in seed_cts:  # the same value returned twice: one seed is enough to draw it
                continue
            t = outer.new_tracer(jnp.ones(shape, dtype), f"seed {n}")
            seeds[t.id] = n
            seed_cts[oid] = t
        cts = backward(shadow, seed_cts, consume=False)
        grads = [(iid, name, cts.get(iid)) for iid, name, _ in tape.inputs]

    # Backward entry j was emitted by the rule of the last mark at or before j.
    n_entries = len(outer.tape.entries)
    origin: list[int] = [-1] * (marks[0][0] if marks else n_entries)
    for m, (start, k) in enumerate(marks):
        stop = marks[m + 1][0] if m + 1 < len(marks) else n_entries
        origin.extend([k] * (stop - start))
    return BackwardRecord(outer, rec.stand_ins, rec.held, seeds, origin, grads)
