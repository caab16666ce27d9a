"""``tg.lax``: JAX's control flow, differentiable by tapegrad (API.md §10).

Each loop or branch is one primitive on the tape whatever its trip count: the body is traced once
(:class:`tapegrad.lax.body.Body`, closed over the tracers it captures), the forward pass is JAX's own
loop over the values underneath, and the VJP is again tapegrad control flow (a reverse scan, a
switch of VJPs, a vmap of VJPs), so every order of differentiation works and ``jax.jit`` compiles
one loop, not an unrolled tape.

Example:
    >>> import tapegrad as tg, tapegrad.numpy as tnp
    >>> f = lambda x: tg.lax.fori_loop(0, 4, lambda i, v: tnp.sin(v), x)
    >>> abs(float(tg.grad(f)(0.5)) - 0.6977) < 1e-3
    True
"""
from tapegrad.lax.cond import cond, switch
from tapegrad.lax.loops import fori_loop, map, while_loop
from tapegrad.lax.scan import scan
from tapegrad.lax.vmap import vmap

__all__ = ["cond", "fori_loop", "map", "scan", "switch", "vmap", "while_loop"]
