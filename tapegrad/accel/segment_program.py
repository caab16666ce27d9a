"""A pending segment (:mod:`tapegrad.accel.lazy`) as a program: its plan, with no array in it; running
it (one ``jax.jit`` program where the compile policy says that pays, else op by op); and the
templates that make index arrays among a step's params inputs of the program, not constants.

The plan is what both programs replay: the segment's forward here, and the forward followed by
its backward sweep in :mod:`tapegrad.accel.lazy_grad`.
"""
from __future__ import annotations

from typing import Any

import jax

from tapegrad.accel import errors
from tapegrad.accel.key import ARRAY, const_key, family
from tapegrad.accel.policy import NEVER, Family, Policy, Slot, now

Node = tuple  # (prim, args, params, outs): see tapegrad.accel.lazy

IN = ("in",)  # the next concrete input, in a step's argument spec (forward_plan)


class Input(tuple):
    """A placeholder for a program input among a step's params (an index array), in a template
    (:func:`params_template`); its own type, so no tuple-valued param is ever mistaken for one."""


def split_array_params(params: dict) -> tuple[tuple, list]:
    """The key of ``params`` whose concrete arrays (alone, or in a tuple: an index) are inputs of the
    program, keyed by shape, dtype and weak type like any argument; and those arrays, in key order.
    Raises :class:`Unkeyable` for anything else the key cannot describe."""
    key = []
    arrays = []
    for name, v in sorted(params.items()):
        if type(v) is ARRAY:
            arrays.append(v)
            key.append((name, (IN, v.shape, v.dtype, v.weak_type)))
        elif type(v) is tuple and any(type(u) is ARRAY for u in v):
            parts = []
            for u in v:
                if type(u) is ARRAY:
                    arrays.append(u)
                    parts.append((IN, u.shape, u.dtype, u.weak_type))
                else:
                    parts.append(const_key(u))
            key.append((name, (tuple, tuple(parts))))
        else:
            key.append((name, const_key(v)))
    return tuple(key), arrays


def _replace(params: dict, match: Any, f: Any) -> dict:
    """``params`` (in key order) with each value ``v`` for which ``match(v)``, alone or inside a
    tuple, replaced by ``f(v)``."""
    out = {}
    for name, v in sorted(params.items()):
        if match(v):
            out[name] = f(v)
        elif type(v) is tuple and any(match(u) for u in v):
            out[name] = tuple(f(u) if match(u) else u for u in v)
        else:
            out[name] = v
    return out


def _is_array(v: Any) -> bool:
    return type(v) is ARRAY


def _is_input(v: Any) -> bool:
    return type(v) is Input


def params_template(params: dict, spec: Any) -> dict:
    """``params`` with each concrete array replaced by ``spec(array)`` (same order as
    :func:`split_array_params`); ``params`` itself where it holds none."""
    if not any(type(v) is ARRAY or (type(v) is tuple and any(type(u) is ARRAY for u in v))
               for v in params.values()):
        return params
    return _replace(params, _is_array, spec)


def fill_params(template: dict, value: Any) -> dict:
    """A template's params with each :class:`Input` ``s`` replaced by ``value(s)``."""
    return _replace(template, _is_input, value)




# A whole segment's host cost, interpreted, is one dispatch per node plus, for ops JAX has not yet
# compiled for these shapes, a compile each; compiled, one compile of the program.
POLICY = Policy(base=0.05, per_unit=5e-4, slots=256, families=256, repeat=20)
# XLA's compile time grows steeply with a program's outputs: a 1,024-op segment whose ~1,000 values
# a tape keeps as residuals took 27 s to compile (2-core CPU, jax 0.10), where a fused gradient of the
# same length, which returns a few arrays, takes 0.3 s. Segments with more live values run op by op.
MAX_OUTPUTS = 64
OP_COMPILE = 0.02  # seconds JAX takes to compile one small op for new shapes (2-core CPU, jax 0.10)


def live_outputs(nodes: list[Node]) -> list[tuple[int, int, Any]]:
    """(position, index, value) of every pending value something still references."""
    live = []
    for k, n in enumerate(nodes):
        for i, ref in enumerate(n[3]):
            o = ref()
            if o is not None and o.value is None:
                live.append((k, i, o))
    return live


def family_of(keys: list[tuple]) -> Any:
    """The segment's structure with shapes and sizes left out (the policy's family)."""
    return family(tuple((k[0].name, k[1], k[2]) for k in keys))


def compile_now(policy: Policy, slot: Slot, fam: Family, units: int, new_ops: int) -> bool:
    """Compile a structure, or interpret it this time? A structure of a family never seen is
    compiled when the ops JAX would compile one by one cost more than the whole program."""
    if slot.hits == 0 and fam.first_visit is None:
        return policy.compile_estimate(fam, units) < new_ops * OP_COMPILE
    return policy.should_compile(slot, fam, units)


def execute(nodes: list[Node], inputs: list, state: Any, keys: list, new_ops: int) -> None:
    """Give every live pending value of ``nodes`` its array; ``state`` is the segment's trie state."""
    live = live_outputs(nodes)
    if not live:
        return
    if len(live) > MAX_OUTPUTS:
        return interpret(nodes, live)
    wanted = tuple((k, i) for k, i, _ in live)
    slot = POLICY.slots.slot((state, wanted), Slot)
    program = slot.program
    if program is NEVER:
        return interpret(nodes, live)
    if program is None:
        fam = POLICY.families.slot(family_of(keys), Family)
        if not compile_now(POLICY, slot, fam, len(nodes), new_ops):
            t0 = now()
            interpret(nodes, live)
            POLICY.interpreted(slot, fam, now() - t0)
            return None
        program = jax.jit(replay_function(forward_plan(nodes), wanted))
        t0 = now()
        outs = _call(slot, program, inputs)
        if outs is None:
            return interpret(nodes, live)
        slot.program = program
        POLICY.compiled(fam, now() - t0, len(nodes))
    else:
        outs = _call(slot, program, inputs)
        if outs is None:
            return interpret(nodes, live)
    for (_, _, o), v in zip(live, outs):
        o.value = v
    return None


def _call(slot: Slot, program: Any, inputs: list) -> Any:
    try:
        return program(*inputs)
    except Exception as e:
        if errors.cannot_be_traced(e):
            slot.program = NEVER
        return None


def forward_plan(nodes: list[Node]) -> list[tuple]:
    """The segment as (prim, argument spec, params, params hold inputs) steps, with no array in it:
    an argument is ``("in",)`` (the next concrete input), ``("n", position, index)`` or
    ``("c", constant)``; an index array among the params is ``IN`` (the next input after the
    arguments', see :func:`split_array_params`)."""
    plan = []
    for n in nodes:
        spec = []
        for a in n[1]:
            if type(a) is tuple:
                spec.append(("n", a[0], a[1]))
            elif type(a) is ARRAY:
                spec.append(IN)
            else:
                spec.append(("c", a))
        template = params_template(n[2], lambda v: Input(IN))
        plan.append((n[0], tuple(spec), template, template is not n[2]))
    return plan


def replay(plan: list[tuple], inputs: Any) -> list[tuple]:
    """Every step's outputs, running ``plan`` on ``inputs`` (arrays or JAX tracers)."""
    it = iter(inputs)
    results: list[tuple] = []
    for prim, spec, params, takes_inputs in plan:
        args = [next(it) if s[0] == "in" else results[s[1]][s[2]] if s[0] == "n" else s[1] for s in spec]
        if takes_inputs:
            params = fill_params(params, lambda s: next(it))
        out = prim.impl(*args, **params)
        results.append(tuple(out) if prim.multiple_results else (out,))
    return results


def replay_function(plan: list[tuple], wanted: tuple) -> Any:
    def program(*inputs: Any) -> list:
        results = replay(plan, inputs)
        return [results[k][i] for k, i in wanted]
    return program


def interpret(nodes: list[Node], live: list) -> None:
    """Run the nodes one by one, as the eager path would."""
    results: list[tuple] = []
    for prim, node_args, params, _ in nodes:
        args = [results[a[0]][a[1]] if type(a) is tuple else a for a in node_args]
        out = prim.impl(*args, **params)
        results.append(tuple(out) if prim.multiple_results else (out,))
    for k, i, o in live:
        o.value = results[k][i]
