"""Forward mode, derived from reverse mode by transposition.

``vjp_fn`` is linear in its cotangent and written in tapegrad ops, so tracing
it at a fresh level and pulling a tangent back through *that* trace gives
``J @ t``: the JVP, for every primitive, with no second set of rules to keep in
sync. It costs about two reverse passes; ``jacfwd`` amortises it over columns.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_map, tree_structure

from tapegrad.core.foreign import as_jax
from tapegrad.core.tracer import Tracer
from tapegrad.transforms.inputs import check_callable
from tapegrad.transforms.reverse import vjp_jax

_local = threading.local()


def linearizing() -> bool:
    """Whether a VJP is being traced only to be transposed (its values are never read).

    A primitive whose VJP may not be evaluated (a while loop's) returns placeholders then.
    """
    return getattr(_local, "depth", 0) > 0


def linearize_forward(fun: Callable, *primals: Any) -> tuple[Any, Callable]:
    """``(out, jvp_fn)`` with ``jvp_fn(*tangents) = J @ tangents`` (reusable, like ``vjp_fn``)."""
    # JAX's convention for complex values: the transpose of the transpose is the JVP itself
    # (PyTorch's conjugated VJP would give conj(J) t for non-holomorphic functions).
    out, vjp_fn = vjp_jax(fun, *primals)
    zero_ct = tree_map(lambda o: jnp.zeros(o.shape, o.dtype), out)
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        _, transpose_fn = vjp_jax(vjp_fn, zero_ct)  # traced for its linear structure only
    finally:
        _local.depth -= 1

    def jvp_fn(*tangents: Any) -> Any:
        return transpose_fn(tuple(tangents))[0]

    return out, jvp_fn


def jvp(fun: Callable, primals: tuple | list, tangents: tuple | list) -> tuple[Any, Any]:
    """Forward mode: ``(fun(*primals), J @ tangents)``.

    Example:
        >>> import tapegrad as tg
        >>> out, t = tg.jvp(lambda x: x ** 3, (2.0,), (1.0,))
        >>> float(out), float(t)
        (8.0, 12.0)
    """
    check_callable(fun, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("tg.jvp: primals and tangents must be tuples (or lists) with one entry per "
                        f"argument, got {type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents) or tree_structure(tuple(primals)) != tree_structure(tuple(tangents)):
        raise ValueError(f"tg.jvp: primals and tangents must have the same structure, got "
                         f"{tree_structure(tuple(primals))} and {tree_structure(tuple(tangents))}")
    p_leaves, _ = tree_flatten(tuple(primals))
    t_leaves, _ = tree_flatten(tuple(tangents))
    for p, t in zip(p_leaves, t_leaves):
        if np.shape(p) != np.shape(t):
            raise ValueError(f"tg.jvp: tangent shape {np.shape(t)} does not match primal shape {np.shape(p)}")
    out, jvp_fn = linearize_forward(fun, *primals)
    # A tangent takes its primal's dtype, so float32 primals with Python-float tangents work.
    tangents = tuple(tree_map(_like, tuple(tangents), tuple(primals)))
    return out, jvp_fn(*tangents)


def _like(t: Any, p: Any) -> Any:
    if type(t) is Tracer:
        return t
    return as_jax(t, dtype=p.dtype if hasattr(p, "dtype") else jnp.result_type(p))
