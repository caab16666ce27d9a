"""Whole backward sweeps as one compiled XLA call.

An eager training loop records a tape of the same structure every step: the same primitives,
ids, shapes and constants; only the array values differ. The sweep of such a tape (the ordinary
interpreted loop of :func:`tapegrad.core.backward.sweep`, rules and un-broadcasting included)
can be traced by ``jax.jit`` as a function of the seeds and the residual arrays and replayed as
one call per step instead of one or more dispatches per entry. The numbers are the interpreted
sweep's (XLA may fuse across entries, as it does under ``jax.jit``). When to compile is the
policy's decision (:mod:`tapegrad.accel.policy`), the key is :func:`tapegrad.accel.key.entry_key`.

Tapes that cannot be keyed exactly (NumPy or outer-level values, unkeyable params) or that hold
more than ``MAX_ENTRIES`` entries (compile time grows with the program) are interpreted.
"""
from __future__ import annotations

from typing import Any

import jax

from tapegrad.accel import errors
from tapegrad.accel.key import ARRAY, Unkeyable, array_key, entry_key, family
from tapegrad.accel.policy import NEVER, Family, Policy, Slot, now
from tapegrad.core.backward import sweep
from tapegrad.core.tape import Entry

MAX_ENTRIES = 2000
# Measured on a 2-core CPU (jax 0.10): ~0.1 s for a 45-entry MLP sweep, ~1 ms per further entry.
POLICY = Policy(base=0.05, per_unit=1e-3, slots=64, families=64)


def accelerated_sweep(entries: list, seeds: dict[int, Any], consume: bool, pullback: Any) -> dict[int, Any]:
    """The cotangents of ``entries`` given ``seeds``: compiled when the policy says so, else interpreted."""
    if len(entries) <= MAX_ENTRIES:
        try:
            dyn: list[Any] = []
            key = _sweep_key(entries, seeds, dyn)
            hash(key)
        except (Unkeyable, TypeError):
            key = None
        if key is not None:
            cts = _run(key, entries, seeds, dyn, consume, pullback)
            if cts is not None:
                return cts
    return sweep(entries, seeds, consume, pullback=pullback)


def _sweep_key(entries: list, seeds: dict[int, Any], dyn: list) -> tuple:
    key: list[Any] = []
    for i, g in seeds.items():
        dyn.append(g)
        key.append((i, array_key(g)))
    key.append(None)
    for e in entries:
        if e is None:
            raise Unkeyable("a consumed tape")
        key.append(entry_key(e, dyn))
    return tuple(key)


def _run(key: tuple, entries: list, seeds: dict, dyn: list, consume: bool, pullback: Any) -> dict | None:
    slot = POLICY.slots.slot(key, Slot)
    program = slot.program
    if program is NEVER:
        return None
    if program is None:
        fam = POLICY.families.slot(family(key), Family)
        if not POLICY.should_compile(slot, fam, len(entries)):
            t0 = now()
            cts = sweep(entries, seeds, consume, pullback=pullback)
            POLICY.interpreted(slot, fam, now() - t0)
            return cts
        program = _compile(entries, list(seeds))
        t0 = now()
        cts = _call(slot, program, dyn)
        if cts is not None:
            slot.program = program
            POLICY.compiled(fam, now() - t0, len(entries))
    else:
        cts = _call(slot, program, dyn)
    if cts is not None and consume:
        entries[:] = [None] * len(entries)  # consumed as the interpreted sweep leaves it (listings count them)
    return cts


def _call(slot: Slot, program: Any, dyn: list) -> dict | None:
    try:
        return program(*dyn)
    except Exception as e:
        if errors.cannot_be_traced(e):
            slot.program = NEVER  # a rule reads a value with NumPy: this structure is interpreted for good
        # Anything else falls back for this call only: the interpreted sweep raises a real error itself.
        return None


def _compile(entries: list, seed_ids: list[int]) -> Any:
    """A jitted sweep for tapes shaped like ``entries``, built from their structure only."""
    # Copy out the structure: closing over the entries would keep this step's residuals alive.
    plan = []
    for e in entries:
        consts = tuple(None if type(a) is ARRAY else a for a in e.args)
        n_out = 0 if e.out is None else (len(e.out) if e.prim.multiple_results else 1)
        plan.append((e.prim, e.in_ids, e.out_ids, consts, n_out, e.params, e.out_avals))

    def run(*dyn: Any) -> dict[int, Any]:
        it = iter(dyn)
        seeds = {i: next(it) for i in seed_ids}
        rebuilt = []
        for prim, in_ids, out_ids, consts, n_out, params, out_avals in plan:
            args = tuple(next(it) if c is None else c for c in consts)
            if n_out == 0:
                out = None
            elif prim.multiple_results:
                out = tuple(next(it) for _ in range(n_out))
            else:
                out = next(it)
            rebuilt.append(Entry(prim, in_ids, out_ids, args, out, params, out_avals, ()))
        return sweep(rebuilt, seeds, consume=False)

    return jax.jit(run)


def clear() -> None:
    POLICY.clear()
