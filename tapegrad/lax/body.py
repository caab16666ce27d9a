"""A loop body, branch or batched function, closed over what it captures.

:class:`Body` wraps the user's function for a control-flow primitive. It is traced once,
abstractly, to learn which tapegrad Tracers it captures (:mod:`tapegrad.core.capture`) and the
structure, shapes and dtypes of its output. After that the primitive takes the captured tracers as
explicit inputs, and :meth:`Body.run` calls the function with them standing for whatever values
the loop supplies: JAX tracers when ``jax.lax.scan`` runs the forward pass, a new level's tracers
when the primitive's VJP differentiates the body again.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_unflatten

from tapegrad.core import capture
from tapegrad.core.primitive import INEXACT
from tapegrad.core.tracer import Tracer


def leaf_aval(x: Any) -> jax.ShapeDtypeStruct:
    """The abstract value of a leaf (a tapegrad Tracer, a JAX or NumPy array, a Python number)."""
    if type(x) is Tracer:
        p = x.primal()
        return jax.ShapeDtypeStruct(tuple(x.shape), x.dtype, weak_type=bool(getattr(p, "weak_type", False)))
    a = x if hasattr(x, "dtype") and hasattr(x, "shape") else jnp.asarray(x)
    return jax.ShapeDtypeStruct(tuple(a.shape), a.dtype, weak_type=bool(getattr(a, "weak_type", False)))


def as_value(x: Any) -> Any:
    """A leaf as a primitive argument: tracers as they are, anything else a JAX array."""
    return x if type(x) is Tracer else jnp.asarray(x)


def is_inexact(aval: Any) -> bool:
    return np.dtype(aval.dtype) in INEXACT


def describe_tree(avals: Sequence[Any], tree: Any) -> str:
    """A pytree of avals as ``f32[3]``-style text, for structure errors."""
    def show(a: Any) -> str:
        return f"{np.dtype(a.dtype).name}{list(a.shape)}"
    return str(tree_unflatten(tree, [show(a) for a in avals]))


class Body:
    """``fun`` over flat leaves: ``run(consts, *trees_of_leaves) -> output leaves``.

    ``in_trees`` are the pytree structures of ``fun``'s positional arguments (flattened separately,
    so a loop can split them); ``captured`` the tracers it closes over, found by tracing it once on
    ``in_avals``. ``out_tree``/``out_avals`` describe its output.
    """

    def __init__(self, fun: Callable, in_trees: Sequence[Any], in_avals: Sequence[Sequence[Any]], who: str):
        self.fun = fun
        self.who = who
        self.in_trees = tuple(in_trees)
        self.out_tree: Any = None
        with capture.discovering() as found:
            out = jax.eval_shape(self._abstract, *[list(a) for a in in_avals])
        self.captured: list[Tracer] = found.tracers
        out_leaves, self.out_tree = tree_flatten(out)
        self.out_avals = tuple(out_leaves)

    def _abstract(self, *groups: list) -> Any:
        args = [tree_unflatten(t, g) for t, g in zip(self.in_trees, groups, strict=True)]
        out = self.fun(*args)
        # Outputs that are captured tracers stand in as their primals; other tracers cannot leave.
        leaves, tree = tree_flatten(out)
        return tree_unflatten(tree, [capture.stand_in(v) if type(v) is Tracer else v for v in leaves])

    def run(self, consts: Sequence[Any], *groups: Sequence[Any]) -> list[Any]:
        """The output leaves of ``fun`` on argument leaves ``groups``, captured tracers standing for ``consts``."""
        args = [tree_unflatten(t, list(g)) for t, g in zip(self.in_trees, groups, strict=True)]
        out = capture.call_with_stand_ins(self.fun, self.captured, list(consts), *args)
        leaves, tree = tree_flatten(out)
        if tree != self.out_tree:
            raise TypeError(f"{self.who}: the function returned a {tree} on this call, a {self.out_tree} when "
                            "first traced")
        return leaves

    def __repr__(self) -> str:  # shown in tape listings
        name = getattr(self.fun, "__name__", type(self.fun).__name__)
        return f"{name}{'' if not self.captured else f' (captures {len(self.captured)})'}"


def check_same_avals(who: str, what: str, got: Sequence[Any], got_tree: Any, want: Sequence[Any],
                     want_tree: Any) -> None:
    """A TypeError naming ``who`` when two pytrees of avals differ in structure, shape or dtype."""
    same = got_tree == want_tree and all(
        tuple(a.shape) == tuple(b.shape) and np.dtype(a.dtype) == np.dtype(b.dtype) for a, b in zip(got, want))
    if not same:
        raise TypeError(f"{who}: {what} must keep its structure, shapes and dtypes; the input is "
                        f"{describe_tree(want, want_tree)} but the function returned {describe_tree(got, got_tree)}")
