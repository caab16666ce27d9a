"""Reverse mode: one backward sweep over a tape.

The sweep walks the entries in reverse, once, with a loop (no recursion, so
tapes of any length work). Cotangents live in a dict keyed by id; a missing key
is a symbolic zero, never materialised. Each output's cotangent is popped when
the sweep reaches the entry that produced it (it is complete by then), and a
consuming sweep drops each entry, with its residuals, as soon as it is done.
"""
from __future__ import annotations

from typing import Any

from tapegrad.core import debug
from tapegrad.core.compiled_sweep import compiled_sweep
from tapegrad.core.tape import Tape


def backward(tape: Tape, seeds: dict[int, Any], consume: bool = False) -> dict[int, Any]:
    """Propagate ``seeds`` (output id -> cotangent) to every id on ``tape``.

    Returns the cotangent dict; it holds the tape's inputs (ids that no entry
    produced). With ``consume=True`` the tape is emptied as the sweep goes, so
    peak memory is the residuals not yet passed plus the live cotangents.
    """
    check = debug.active > 0
    entries = tape.entries
    if not check:  # debug_nans inspects each cotangent as it is made: interpret then
        cts = compiled_sweep(entries, seeds)
        if cts is not None:
            if consume:
                entries.clear()
            return cts
    return sweep(entries, seeds, consume, check)


def sweep(entries: list, seeds: dict[int, Any], consume: bool, check: bool) -> dict[int, Any]:
    """The interpreted sweep: each entry's rule, in reverse order (``backward``'s loop)."""
    cts = dict(seeds)
    for k in range(len(entries) - 1, -1, -1):
        e = entries[k]
        if consume:
            entries[k] = None
        if e is None:
            continue
        prim = e.prim
        if prim.multiple_results:
            gs = [None if i is None else cts.pop(i, None) for i in e.out_ids]
            if all(g is None for g in gs):
                continue
            g: Any = tuple(_zeros(a) if g is None else g for g, a in zip(gs, e.out_avals))
        else:
            g = cts.pop(e.out_ids[0], None)
            if g is None:
                continue
        in_cts = prim.pullback(g, e)
        for aid, ct in zip(e.in_ids, in_cts):
            if ct is None:
                continue
            if check:
                debug.check_backward(prim, e, ct)
            prev = cts.get(aid)
            cts[aid] = ct if prev is None else prev + ct
    return cts


def _zeros(aval: tuple) -> Any:
    import jax.numpy as jnp

    shape, dtype = aval
    return jnp.zeros(shape, dtype)
