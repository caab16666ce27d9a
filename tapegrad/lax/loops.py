"""``fori_loop``, ``map`` and ``while_loop`` on top of :func:`tapegrad.lax.scan.scan`.

``fori_loop`` with Python-int bounds is a scan over the trip count (reverse-differentiable, like
JAX's); with traced bounds it is a ``while_loop``. ``while_loop`` is forward-only: its trip count is
known only at run time, so the reverse pass cannot be laid out (JAX refuses it too). Forward mode
works: tapegrad's JVP transposes the VJP, and the VJP of a while loop is a linear map (a
primitive) whose own transpose is the loop's JVP, a while loop over (primal, tangent) pairs; only
evaluating that map on a real cotangent, i.e. reverse mode, raises.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_flatten, tree_unflatten

from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.lax.body import Body, as_value, check_same_avals, is_inexact, leaf_aval
from tapegrad.lax.eager import compiled_once
from tapegrad.lax.scan import scan


def fori_loop(lower: Any, upper: Any, body_fun: Callable, init_val: Any, *, unroll: int | bool | None = None) -> Any:
    """``for i in range(lower, upper): val = body_fun(i, val)``, as ``jax.lax.fori_loop``.

    Example:
        >>> import tapegrad as tg
        >>> f = lambda x: tg.lax.fori_loop(0, 3, lambda i, v: v * x, 1.0)  # x ** 3
        >>> float(tg.grad(f)(2.0))
        12.0
    """
    try:
        lo, hi = int(lower), int(upper)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return _traced_bounds_loop(lower, upper, body_fun, init_val)
    if hi <= lo:
        return init_val
    dtype = jnp.result_type(lower, upper) if not isinstance(lower, int) or not isinstance(upper, int) else jnp.int32

    def step(carry: tuple, _: Any) -> tuple:
        i, val = carry
        return (i + 1, body_fun(i, val)), None

    (_, val), _ = scan(step, (jnp.asarray(lo, dtype), init_val), None, length=hi - lo,
                       unroll=1 if unroll is None else unroll)
    return val


def _traced_bounds_loop(lower: Any, upper: Any, body_fun: Callable, init_val: Any) -> Any:
    def cond(c: tuple) -> Any:
        return c[0] < upper

    def body(c: tuple) -> tuple:
        return c[0] + 1, body_fun(c[0], c[1])

    return while_loop(cond, body, (jnp.asarray(lower), init_val))[1]


def map(f: Callable, xs: Any, *, batch_size: int | None = None) -> Any:  # noqa: A001  (jax.lax's name)
    """``f`` applied to each slice of ``xs`` along its leading axis, stacked: ``jax.lax.map``.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tg.lax.map(lambda v: v * v, tnp.arange(3.0)).tolist()
        [0.0, 1.0, 4.0]
    """
    if batch_size is not None:
        raise NotImplementedError("tg.lax.map: batch_size is not supported; call tg.vmap inside the mapped "
                                  "function for blocks")
    return scan(lambda _, x: ((), f(x)), (), xs)[1]


# ---- while_loop ---------------------------------------------------------------------------

WHO = "tg.lax.while_loop"


def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any) -> Any:
    """``while cond_fun(val): val = body_fun(val)``, as ``jax.lax.while_loop`` (forward-mode only).

    Example:
        >>> import tapegrad as tg
        >>> f = lambda x: tg.lax.while_loop(lambda v: v < 10.0, lambda v: v * x, 1.0)
        >>> float(f(3.0))
        27.0
    """
    leaves, tree = tree_flatten(init_val)
    leaves = [as_value(v) for v in leaves]
    avals = [leaf_aval(v) for v in leaves]
    cond_b = Body(lambda v: cond_fun(v), (tree,), (avals,), WHO)
    body_b = Body(lambda v: body_fun(v), (tree,), (avals,), WHO)
    check_same_avals(WHO, "the loop value", list(body_b.out_avals), body_b.out_tree, avals, tree)
    if not cond_b.captured and not body_b.captured and not any(type(v) is Tracer for v in leaves):
        return tree_unflatten(tree, compiled_once(lambda *v: tree_flatten(jax.lax.while_loop(
            cond_fun, body_fun, tree_unflatten(tree, list(v))))[0])(*leaves))
    n_c = len(cond_b.captured)
    out = while_p(*cond_b.captured, *body_b.captured, *leaves, cond=cond_b, body=body_b, n_cond=n_c,
                  n_body=len(body_b.captured))
    return tree_unflatten(tree, list(out))


def _run_while(cond_b: Body, body_b: Body, kc: list, kb: list, vals: list) -> list:
    return jax.lax.while_loop(lambda v: cond_b.run(kc, v)[0], lambda v: body_b.run(kb, v), list(vals))


def _while_impl(*args: Any, cond: Body, body: Body, n_cond: int, n_body: int) -> tuple:
    kc, kb, vals = list(args[:n_cond]), list(args[n_cond:n_cond + n_body]), list(args[n_cond + n_body:])
    return tuple(_run_while(cond, body, kc, kb, vals))


def _split_while(args: tuple, n_cond: int, n_body: int) -> tuple[list, list, list]:
    return list(args[:n_cond]), list(args[n_cond:n_cond + n_body]), list(args[n_cond + n_body:])


def _while_vjp(gs: tuple, out: Any, *args: Any, cond: Body, body: Body, n_cond: int, n_body: int) -> list:
    # The VJP is the linear map L: output cotangents -> input cotangents; only forward mode may use it
    # (through its transpose, the JVP; see the module docstring), so it is one more primitive.
    _, _, vals = _split_while(args, n_cond, n_body)
    d_out = tuple(i for i, v in enumerate(vals) if is_inexact(v))
    d_in = tuple(i for i in range(n_cond, len(args)) if is_inexact(args[i]))
    g = [jnp.zeros(vals[i].shape, vals[i].dtype) if gs[i] is None else gs[i] for i in d_out]
    cts = while_transpose_p(*args, *g, cond=cond, body=body, n_cond=n_cond, n_body=n_body, d_in=d_in, d_out=d_out)
    full: list[Any] = [None] * len(args)
    for i, c in zip(d_in, cts):
        full[i] = c
    return full


while_p = Primitive("while_loop", compiled_once(_while_impl), multiple_results=True,
                    symbolic_zeros=True).defvjp_all(_while_vjp)


def _transpose_impl(*args: Any, cond: Body, body: Body, n_cond: int, n_body: int, d_in: tuple,
                    d_out: tuple) -> tuple:
    from tapegrad.transforms import forward

    if forward.linearizing():
        # Forward mode traces this map only for its structure; its values are never read.
        return tuple(jnp.zeros(args[i].shape, args[i].dtype) for i in d_in)
    raise TypeError(f"{WHO}: reverse-mode differentiation of a while_loop is not supported (its trip count is "
                    "known only at run time, as in JAX). Use tg.lax.fori_loop with Python-int bounds or "
                    "tg.lax.scan for a reverse-differentiable loop, or forward mode (tg.jvp, tg.jacfwd).")


def _transpose_vjp(gs: tuple, out: Any, *args: Any, cond: Body, body: Body, n_cond: int, n_body: int,
                   d_in: tuple, d_out: tuple) -> list:
    # The transpose of L is the loop's JVP: tangents gs along the inputs d_in give the outputs' tangents,
    # which are the cotangents of L's inputs g (one per output in d_out).
    n = len(args) - len(d_out)
    kc, kb, vals = _split_while(args[:n], n_cond, n_body)
    tangent = {i: (jnp.zeros(args[i].shape, args[i].dtype) if t is None else t) for i, t in zip(d_in, gs)}
    t_kb = [tangent.get(n_cond + i) for i in range(n_body)]
    t_vals = [tangent.get(n_cond + n_body + i) for i in range(len(vals))]
    t_out = _while_jvp(cond, body, kc, kb, vals, t_vals, t_kb)
    return [None] * n + [t_out[i] for i in d_out]


def _while_jvp(cond: Body, body: Body, kc: list, kb: list, vals: list, t_vals: list, t_kb: list) -> list:
    """Tangents of the loop's output: a while loop over (value, tangent), each step's tangent by tg.jvp."""
    from tapegrad.transforms.forward import jvp

    d = [i for i, v in enumerate(vals) if is_inexact(v)]
    dk = [i for i, k in enumerate(kb) if is_inexact(k)]
    tv = [jnp.zeros(vals[i].shape, vals[i].dtype) if t_vals[i] is None else t_vals[i] for i in d]
    tk = tuple(jnp.zeros(kb[i].shape, kb[i].dtype) if t_kb[i] is None else t_kb[i] for i in dk)

    def step(carry: tuple) -> tuple:
        v, t = carry

        def f(vd: tuple, kd: tuple) -> tuple:
            full_v, full_k = list(v), list(kb)
            for i, x in zip(d, vd):
                full_v[i] = x
            for i, x in zip(dk, kd):
                full_k[i] = x
            out = body.run(full_k, full_v)
            return tuple(out[i] for i in d)

        _, tan = jvp(f, (tuple(v[i] for i in d), tuple(kb[i] for i in dk)), (tuple(t), tk))
        return list(body.run(kb, v)), list(tan)

    _, t_out = while_loop(lambda c: cond.run(kc, c[0])[0], step, (list(vals), tv))
    out: list[Any] = [None] * len(vals)
    for i, t in zip(d, t_out):
        out[i] = t
    return out


while_transpose_p = Primitive("while_loop_transpose", compiled_once(_transpose_impl), multiple_results=True,
                              symbolic_zeros=True).defvjp_all(_transpose_vjp)
