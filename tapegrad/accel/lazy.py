"""Lazy segments: eager tapegrad records primitives without running them, and runs them as one program.

Dispatching each primitive as it is recorded costs a JAX dispatch (~5 us on a CPU, ~80 us on a GPU)
and, for every new shape, an XLA compile per op (~25 ms). Instead, a primitive applied inside a
transform in eager mode returns a :class:`LazyArray`: its shape and dtype (known by abstract
evaluation, so a shape error is still raised at the user's line), and its place in the thread's
pending :class:`Segment`. When a value is read (``float``, ``print``, ``np.asarray``, a transform
returning, a plain array leaving the tape) the whole segment runs as one ``jax.jit``-compiled
program where the compile policy (:mod:`tapegrad.accel.policy`) says it pays, and every live lazy
value gets its array. A gradient whose forward is still wholly pending runs forward and backward as
one program (:mod:`tapegrad.accel.lazy_grad`).

**The structure key is built while recording.** Each pending op moves the segment one step down a
trie of structures (:class:`State`): the step's key is the primitive, its params, where each input
comes from (an earlier op of the segment by position, a concrete array by shape/dtype/weak type, a
constant by its exact bits) and the tape ids it records. A known step hands back the op's output
shapes and dtypes at the cost of one dict lookup, and the state the segment ends in is the key of its
compiled program: a recurring step never hashes or walks its program again.

Lazy values never reach user code: they live only inside tapegrad Tracers and the library's own rule
code; anything handed back as a plain array is computed first. Under ``jax.jit``/``jax.vmap`` (the
values are JAX tracers), at outer levels of nested transforms and under ``tg.debug_nans`` lazy steps
aside. ``tg.config.update("lazy", ...)`` (or ``TAPEGRAD_LAZY``) switches it.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any

import jax
import numpy as np
from jax.tree_util import tree_map

from tapegrad.accel import errors
from tapegrad.accel.key import ARRAY, Unkeyable, const_key, family, params_key
from tapegrad.accel.policy import NEVER, Family, Policy, Slot, now
from tapegrad.core import debug
from tapegrad.core.source import format_where, user_frame
from tapegrad.core.tracer import trace_stack

# A segment longer than this runs before recording more: a Python loop of 10**6 ops with no read
# stays bounded, and so does the compile time of one program (it grows with the program's length).
MAX_PENDING = 1024
enabled = False  # tapegrad.config installs it when switched on


class LazyArray:
    """A value that will be computed when its segment runs: shape, dtype and weak type known now."""

    __slots__ = ("shape", "dtype", "weak_type", "seg", "pos", "index", "ref", "value", "__weakref__")

    def __init__(self, aval: tuple, seg: Segment, pos: int, index: int) -> None:
        self.shape, self.dtype, self.weak_type = aval
        self.seg, self.pos, self.index, self.value = seg, pos, index, None
        self.ref = (pos, index)  # where a later node of the segment reads it

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def force(self, why: str | None = None) -> Any:
        """The array (running the segment if pending); ``why`` names the reason in the tape's listing."""
        if self.value is None:
            self.seg.run(why)
            if self.value is None:  # pragma: no cover - a referenced value is live when its segment runs
                raise RuntimeError("tapegrad lazy: a pending value was lost before its segment ran")
        return self.value

    # Reading a value runs the segment: every way a value can be read goes through force().
    def __jax_array__(self) -> Any:
        return self.force()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.force(), dtype=dtype)

    def __bool__(self) -> bool:
        return bool(self.force())

    def __float__(self) -> float:
        return float(self.force())

    def __int__(self) -> int:
        return int(self.force())

    def __index__(self) -> int:
        return self.force().__index__()

    def __complex__(self) -> complex:
        return complex(self.force())

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return repr(self.force())

    @property
    def aval(self) -> Any:
        """JAX's abstract value (shape, dtype, weak type): what jnp.result_type and friends read,
        known without running anything."""
        return jax.core.ShapedArray(self.shape, self.dtype, weak_type=self.weak_type)

    def __getattr__(self, name: str) -> Any:  # item, tolist, block_until_ready, devices, ...
        if name.startswith("_"):  # a library probing for a protocol: not a read of the value
            raise AttributeError(name)
        return getattr(self.force(), name)

    # Operators, indexing and the array methods are tnp's (attached by tapegrad.numpy.tracer_methods),
    # so that rule code written on values stays pending.


class State:
    """A node of the trie of segment structures: the steps recorded so far, and what follows them.

    ``avals`` are the output (shape, dtype, weak type) of the step that led here, or NotImplemented
    for a step that must run eagerly (an impl that reads values with NumPy).
    """

    __slots__ = ("children", "avals", "depth", "__weakref__")

    def __init__(self, avals: Any = (), depth: int = 0) -> None:
        self.children: dict[Any, State] = {}
        self.avals = avals
        self.depth = depth


MAX_STATES = 200_000  # the trie is dropped (and regrown) past this many steps: programs are cached apart
_root = State()
_states = 0


# A node, one pending primitive application, is a plain tuple (a class's __init__ would cost a third
# of recording it): (prim, args, params, outs). In ``args`` an ``(position, index)`` pair is an output
# of an earlier node of the segment, anything else the value itself (a concrete array, a constant);
# ``outs`` holds weak references to the node's LazyArrays (a dead one is never computed).
Node = tuple


class Segment:
    """The pending nodes of one thread, in recording order, and the structure they have reached.

    ``tape``/``first``/``recorded`` say which tape's entries the nodes recorded (one tape: another
    tape's first entry runs the segment), from which entry on, and how many: a gradient fuses forward
    and backward only when the segment holds its whole tape (:mod:`tapegrad.accel.lazy_grad`).
    """

    __slots__ = ("nodes", "keys", "inputs", "state", "new_ops", "tape", "first", "recorded", "mark", "lock")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.nodes: list[Node] = []
        self.keys: list[tuple] = []  # each step's key, for the policy's family (read on misses only)
        self.inputs: list[Any] = []  # the concrete arrays the nodes read, in order
        self.state = _root
        self.new_ops = 0  # steps whose op signature this process had never seen (JAX compiles those)
        self.tape: Any = None
        self.first = 0
        self.recorded = 0
        self.mark: list | None = None  # this segment's mark on its tape (Tape.segments)

    def take(self, how: str) -> tuple:
        """Hand over the pending work and start empty: (nodes, inputs, state, keys, new_ops).
        ``how`` says what ran it, for the tape's listing."""
        with self.lock:
            if self.mark is not None:
                self.mark[1], self.mark[2] = self.recorded, how
            taken = (self.nodes, self.inputs, self.state, self.keys, self.new_ops)
            self.reset()
            return taken

    def run(self, how: str | None = None) -> None:
        """Compute every live lazy value of this segment (compiled as one program where that pays).
        ``how``: what ran it, for the tape's listing (default: a value was read, at the user's line)."""
        with self.lock:
            if how is None and self.mark is not None:  # the listing says where each segment ended
                where = user_frame(2)
                how = f"when a value was read at {format_where(where)}" if where else "when a value was read"
            nodes, inputs, state, keys, new_ops = self.take(how or "")
            if nodes:
                _execute(nodes, inputs, state, keys, new_ops)


_local = threading.local()


def segment() -> Segment:
    """This thread's segment."""
    try:
        return _local.segment
    except AttributeError:
        seg = _local.segment = Segment()
        return seg


# ---- recording -----------------------------------------------------------------------------

def defer(prim: Any, args: tuple, params: dict, top: Any, in_ids: tuple | None) -> Any:
    """A pending application of ``prim`` (LazyArrays out), or NotImplemented to run it now.

    ``in_ids`` is not None when the call records on ``top``'s tape (a transform's forward pass).
    Otherwise it defers only when an argument is itself pending (rule code on lazy residuals).
    """
    # The hot path of lazy recording (~1-2 us): plain loops, constants keyed inline.
    if not enabled or debug.active:
        return NotImplemented
    depth = len(trace_stack())
    if depth > 1 or (in_ids is not None and depth == 0):
        return NotImplemented
    try:
        seg = _local.segment
    except AttributeError:
        seg = segment()
    if len(seg.nodes) >= MAX_PENDING:
        seg.run(f"at the bound of {MAX_PENDING} pending ops")
    elif in_ids is not None and seg.tape is not None and seg.tape is not top.tape:
        # Another tape's pending work (a tape nobody read): run it, so that each segment holds one
        # tape and a gradient's forward can be fused with its backward.
        seg.run("when another tape began recording")
    node_args = []
    argkeys = []
    arrays = None
    pending = False
    for a in args:
        t = type(a)
        if t is LazyArray:
            if a.value is None:
                if a.seg is seg:
                    pending = True
                    ref = a.ref
                    node_args.append(ref)
                    argkeys.append(ref)
                    continue
                a.force()  # pending in another thread's segment
            a = a.value
            t = ARRAY
        if t is ARRAY:
            if arrays is None:
                arrays = [a]
            else:
                arrays.append(a)
            node_args.append(a)
            argkeys.append((a.shape, a.dtype, a.weak_type))
        elif t is float:
            node_args.append(a)
            argkeys.append((float, a.hex()))  # by its bits: 0.0 and -0.0 are different programs
        elif hasattr(a, "shape"):  # a JAX tracer (under jit/vmap), a NumPy array: run now
            return NotImplemented
        else:
            try:
                argkeys.append(const_key(a))
            except Unkeyable:
                return NotImplemented
            node_args.append(a)
    if in_ids is None and not pending:
        return NotImplemented
    nodes = seg.nodes
    state = seg.state if nodes else _root  # a segment starts at the root of today's trie (see clear)
    param_arrays = None
    try:
        if params:
            try:
                pkey = params_key(params)
            except Unkeyable:  # an index array among the params (x[idx], an embedding): an input
                pkey, param_arrays = split_array_params(params)
        else:
            pkey = ()
        key = (prim, tuple(argkeys), pkey, in_ids)
        child = state.children.get(key)
    except (Unkeyable, TypeError):  # an unkeyable or unhashable param
        return NotImplemented
    if child is None:
        child = _step(state, key, prim, args, params, seg)
    avals = child.avals
    if avals is NotImplemented:
        return NotImplemented
    pos = len(nodes)
    seg.state = child
    seg.keys.append(key)
    if arrays is not None:
        seg.inputs.extend(arrays)
    if param_arrays is not None:
        seg.inputs.extend(param_arrays)
    if in_ids is not None:
        tape = top.tape
        if seg.tape is None:
            seg.tape, seg.first = tape, len(tape.entries)
            seg.mark = [seg.first, 0, "pending"]
            tape.segments.append(seg.mark)
        seg.recorded += 1
    if len(avals) == 1 and not prim.multiple_results:
        out = LazyArray(avals[0], seg, pos, 0)
        nodes.append((prim, tuple(node_args), params, (weakref.ref(out),)))
        return out
    outs = tuple(LazyArray(v, seg, pos, i) for i, v in enumerate(avals))
    nodes.append((prim, tuple(node_args), params, tuple(weakref.ref(o) for o in outs)))
    return outs


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


_AVALS: dict[Any, Any] = {}  # (prim, argument avals and constants, params) -> output avals
_AVALS_MAX = 8192


def _step(state: State, key: tuple, prim: Any, args: tuple, params: dict, seg: Segment) -> State:
    """A step the trie has not seen from ``state``: its output avals, by abstract evaluation."""
    global _root, _states
    sig = (prim, tuple((a.shape, a.dtype, a.weak_type) if type(a) in (LazyArray, ARRAY) else const_key(a)
                       for a in args), key[2])
    avals = _AVALS.get(sig)
    if avals is None:
        avals = _abstract_eval(prim, args, params)
        if len(_AVALS) >= _AVALS_MAX:
            _AVALS.clear()
        _AVALS[sig] = avals
        seg.new_ops += 1
    child = State(avals, state.depth + 1)
    _states += 1
    if _states > MAX_STATES:  # start a new trie; segments recording on the old one finish there
        _root, _states = State(), 0
    state.children[key] = child
    return child


def _abstract_eval(prim: Any, args: tuple, params: dict) -> Any:
    specs = [jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) if type(a) in (LazyArray, ARRAY)
             else None for a in args]
    consts = [None if s is not None else a for s, a in zip(specs, args)]

    def f(*arrays: Any) -> Any:
        it = iter(arrays)
        full = [next(it) if s is not None else c for s, c in zip(specs, consts)]
        return prim.impl(*full, **params)

    try:
        out = jax.eval_shape(f, *[s for s in specs if s is not None])
    except Exception as e:
        if errors.cannot_be_traced(e):  # an impl that reads values with NumPy: always run it eagerly
            return NotImplemented
        raise  # a shape or type error: raised here, with the op and the user's line (core.primitive)
    outs = tuple(out) if prim.multiple_results else (out,)
    return tuple((tuple(o.shape), o.dtype, bool(getattr(o, "weak_type", False))) for o in outs)


# ---- running a segment ---------------------------------------------------------------------

# A whole segment's host cost, interpreted, is one dispatch per node plus, for ops JAX has not yet
# compiled for these shapes, a compile each; compiled, one compile of the program.
POLICY = Policy(base=0.05, per_unit=5e-4, slots=256, families=256, repeat=20)
OP_COMPILE = 0.02  # seconds JAX takes to compile one small op for new shapes (2-core CPU, jax 0.10)


def live_outputs(nodes: list[Node]) -> list[tuple[int, int, LazyArray]]:
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


def _execute(nodes: list[Node], inputs: list, state: State, keys: list, new_ops: int) -> None:
    live = live_outputs(nodes)
    if not live:
        return
    wanted = tuple((k, i) for k, i, _ in live)
    slot = POLICY.slots.slot((state, wanted), Slot)
    program = slot.program
    if program is NEVER:
        return _interpret(nodes, live)
    if program is None:
        fam = POLICY.families.slot(family_of(keys), Family)
        if not compile_now(POLICY, slot, fam, len(nodes), new_ops):
            t0 = now()
            _interpret(nodes, live)
            POLICY.interpreted(slot, fam, now() - t0)
            return None
        program = jax.jit(replay_function(forward_plan(nodes), wanted))
        t0 = now()
        outs = _call(slot, program, inputs)
        if outs is None:
            return _interpret(nodes, live)
        slot.program = program
        POLICY.compiled(fam, now() - t0, len(nodes))
    else:
        outs = _call(slot, program, inputs)
        if outs is None:
            return _interpret(nodes, live)
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


def _interpret(nodes: list[Node], live: list) -> None:
    """Run the nodes one by one, as the eager path would."""
    results: list[tuple] = []
    for prim, node_args, params, _ in nodes:
        args = [results[a[0]][a[1]] if type(a) is tuple else a for a in node_args]
        out = prim.impl(*args, **params)
        results.append(tuple(out) if prim.multiple_results else (out,))
    for k, i, o in live:
        o.value = results[k][i]


# ---- reading ---------------------------------------------------------------------------------

def force(x: Any) -> Any:
    """``x``'s array if it is lazy (running its segment), else ``x``."""
    return x.force() if type(x) is LazyArray else x


def force_tree(tree: Any) -> Any:
    """Every lazy leaf of ``tree`` computed (one segment run for all of them)."""
    return tree_map(force, tree)


def settle(entries: list) -> None:
    """Give every pending value on a tape's entries its array (one segment run), and put the arrays
    in their place: the backward sweep, compiled or not, then sees an ordinary eager tape."""
    for e in entries:
        if e is None:
            continue
        args = e.args
        for a in args:
            if type(a) is LazyArray:
                e.args = tuple(v.force() if type(v) is LazyArray else v for v in args)
                break
        out = e.out
        if out is not None:
            if type(out) is LazyArray:
                e.out = out.force()
            elif type(out) is tuple and any(type(o) is LazyArray for o in out):
                e.out = tuple(o.force() if type(o) is LazyArray else o for o in out)


def install(on: bool = True) -> None:
    """Turn lazy segments on or off (``tg.config.update("lazy", ...)``); pending work runs first."""
    global enabled
    if not on:
        segment().run()
    enabled = bool(on)


def clear() -> None:
    global _root, _states
    POLICY.clear()
    _AVALS.clear()
    _root, _states = State(), 0
