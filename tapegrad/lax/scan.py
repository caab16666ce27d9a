"""``tg.lax.scan``: one tape entry per loop, whose VJP is a reverse scan of the body's VJP.

The forward pass is ``jax.lax.scan`` over the values underneath, so a loop of any length is one
entry on the tape and one XLA loop under ``jax.jit`` (compile time does not grow with the trip
count). It also returns, stacked over the steps, what the backward pass needs:

* by default (``saved``), the carry entering each step; the VJP re-runs the body's forward at
  each step inside the reverse loop and pulls the cotangents back through it. This is what
  ``jax.checkpoint`` on a body gives in JAX: residuals of one step live only during that step.

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
        # Nothing to differentiate: the loop is plain JAX.
        return jax.lax.scan(f, init, xs, length=length, reverse=reverse, unroll=unroll)
    results = scan_p(*body.captured, *init_leaves, *xs_leaves, body=body, n_consts=len(body.captured),
                     n_carry=len(init_leaves), length=n, reverse=bool(reverse), unroll=unroll)
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
               unroll: Any) -> tuple:
    consts, init, xs = _split(args, n_consts, n_carry)

    def step(c: list, x: list | None) -> tuple:
        out = body.run(consts, c, [] if x is None else x)
        return out[:n_carry], (out[n_carry:], c)

    carry, (ys, carries) = jax.lax.scan(step, init, xs if xs else None, length=length, reverse=reverse,
                                        unroll=unroll)
    return (*carry, *ys, *carries)


def _scan_vjp(gs: tuple, out: tuple, *args: Any, body: Body, n_consts: int, n_carry: int, length: int,
              reverse: bool, unroll: Any) -> list:
    from tapegrad.transforms.reverse import vjp_jax

    consts, init, xs = _split(args, n_consts, n_carry)
    n_ys = len(out) - 2 * n_carry
    carries = list(out[n_carry + n_ys:])
    # Which carry, x and y leaves carry cotangents (integer ones never do).
    dc = [i for i in range(n_carry) if is_inexact(out[i])]
    dx = [i for i, v in enumerate(xs) if is_inexact(v)]
    dy = [j for j in range(n_ys) if is_inexact(out[n_carry + j])]
    g_carry = [_ct(gs[i], out[i]) for i in dc]
    g_ys = [_ct(gs[n_carry + j], out[n_carry + j]) for j in dy]
    g_consts0 = [jnp.zeros(np.shape(k), k.dtype) for k in consts]
    # The stacked carries are outputs too: at higher order the outer VJP reads them, and their
    # cotangents (None at first order) add to the carry entering each step.
    stack_ct = [gs[n_carry + n_ys + i] for i in dc]
    with_stack = any(g is not None for g in stack_ct)
    g_stack = [_ct(g, carries[i]) for g, i in zip(stack_ct, dc)] if with_stack else []

    def step_vjp(bc: tuple, bx: tuple) -> tuple:
        g_c, g_k = bc
        c_t, x_t, gy_t, gs_t = bx

        def one_step(k: tuple, c_d: tuple, x_d: tuple) -> tuple:
            c_full = _merge(c_t, dc, c_d)
            x_full = _merge(x_t, dx, x_d)
            outs = body.run(list(k), c_full, x_full)
            return tuple(outs[i] for i in dc), tuple(outs[n_carry + j] for j in dy)

        _, pull = vjp_jax(one_step, tuple(consts), tuple(c_t[i] for i in dc), tuple(x_t[i] for i in dx))
        d_k, d_c, d_x = pull((tuple(g_c), tuple(gy_t)))
        d_c = [a + b for a, b in zip(d_c, gs_t)] if with_stack else list(d_c)
        return (d_c, [a + b for a, b in zip(g_k, d_k)]), list(d_x)

    (g_init, g_consts), g_xs = scan(step_vjp, (g_carry, g_consts0), (carries, xs, g_ys, g_stack),
                                    length=length, reverse=not reverse, unroll=unroll)
    cts: list[Any] = list(g_consts)
    init_cts: list[Any] = [None] * n_carry
    for i, g in zip(dc, g_init):
        init_cts[i] = g
    xs_cts: list[Any] = [None] * len(xs)
    for i, g in zip(dx, g_xs):
        xs_cts[i] = g
    return cts + init_cts + xs_cts


def _ct(g: Any, like: Any) -> Any:
    return jnp.zeros(np.shape(like), like.dtype) if g is None else g


def _merge(full: list, positions: list[int], values: tuple) -> list:
    out = list(full)
    for i, v in zip(positions, values):
        out[i] = v
    return out


scan_p = Primitive("scan", _scan_impl, multiple_results=True, save_out=True,
                   symbolic_zeros=True).defvjp_all(_scan_vjp)
