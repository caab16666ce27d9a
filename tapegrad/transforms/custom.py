"""User-defined derivatives: ``custom_vjp``, ``checkpoint`` and ``stop_gradient``.

A custom rule applies at the innermost level among the arguments: ``fwd`` runs
on the values underneath (so outer levels record its ops as ordinary code) and
one entry whose rule is ``bwd`` goes on the innermost tape. Differentiating
twice therefore differentiates ``bwd`` itself, as in JAX.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jax import lax
from jax.tree_util import tree_flatten, tree_map, tree_unflatten

from tapegrad.core import capture
from tapegrad.core.primitive import Primitive, record, top_trace
from tapegrad.core.tracer import Aval, Tracer
from tapegrad.transforms.inputs import check_callable
from tapegrad.transforms.reverse import vjp


def _custom_rule(g: Any, out: Any, *args: Any, bwd: Callable, residuals: Any, in_tree: Any,
                 out_tree: Any, name: str) -> list[Any]:
    g_tree = tree_unflatten(out_tree, list(g))
    cts = bwd(residuals, g_tree)
    if not isinstance(cts, (tuple, list)):
        raise TypeError(f"custom_vjp '{name}': bwd must return a tuple with one cotangent per "
                        f"argument, got {type(cts).__name__}")
    n_args = in_tree.num_leaves and len(tree_unflatten(in_tree, list(args)))
    if len(cts) != n_args:
        raise TypeError(f"custom_vjp '{name}': bwd returned {len(cts)} cotangents for {n_args} arguments")
    args_tree = tree_unflatten(in_tree, list(args))
    flat: list[Any] = []
    for ct, arg in zip(cts, args_tree):
        n = len(tree_flatten(arg)[0])
        flat += [None] * n if ct is None else tree_flatten(ct, is_leaf=lambda x: x is None)[0]
    return flat


class custom_vjp:
    """Give a function its own reverse-mode rule (JAX's ``custom_vjp`` protocol).

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> @tg.custom_vjp
        ... def softplus(x):
        ...     return tnp.logaddexp(x, 0.0)
        >>> def fwd(x):
        ...     return softplus(x), x
        >>> def bwd(x, g):
        ...     return (g * tg.numpy.exp(-tnp.logaddexp(-x, 0.0)),)
        >>> softplus.defvjp(fwd, bwd)
        >>> round(float(tg.grad(softplus)(0.0)), 3)
        0.5
    """

    def __init__(self, fun: Callable) -> None:
        check_callable(fun, "custom_vjp")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None
        name = getattr(fun, "__name__", "custom")
        # Not registered: each decorated function is its own primitive.
        self.prim = Primitive(f"custom_vjp[{name}]", fun, multiple_results=True, save_args=False,
                              register=False)
        self.prim.defvjp_all(_custom_rule)

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """``fwd(*args) -> (out, residuals)``; ``bwd(residuals, g) -> tuple of input cotangents``."""
        check_callable(fwd, "custom_vjp.defvjp")
        check_callable(bwd, "custom_vjp.defvjp")
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        leaves, in_tree = tree_flatten(args)
        if capture.active:  # inside a loop body, as bind does
            leaves = list(capture.substitute(tuple(leaves)))
        top = top_trace(leaves)  # the level bind would record on
        if top is None:
            return self.fun(*args)
        if self.fwd is None or self.bwd is None:
            raise TypeError(f"custom_vjp '{self.__name__}' was differentiated before defvjp(fwd, bwd) "
                            "was called")
        vals = [a.value if type(a) is Tracer and a.trace is top else a for a in leaves]
        out, residuals = self.fwd(*tree_unflatten(in_tree, vals))
        out_leaves, out_tree = tree_flatten(out)
        in_ids = tuple(a.id if type(a) is Tracer and a.trace is top else None for a in leaves)
        saved = tuple(Aval(tuple(v.shape), v.dtype) if hasattr(v, "shape") else v for v in vals)
        params = {"bwd": self.bwd, "residuals": residuals, "in_tree": in_tree, "out_tree": out_tree,
                  "name": self.__name__}
        results = record(top, self.prim, in_ids, saved, tuple(out_leaves), params, depth=3)
        return tree_unflatten(out_tree, list(results))


def checkpoint(fun: Callable) -> Callable:
    """``fun`` whose intermediates are recomputed in the backward pass instead of stored.

    Only the inputs are kept; the backward pass re-runs ``fun`` to rebuild its
    tape. Trades compute for memory on deep stacks.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> block = tg.checkpoint(lambda x: tnp.tanh(tnp.sin(x) * 2.0))
        >>> g = tg.grad(lambda x: block(x).sum())(tnp.ones(3))
    """
    check_callable(fun, "checkpoint")
    wrapped = custom_vjp(fun)
    wrapped.prim.name = f"checkpoint[{getattr(fun, '__name__', 'fun')}]"
    wrapped.defvjp(lambda *args: (fun(*args), args), lambda args, g: vjp(fun, *args)[1](g))
    wrapped.checkpointed = fun  # tg.lax.scan recomputes such a body per step instead of saving its residuals
    return wrapped


def stop_gradient(x: Any) -> Any:
    """``x`` as a constant at every level (PyTorch's ``detach()`` / ``no_grad``).

    Works on pytrees, and stops JAX's own autodiff too (``lax.stop_gradient``).

    Example:
        >>> import tapegrad as tg
        >>> float(tg.grad(lambda x: x * tg.stop_gradient(x))(3.0))
        3.0
    """
    def leaf(v: Any) -> Any:
        if type(v) is Tracer:
            v = v.primal()
        return lax.stop_gradient(v) if hasattr(v, "dtype") else v

    return tree_map(leaf, x)
