"""A body's tape, recorded once inside a JAX loop, with its residual arrays taken out as loop outputs.

For a scan's reverse pass without recomputation, each step must keep what the body's VJP rules
read (JAX calls them residuals). The forward loop runs the body under a tapegrad level at every
step; the tape it records is the same each time (the body is traced once by ``jax.lax.scan``), and
its arrays that depend on the step are returned as extra, stacked, outputs of the loop. The
:class:`Plan` is the tape with those arrays replaced by slots; :meth:`Plan.pull_back` rebuilds one
step's tape from one step's residuals and runs the ordinary backward sweep over it. The sweep is
tapegrad code, so a reverse loop of it is recorded when an outer level is live.
"""
from __future__ import annotations

from typing import Any

import jax
from jax.tree_util import tree_flatten, tree_unflatten

from tapegrad.core.backward import sweep
from tapegrad.core.tape import Aval, Entry
from tapegrad.core.tracer import Trace, Tracer

# A slot in a rebuilt argument: ("r", i) residual i, ("k", i) the loop's captured input i, ("v", x) x itself.
Slot = tuple


class Plan:
    """One body step's tape as a recipe, its residuals as slots."""

    def __init__(self, entries: list, in_ids: list, out_ids: list, n_residuals: int) -> None:
        self.entries, self.in_ids, self.out_ids, self.n_residuals = entries, in_ids, out_ids, n_residuals

    @staticmethod
    def record(run: Any, consts: list, diff_inputs: list[tuple[list, list[int]]]) -> tuple[list, Plan, list]:
        """Run ``run(consts, *groups)`` at a fresh level, differentiable in ``consts`` and in the
        positions ``diff`` of each ``(group, diff)``; return (output values, plan, residuals)."""
        with Trace() as trace:
            k_t = [trace.new_tracer(v) for v in consts]
            groups, in_ids = [], [t.id for t in k_t]
            for group, diff in diff_inputs:
                g = list(group)
                for i in diff:
                    t = trace.new_tracer(g[i])
                    g[i] = t
                    in_ids.append(t.id)
                groups.append(g)
            outs = run(k_t, *groups)
        out_ids = [o.id if type(o) is Tracer and o.trace is trace else None for o in outs]
        values = [o.value if type(o) is Tracer and o.trace is trace else o for o in outs]
        known = {id(v): i for i, v in enumerate(consts)}
        residuals: list[Any] = []

        def slot(v: Any) -> Slot:
            if id(v) in known and v is consts[known[id(v)]]:
                return ("k", known[id(v)])
            if isinstance(v, (jax.core.Tracer, Tracer)):  # depends on the step: one per step, stacked
                residuals.append(v)
                return ("r", len(residuals) - 1)
            return ("v", v)  # a constant (a concrete array, a Python number, an Aval)

        plan_entries = []
        for e in trace.tape.entries:
            args = tuple(slot(a) if not isinstance(a, Aval) else ("v", a) for a in e.args)
            if e.out is None:
                out = None
            elif e.prim.multiple_results:
                out = tuple(slot(o) for o in e.out)
            else:
                out = slot(e.out)
            leaves, tree = tree_flatten(e.params)
            params = (tree, [slot(v) for v in leaves])
            plan_entries.append((e.prim, e.in_ids, e.out_ids, args, out, params, e.out_avals))
        return values, Plan(plan_entries, in_ids, out_ids, len(residuals)), residuals

    def pull_back(self, consts: list, residuals: list, cts: list) -> list:
        """The cotangents of the recorded inputs (consts, then the differentiable group positions)
        for output cotangents ``cts`` (None: zero), one step's ``residuals`` filling the slots."""
        def fill(s: Slot) -> Any:
            kind, v = s
            return residuals[v] if kind == "r" else consts[v] if kind == "k" else v

        entries = []
        for prim, in_ids, out_ids, args, out, (tree, leaves), out_avals in self.entries:
            o = None if out is None else (tuple(fill(s) for s in out) if prim.multiple_results else fill(out))
            params = tree_unflatten(tree, [fill(s) for s in leaves])
            entries.append(Entry(prim, in_ids, out_ids, tuple(fill(s) for s in args), o, params, out_avals, ()))
        seeds: dict[int, Any] = {}
        for i, g in zip(self.out_ids, cts):
            if i is not None and g is not None:
                seeds[i] = g if i not in seeds else seeds[i] + g
        got = sweep(entries, seeds)
        return [got.get(i) for i in self.in_ids]
