"""``tg.lax.switch`` and ``tg.lax.cond``: one entry per branch point, whose VJP is a switch of VJPs.

Every branch is traced once (abstractly) and must return the same structure, shapes and dtypes,
as in JAX. The forward pass is ``jax.lax.switch`` over the values underneath; the VJP is a
``tg.lax.switch`` on the same index whose branches pull the cotangent back through the branch
taken, so only that branch's derivative is computed, and differentiating again works the same way.
The index (or predicate) has no derivative.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_flatten, tree_unflatten

from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.lax.body import Body, as_value, check_same_avals, is_inexact, leaf_aval
from tapegrad.lax.eager import compiled_once


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """``branches[index](*operands)`` with ``index`` clamped to the branches, as ``jax.lax.switch``.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> f = lambda x, i: tg.lax.switch(i, [tnp.sin, tnp.cos, lambda v: v * v], x)
        >>> float(tg.grad(f)(3.0, 2))
        6.0
    """
    who = "tg.lax.switch"
    branches = list(branches)
    if not branches or not all(callable(b) for b in branches):
        raise TypeError(f"{who}: branches must be a non-empty sequence of callables")
    if type(index) is Tracer:
        raise TypeError(f"{who}: the index must be an integer, got a differentiable {index.dtype} value")
    idx = jnp.asarray(index)
    if idx.shape != () or not (jnp.issubdtype(idx.dtype, jnp.integer) or idx.dtype == jnp.bool_):
        raise TypeError(f"{who}: the index must be an integer scalar, got {idx.dtype}{list(idx.shape)}")
    ops, ops_tree = tree_flatten(operands)
    ops = [as_value(v) for v in ops]
    avals = [leaf_aval(v) for v in ops]
    bodies = [Body(lambda ops, b=b: b(*ops), (ops_tree,), (avals,), who) for b in branches]
    first = bodies[0]
    for k, b in enumerate(bodies[1:], 1):
        check_same_avals(who, f"branch {k}'s output", list(b.out_avals), b.out_tree, list(first.out_avals),
                         first.out_tree)
    captured = _union([b.captured for b in bodies])
    if not captured and not any(type(v) is Tracer for v in ops):
        return tree_unflatten(first.out_tree, compiled_once(
            lambda i, *o: tree_flatten(jax.lax.switch(i, branches, *tree_unflatten(ops_tree, list(o))))[0])(
            idx.astype(jnp.int32), *ops))
    outs = switch_p(jnp.clip(idx.astype(jnp.int32), 0, len(branches) - 1), *captured, *ops,
                    bodies=tuple(bodies), n_consts=len(captured))
    return tree_unflatten(first.out_tree, list(outs))


def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as ``jax.lax.cond``.

    Example:
        >>> import tapegrad as tg
        >>> f = lambda x: tg.lax.cond(x > 0, lambda v: v * v, lambda v: -v, x)
        >>> float(tg.grad(f)(3.0)), float(tg.grad(f)(-3.0))
        (6.0, -1.0)
    """
    if type(pred) is Tracer:
        raise TypeError("tg.lax.cond: the predicate must be a boolean, got a differentiable value; compare it "
                        "(x > 0) first")
    p = jnp.asarray(pred)
    if p.shape != ():
        raise TypeError(f"tg.lax.cond: the predicate must be a scalar, got shape {p.shape}")
    return switch(p.astype(jnp.int32) if p.dtype == jnp.bool_ else (p != 0).astype(jnp.int32),
                  [false_fun, true_fun], *operands)


def _union(groups: list[list[Tracer]]) -> list[Tracer]:
    seen: set[int] = set()
    out = []
    for g in groups:
        for t in g:
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
    return out


def _consts_for(body: Body, captured: list, consts: list) -> list:
    """The values of ``body``'s own captured tracers among the union ``captured``."""
    where = {id(t): i for i, t in enumerate(captured)}
    return [consts[where[id(t)]] for t in body.captured]


def _switch_impl(index: Any, *args: Any, bodies: tuple, n_consts: int) -> tuple:
    consts, ops = list(args[:n_consts]), list(args[n_consts:])
    captured = _union([b.captured for b in bodies])
    fns = [lambda ops, b=b: tuple(b.run(_consts_for(b, captured, consts), ops)) for b in bodies]
    return jax.lax.switch(index, fns, ops)


def _switch_vjp(gs: tuple, out: Any, index: Any, *args: Any, bodies: tuple, n_consts: int) -> list:
    from tapegrad.transforms.reverse import vjp_jax

    consts, ops = list(args[:n_consts]), list(args[n_consts:])
    captured = _union([b.captured for b in bodies])
    d_ops = [i for i, v in enumerate(ops) if is_inexact(v)]
    d_out = [j for j, a in enumerate(bodies[0].out_avals) if is_inexact(a)]
    g = [jnp.zeros(tuple(bodies[0].out_avals[j].shape), bodies[0].out_avals[j].dtype) if gs[j] is None
         else gs[j] for j in d_out]

    def branch_vjp(b: Body) -> Callable:
        def pull(k: tuple, o: tuple, g: tuple) -> tuple:
            def f(k: tuple, o_d: tuple) -> tuple:
                full = list(o)
                for i, v in zip(d_ops, o_d):
                    full[i] = v
                outs = b.run(_consts_for(b, captured, list(k)), full)
                return tuple(outs[j] for j in d_out)

            d_k, d_o = vjp_jax(f, tuple(k), tuple(o[i] for i in d_ops))[1](tuple(g))
            return tuple(d_k), tuple(d_o)
        return pull

    d_k, d_o = switch(index, [branch_vjp(b) for b in bodies], tuple(consts), tuple(ops), tuple(g))
    ops_cts: list[Any] = [None] * len(ops)
    for i, v in zip(d_ops, d_o):
        ops_cts[i] = v
    return [None, *d_k, *ops_cts]


switch_p = Primitive("switch", compiled_once(_switch_impl), multiple_results=True, save_args=True,
                     symbolic_zeros=True).defvjp_all(_switch_vjp)
