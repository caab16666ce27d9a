"""Reverse mode: ``vjp``, ``grad`` and ``value_and_grad``."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_unflatten

from tapegrad.core.backward import backward
from tapegrad.core.source import call_located
from tapegrad.core.tracer import Trace
from tapegrad.transforms.inputs import (
    as_cotangent,
    check_callable,
    normalize_argnums,
    read_output,
    strip,
    substitute,
    trace_inputs,
    zeros_like,
)


class _Traced:
    """One traced call: the level it recorded on, its inputs and its outputs."""

    __slots__ = ("trace", "in_leaves", "in_tree", "out_ids", "out_values", "out_tree", "aux")

    def __init__(self, fun: Callable, primals: tuple, has_aux: bool, who: str,
                 names: Sequence[str] | None = None) -> None:
        with Trace() as trace:
            names = names or [f"x{i}" for i in range(len(primals))]
            tracers = tuple(trace_inputs(trace, p, who, n) for p, n in zip(primals, names))
            out = call_located(fun, *tracers)
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"tg.{who}(..., has_aux=True): the function must return a pair "
                                f"(output, aux), got {type(out).__name__}")
            out, aux = out
            self.aux = strip(trace, aux)
        else:
            self.aux = None
        self.trace = trace
        self.in_leaves, self.in_tree = tree_flatten(tracers)
        out_leaves, self.out_tree = tree_flatten(out)
        pairs = [read_output(trace, leaf) for leaf in out_leaves]
        self.out_ids = [i for i, _ in pairs]
        self.out_values = [v for _, v in pairs]
        trace.tape.outputs = [(i, None, None) for i in self.out_ids]

    def outputs(self) -> Any:
        return tree_unflatten(self.out_tree, self.out_values)

    def pull_back(self, ct_leaves: Sequence[Any], consume: bool) -> Any:
        """Input cotangents (tree of the traced inputs) for output cotangents."""
        seeds: dict[int, Any] = {}
        for i, ct in zip(self.out_ids, ct_leaves):
            if i is not None:
                seeds[i] = ct if i not in seeds else seeds[i] + ct
        cts = backward(self.trace.tape, seeds, consume=consume)
        grads = [cts.get(t.id) for t in self.in_leaves]
        grads = [zeros_like(t.value) if g is None else g for g, t in zip(grads, self.in_leaves)]
        return tree_unflatten(self.in_tree, grads)


def _show(tree: Any) -> str:
    """A pytree as users write it, arrays as ``float32[2, 2]`` (PyTreeDef's ``*`` says nothing)."""
    if isinstance(tree, (list, tuple)):
        inner = ", ".join(_show(v) for v in tree)
        return f"[{inner}]" if isinstance(tree, list) else f"({inner}{',' if len(tree) == 1 else ''})"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in tree.items()) + "}"
    if hasattr(tree, "shape") and hasattr(tree, "dtype"):
        return f"{np.dtype(tree.dtype).name}{list(tree.shape)}"
    return type(tree).__name__


def _structure_message(cotangent: Any, out_tree: Any, out_values: Sequence[Any]) -> str:
    """Why a cotangent's pytree structure is not the output's, in terms of arrays and lists."""
    expected = _show(tree_unflatten(out_tree, list(out_values)))
    try:  # the cotangent may have the output's containers with nested lists where its arrays are
        pieces = out_tree.flatten_up_to(cotangent)
    except (TypeError, ValueError):
        pieces = []
    # Nested lists of numbers where the output has an array: what jnp.asarray would have made one of.
    lists = [(p, v) for p, v in zip(pieces, out_values) if isinstance(p, (list, tuple))
             and all(isinstance(leaf, (int, float, complex)) for leaf in tree_flatten(p)[0])]
    if lists:
        _, v = lists[0]
        dtype = np.dtype(v.dtype).name
        return (f"tg.vjp: the cotangent holds a nested Python {type(lists[0][0]).__name__} where the output has an "
                f"array of shape {tuple(v.shape)} and dtype {dtype}; pass an array, e.g. "
                f"jnp.asarray(v, dtype={dtype!r}) (the output's structure is {expected})")
    return (f"tg.vjp: the cotangent must have the structure of the output, {expected}, with an array for each "
            f"array; got {_show(cotangent):.200}")


def vjp(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """Evaluate ``fun(*primals)`` and return ``(out, vjp_fn)`` (``(out, vjp_fn, aux)`` with ``has_aux``).

    ``vjp_fn(v)`` returns one gradient per primal: what PyTorch leaves in ``x.grad``
    after ``out.backward(v)``. It may be called many times.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> out, vjp_fn = tg.vjp(lambda x: 3 * (x + 2) ** 2, tnp.ones((2, 2)))
        >>> vjp_fn(tnp.ones((2, 2)))[0].tolist()
        [[18.0, 18.0], [18.0, 18.0]]
    """
    check_callable(fun, "vjp")
    traced = _Traced(fun, primals, has_aux, "vjp")
    out = traced.outputs()

    def vjp_fn(cotangent: Any) -> tuple:
        ct_leaves, ct_tree = tree_flatten(cotangent)
        if ct_tree != traced.out_tree:
            raise ValueError(_structure_message(cotangent, traced.out_tree, traced.out_values))
        ct_leaves = [as_cotangent(c, o, "vjp") for c, o in zip(ct_leaves, traced.out_values)]
        return traced.pull_back(ct_leaves, consume=False)

    return (out, vjp_fn, traced.aux) if has_aux else (out, vjp_fn)


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """A function returning ``(fun(*args), gradient)``; ``((value, aux), gradient)`` with ``has_aux``.

    The gradient has the pytree structure of ``args[argnums]`` (a tuple of them
    when ``argnums`` is a tuple). ``fun`` must return a real scalar.

    Example:
        >>> import tapegrad as tg
        >>> tg.value_and_grad(lambda x: x ** 3)(2.0)
        (Array(8., dtype=float32, weak_type=True), Array(12., dtype=float32, weak_type=True))
    """
    return _value_and_grad(fun, argnums, has_aux, "value_and_grad")


def _value_and_grad(fun: Callable, argnums: int | Sequence[int], has_aux: bool, who: str) -> Callable:
    check_callable(fun, who)

    @functools.wraps(fun)
    def value_and_grad_fun(*args: Any, **kwargs: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), who)
        partial = lambda *dyn: fun(*substitute(args, nums, dyn), **kwargs)
        traced = _Traced(partial, tuple(args[i] for i in nums), has_aux, who, [f"args[{i}]" for i in nums])
        if len(traced.out_values) != 1 or traced.out_tree.num_leaves != 1 or not _is_scalar(traced.out_values[0]):
            shapes = [tuple(np.shape(v)) for v in traced.out_values]
            raise TypeError(
                f"tg.{who}: grad requires a scalar output (shape ()), but the function returned "
                f"{'shape ' + str(shapes[0]) if len(shapes) == 1 else str(len(shapes)) + ' outputs ' + str(shapes)}. "
                "For a non-scalar output use tg.vjp(f, x) and call vjp_fn(cotangent) with a cotangent "
                "shaped like the output (PyTorch: grad can be implicitly created only for scalar outputs).")
        value = traced.out_values[0]
        if not jnp.issubdtype(value.dtype, jnp.floating):
            raise TypeError(f"tg.{who}: the function's output has dtype {np.dtype(value.dtype).name}; grad "
                            "needs a real floating-point scalar output")
        grads = traced.pull_back([jnp.ones((), value.dtype)], consume=True)
        grads = grads[0] if isinstance(argnums, (int, np.integer)) else tuple(grads)
        value = traced.outputs()
        return ((value, traced.aux), grads) if has_aux else (value, grads)

    return value_and_grad_fun


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of scalar ``fun`` with respect to ``args[argnums]``.

    Example:
        >>> import tapegrad as tg
        >>> float(tg.grad(lambda x: x ** 3)(2.0))
        12.0
    """
    vg = _value_and_grad(fun, argnums, has_aux, "grad")

    @functools.wraps(fun)
    def grad_fun(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_fun


def _is_scalar(x: Any) -> bool:
    return tuple(np.shape(x)) == () if not hasattr(x, "shape") else tuple(x.shape) == ()
