"""One VJP rule, with the un-broadcasting after it, as one compiled XLA call.

A rule is ordinary tapegrad code: several small jax.numpy calls, each a dispatch of its own when
run eagerly (``maximum``'s rule is five). When no outer level is live its inputs are plain JAX
arrays, so the rule can be traced by ``jax.jit`` once and replayed as a single call. This serves
the sweeps that are not compiled whole (long tapes, structures that vary); when to compile is the
policy's decision, with one rule as the unit.
"""
from __future__ import annotations

from typing import Any

import jax

from tapegrad.accel import errors
from tapegrad.accel.key import ARRAY, Unkeyable, array_key, entry_key, family
from tapegrad.accel.policy import NEVER, Family, Policy, Slot, now
from tapegrad.core.tape import Entry

# Measured on a 2-core CPU (jax 0.10): compiling a small rule costs ~20-30 ms.
POLICY = Policy(base=0.025, per_unit=0.0, slots=1024, families=256)
_INTERPRET = object()  # a rule of no op (g passes through): a compiled call would cost more than it saves


def pullback(prim: Any, g: Any, entry: Entry) -> Any:
    """``prim.pullback(g, entry)``, from a compiled rule where the policy has compiled it."""
    if type(g) is not ARRAY or prim.multiple_results:
        return prim.pullback(g, entry)
    dyn: list[Any] = []
    try:
        key = (entry_key(entry, dyn, ids=False), array_key(g))
        slot = POLICY.slots.slot(key, Slot)
    except (Unkeyable, TypeError):  # TypeError: an unhashable constant
        return prim.pullback(g, entry)
    program = slot.program
    if program is None:
        fam = POLICY.families.slot(family(key), Family)
        if not POLICY.should_compile(slot, fam, 1):
            t0 = now()
            cts = prim.pullback(g, entry)
            POLICY.interpreted(slot, fam, now() - t0)
            return cts
        t0 = now()
        program = _compile(prim, entry, g, dyn)
        if program is None:  # failed to trace for another reason: interpret this call only
            return prim.pullback(g, entry)
        if program is NEVER or program is _INTERPRET:
            slot.program = program
            return prim.pullback(g, entry)
        cts = _call(slot, program, g, dyn)
        if cts is None:
            return prim.pullback(g, entry)
        slot.program = program
        POLICY.compiled(fam, now() - t0, 1)
        return cts
    if program is NEVER or program is _INTERPRET:
        return prim.pullback(g, entry)
    cts = _call(slot, program, g, dyn)
    return prim.pullback(g, entry) if cts is None else cts


def _call(slot: Slot, program: Any, g: Any, dyn: list) -> Any:
    try:
        return program(g, *dyn)
    except Exception as e:
        if errors.cannot_be_traced(e):
            slot.program = NEVER
        return None  # otherwise this call only: the interpreted rule raises a real error itself


def _compile(prim: Any, entry: Entry, g: Any, dyn: list) -> Any:
    # Copy out what the rule needs: closing over `entry` would keep that step's residual arrays
    # alive for as long as the compiled rule lives.
    consts = tuple(None if type(a) is ARRAY else a for a in entry.args)
    multiple = prim.multiple_results
    has_out = entry.out is not None
    in_ids, out_ids, params, out_avals = entry.in_ids, entry.out_ids, entry.params, entry.out_avals

    def rule(g: Any, *dyn: Any) -> Any:
        it = iter(dyn)
        args = tuple(next(it) if c is None else c for c in consts)
        out = (tuple(it) if multiple else next(it)) if has_out else None
        return prim.pullback(g, Entry(prim, in_ids, out_ids, args, out, params, out_avals, ()))

    try:
        jaxpr = jax.make_jaxpr(rule)(g, *dyn)
    except Exception as e:
        # A rule that reads a residual with NumPy cannot be traced; any other failure is the
        # interpreted rule's to raise (and this structure is tried again next time).
        return NEVER if errors.cannot_be_traced(e) else None
    if not jaxpr.eqns:
        return _INTERPRET
    return jax.jit(rule)


def clear() -> None:
    POLICY.clear()
