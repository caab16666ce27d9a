"""A gradient whose forward is still pending runs forward and backward as one compiled program.

With lazy segments (:mod:`tapegrad.accel.lazy`) the forward pass of ``tg.grad(f)(x)`` is recorded,
not run: when the transform asks for its backward sweep, the thread's segment holds the whole tape.
Then the program that replays the segment, rebuilds the tape's entries from the replayed values and
runs the ordinary sweep over them (``core.backward.sweep``: the same rules, in the same order) is
traced once by ``jax.jit`` and replayed for every later call of the same structure. A recurring
training step then costs its recording (Python, ~3-5 us per op) and one XLA call: no rule's Python
runs, no residual is ever materialised, and nothing is dispatched op by op.

The program's key is the segment's final :class:`~tapegrad.accel.lazy.State` (which already says
everything the forward depends on, tape ids included), the seeds' shapes and dtypes, and the tape's
input ids; the pending values still referenced elsewhere (the output, an aux value) are its extra
outputs. When to compile is the policy's decision (:mod:`tapegrad.accel.policy`), as for the other
compiled programs; until it pays, and for tapes the segment does not hold whole (a value was read
mid-forward, nested levels, ``debug_nans``), the forward runs as a segment and the backward sweep as
it does eagerly.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from tapegrad.accel import errors, lazy, segment_program
from tapegrad.accel.key import ARRAY, Unkeyable, array_key
from tapegrad.accel.lazy import LazyArray
from tapegrad.accel.policy import NEVER, Family, Policy, Slot, now
from tapegrad.core import debug
from tapegrad.core.backward import sweep
from tapegrad.core.tape import Entry, Tape

Sweep = Callable[[list, dict, bool], dict]
# Measured on a 2-core CPU (jax 0.10): ~0.09 s for a 91-op chain's program (91 nodes, 91 entries).
POLICY = Policy(base=0.05, per_unit=5e-4, slots=128, families=128, repeat=20)


class FusedSlot(Slot):
    """A structure's compiled programs (one per set of live outputs) and the plan they are built from."""

    __slots__ = ("plan", "programs")

    def __init__(self) -> None:
        super().__init__()
        self.plan: Any = None
        self.programs: dict[tuple, Any] = {}


def backward(tape: Tape, seeds: dict[int, Any], consume: bool, fallback: Sweep) -> dict[int, Any]:
    """The cotangents of ``tape``'s inputs: fused with its pending forward where that pays, else the
    forward run as a segment and ``fallback(entries, seeds, consume)`` (the eager sweep)."""
    seg = lazy.segment()
    if consume and not debug.active and seg.tape is tape and seg.first == 0 \
            and seg.recorded == len(tape.entries) and tape.entries:
        try:
            # The trie's keys hold tape ids relative to the segment's base; with the base, the seeds'
            # and the inputs' ids, equal keys mean equal tapes, absolute ids included.
            key = (seg.state, tuple((i, array_key(g)) for i, g in seeds.items()),
                   tuple(i for i, _, _ in tape.inputs), seg.base)
            slot = POLICY.slots.slot(key, FusedSlot)
        except Unkeyable:
            slot = None
        if slot is not None and slot.program is not NEVER:
            if slot.plan is None:
                fam = POLICY.families.slot(("grad", segment_program.family_of(seg.keys), key[1:]), Family)
                units = len(seg.nodes) + len(tape.entries)
                if not segment_program.compile_now(POLICY, slot, fam, units, 2 * seg.new_ops):
                    t0 = now()
                    cts = _eager(tape, seeds, consume, fallback)
                    POLICY.interpreted(slot, fam, now() - t0)
                    return cts
                slot.plan = _plan(seg, tape, seeds)
                t0 = now()
                cts = _run(slot, seg, tape, seeds)
                POLICY.compiled(fam, now() - t0, units)
                return cts
            return _run(slot, seg, tape, seeds)
    return _eager(tape, seeds, consume, fallback)


def _eager(tape: Tape, seeds: dict, consume: bool, fallback: Sweep) -> dict:
    lazy.settle(tape.entries)
    return fallback(tape.entries, seeds, consume)


def _plan(seg: lazy.Segment, tape: Tape, seeds: dict) -> tuple:
    """Everything the program needs, from the structure only (no array, so no step outlives itself)."""
    position = {id(a): k for k, a in enumerate(seg.inputs)}

    def spec(v: Any) -> tuple:
        t = type(v)
        if t is LazyArray:
            if v.value is None:
                return ("n", v.pos, v.index)
            v = v.value
            t = ARRAY
        if t is ARRAY:
            return ("in", position[id(v)])
        return ("c", v)

    entries = []
    for e in tape.entries:
        out = e.out
        out_spec = None if out is None else tuple(spec(o) for o in out) if e.prim.multiple_results else spec(out)
        # An index array among the params is the program's input, never a baked-in constant.
        params = segment_program.params_template(e.params, lambda v: segment_program.Input(spec(v)))
        entries.append((e.prim, e.in_ids, e.out_ids, tuple(spec(a) for a in e.args), out_spec,
                        (params, params is not e.params), e.out_avals))
    return (segment_program.forward_plan(seg.nodes), entries, len(seg.inputs), tuple(seeds),
            tuple(i for i, _, _ in tape.inputs))


def _function(plan: tuple, wanted: tuple) -> Callable[..., tuple]:
    """The fused program, unjitted: (inputs..., seeds...) -> (wanted pending values, input cotangents)."""
    forward, entries, n_inputs, seed_ids, input_ids = plan

    def program(*dyn: Any) -> tuple:
        inputs = dyn[:n_inputs]
        results = segment_program.replay(forward, inputs)

        def value(s: tuple) -> Any:
            kind = s[0]
            return results[s[1]][s[2]] if kind == "n" else inputs[s[1]] if kind == "in" else s[1]

        rebuilt = [Entry(prim, in_ids, out_ids, tuple(value(s) for s in args),
                         None if out is None else tuple(value(s) for s in out) if prim.multiple_results
                         else value(out), segment_program.fill_params(params, value) if takes_inputs else params,
                         out_avals, ())
                   for prim, in_ids, out_ids, args, out, (params, takes_inputs), out_avals in entries]
        cts = sweep(rebuilt, dict(zip(seed_ids, dyn[n_inputs:])))
        return [results[k][i] for k, i in wanted], [cts.get(i) for i in input_ids]

    return program


def _run(slot: FusedSlot, seg: lazy.Segment, tape: Tape, seeds: dict) -> dict:
    """One call of the fused program. The tape is consumed: its residuals are never materialised."""
    plan = slot.plan
    nodes, inputs, _, _, _ = seg.take("with the backward sweep, as one program")
    tape.entries[:] = [None] * len(tape.entries)  # consumed, as the sweep consumes: each entry dropped
    live = segment_program.live_outputs(nodes)
    wanted = tuple((k, i) for k, i, _ in live)
    program = slot.programs.get(wanted)
    if program is None:
        program = slot.programs[wanted] = jax.jit(_function(plan, wanted))
    try:
        values, cts = program(*inputs, *seeds.values())
    except Exception as e:
        if errors.cannot_be_traced(e):  # a rule reads a value with NumPy: this structure runs eagerly
            slot.program = NEVER
        # The same ops, dispatched one by one: the values, or the error eager mode raises.
        values, cts = _function(plan, wanted)(*inputs, *seeds.values())
    for (_, _, o), v in zip(live, values):
        o.value = v
    return {i: g for i, g in zip(plan[4], cts) if g is not None}


def clear() -> None:
    POLICY.clear()
