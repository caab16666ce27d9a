"""``make_tape``: record a function's Wengert list for reading or drawing."""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from jax.tree_util import tree_flatten, tree_unflatten

from tapegrad.core.foreign import as_jax
from tapegrad.core.primitive import INEXACT
from tapegrad.core.source import call_located
from tapegrad.core.tape import Tape
from tapegrad.core.tracer import Trace, Tracer
from tapegrad.transforms.inputs import check_callable, leaf_names


def _arg_names(fun: Callable, n: int) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(fun).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"args[{i}]" for i in range(n)]


def make_tape(fun: Callable, names: list[str] | None = None) -> Callable[..., Tape]:
    """A function that runs ``fun(*args)`` and returns the :class:`Tape` it recorded.

    Floating-point leaves of the arguments are the tape's inputs, named by
    argument name and pytree path; other leaves are constants.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tape = tg.make_tape(lambda x: (x * x).mean())(tnp.ones((2, 2)))
        >>> [e.prim.name for e in tape]
        ['multiply', 'mean']
    """
    check_callable(fun, "make_tape")

    @functools.wraps(fun)
    def taped(*args: Any, **kwargs: Any) -> Tape:
        arg_names = names or _arg_names(fun, len(args))
        with Trace() as trace:
            traced = []
            for a, name in zip(args, arg_names):
                leaves, tree = tree_flatten(a)
                leaf_ns = leaf_names(a, name)
                new = []
                for v, n in zip(leaves, leaf_ns):
                    if type(v) is not Tracer:
                        v = as_jax(v)
                    new.append(trace.new_tracer(v, n) if np.dtype(v.dtype) in INEXACT else v)
                traced.append(tree_unflatten(tree, new))
            out = call_located(fun, *traced, **kwargs)
        out_leaves = tree_flatten(out)[0]
        out_names = leaf_names(out, "out")
        trace.tape.outputs = [
            (o.id if type(o) is Tracer and o.trace is trace else None, n,
             (tuple(o.shape), o.dtype) if hasattr(o, "shape") else None)
            for o, n in zip(out_leaves, out_names)]
        return trace.tape

    return taped
