"""Speed beside the algorithm: compiled rules, compiled sweeps, jitted dispatch and lazy segments.

Nothing here changes a number beyond float rounding where XLA fuses differently; it changes how many
XLA dispatches and compiles a step costs. It plugs into the core through two hooks: the backward
sweep's (:func:`tapegrad.core.backward.set_accelerator`, switched by :func:`enable`) and the forward
primitives' deferral (:func:`tapegrad.core.primitive.set_deferral`, lazy segments, switched by
``tg.config.update("lazy", ...)``), with one structure key (:mod:`tapegrad.accel.key`) and one
compile policy (:mod:`tapegrad.accel.policy`) for every kind of compiled program:

    >>> import tapegrad.accel as accel
    >>> accel.enable(False); accel.enable(True)
"""
from __future__ import annotations

from typing import Any

from tapegrad.accel import compiled_sweep, fused_rules, lazy, lazy_grad
from tapegrad.accel.policy import NEVER
from tapegrad.core.backward import set_accelerator
from tapegrad.core.tape import Tape


def accelerated(tape: Tape, seeds: dict, consume: bool, pullback: Any) -> dict:
    """The core's sweep hook: with lazy segments, forward and backward fused where the tape is still
    pending; else a compiled sweep where it pays, else the loop with compiled rules."""
    if lazy.enabled:
        return lazy_grad.backward(tape, seeds, consume, _sweep)
    return _sweep(tape.entries, seeds, consume)


def _sweep(entries: list, seeds: dict, consume: bool) -> dict:
    return compiled_sweep.accelerated_sweep(entries, seeds, consume, fused_rules.pullback)


def enable(on: bool = True) -> None:
    """Turn compiled rules and sweeps on (the default) or off; results are the same either way."""
    set_accelerator(accelerated if on else None)


def clear() -> None:
    """Forget every compiled program and every measurement the policy has made."""
    compiled_sweep.clear()
    fused_rules.clear()
    lazy.clear()
    lazy_grad.clear()


def cache_info() -> dict[str, int]:
    """How many structures each cache holds, and how many of them are compiled."""
    def count(policy: Any) -> tuple[int, int]:
        slots = list(policy.slots.values())
        return len(slots), sum(1 for s in slots if s.program is not None and s.program is not NEVER
                               and callable(s.program))
    sweeps, sweeps_compiled = count(compiled_sweep.POLICY)
    rules, rules_compiled = count(fused_rules.POLICY)
    return {"sweeps": sweeps, "compiled_sweeps": sweeps_compiled, "rules": rules,
            "compiled_rules": rules_compiled}


enable(True)
