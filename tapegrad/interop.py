"""``tg.from_jax``: a user's JAX function as one entry on the tape, differentiated by JAX.

Porting stops wherever a program calls a JAX function that tapegrad does not mirror: an optax
loss, a Flax or Equinox model, a ``jax.scipy`` function, the user's own ``jax.jit``-ed helper.
``from_jax(fun)`` takes tapegrad values instead. The call records one primitive whose forward is
``fun`` on the values underneath and whose VJP is ``jax.vjp`` of ``fun``; that VJP is itself bridged
the same way, so it is recorded at outer levels, and every order of differentiation works.

Only tapegrad Tracers among the arguments (any pytree) become the entry's inputs; everything else
(Python numbers, strings, plain arrays) is passed to ``fun`` as it is, so static arguments stay
static. The values follow JAX's complex convention inside, as all of tapegrad's rules do.

tapegrad's own namespaces never use this bridge: they are built from tapegrad primitives with
tapegrad's own VJP rules (``tests/test_interop.py`` checks it).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
from jax.tree_util import tree_flatten, tree_unflatten

from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer

BRIDGE_PREFIX = "from_jax"  # every bridged entry's name starts so: library tapes must hold none


def from_jax(fun: Callable) -> Callable:
    """``fun`` (any JAX-traceable function) made to take tapegrad values; its derivatives come from JAX.

    Example:
        >>> import jax, tapegrad as tg
        >>> softplus = tg.from_jax(jax.nn.softplus)
        >>> round(float(tg.grad(softplus)(0.0)), 4)
        0.5
        >>> round(float(tg.grad(tg.grad(softplus))(0.0)), 4)  # sigmoid'(0)
        0.25
    """
    if not callable(fun):
        raise TypeError(f"tg.from_jax expects a callable, got {type(fun).__name__}")
    name = f"{BRIDGE_PREFIX}[{getattr(fun, '__name__', type(fun).__name__)}]"

    @functools.wraps(fun)
    def bridged(*args: Any, **kwargs: Any) -> Any:
        leaves, in_tree = tree_flatten((args, kwargs))
        dyn = [i for i, leaf in enumerate(leaves) if type(leaf) is Tracer]
        if not dyn:
            return fun(*args, **kwargs)
        out_tree: list[Any] = []

        def flat(*values: Any) -> tuple:
            full = list(leaves)
            for i, v in zip(dyn, values):
                full[i] = v
            a, k = tree_unflatten(in_tree, full)
            out_leaves, tree = tree_flatten(fun(*a, **k))
            if not out_tree:
                out_tree.append(tree)
            return tuple(out_leaves)

        outs = _bridge(flat, name)(*[leaves[i] for i in dyn])
        return tree_unflatten(out_tree[0], list(outs))

    return bridged


def _bridge(flat: Callable[..., tuple], name: str) -> Primitive:
    """A primitive applying ``flat`` (arrays -> tuple of arrays), whose VJP is ``jax.vjp`` of it, bridged."""
    prim = Primitive(name, flat, multiple_results=True, register=False)

    def rule(gs: tuple, out: Any, *args: Any) -> list[Any]:
        # JAX wants a cotangent for every output it differentiates: the inexact ones (the sweep gives
        # zeros for those that received none; integer outputs carry none).
        diff = [i for i, g in enumerate(gs) if g is not None]
        n = len(args)

        def vjp_flat(*args_and_cts: Any) -> tuple:
            primals, cts = args_and_cts[:n], args_and_cts[n:]
            _, f_vjp = jax.vjp(lambda *a: tuple(flat(*a)[i] for i in diff), *primals)
            return tuple(f_vjp(tuple(cts)))

        return list(_bridge(vjp_flat, f"{BRIDGE_PREFIX}[vjp of {name[len(BRIDGE_PREFIX) + 1:-1]}]")(
            *args, *[gs[i] for i in diff]))

    prim.defvjp_all(rule)
    return prim


def is_bridged(prim: Any) -> bool:
    """Whether a tape entry's primitive came from :func:`from_jax`."""
    return isinstance(getattr(prim, "name", None), str) and prim.name.startswith(BRIDGE_PREFIX + "[")
