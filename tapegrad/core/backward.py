"""Reverse mode: one loop over the reversed tape.

The sweep walks the entries in reverse, once, with a loop (no recursion, so tapes of any length
work). Cotangents live in a dict keyed by id; a missing key is a symbolic zero, never
materialised, except that a multi-output rule gets zeros for its differentiable outputs that
received none (it computes one formula from all of them). Each output's cotangent is popped when
the sweep reaches the entry that produced it (it is complete by then), and a consuming sweep
drops each entry, with its residuals, as soon as it is done.

The speed machinery (``tapegrad.accel``: compiled rules and whole compiled sweeps) plugs in
through one hook, :func:`set_accelerator`. It runs this same loop, or a compiled trace of it, and
may be switched off without changing a number.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapegrad.core import debug
from tapegrad.core.tape import Tape

_add: Callable[[Any, Any], Any] | None = None


def register_add(add: Callable[[Any, Any], Any]) -> None:
    """The primitive that sums two cotangents of one value (``tapegrad.rules.arithmetic``'s ``add``).

    The sweep must emit a *primitive* there, not Python's ``+``: when an outer level is live the
    sum is recorded like any rule's op, and higher-order derivatives see it.
    """
    global _add
    _add = add


Pullback = Callable[[Any, Any, Any], Any]  # (prim, g, entry) -> the arguments' cotangents
Accelerator = Callable[[Tape, dict, bool, Pullback], dict]

_accelerator: Accelerator | None = None


def set_accelerator(fn: Accelerator | None) -> Accelerator | None:
    """Install ``fn(tape, seeds, consume, pullback) -> cotangents`` as the sweep of first-order
    backward passes (``None``: the plain loop below); returns the previous one."""
    global _accelerator
    previous, _accelerator = _accelerator, fn
    return previous


def plain_pullback(prim: Any, g: Any, entry: Any) -> Any:
    """The rule of ``entry``'s primitive, with its cotangents summed back to the arguments' shapes."""
    return prim.pullback(g, entry)


def backward(tape: Tape, seeds: dict[int, Any], consume: bool = False) -> dict[int, Any]:
    """Propagate ``seeds`` (output id -> cotangent) to every id on ``tape``.

    Returns the cotangent dict; it holds the tape's inputs (ids that no entry
    produced). With ``consume=True`` the tape is emptied as the sweep goes, so
    peak memory is the residuals not yet passed plus the live cotangents.
    """
    if debug.active:  # debug_nans inspects each cotangent as it is made: the plain loop
        return sweep(tape.entries, seeds, consume, check=True)
    if _accelerator is not None:
        return _accelerator(tape, seeds, consume, plain_pullback)
    return sweep(tape.entries, seeds, consume)


def sweep(entries: list, seeds: dict[int, Any], consume: bool = False, check: bool = False,
          pullback: Pullback = plain_pullback) -> dict[int, Any]:
    """The backward sweep: each entry's rule, in reverse order, accumulating cotangents by id."""
    cts = dict(seeds)
    for k in range(len(entries) - 1, -1, -1):
        e = entries[k]
        if consume:
            entries[k] = None
        if e is None:
            continue
        prim = e.prim
        if prim.multiple_results:
            # The rule gets one cotangent per output: zeros (materialised) for a differentiable
            # output that received none, None for an integer output, which never carries one.
            gs = [None if i is None else cts.pop(i, None) for i in e.out_ids]
            if all(g is None for g in gs):
                continue
            if prim.symbolic_zeros:
                g: Any = tuple(gs)
            else:
                g = tuple(_zeros(a) if g is None and i is not None else g
                          for g, i, a in zip(gs, e.out_ids, e.out_avals))
        else:
            g = cts.pop(e.out_ids[0], None)
            if g is None:
                continue
        in_cts = pullback(prim, g, e)
        for aid, ct in zip(e.in_ids, in_cts):
            if ct is None:
                continue
            if check:
                debug.check_backward(prim, e, ct)
            prev = cts.get(aid)
            cts[aid] = ct if prev is None else _add(prev, ct)
    return cts


def _zeros(aval: tuple) -> Any:
    import jax.numpy as jnp

    shape, dtype = aval
    return jnp.zeros(shape, dtype)
