"""Compiled rules for hot first-order sweeps.

A VJP rule is ordinary tapegrad code. When no outer level is live, its inputs
are plain JAX arrays, so the rule (with the un-broadcasting after it) can be
traced once by ``jax.jit`` and replayed as a single XLA call: the
``maximum`` rule's five jax.numpy dispatches become one.

Compiling costs milliseconds, so a rule is compiled only once the same
(primitive, shapes, dtypes, params) has been pulled back ``HOT`` times — a
training loop gets there on its third step, a one-off gradient never does.
Unhashable params (index arrays, custom rules' residuals) always take the
interpreted path, which gives the same numbers.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tapegrad.core.tape import Entry
from tapegrad.core.tracer import Tracer

HOT = 3
_ARRAY = type(jnp.zeros(()))  # the concrete array type; jit tracers are not it
_UNHASHABLE = object()
_INTERPRET = object()  # a rule of at most one op: a compiled call would cost more than it saves


def _static_key(v: Any) -> Any:
    # Python numbers are keyed by type too: 1, 1.0 and True hash alike but trace differently.
    return (type(v), v)


def fused_pullback(prim: Any, g: Any, entry: Entry) -> list[Any] | None:
    """The pulled-back cotangents from a compiled rule, or None to interpret it."""
    if prim.multiple_results or type(g) is not _ARRAY:
        return None
    from tapegrad.core import debug

    if debug.active:
        return None
    args, out = entry.args, entry.out
    dyn: list[Any] = []
    static: list[Any] = []
    sig: list[Any] = []
    for a in args:
        ta = type(a)
        if ta is _ARRAY:
            dyn.append(a)
            static.append(None)
            sig.append((a.shape, a.dtype))
        elif ta is Tracer:
            return None
        else:
            static.append(a)
            sig.append(_static_key(a) if ta is not np.ndarray else _UNHASHABLE)
    if type(out) is Tracer:
        return None
    has_out = out is not None
    try:
        key = (tuple(i is None for i in entry.in_ids), tuple(sig), has_out,
               g.shape, g.dtype, tuple(sorted(entry.params.items())))
        hash(key)
    except TypeError:
        return None
    if _UNHASHABLE in sig:
        return None
    cache = prim._compiled
    hit = cache.get(key, 0)
    if type(hit) is int:
        if hit + 1 < HOT:
            cache[key] = hit + 1
            return None
        hit = cache[key] = _compile(prim, entry, tuple(static), g, out, dyn)
    if hit is _INTERPRET:
        return None
    return hit(g, out, *dyn)


def _compile(prim: Any, entry: Entry, static: tuple, g: Any, out: Any, dyn: list) -> Any:
    from tapegrad.core.primitive import _pullback

    # Copy out what the rule needs: closing over `entry` would keep that step's
    # residual arrays alive for as long as the compiled rule lives (the process).
    in_ids, out_ids, params, out_avals = entry.in_ids, entry.out_ids, entry.params, entry.out_avals

    def rule(g: Any, out: Any, *dyn: Any) -> list[Any]:
        it = iter(dyn)
        args = tuple(next(it) if s is None else s for s in static)
        fake = Entry(prim, in_ids, out_ids, args, out, params, out_avals, ())
        return _pullback(prim, g, fake)

    # Rules like add's (g passes through) or a scaling (one multiply) gain nothing.
    if len(jax.make_jaxpr(rule)(g, out, *dyn).eqns) <= 1:
        return _INTERPRET
    return jax.jit(rule)
