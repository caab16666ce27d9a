"""Primitives, ``bind``, and the one place where broadcasting is undone.

A :class:`Primitive` is a named forward function (``impl``, a jax.numpy/lax
call) plus one VJP rule per differentiable argument. Rules are written with
tapegrad ops, so when an outer level is live, the backward pass is itself
recorded: that is all higher-order derivatives need.

``bind`` is the hot path of the whole library. It finds the innermost level
among the arguments, unwraps only that level's tracers, applies the primitive to
the values underneath (which may be tracers of outer levels: the same ``bind``
handles them one level down), and records one :class:`Entry`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from tapegrad.core import capture, debug, scope
from tapegrad.core import tracer as tracer_module
from tapegrad.core.foreign import SEQUENCES, as_jax
from tapegrad.core.source import format_where_long, mark_located, user_frame
from tapegrad.core.tape import Entry
from tapegrad.core.tracer import Aval, Tracer

Rule = Callable[..., Any]

# Only values of these dtypes carry gradients; integer and boolean results of a
# differentiable primitive (e.g. `astype(int)`) come back as plain arrays.
INEXACT = frozenset(
    np.dtype(t) for t in (jnp.bfloat16, np.float16, np.float32, np.float64, np.complex64, np.complex128)
)

REGISTRY: dict[str, Primitive] = {}

class Primitive:
    """A differentiable operation: forward ``impl`` and per-argument VJP rules.

    ``vjps[i](g, out, *args, **params)`` returns the cotangent of argument ``i``
    (or ``None`` for zero), with ``g`` the output cotangent. Rules ignore
    broadcasting: the sweep sums each cotangent back to its argument's shape.

    ``save_args`` / ``save_out`` say which residuals the rules read. Where a rule
    needs only shapes, the tape keeps an :class:`Aval` instead of the array.

    Example:
        >>> import jax.numpy as jnp
        >>> import tapegrad.numpy as tnp
        >>> sin_p = Primitive("my_sin", jnp.sin)
        >>> sin_p.defvjp(lambda g, out, x: g * tnp.cos(x))  # doctest: +ELLIPSIS
        <Primitive my_sin>
    """

    __slots__ = ("name", "impl", "vjps", "vjp_all", "vjp_each", "save_args", "save_out", "multiple_results",
                 "differentiable", "symbolic_zeros", "pending_constant")

    def __init__(self, name: str, impl: Callable[..., Any], *, save_args: bool = True,
                 save_out: bool = False, multiple_results: bool = False, differentiable: bool = True,
                 register: bool = True, symbolic_zeros: bool = False) -> None:
        self.name = name
        self.impl = impl
        self.vjps: Sequence[Rule | None] = ()
        self.vjp_all: Rule | None = None
        self.vjp_each: Rule | None = None
        self.save_args = save_args
        self.save_out = save_out
        self.multiple_results = multiple_results
        self.differentiable = differentiable
        # A multi-output rule that takes None for an output without cotangent (instead of zeros):
        # a loop's stacked residual outputs never receive one, and must not be materialised.
        self.symbolic_zeros = symbolic_zeros
        # The library consumes this op's plain (non-differentiable) results itself, or computes them
        # before they reach user code, so with lazy segments they may stay pending (tapegrad.accel.lazy):
        # a non-differentiable op (a loss's class coefficients) is deferred inside a transform even
        # when no argument is pending; a differentiable one's integer outputs (sort's permutation)
        # are not computed when it is recorded.
        self.pending_constant = False
        if register:
            REGISTRY[name] = self

    def defvjp(self, *rules: Rule | None) -> Primitive:
        """One rule per positional argument; ``None`` marks a non-differentiable one."""
        self.vjps = rules
        return self

    def defvjp_all(self, rule: Rule) -> Primitive:
        """A single rule ``rule(g, out, *args, **params) -> tuple`` of all argument cotangents."""
        self.vjp_all = rule
        return self

    def defvjp_each(self, rule: Rule) -> Primitive:
        """One rule for any number of arguments: ``rule(i, g, out, *args, **params)`` is the cotangent
        of argument ``i``, asked only for arguments that need one (variadic ops: concatenate, einsum)."""
        self.vjp_each = rule
        return self

    def deflinear(self, transpose: Rule) -> Primitive:
        """A primitive linear in its one argument: its VJP is ``transpose(g, x, **params)``, where ``x``
        carries only the argument's shape and dtype (the tape keeps no array for it).

        Example:
            >>> import jax.numpy as jnp
            >>> twice = Primitive("twice", lambda x: 2 * x, register=False).deflinear(lambda g, x: 2 * g)
        """
        self.save_args = False
        self.vjps = (lambda g, out, x, **params: transpose(g, x, **params),)
        return self

    def vjp(self, g: Any, entry: Entry) -> Sequence[Any]:
        """The cotangents of ``entry``'s arguments given its output cotangent ``g``."""
        args, params = entry.args, entry.params
        if self.vjp_all is not None:
            return self.vjp_all(g, entry.out, *args, **params)
        if self.vjp_each is not None:
            each, out = self.vjp_each, entry.out
            return [None if aid is None else each(i, g, out, *args, **params) for i, aid in enumerate(entry.in_ids)]
        rules = self.vjps
        cts: list[Any] = []
        for i, aid in enumerate(entry.in_ids):
            rule = rules[i] if i < len(rules) else None
            cts.append(None if aid is None or rule is None else rule(g, entry.out, *args, **params))
        return cts

    def pullback(self, g: Any, entry: Entry) -> list[Any]:
        """The arguments' cotangents, summed back to their shapes and cast to their dtypes."""
        cts = self.vjp(g, entry)
        return [None if aid is None or ct is None else unbroadcast(ct, arg)
                for aid, ct, arg in zip(entry.in_ids, cts, entry.args)]

    def __call__(self, *args: Any, **params: Any) -> Any:
        return bind(self, args, params)

    def __repr__(self) -> str:
        return f"<Primitive {self.name}>"


def transpose_pair(p: Primitive, q: Primitive, p_to_q: Callable[..., dict], q_to_p: Callable[..., dict]) -> None:
    """Declare linear primitives ``p`` and ``q`` each other's transpose: ``p``'s VJP is
    ``q(g, **p_to_q(x, **params))`` and ``q``'s is ``p(g, **q_to_p(x, **params))``, where ``x`` is the
    argument's shape and dtype (``sum_to``/``broadcast_to``, a pool's scatter and gather, ...)."""
    p.deflinear(lambda g, x, **params: q(g, **p_to_q(x, **params)))
    q.deflinear(lambda g, x, **params: p(g, **q_to_p(x, **params)))


def top_trace(values: Sequence[Any]) -> Any:
    """The innermost (highest) live level among ``values``' tracers, or None: where a primitive records."""
    top = None
    for a in values:
        if type(a) is Tracer:
            t = a.trace
            if top is None or t.level > top.level:
                top = t
    return top


def nondifferentiable(name: str, impl: Callable[..., Any], multiple_results: bool = False) -> Primitive:
    """Declare an op with no derivative (comparisons, floor, argmax, …).

    Its result is a plain array at every level: no tape entry, no gradient.
    """
    return Primitive(name, impl, differentiable=False, multiple_results=multiple_results)


def bind(prim: Primitive, args: tuple, params: dict) -> Any:
    """Apply ``prim`` to ``args``, recording on the innermost live level among them."""
    # The hot path of the library: plain loops, no generators (each costs a frame).
    top = None  # the innermost live level among the arguments (top_trace, inlined)
    for a in args:
        ta = type(a)
        if ta is Tracer:
            t = a.trace
            if top is None or t.level > top.level:
                top = t
        elif ta is list or ta is tuple:
            # Positional arguments are arrays: a list or tuple is NumPy's array-like, maybe holding
            # tracers (tnp.mean([a, b])). It becomes one array (a tracer, stacked with differentiable
            # ops) first.
            args = tuple(as_jax(v) if type(v) in SEQUENCES else v for v in args)
            top = top_trace(args)
            break
    if capture.active:  # inside a loop body: captured tracers stand for the loop's inputs
        args = capture.substitute(args)
        top = top_trace(args)
    if top is None:
        return _apply(prim, args, params)
    if not prim.differentiable:
        # A plain result handed back from the tape's values: computed now if pending (see set_deferral).
        return _concrete(bind(prim, tuple(a.primal() if type(a) is Tracer else a for a in args), params))
    if not top.alive:
        raise leaked_tracer_error(prim, top)

    vals = []
    in_ids = []
    nested = False  # does an outer level's tracer remain underneath?
    for a in args:
        if type(a) is Tracer and a.trace is top:
            v = a.value
            in_ids.append(a.id)
        else:
            v = jnp.asarray(a.copy()) if type(a) is np.ndarray else a  # copy now: jnp.asarray reads a later
            in_ids.append(None)
        if type(v) is Tracer:
            nested = True
        vals.append(v)
    vals = tuple(vals)
    in_ids = tuple(in_ids)
    if nested:
        out = bind(prim, vals, params)
    else:
        out = NotImplemented
        if _defer is not None:  # lazy segments: record without running (vals hold no NumPy array)
            try:
                out = _defer(prim, vals, params, top, in_ids)
            except (TypeError, ValueError, IndexError) as e:
                raise op_error(prim, vals, params, e) from e
        if out is NotImplemented:
            out = _apply(prim, vals, params, run_now=True)

    if prim.save_args:
        saved = vals
    else:
        saved = tuple(Aval(tuple(v.shape), v.dtype) if hasattr(v, "shape") else v for v in vals)
    return record(top, prim, in_ids, saved, out, params)


# Deferred execution (tapegrad.accel.lazy registers it): fn(prim, args, params, top, in_ids) returns
# the pending outputs, or NotImplemented to run the primitive now; `in_ids` is None unless the call
# records on `top`'s tape. `lazy_type` is the pending values' type.
_defer: Callable[..., Any] | None = None
_lazy_type: type | None = None


def set_deferral(fn: Callable[..., Any] | None, lazy_type: type | None) -> None:
    """Install (or, with None, remove) deferred execution of primitives: the forward-dispatch hook."""
    global _defer, _lazy_type
    _defer, _lazy_type = fn, lazy_type
    tracer_module.set_lazy_type(lazy_type)


def _concrete(out: Any) -> Any:
    """``out`` with pending values computed: plain arrays never leave the tape pending."""
    lt = _lazy_type
    if lt is None:
        return out
    if type(out) is lt:
        return out.force()
    if type(out) in (tuple, list) and any(type(o) is lt for o in out):
        return type(out)(o.force() if type(o) is lt else o for o in out)
    return out


def concrete_tree(tree: Any) -> Any:
    """``tree`` with every pending leaf computed (one segment run): what transforms hand back."""
    if _lazy_type is None:
        return tree
    import jax

    return jax.tree_util.tree_map(_concrete, tree)


def _apply(prim: Primitive, args: tuple, params: dict, run_now: bool = False) -> Any:
    """``prim.impl`` on values that hold no tracer of any level (deferred where lazy segments say so,
    unless ``run_now``)."""
    for a in args:
        if type(a) is np.ndarray:
            # Some jax.numpy functions (reshape, indexing, clip) hand NumPy inputs back as NumPy,
            # with NumPy's semantics (an out-of-bounds index raises): tnp always returns JAX arrays.
            args = tuple(jnp.asarray(a.copy()) if type(a) is np.ndarray else a for a in args)  # copy: see bind
            break
    if _defer is not None:
        if not run_now:
            try:
                out = _defer(prim, args, params, None, None)
            except (TypeError, ValueError, IndexError) as e:
                raise op_error(prim, args, params, e) from e
            if out is not NotImplemented:
                return out
        lt = _lazy_type
        if any(type(a) is lt for a in args):  # run now: pending inputs first
            why = f"for {prim.name}, which runs as it is recorded"
            args = tuple(a.force(why) if type(a) is lt else a for a in args)
    try:
        out = prim.impl(*args, **params)
    except (TypeError, ValueError, IndexError) as e:
        raise op_error(prim, args, params, e) from e
    if debug.active:
        debug.check_forward(prim, args, out)
    return out


def record(top: Any, prim: Primitive, in_ids: tuple, saved: tuple, out: Any, params: dict,
           depth: int = 4) -> Any:
    """Wrap ``out`` in tracers of level ``top`` and append one entry to its tape.

    Integer and boolean outputs stay plain arrays: no gradient flows through them. ``depth``: the
    first stack frame that may be the user's (counted from user_frame's own; 4 is bind's caller's
    caller: bind's caller is always tapegrad's, and skipping it unread saves materialising a frame,
    ~0.5 us of every primitive recorded).
    """
    if prim.multiple_results:
        results = []
        out_ids = []
        for o in out:
            if o.dtype in INEXACT:
                t = Tracer(o, top, top.new_id())
                results.append(t)
                out_ids.append(t.id)
            else:
                results.append(o if prim.pending_constant else _concrete(o))
                out_ids.append(None)
        out_ids = tuple(out_ids)
        out_avals = tuple((tuple(o.shape), o.dtype) for o in out)
        result: Any = tuple(results) if isinstance(out, tuple) else results
    else:
        dtype = out.dtype
        if dtype not in INEXACT:
            return _concrete(out)
        i = top._next_id  # Trace.new_id, inlined
        top._next_id = i + 1
        result = Tracer(out, top, i)
        out_ids = (i,)
        out_avals = ((tuple(out.shape), dtype),)
    top.tape.entries.append(Entry(prim, in_ids, out_ids, saved, out if prim.save_out else None,
                                  params, out_avals, user_frame(depth), scope.current()))
    return result


def describe(x: Any) -> str:
    """``f32[2,3]`` for an array (or tracer), ``3.0`` for a Python scalar."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{np.dtype(x.dtype).name}{list(x.shape)}".replace(" ", "")
    if isinstance(x, (int, float, complex, bool)):
        return repr(x)
    return type(x).__name__


def op_error(prim: Primitive, args: tuple, params: dict, e: Exception) -> Exception:
    """The same exception type, naming the op, the operands and the user's line."""
    operands = ", ".join(describe(a) for a in args)
    shown = {k: v for k, v in params.items() if not hasattr(v, "shape")}
    extra = f" with {shown}" if shown else ""
    msg = (f"tapegrad op '{prim.name}' failed on operands ({operands}){extra} "
           f"at {format_where_long(user_frame(2))}: {e}")
    try:
        return mark_located(type(e)(msg))
    except Exception:
        return mark_located((TypeError if isinstance(e, TypeError) else ValueError)(msg))


def leaked_tracer_error(prim: Primitive, trace: Any) -> Exception:
    return TypeError(
        f"tapegrad op '{prim.name}' received a Tracer of level {trace.level} whose transform has "
        f"already returned (at {format_where_long(user_frame(2))}). A tracer escaped its transform, "
        "e.g. through a global or a closure kept after grad() returned; return values instead.")


# --- The three structural primitives the backward sweep itself emits. -----------
# They live in core because undoing broadcasting is the core's job; each one's
# rule is the other's forward (sum_to and broadcast_to are transposes).

def _sum_to_impl(x: Any, shape: tuple[int, ...]) -> Any:
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
    if axes:
        x = jnp.sum(x, axis=axes)
    return jnp.reshape(x, shape)


sum_to_p = Primitive("sum_to", _sum_to_impl)
broadcast_to_p = Primitive("broadcast_to", lambda x, shape: jnp.broadcast_to(x, shape))


def _convert_impl(x, dtype):
    # Complex to real keeps the real part, as JAX's transpose of a real-to-complex cast does; taking
    # it explicitly avoids NumPy's ComplexWarning.
    if jnp.issubdtype(x.dtype, jnp.complexfloating) and not jnp.issubdtype(dtype, jnp.complexfloating):
        x = lax.real(x)
    return lax.convert_element_type(x, dtype)


convert_p = Primitive("convert_element_type", _convert_impl, save_args=False)
transpose_pair(sum_to_p, broadcast_to_p, lambda x, shape: {"shape": tuple(x.shape)},
               lambda x, shape: {"shape": tuple(x.shape)})
convert_p.deflinear(lambda g, x, dtype: convert_p(g, dtype=x.dtype))


def unbroadcast(ct: Any, like: Any) -> Any:
    """Sum ``ct`` down to ``like``'s shape and cast it to ``like``'s dtype: the one place."""
    # Shapes are tuples here (arrays, tracers, Avals); comparing them as they are skips two copies.
    if ct.shape != like.shape:
        ct = sum_to_p(ct, shape=tuple(like.shape))
    if ct.dtype != like.dtype:
        ct = convert_p(ct, dtype=like.dtype)
    return ct

