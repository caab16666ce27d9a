"""Lazy segments: eager tapegrad records primitives without running them, and runs them as one program.

Dispatching each primitive as it is recorded costs a JAX dispatch (~5 us on a CPU, ~80 us on a GPU)
and, for every new shape, an XLA compile per op (~25 ms). Instead, a primitive applied inside a
transform in eager mode returns a :class:`LazyArray`: its shape and dtype (known by abstract
evaluation, so a shape error is still raised at the user's line), and the pending operation. The
backward sweep's rules, applied to lazy values, are pending too. When a value is read (``float``,
``print``, ``np.asarray``, a transform returning, a plain array leaving the tape), the whole pending
segment runs as one ``jax.jit``-compiled program, cached by its structure (:mod:`tapegrad.accel.key`
and the compile policy of :mod:`tapegrad.accel.policy`), and every live lazy value gets its array.

Lazy values never reach user code: they live only inside tapegrad Tracers and the library's own rule
code; anything handed back as a plain array is computed first. Under ``jax.jit``/``jax.vmap`` (the
values are JAX tracers), at outer levels of nested transforms and under ``tg.debug_nans`` lazy steps
aside. It is off by default (see :mod:`tapegrad.config` for why); ``tg.config.update("lazy", True)``
(or ``TAPEGRAD_LAZY=1``) switches it on.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any

import jax
import numpy as np
from jax.tree_util import tree_map

from tapegrad.accel import errors
from tapegrad.accel.key import ARRAY, Unkeyable, array_key, const_key, family, params_key
from tapegrad.accel.policy import NEVER, Family, Policy, Slot, now
from tapegrad.core import debug
from tapegrad.core.tracer import trace_stack

MAX_PENDING = 4096  # a segment longer than this runs before recording more (a loop of 10**6 ops)
enabled = False  # tapegrad.config installs it when switched on


class LazyArray:
    """A value that will be computed when a segment runs: shape, dtype and weak type known now."""

    __slots__ = ("shape", "dtype", "weak_type", "node", "index", "value", "__weakref__")

    def __init__(self, aval: Any, node: Node, index: int) -> None:
        self.shape = tuple(aval.shape)
        self.dtype = aval.dtype
        self.weak_type = bool(getattr(aval, "weak_type", False))
        self.node, self.index, self.value = node, index, None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def force(self) -> Any:
        if self.value is None:
            self.node.segment.run()
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

    def __getattr__(self, name: str) -> Any:  # item, tolist, block_until_ready, devices, ...
        return getattr(self.force(), name)

    # Operators, indexing and the array methods are tnp's (attached by tapegrad.numpy.tracer_methods),
    # so that rule code written on values stays pending.


class Node:
    """One pending primitive application: its inputs are concrete values or other nodes' outputs."""

    __slots__ = ("prim", "args", "params", "avals", "outs", "segment", "sig")

    def __init__(self, prim: Any, args: tuple, params: dict, avals: tuple, segment: Segment, sig: tuple) -> None:
        self.prim, self.args, self.params, self.avals, self.segment, self.sig = prim, args, params, avals, segment, sig
        self.outs: list[Any] = []  # weak references to this node's LazyArrays


class Segment:
    """The pending nodes of one thread, in recording order."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.lock = threading.RLock()

    def run(self) -> None:
        """Compute every live lazy value of this segment (compiled as one program where that pays)."""
        with self.lock:
            nodes, self.nodes = self.nodes, []
            if nodes:
                _execute(nodes)


_local = threading.local()


def _segment() -> Segment:
    seg = getattr(_local, "segment", None)
    if seg is None:
        seg = _local.segment = Segment()
    return seg


# ---- recording -----------------------------------------------------------------------------

def defer(prim: Any, args: tuple, params: dict, recording: bool) -> Any:
    """A pending application of ``prim`` (LazyArrays out), or NotImplemented to run it now.

    ``recording``: the call records on a tape (a transform's forward pass). Otherwise it defers only
    when an argument is itself lazy (the rules of a backward sweep over lazy residuals).
    """
    if not enabled or debug.active or len(trace_stack()) > 1:
        return NotImplemented
    lazy_arg = False
    for a in args:
        t = type(a)
        if t is LazyArray:
            if a.value is None:
                lazy_arg = True
        elif t is not ARRAY and t is not float and t is not int and t is not bool and t is not complex \
                and a is not None:
            if hasattr(a, "shape"):  # a JAX tracer (under jit/vmap) or anything unusual: run now
                return NotImplemented
    if not (recording or lazy_arg):
        return NotImplemented
    try:
        sig_args = tuple(_arg_sig(a) for a in args)
        pkey = params_key(params)
        key = (prim, sig_args, pkey)
        avals = _AVALS.get(key)
    except (Unkeyable, TypeError):
        return NotImplemented
    if avals is None:
        avals = _abstract_eval(prim, args, params, key)
    if avals is NotImplemented:
        return NotImplemented
    seg = _segment()
    if len(seg.nodes) >= MAX_PENDING:
        seg.run()
    node = Node(prim, tuple(_input(a, seg) for a in args), params, avals, seg, key)
    seg.nodes.append(node)
    outs = [LazyArray(v, node, i) for i, v in enumerate(avals)]
    node.outs = [weakref.ref(o) for o in outs]
    return tuple(outs) if prim.multiple_results else outs[0]


def _input(a: Any, seg: Segment) -> Any:
    """A node's input: a pending output of this segment as (node, index), anything else as a value."""
    if type(a) is LazyArray:
        if a.value is None and a.node.segment is not seg:  # pending in another thread's segment
            a.force()
        return a.value if a.value is not None else (a.node, a.index)
    return a


def _arg_sig(a: Any) -> Any:
    t = type(a)
    if t is LazyArray or t is ARRAY:
        return (a.shape, a.dtype, a.weak_type)
    return const_key(a)


_AVALS: dict[Any, Any] = {}  # (prim, argument signature, params) -> output avals, or NotImplemented
_AVALS_MAX = 8192


def _abstract_eval(prim: Any, args: tuple, params: dict, key: Any) -> Any:
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
            avals = NotImplemented
        else:
            raise  # a shape or type error: the eager path raises it, with the op and the user's line
    else:
        avals = tuple(out) if prim.multiple_results else (out,)
    if len(_AVALS) >= _AVALS_MAX:
        _AVALS.clear()
    _AVALS[key] = avals
    return avals


# ---- running a segment ---------------------------------------------------------------------

# A whole segment's host cost, interpreted, is one dispatch per node plus, for ops JAX has not yet
# compiled for these shapes, a compile each (~25 ms on a CPU); compiled, one compile of the program.
POLICY = Policy(base=0.05, per_unit=1e-3, slots=256, families=256)
_SEEN_OPS: set = set()  # op signatures already run eagerly (JAX has compiled them)
_OP_COMPILE = 0.02


def _execute(nodes: list[Node]) -> None:
    live: list[tuple[int, int, LazyArray]] = []
    for k, n in enumerate(nodes):
        for i, ref in enumerate(n.outs):
            o = ref()
            if o is not None and o.value is None:
                live.append((k, i, o))
    if not live:
        return
    try:
        key, inputs = _structure(nodes, live)
        hash(key)
    except (Unkeyable, TypeError):
        return _interpret(nodes, live)
    slot = POLICY.slots.slot(key, Slot)
    program = slot.program
    if program is NEVER:
        return _interpret(nodes, live)
    if program is None:
        fam = POLICY.families.slot(family(key), Family)
        if slot.hits == 0 and fam.first_visit is None:
            # A segment of a new family: its interpreted cost is mostly the ops JAX has not compiled yet.
            new_ops = sum(1 for n in nodes if n.sig not in _SEEN_OPS)
            compile_now = POLICY.compile_estimate(fam, len(nodes)) < new_ops * _OP_COMPILE + 5e-6 * len(nodes)
        else:
            compile_now = POLICY.should_compile(slot, fam, len(nodes))
        if not compile_now:
            t0 = now()
            _interpret(nodes, live)
            POLICY.interpreted(slot, fam, now() - t0)
            return None
        program = _compile(nodes, live)
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
        o.value, o.node = v, None
    return None


def _call(slot: Slot, program: Any, inputs: list) -> Any:
    try:
        return program(*inputs)
    except Exception as e:
        if errors.cannot_be_traced(e):
            slot.program = NEVER
        return None


def _structure(nodes: list[Node], live: list) -> tuple[tuple, list]:
    """The segment's key (no array in it) and its concrete input arrays, in order."""
    index = {id(n): k for k, n in enumerate(nodes)}
    inputs: list[Any] = []
    key: list[Any] = []
    for n in nodes:
        refs = []
        for a in n.args:
            if type(a) is tuple and len(a) == 2 and type(a[0]) is Node:
                src = index.get(id(a[0]))
                if src is None:  # produced by an earlier segment that has run: its value is concrete now
                    v = _resolve(a)
                    inputs.append(v)
                    refs.append(("in", array_key(v)))
                else:
                    refs.append(("n", src, a[1]))
            elif type(a) is ARRAY:
                inputs.append(a)
                refs.append(("in", array_key(a)))
            else:
                refs.append(("c", const_key(a)))
        key.append((n.sig[0], tuple(refs), n.sig[2]))
    key.append(tuple((k, i) for k, i, _ in live))
    return tuple(key), inputs


def _resolve(ref: Any) -> Any:
    """The value of a pending output of a segment that has run (kept alive by its LazyArray)."""
    node, i = ref
    o = node.outs[i]()
    if o is None:  # pragma: no cover - a node's inputs are recorded into its own segment
        raise RuntimeError("tapegrad lazy: a pending value was lost before its segment ran")
    return o.force()


def _compile(nodes: list[Node], live: list) -> Any:
    """A jitted function of the segment's inputs returning its live outputs, from the structure only."""
    index = {id(n): k for k, n in enumerate(nodes)}
    plan = []
    for n in nodes:
        spec = []
        for a in n.args:
            if type(a) is tuple and len(a) == 2 and type(a[0]) is Node:
                src = index.get(id(a[0]))
                spec.append(("in",) if src is None else ("n", src, a[1]))
            elif type(a) is ARRAY:
                spec.append(("in",))
            else:
                spec.append(("c", a))
        plan.append((n.prim, tuple(spec), n.params))
    wanted = [(k, i) for k, i, _ in live]

    def program(*inputs: Any) -> list:
        it = iter(inputs)
        results: list[Any] = []
        for prim, spec, params in plan:
            args = [next(it) if s[0] == "in" else results[s[1]][s[2]] if s[0] == "n" else s[1] for s in spec]
            out = prim.impl(*args, **params)
            results.append(tuple(out) if prim.multiple_results else (out,))
        return [results[k][i] for k, i in wanted]

    return jax.jit(program)


def _interpret(nodes: list[Node], live: list) -> None:
    """Run the nodes one by one, as the eager path would."""
    results: dict[int, tuple] = {}
    for n in nodes:
        args = []
        for a in n.args:
            if type(a) is tuple and len(a) == 2 and type(a[0]) is Node:
                got = results.get(id(a[0]))
                args.append(_resolve(a) if got is None else got[a[1]])
            else:
                args.append(a)
        out = n.prim.impl(*args, **n.params)
        results[id(n)] = tuple(out) if n.prim.multiple_results else (out,)
        _SEEN_OPS.add(n.sig)
        for i, ref in enumerate(n.outs):
            o = ref()
            if o is not None and o.value is None:
                o.value, o.node = results[id(n)][i], None
    if len(_SEEN_OPS) > 65536:
        _SEEN_OPS.clear()


# ---- reading ---------------------------------------------------------------------------------

def force(x: Any) -> Any:
    """``x``'s array if it is lazy (running its segment), else ``x``."""
    return x.force() if type(x) is LazyArray else x


def force_tree(tree: Any) -> Any:
    """Every lazy leaf of ``tree`` computed (one segment run for all of them)."""
    return tree_map(force, tree)


def install(on: bool = True) -> None:
    """Turn lazy segments on or off (``tg.config.update("lazy", ...)``); pending work runs first."""
    global enabled
    if not on:
        _segment().run()
    enabled = bool(on)


def clear() -> None:
    POLICY.clear()
    _AVALS.clear()
    _SEEN_OPS.clear()

