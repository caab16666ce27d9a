"""What every transform does at its boundary: pick arguments, check them, open a level.

Inputs become tracers of a fresh level; outputs are read back as (id, value)
pairs. Errors here name the transform, the argument and the offending
shape/dtype, because they are the user's first contact with a mistake.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_map, tree_unflatten

from tapegrad.core.foreign import is_foreign, owned_array
from tapegrad.core.primitive import INEXACT
from tapegrad.core.tracer import Trace, Tracer

_ARRAY = type(jnp.zeros(()))


def check_callable(fun: Any, who: str) -> None:
    if not callable(fun):
        raise TypeError(f"tg.{who} expects a callable as its first argument, got {type(fun).__name__}: "
                        f"{fun!r:.80}")


def normalize_argnums(argnums: int | Sequence[int], nargs: int, who: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of valid non-negative positions."""
    single = isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    try:
        nums = tuple(nums)
    except TypeError:
        raise TypeError(f"tg.{who}: argnums must be an int or a tuple of ints, got {argnums!r}") from None
    if not nums or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"tg.{who}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    out = []
    for i in nums:
        j = i + nargs if i < 0 else i
        if not 0 <= j < nargs:
            raise ValueError(f"tg.{who}: argnums={argnums!r} is out of range for a call with {nargs} "
                             f"positional argument(s)")
        out.append(int(j))
    if len(set(out)) != len(out):
        raise ValueError(f"tg.{who}: argnums={argnums!r} repeats an argument")
    return tuple(out)


def as_input(x: Any, who: str, where: str) -> Any:
    """A differentiable input leaf as a float array (or an outer level's tracer)."""
    if type(x) is Tracer or type(x) is _ARRAY:  # a JAX array is already what the tape holds
        dtype = x.dtype
    else:
        if x is None or isinstance(x, (str, bytes)) or callable(x):
            raise TypeError(f"tg.{who}: input {where} is {type(x).__name__} {x!r:.40}, not an array; "
                            "only arrays and numbers (in pytrees) can be differentiated")
        try:  # jnp.asarray of a NumPy array may read it after returning: owned_array copies first
            x = owned_array(x) if is_foreign(x) else jnp.asarray(x)
        except (TypeError, ValueError) as e:
            raise TypeError(f"tg.{who}: input {where} of type {type(x).__name__} is not an array: {e}") from None
        dtype = x.dtype
    if np.dtype(dtype) not in INEXACT:
        raise TypeError(
            f"tg.{who}: input {where} has dtype {np.dtype(dtype).name} (shape {tuple(x.shape)}); only "
            "floating-point and complex inputs can be differentiated. Cast it, e.g. x.astype('float32'), "
            "or close over it instead of passing it as a differentiated argument.")
    return x


def leaf_names(tree: Any, prefix: str) -> list[str]:
    """``params['layer']['weight']``-style names for a pytree's leaves."""
    return [prefix + keystr(path) for path, _ in tree_flatten_with_path(tree)[0]]


def trace_inputs(trace: Trace, tree: Any, who: str, prefix: str = "x") -> Any:
    """Replace every leaf of ``tree`` by a tracer of ``trace``: the tape's inputs."""
    leaves, treedef = tree_flatten(tree)
    names = leaf_names(tree, prefix)
    tracers = [trace.new_tracer(as_input(x, who, n), n) for x, n in zip(leaves, names)]
    return tree_unflatten(treedef, tracers)


def read_output(trace: Trace, leaf: Any) -> tuple[int | None, Any]:
    """(id on ``trace`` or None for a constant, the value underneath)."""
    if type(leaf) is Tracer and leaf.trace is trace:
        return leaf.id, leaf.value
    if type(leaf) is Tracer:
        return None, leaf
    return None, owned_array(leaf) if is_foreign(leaf) else jnp.asarray(leaf)


def strip(trace: Trace, tree: Any) -> Any:
    """``tree`` with this level's tracers replaced by their values (for aux outputs)."""
    return tree_map(lambda x: x.value if type(x) is Tracer and x.trace is trace else x, tree)


def zeros_like(x: Any) -> Any:
    """A zero cotangent for an input value (a constant at every level)."""
    return jnp.zeros(x.shape, x.dtype)


def substitute(args: tuple, argnums: tuple[int, ...], new: Sequence[Any]) -> tuple:
    args = list(args)
    for i, v in zip(argnums, new):
        args[i] = v
    return tuple(args)


def as_cotangent(ct: Any, out: Any, who: str) -> Any:
    """Check a cotangent against its output's shape and dtype, as PyTorch's backward does."""
    if isinstance(ct, (int, float)) and not isinstance(ct, bool):
        ct = jnp.asarray(ct, dtype=out.dtype)  # a Python number takes the output's dtype
    elif type(ct) is not Tracer:
        try:  # a NumPy or torch cotangent is copied: the caller may reuse its buffer right after
            ct = owned_array(ct) if is_foreign(ct) else jnp.asarray(ct)
        except (TypeError, ValueError):
            raise TypeError(f"tg.{who}: cotangent of type {type(ct).__name__} is not an array; pass an array "
                            f"shaped and typed like the output (shape {tuple(out.shape)}, dtype "
                            f"{np.dtype(out.dtype).name})") from None
    if tuple(ct.shape) != tuple(out.shape) or np.dtype(ct.dtype) != np.dtype(out.dtype):
        raise ValueError(
            f"tg.{who}: cotangent of shape {tuple(ct.shape)} and dtype {np.dtype(ct.dtype).name} does not "
            f"match the output of shape {tuple(out.shape)} and dtype {np.dtype(out.dtype).name}; pass a "
            "cotangent shaped and typed like the output")
    return ct
