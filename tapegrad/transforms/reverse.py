"""Reverse mode: ``vjp``, ``grad`` and ``value_and_grad``."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_map, tree_unflatten

from tapegrad.core.backward import backward
from tapegrad.core.primitive import concrete_tree
from tapegrad.core.source import call_located
from tapegrad.core.tracer import Trace
from tapegrad.rules.elementwise import conj
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
            self.aux = strip(trace, aux)  # computed with the outputs (outputs()), maybe in one program
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
        # Results are arrays, never pending: the outputs and aux values are computed here.
        out_values, self.aux = concrete_tree((self.out_values, self.aux))
        self.out_values = list(out_values)
        return tree_unflatten(self.out_tree, self.out_values)

    def pull_back(self, ct_leaves: Sequence[Any], consume: bool, pytorch: bool = True) -> Any:
        """Input cotangents (tree of the traced inputs) for output cotangents.

        The rules follow JAX's convention for complex values (a VJP is the transpose of the
        R-linear JVP, so ``vjp(ct) = ct * f'(z)`` for holomorphic ``f``). ``pytorch=True`` gives
        what PyTorch's ``backward(ct)`` leaves in ``z.grad`` instead: ``conj(vjp_jax(conj(ct)))``.
        For real values the two are the same.
        """
        seeds: dict[int, Any] = {}
        for i, ct in zip(self.out_ids, ct_leaves):
            if i is not None:
                if pytorch:
                    ct = _conj(ct)
                seeds[i] = ct if i not in seeds else seeds[i] + ct
        cts = backward(self.trace.tape, seeds, consume=consume)
        grads = [cts.get(t.id) for t in self.in_leaves]
        grads = [zeros_like(t.value) if g is None else (_conj(g) if pytorch else g)
                 for g, t in zip(grads, self.in_leaves)]
        # With the primal outputs: forward and backward run as one program (tapegrad.accel.lazy).
        grads, self.out_values = concrete_tree((grads, self.out_values))
        return tree_unflatten(self.in_tree, list(grads))


def _conj(x: Any) -> Any:
    # conj is a primitive: recorded when an outer level is live, so higher orders see it.
    return conj(x) if jnp.issubdtype(x.dtype, jnp.complexfloating) else x


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
    return _vjp(fun, primals, has_aux, pytorch=True)


def _vjp(fun: Callable, primals: tuple, has_aux: bool, pytorch: bool) -> tuple:
    """``vjp`` in PyTorch's convention for complex values, or (``pytorch=False``) JAX's, which
    forward mode transposes and ``holomorphic=True`` uses."""
    check_callable(fun, "vjp")
    traced = _Traced(fun, primals, has_aux, "vjp")
    out = traced.outputs()

    def vjp_fn(cotangent: Any) -> tuple:
        ct_leaves, ct_tree = tree_flatten(cotangent)
        if ct_tree != traced.out_tree:
            raise ValueError(_structure_message(cotangent, traced.out_tree, traced.out_values))
        ct_leaves = [as_cotangent(c, o, "vjp") for c, o in zip(ct_leaves, traced.out_values)]
        return traced.pull_back(ct_leaves, consume=False, pytorch=pytorch)

    return (out, vjp_fn, traced.aux) if has_aux else (out, vjp_fn)


def vjp_jax(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """:func:`vjp` with JAX's convention for complex values (``jax.vjp``'s numbers)."""
    return _vjp(fun, primals, has_aux, pytorch=False)


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False) -> Callable:
    """A function returning ``(fun(*args), gradient)``; ``((value, aux), gradient)`` with ``has_aux``.

    The gradient has the pytree structure of ``args[argnums]`` (a tuple of them when ``argnums``
    is a tuple). ``fun`` must return a real number (one element, of any shape, as PyTorch's
    ``backward()`` takes); for complex inputs the gradient is PyTorch's ``z.grad``. With
    ``holomorphic=True``, ``fun`` maps complex inputs to a complex number and the gradient is the
    complex derivative ``f'(z)``, as ``jax.grad(..., holomorphic=True)`` gives.

    Example:
        >>> import tapegrad as tg
        >>> tg.value_and_grad(lambda x: x ** 3)(2.0)
        (Array(8., dtype=float32, weak_type=True), Array(12., dtype=float32))
    """
    return _value_and_grad(fun, argnums, has_aux, "value_and_grad", holomorphic)


def _value_and_grad(fun: Callable, argnums: int | Sequence[int], has_aux: bool, who: str,
                    holomorphic: bool = False) -> Callable:
    check_callable(fun, who)

    @functools.wraps(fun)
    def value_and_grad_fun(*args: Any, **kwargs: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), who)
        partial = lambda *dyn: fun(*substitute(args, nums, dyn), **kwargs)
        primals = tuple(args[i] for i in nums)
        if holomorphic:
            _check_holomorphic_inputs(primals, who)
        traced = _Traced(partial, primals, has_aux, who, [f"args[{i}]" for i in nums])
        if len(traced.out_values) != 1 or traced.out_tree.num_leaves != 1 or not _is_one_element(traced.out_values[0]):
            shapes = [tuple(np.shape(v)) for v in traced.out_values]
            raise TypeError(
                f"tg.{who}: grad requires a scalar output (one element), but the function returned "
                f"{'shape ' + str(shapes[0]) if len(shapes) == 1 else str(len(shapes)) + ' outputs ' + str(shapes)}. "
                "For a larger output use tg.vjp(f, x) and call vjp_fn(cotangent) with a cotangent shaped "
                "like the output, as PyTorch's out.backward(gradient) (PyTorch: grad can be implicitly "
                "created only for scalar outputs).")
        value = traced.out_values[0]
        if holomorphic:
            if not jnp.issubdtype(value.dtype, jnp.inexact):
                raise TypeError(f"tg.{who}(holomorphic=True): the function's output has dtype "
                                f"{np.dtype(value.dtype).name}; it must be complex (or real) floating point")
        elif not jnp.issubdtype(value.dtype, jnp.floating):
            hint = (" For a holomorphic function of complex inputs pass holomorphic=True (the complex "
                    "derivative f'(z)); for a real loss take e.g. tnp.abs(out) ** 2 or tnp.real(out)."
                    if jnp.issubdtype(value.dtype, jnp.complexfloating) else "")
            raise TypeError(f"tg.{who}: the function's output has dtype {np.dtype(value.dtype).name}; grad "
                            f"needs a real floating-point output.{hint}")
        grads = traced.pull_back([_ones(np.shape(value), value.dtype)], consume=True, pytorch=not holomorphic)
        grads = grads[0] if isinstance(argnums, (int, np.integer)) else tuple(grads)
        value = traced.outputs()
        return ((value, traced.aux), grads) if has_aux else (value, grads)

    return value_and_grad_fun


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False) -> Callable:
    """A function returning the gradient of scalar ``fun`` with respect to ``args[argnums]``.

    For a real loss of complex ``z`` the gradient is PyTorch's ``z.grad`` after ``loss.backward()``
    (the conjugate of ``jax.grad``'s); ``holomorphic=True`` gives the complex derivative ``f'(z)``
    of a holomorphic ``fun``, as ``jax.grad(fun, holomorphic=True)``.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> float(tg.grad(lambda x: x ** 3)(2.0))
        12.0
        >>> complex(tg.grad(lambda z: tnp.abs(z) ** 2)(3 + 4j))  # PyTorch's z.grad; jax.grad: 6-8j
        (6+8j)
        >>> complex(tg.grad(lambda z: z ** 2, holomorphic=True)(1j))
        2j
    """
    vg = _value_and_grad(fun, argnums, has_aux, "grad", holomorphic)

    @functools.wraps(fun)
    def grad_fun(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_fun


_SEEDS: dict[tuple, Any] = {}
_ARRAY = type(jnp.zeros(()))


def _ones(shape: tuple, dtype: Any) -> Any:
    """The seed of a gradient: ones of the output's shape (cached: arrays are immutable, and a
    dispatch of jnp.ones costs as much as a small program). Keyed by the default device too, which
    ``jax.default_device`` may change between calls."""
    key = (tuple(shape), np.dtype(dtype), jax.config.jax_default_device)
    seed = _SEEDS.get(key)
    if seed is None:
        seed = jnp.ones(shape, dtype)
        if len(_SEEDS) < 64 and type(seed) is _ARRAY:  # under jax.jit it is the trace's value: not kept
            _SEEDS[key] = seed
    return seed


def _is_one_element(x: Any) -> bool:
    return int(np.prod(np.shape(x), dtype=np.int64)) == 1


def _check_holomorphic_inputs(primals: tuple, who: str) -> None:
    for leaf in tree_flatten(primals)[0]:
        dtype = leaf.dtype if hasattr(leaf, "dtype") else jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.complexfloating):
            raise TypeError(f"tg.{who}(holomorphic=True) needs complex inputs (the complex derivative f'(z)), "
                            f"got dtype {np.dtype(dtype).name}; pass e.g. x.astype('complex64')")


def elementwise_grad(fun: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The VJP of ``fun`` with a cotangent of ones: the sum of the Jacobian's rows, as HIPS autograd's.

    For an elementwise ``fun`` that is the derivative at every element; in general it is
    ``x.grad`` after PyTorch's ``out.backward(torch.ones_like(out))``.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tg.elementwise_grad(lambda x: x ** 2)(tnp.array([1.0, 2.0, 3.0])).tolist()
        [2.0, 4.0, 6.0]
    """
    check_callable(fun, "elementwise_grad")

    @functools.wraps(fun)
    def egrad(*args: Any, **kwargs: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), "elementwise_grad")
        partial = lambda *dyn: fun(*substitute(args, nums, dyn), **kwargs)
        out, vjp_fn = vjp(partial, *(args[i] for i in nums))
        grads = vjp_fn(tree_map(lambda o: jnp.ones(np.shape(o), o.dtype), out))
        return grads[0] if isinstance(argnums, (int, np.integer)) else tuple(grads)

    return egrad
