"""Products and linear algebra: matmul, dot, einsum, and the ``tnp.linalg`` solvers."""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive


def _mT(a):
    return tnp.swapaxes(a, -1, -2)


def _promote(g, x, y):
    """Treat 1-D operands as matrices (a row for ``x``, a column for ``y``) in the rules."""
    xe = tnp.reshape(x, (1, x.shape[0])) if x.ndim == 1 else x
    ye = tnp.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y
    if x.ndim == 1:
        g = tnp.expand_dims(g, -2 if y.ndim > 1 else 0)
    if y.ndim == 1:
        g = tnp.expand_dims(g, -1)
    return g, xe, ye


def _matmul_x(g, out, x, y):
    g, _, ye = _promote(g, x, y)
    dx = tnp.matmul(g, _mT(ye))  # (..., n, k)
    return dx if x.ndim > 1 else tnp.reshape(tnp.sum(dx, axis=tuple(range(dx.ndim - 1))), x.shape)


def _matmul_y(g, out, x, y):
    g, xe, _ = _promote(g, x, y)
    dy = tnp.matmul(_mT(xe), g)  # (..., k, m)
    return dy if y.ndim > 1 else tnp.sum(dy, axis=-1)


matmul = Primitive("matmul", jnp.matmul).defvjp(_matmul_x, _matmul_y)
