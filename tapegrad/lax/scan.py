"""``tg.lax.scan``: one tape entry per loop, whose VJP is a reverse scan of the body's VJP.

The forward pass is ``jax.lax.scan`` over the values underneath, so a loop of any length is one
entry on the tape and one XLA loop under ``jax.jit`` (compile time does not grow with the trip
count). It also returns, stacked over the steps, what the backward pass needs:

* by default, what the body's VJP rules read at each step (its residuals, see
  :mod:`tapegrad.lax.residuals`), so the reverse loop only runs those rules, as JAX's scan does;
* with a ``tg.checkpoint``-ed body, only the carry entering each step; the reverse loop then
  re-runs each step's forward and pulls the cotangents back through it, so residuals of one step
  live only during that step (``jax.checkpoint`` on the body in JAX): less memory, more compute.

The carries are stacked in both modes: at higher order the outer VJP needs them.

The VJP is itself a ``tg.lax.scan`` (in reverse) of tapegrad code, so it is recorded when an outer
level is live, and every order of differentiation works. Cotangents of the captured tracers (a
model's params) are summed over the steps in the reverse loop's carry.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_unflatten

from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.lax.body import Body, as_value, check_same_avals, is_inexact, leaf_aval
from tapegrad.lax.eager import compiled_once
from tapegrad.lax.residuals import Plan
from tapegrad.rules.sharding import explicit_sharding

WHO = "tg.lax.scan"


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None, reverse: bool = False,
         unroll: int | bool = 1) -> tuple[Any, Any]:
    """``jax.lax.scan``'s loop, differentiable by tapegrad: ``carry, ys = scan(f, init, xs)``.

    ``f(carry, x) -> (carry, y)`` is traced once; the tape holds one entry for the whole loop.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> def cumsum_sq(x):
        ...     return tg.lax.scan(lambda c, v: (c + v * v, c), 0.0, x)[0]
        >>> tg.grad(cumsum_sq)(tnp.array([1.0, 2.0, 3.0])).tolist()
        [2.0, 4.0, 6.0]
    """
    if not callable(f):
        raise TypeError(f"{WHO}: f must be a callable (carry, x) -> (carry, y), got {type(f).__name__}")
    remat = getattr(f, "checkpointed", None) is not None
    if remat:
        f = f.checkpointed  # the body itself; the loop's reverse pass recomputes it step by step
    init_leaves, init_tree = tree_flatten(init)
    xs_leaves, xs_tree = tree_flatten(xs)
    init_leaves = [as_value(v) for v in init_leaves]
    xs_leaves = [as_value(v) for v in xs_leaves]
    n = _length(xs_leaves, length)
    init_avals = [leaf_aval(v) for v in init_leaves]
    x_avals = [jax.ShapeDtypeStruct(tuple(v.shape[1:]), v.dtype) for v in xs_leaves]
    body = Body(f, (init_tree, xs_tree), (init_avals, x_avals), WHO)
    out_leaves = body.out_avals
    out = tree_unflatten(body.out_tree, list(out_leaves))
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"{WHO}: f must return a pair (carry, y), got {body.out_tree}")
    c_leaves, c_tree = tree_flatten(out[0])
    check_same_avals(WHO, "the carry", c_leaves, c_tree, init_avals, init_tree)
    y_leaves, y_tree = tree_flatten(out[1])
    if not body.captured and not any(type(v) is Tracer for v in init_leaves + xs_leaves):
        # Nothing to differentiate: the loop is plain JAX (compiled once per program when eager).
        def plain(*leaves: Any) -> Any:
            c = tree_unflatten(init_tree, list(leaves[:len(init_leaves)]))
            x = tree_unflatten(xs_tree, list(leaves[len(init_leaves):]))
            return jax.lax.scan(f, c, x, length=length, reverse=reverse, unroll=unroll)
        return compiled_once(plain)(*init_leaves, *xs_leaves)
    results = scan_p(*body.captured, *init_leaves, *xs_leaves, body=body, n_consts=len(body.captured),
                     n_carry=len(init_leaves), length=n, reverse=bool(reverse), unroll=unroll, remat=remat)
    carry = tree_unflatten(init_tree, list(results[:len(init_leaves)]))
    ys = tree_unflatten(y_tree, list(results[len(init_leaves):len(init_leaves) + len(y_leaves)]))
    return carry, ys


def _length(xs_leaves: list, length: int | None) -> int:
    lengths = {int(v.shape[0]) for v in xs_leaves if v.ndim}
    if any(v.ndim == 0 for v in xs_leaves):
        raise ValueError(f"{WHO}: every leaf of xs needs a leading axis to scan over; got a scalar")
    if len(lengths) > 1:
        raise ValueError(f"{WHO}: the leaves of xs have different leading sizes {sorted(lengths)}")
    if length is not None:
        length = int(length)
        if lengths and lengths != {length}:
            raise ValueError(f"{WHO}: length={length} but xs has leading size {lengths.pop()}")
        return length
    if not lengths:
        raise ValueError(f"{WHO}: with xs=None (or no leaves) pass length=")
    return lengths.pop()


def _split(args: tuple, n_consts: int, n_carry: int) -> tuple[list, list, list]:
    return list(args[:n_consts]), list(args[n_consts:n_consts + n_carry]), list(args[n_consts + n_carry:])


def _scan_impl(*args: Any, body: Body, n_consts: int, n_carry: int, length: int, reverse: bool,
               unroll: Any, remat: bool) -> tuple:
    consts, init, xs = _split(args, n_consts, n_carry)
    dc = [i for i, v in enumerate(init) if is_inexact(v)]
    dx = [i for i, v in enumerate(xs) if is_inexact(v)]

    def step(c: list, x: list | None) -> tuple:
        x = [] if x is None else x
        if remat:
            return (out := body.run(consts, c, x))[:n_carry], (out[n_carry:], c, [])
        out, plan, residuals = Plan.record(lambda k, cg, xg: body.run(k, cg, xg), consts, [(c, dc), (x, dx)])
        body.plan = plan  # the same each trace: the VJP rebuilds each step's tape from it
        return out[:n_carry], (out[n_carry:], c, residuals)

    carry, (ys, carries, residuals) = jax.lax.scan(step, init, xs if xs else None, length=length,
                                                   reverse=reverse, unroll=unroll)
    return (*carry, *ys, *carries, *residuals)


def _scan_vjp(gs: tuple, out: tuple, *args: Any, body: Body, n_consts: int, n_carry: int, length: int,
              reverse: bool, unroll: Any, remat: bool) -> list:
    from tapegrad.transforms.reverse import vjp_jax

    consts, init, xs = _split(args, n_consts, n_carry)
    n_ys = len(body.out_avals) - n_carry
    carries = list(out[n_carry + n_ys:2 * n_carry + n_ys])
    residuals = list(out[2 * n_carry + n_ys:])
    # Which carry, x and y leaves carry cotangents (integer ones never do).
    dc = [i for i in range(n_carry) if is_inexact(out[i])]
    dx = [i for i, v in enumerate(xs) if is_inexact(v)]
    dy = [j for j in range(n_ys) if is_inexact(out[n_carry + j])]
    g_carry = [_ct(gs[i], out[i]) for i in dc]
    g_ys = [_ct(gs[n_carry + j], out[n_carry + j]) for j in dy]
    g_consts0 = [_ct(None, k) for k in consts]
    # The stacked carries are outputs too: at higher order the outer VJP reads them, and their
    # cotangents (None at first order) add to the carry entering each step.
    stack_ct = [gs[n_carry + n_ys + i] for i in dc]
    with_stack = any(g is not None for g in stack_ct)
    g_stack = [_ct(g, carries[i]) for g, i in zip(stack_ct, dc)] if with_stack else []
    resid_ct = list(gs[2 * n_carry + n_ys:])
    if not remat and not with_stack and all(g is None for g in resid_ct):
        return _replay_vjp(body, consts, xs, n_carry, dc, dx, dy, g_carry, g_ys, g_consts0, residuals, length,
                           reverse, unroll)
    with_resid = any(g is not None for g in resid_ct)
    g_resid = [_ct(g, r) for g, r in zip(resid_ct, residuals)] if with_resid else []

    def step_vjp(bc: tuple, bx: tuple) -> tuple:
        g_c, g_k = bc
        c_t, x_t, gy_t, gs_t, gr_t = bx

        def one_step(k: tuple, c_d: tuple, x_d: tuple) -> tuple:
            c_full = _merge(c_t, dc, c_d)
            x_full = _merge(x_t, dx, x_d)
            if with_resid:  # the residuals are outputs too, read by an outer VJP: their cotangents count
                run = lambda kk, cg, xg: body.run(kk, cg, xg)  # noqa: E731
                outs, _, res = Plan.record(run, list(k), [(c_full, dc), (x_full, dx)])
            else:
                outs, res = body.run(list(k), c_full, x_full), []
            return tuple(outs[i] for i in dc), tuple(outs[n_carry + j] for j in dy), tuple(res)

        _, pull = vjp_jax(one_step, tuple(consts), tuple(c_t[i] for i in dc), tuple(x_t[i] for i in dx))
        d_k, d_c, d_x = pull((tuple(g_c), tuple(gy_t), tuple(gr_t)))
        d_c = [a + b for a, b in zip(d_c, gs_t)] if with_stack else list(d_c)
        return (d_c, [a + b for a, b in zip(g_k, d_k)]), list(d_x)

    (g_init, g_consts), g_xs = scan(step_vjp, (g_carry, g_consts0), (carries, xs, g_ys, g_stack, g_resid),
                                    length=length, reverse=not reverse, unroll=unroll)
    return _assemble(n_carry, len(xs), dc, dx, g_consts, g_init, g_xs)


def _replay_vjp(body: Body, consts: list, xs: list, n_carry: int, dc: list, dx: list, dy: list, g_carry: list,
                g_ys: list, g_consts0: list, residuals: list, length: int, reverse: bool, unroll: Any) -> list:
    """First order with saved residuals: a reverse loop that runs only the body's VJP rules."""
    plan = body.plan
    n_out = len(body.out_avals)

    def step_vjp(bc: tuple, bx: tuple) -> tuple:
        g_c, g_k = bc
        r_t, gy_t = bx
        cts: list[Any] = [None] * n_out
        for i, g in zip(dc, g_c):
            cts[i] = g
        for j, g in zip(dy, gy_t):
            cts[n_carry + j] = g
        got = plan.pull_back(list(consts), list(r_t), cts)
        nk = len(consts)
        d_k = [_ct(g, k) for g, k in zip(got[:nk], consts)]
        d_c = [_ct(g, c) for g, c in zip(got[nk:nk + len(dc)], g_c)]
        d_x = [jnp.zeros(xs[i].shape[1:], xs[i].dtype) if g is None else g for g, i in zip(got[nk + len(dc):], dx)]
        return (d_c, [a + b for a, b in zip(g_k, d_k)]), d_x

    (g_init, g_consts), g_xs = scan(step_vjp, (g_carry, g_consts0), (residuals, g_ys), length=length,
                                    reverse=not reverse, unroll=unroll)
    return _assemble(n_carry, len(xs), dc, dx, g_consts, g_init, g_xs)


def _assemble(n_carry: int, n_xs: int, dc: list, dx: list, g_consts: list, g_init: list, g_xs: list) -> list:
    init_cts: list[Any] = [None] * n_carry
    for i, g in zip(dc, g_init):
        init_cts[i] = g
    xs_cts: list[Any] = [None] * n_xs
    for i, g in zip(dx, g_xs):
        xs_cts[i] = g
    return list(g_consts) + init_cts + xs_cts


def _ct(g: Any, like: Any) -> Any:
    """``g``, or zeros typed as ``like``. Under an explicit mesh a loop carry must keep its sharding too,
    so a cotangent made without the batch's (a mean's broadcast) gets it, by adding sharded zeros."""
    sharding = explicit_sharding(like)
    if g is None:
        return jnp.zeros(np.shape(like), like.dtype, out_sharding=sharding)
    if sharding is not None and explicit_sharding(g) != sharding:
        return g + jnp.zeros(np.shape(like), like.dtype, out_sharding=sharding)
    return g


def _merge(full: list, positions: list[int], values: tuple) -> list:
    out = list(full)
    for i, v in zip(positions, values):
        out[i] = v
    return out


scan_p = Primitive("scan", compiled_once(_scan_impl), multiple_results=True, save_out=True,
                   symbolic_zeros=True).defvjp_all(_scan_vjp)
