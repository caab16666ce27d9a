"""Lazy segments: eager tapegrad records primitives without running them, and runs them as one program.

Dispatching each primitive as it is recorded costs a JAX dispatch (~5 us on a CPU, ~80 us on a GPU)
and, for every new shape, an XLA compile per op (~25 ms). Instead, a primitive applied inside a
transform in eager mode returns a :class:`LazyArray`: its shape and dtype (known by abstract
evaluation, so a shape error is still raised at the user's line), and its place in the thread's
pending :class:`Segment`. When a value is read (``float``, ``print``, ``np.asarray``, a transform
returning, a plain array leaving the tape) the whole segment runs as one ``jax.jit``-compiled
program where the compile policy (:mod:`tapegrad.accel.policy`) says it pays, and every live lazy
value gets its array (:mod:`tapegrad.accel.segment_program`). A gradient whose forward is still
wholly pending runs forward and backward as one program (:mod:`tapegrad.accel.lazy_grad`).

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

from tapegrad.accel import errors, segment_program
from tapegrad.accel.key import ARRAY, Unkeyable, const_key, params_key
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


MAX_STATES = 50_000  # the trie is dropped (and regrown) past this many steps: programs are cached apart
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

    __slots__ = ("nodes", "keys", "inputs", "state", "new_ops", "tape", "first", "recorded", "base", "mark",
                 "lock")

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
        self.base = 0  # the tape id of the segment's first recorded output: keys hold ids relative to it
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
                segment_program.execute(nodes, inputs, state, keys, new_ops)


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
    if in_ids is None and not pending and not (prim.pending_constant and not prim.differentiable and depth == 1):
        return NotImplemented
    nodes = seg.nodes
    state = seg.state if nodes else _root  # a segment starts at the root of today's trie (see clear)
    param_arrays = None
    try:
        if params:
            try:
                pkey = params_key(params)
            except Unkeyable:  # an index array among the params (x[idx], an embedding): an input
                pkey, param_arrays = segment_program.split_array_params(params)
        else:
            pkey = ()
        if in_ids is not None:
            # Tape ids relative to the segment's first: a long loop cut into segments by the bound
            # repeats one structure, not a new one per segment (and the trie does not grow with it).
            base = seg.base if seg.tape is not None else top._next_id
            if len(in_ids) == 1:
                i = in_ids[0]
                in_ids = (None if i is None else i - base,)
            elif len(in_ids) == 2:
                i, j = in_ids
                in_ids = (None if i is None else i - base, None if j is None else j - base)
            else:
                in_ids = tuple([None if i is None else i - base for i in in_ids])
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
            seg.tape, seg.first, seg.base = tape, len(tape.entries), top._next_id
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


# ---- reading ---------------------------------------------------------------------------------

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
    segment_program.POLICY.clear()
    _AVALS.clear()
    _root, _states = State(), 0
