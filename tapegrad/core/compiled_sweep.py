"""Whole backward sweeps, compiled once a tape of the same structure keeps coming back.

An eager training loop records the same tape every step: the same primitives, ids,
shapes and constants, only the array values differ. Once ``HOT`` first-order sweeps
have met the same structure, the sweep itself (the ordinary interpreted loop of
``backward``, rules and un-broadcasting included) is traced by ``jax.jit`` as a
function of the seeds and the residual arrays, and replayed as one XLA call per
step instead of one or more dispatches per entry. The numbers are the ones the
interpreted sweep gives; XLA may fuse across entries.

The cache key is the structure only: it holds ids, shapes, dtypes, Python constants
and params, never an array, so nothing a step saved outlives the step (see B8 in
tests/test_resources.py). Tapes with unhashable params (index arrays, custom rules'
residuals), NumPy or outer-level values, or more than ``MAX_ENTRIES`` entries (compile
time grows with the program) take the interpreted sweep.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import jax
import jax.numpy as jnp

from tapegrad.core.tape import Entry
from tapegrad.core.tracer import Aval

HOT = 4  # after the per-rule compiled rules (fused.HOT = 3) have warmed up
MAX_ENTRIES = 2000
CACHE_SIZE = 64  # distinct tape structures kept (least recently used dropped)
_ARRAY = type(jnp.zeros(()))
_NEVER = object()  # a structure whose sweep cannot be traced (see compiled_sweep)
_cache: OrderedDict[Any, Any] = OrderedDict()  # key -> hit count, the compiled sweep, or _NEVER


def compiled_sweep(entries: list, seeds: dict[int, Any]) -> dict[int, Any] | None:
    """The cotangent dict from a compiled sweep of ``entries``, or None to interpret them."""
    if len(entries) > MAX_ENTRIES:
        return None
    dyn: list[Any] = []
    key: list[Any] = []
    for i, g in seeds.items():
        if type(g) is not _ARRAY:
            return None
        dyn.append(g)
        key.append((i, g.shape, g.dtype))
    key.append(None)
    for e in entries:
        if e is None:
            return None
        sig = _entry_signature(e, dyn)
        if sig is None:
            return None
        key.append(sig)
    try:
        k = tuple(key)
        hit = _cache.get(k, 0)
    except TypeError:  # unhashable params or constants
        return None
    if type(hit) is int:
        _cache[k] = hit + 1
        if len(_cache) > CACHE_SIZE:
            try:
                _cache.popitem(last=False)
            except KeyError:  # another thread emptied it meanwhile
                pass
        if hit + 1 < HOT:
            return None
        hit = _cache[k] = _compile(entries, list(seeds))
    elif hit is _NEVER:
        return None
    else:
        try:
            _cache.move_to_end(k)
        except KeyError:  # another thread dropped it meanwhile; it is still ours to call
            pass
    try:
        return hit(*dyn)
    except Exception:
        # A rule that needs concrete values (a user's primitive reading its residuals with NumPy)
        # cannot be traced: this structure is swept entry by entry from now on, and the
        # interpreted sweep raises the rule's own error if there is a real one.
        _cache[k] = _NEVER
        return None


def _entry_signature(e: Entry, dyn: list) -> tuple | None:
    """What the sweep's code depends on for entry ``e``; its arrays go to ``dyn``."""
    sig: list[Any] = [e.prim, e.in_ids, e.out_ids]
    for a in e.args:
        ta = type(a)
        if ta is _ARRAY:
            dyn.append(a)
            sig.append((a.shape, a.dtype))
        elif ta is Aval:
            sig.append(("aval", a.shape, a.dtype))
        elif hasattr(a, "shape"):  # a tracer of an outer level, a NumPy array: interpret
            return None
        elif ta is float:  # 0.0 == -0.0, but a product's zero keeps the constant's sign
            sig.append((ta, a, math.copysign(1.0, a)))
        else:
            sig.append((ta, a))  # typed: 1, 1.0 and True hash alike but trace differently
    out = e.out
    if out is not None:
        for o in (out if e.prim.multiple_results else (out,)):
            if type(o) is not _ARRAY:
                return None
            dyn.append(o)
        sig.append(len(out) if e.prim.multiple_results else 1)
    else:
        sig.append(0)
    params = e.params
    sig.append(tuple((k, _frozen(v)) for k, v in sorted(params.items())) if params else ())
    return tuple(sig)


def _frozen(v: Any) -> Any:
    """``v`` with slices spelled as tuples: an index like ``w[1:, ::2]`` is hashable only so before 3.12."""
    if type(v) is slice:
        return (slice, v.start, v.stop, v.step)
    if type(v) is tuple:
        return tuple(_frozen(u) for u in v)
    return v


def _compile(entries: list, seed_ids: list[int]) -> Any:
    """A jitted sweep for tapes shaped like ``entries``, built from their structure only."""
    from tapegrad.core.backward import sweep

    # Copy out the structure: closing over the entries would keep this step's residuals alive.
    plan = []
    for e in entries:
        consts = tuple(None if type(a) is _ARRAY else a for a in e.args)
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
        return sweep(rebuilt, seeds, consume=False, check=False)

    return jax.jit(run)
