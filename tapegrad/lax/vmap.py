"""``tg.vmap``: a batched function as one tape entry, whose VJP is a vmap of the body's VJP.

The forward pass is ``jax.vmap`` over the values underneath (JAX batches every op, so tapegrad
needs no batching rule per primitive). The VJP maps the per-example VJP over the batch with
``tg.vmap`` again: each mapped argument's cotangent comes back mapped along its own axis, and the
cotangents of unmapped arguments and of captured tracers (a model's params) are summed over it.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_flatten, tree_structure, tree_unflatten

from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.lax.body import Body, as_value, is_inexact, leaf_aval

WHO = "tg.vmap"


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0, axis_size: int | None = None) -> Callable:
    """``fun`` mapped over an axis of its arguments, as ``jax.vmap`` (``in_axes``/``out_axes`` pytree prefixes).

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> per_row = tg.vmap(lambda r: tnp.sum(r * r))
        >>> tg.grad(lambda x: tnp.sum(per_row(x)))(tnp.ones((2, 3))).tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """
    if not callable(fun):
        raise TypeError(f"{WHO}: expected a callable, got {type(fun).__name__}")

    @functools.wraps(fun)
    def mapped(*args: Any) -> Any:
        leaves, tree = tree_flatten(args)
        leaves = [as_value(v) for v in leaves]
        axes = _broadcast_axes(in_axes, args, WHO, "in_axes")
        size = _axis_size(leaves, axes, axis_size)
        avals = [leaf_aval(v) if a is None else _drop_axis(leaf_aval(v), a) for v, a in zip(leaves, axes)]
        body = Body(lambda a: fun(*a), (tree,), (avals,), WHO)
        out_struct = tree_unflatten(body.out_tree, list(body.out_avals))
        o_axes = _broadcast_axes(out_axes, out_struct, WHO, "out_axes")
        if not body.captured and not any(type(v) is Tracer for v in leaves):
            return jax.vmap(fun, in_axes=in_axes, out_axes=out_axes, axis_size=axis_size)(*args)
        outs = vmap_p(*body.captured, *leaves, body=body, n_consts=len(body.captured), in_axes=tuple(axes),
                      out_axes=tuple(o_axes), size=size)
        return tree_unflatten(body.out_tree, list(outs))

    return mapped


def _broadcast_axes(axes: Any, tree: Any, who: str, what: str) -> list:
    """One axis (int or None) per leaf of ``tree`` from a pytree prefix ``axes``."""
    if isinstance(axes, list):
        axes = tuple(axes)
    if axes is None or isinstance(axes, int):
        return [axes] * len(tree_flatten(tree)[0])
    prefix = tree_structure(axes, is_leaf=lambda x: x is None)
    try:
        subtrees = prefix.flatten_up_to(tree)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: {what}={axes!r} is not a pytree prefix of the arguments "
                         f"{tree_structure(tree)}") from None
    out: list = []
    for a, sub in zip(tree_flatten(axes, is_leaf=lambda x: x is None)[0], subtrees, strict=True):
        if a is not None and not isinstance(a, int):
            raise TypeError(f"{who}: {what} leaves must be ints or None, got {a!r}")
        out += [a] * len(tree_flatten(sub)[0])
    return out


def _axis_size(leaves: list, axes: list, axis_size: int | None) -> int:
    sizes = {int(v.shape[a]) for v, a in zip(leaves, axes) if a is not None}
    if axis_size is not None:
        sizes.add(int(axis_size))
    if not sizes:
        raise ValueError(f"{WHO}: no argument is mapped (all in_axes are None); pass axis_size=")
    if len(sizes) > 1:
        raise ValueError(f"{WHO}: the mapped axes have different sizes {sorted(sizes)}")
    return sizes.pop()


def _drop_axis(aval: Any, axis: int) -> Any:
    shape = list(aval.shape)
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"{WHO}: in_axes {axis} is out of range for an argument of shape {tuple(shape)}")
    del shape[axis]
    return jax.ShapeDtypeStruct(tuple(shape), aval.dtype, weak_type=aval.weak_type)


def _vmap_impl(*args: Any, body: Body, n_consts: int, in_axes: tuple, out_axes: tuple, size: int) -> tuple:
    consts, xs = list(args[:n_consts]), list(args[n_consts:])
    f = jax.vmap(lambda xs: tuple(body.run(consts, xs)), in_axes=(list(in_axes),), out_axes=tuple(out_axes),
                 axis_size=size)
    return f(xs)


def _vmap_vjp(gs: tuple, out: Any, *args: Any, body: Body, n_consts: int, in_axes: tuple, out_axes: tuple,
              size: int) -> list:
    from tapegrad.transforms.reverse import vjp_jax

    consts, xs = list(args[:n_consts]), list(args[n_consts:])
    d_x = [i for i, v in enumerate(xs) if is_inexact(v)]
    d_o = [j for j, a in enumerate(body.out_avals) if is_inexact(a)]
    g = [_zeros_out(body.out_avals[j], out_axes[j], size) if gs[j] is None else gs[j] for j in d_o]

    def per_example(x_slices: list, g_slices: list) -> tuple:
        def f(k: tuple, xd: tuple) -> tuple:
            full = list(x_slices)
            for i, v in zip(d_x, xd):
                full[i] = v
            outs = body.run(list(k), full)
            return tuple(outs[j] for j in d_o)

        d_k, d_xs = vjp_jax(f, tuple(consts), tuple(x_slices[i] for i in d_x))[1](tuple(g_slices))
        return tuple(d_k), tuple(d_xs)

    # Unmapped arguments and the captured tracers get one cotangent per example, summed below.
    ct_axes = (tuple(0 for _ in consts), tuple(0 if in_axes[i] is None else in_axes[i] for i in d_x))
    d_k, d_xs = vmap(per_example, in_axes=(list(in_axes), [out_axes[j] for j in d_o]), out_axes=ct_axes,
                     axis_size=size)(xs, g)
    cts: list[Any] = [jnp_sum0(c) for c in d_k]
    x_cts: list[Any] = [None] * len(xs)
    for i, c in zip(d_x, d_xs):
        x_cts[i] = jnp_sum0(c) if in_axes[i] is None else c
    return cts + x_cts


def jnp_sum0(c: Any) -> Any:
    import tapegrad.numpy as tnp

    return tnp.sum(c, axis=0)


def _zeros_out(aval: Any, axis: int | None, size: int) -> Any:
    shape = list(aval.shape)
    if axis is not None:
        shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, size)
    return jnp.zeros(tuple(shape), aval.dtype)


vmap_p = Primitive("vmap", _vmap_impl, multiple_results=True, symbolic_zeros=True).defvjp_all(_vmap_vjp)
