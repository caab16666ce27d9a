"""The ``roots`` primitive: a polynomial's roots, differentiated by the implicit function theorem.

jax.numpy computes roots as the eigenvalues of the companion matrix, and differentiates them through
a non-symmetric eigendecomposition. The derivative has a closed form instead: a simple root ``r`` of
``p(x) = sum_k p_k x**(d-k)`` moves with ``p_k`` as ``dr/dp_k = -r**(d-k) / p'(r)``. The rule is that
formula in tapegrad ops (a Vandermonde matrix of the roots, which are the saved output), so it
differentiates again. At a repeated root ``p'(r) = 0`` and the derivative is infinite, as jax's.
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive


def _roots_impl(p):
    # jax.numpy's _roots_no_zeros: the eigenvalues of the companion matrix (p[0] != 0 assumed).
    n = p.shape[0]
    a = jnp.diag(jnp.ones((n - 2,), p.dtype), -1)
    a = a.at[0, :].set(-p[1:] / p[0])
    return jnp.linalg.eigvals(a)


def _roots_rule(g, out, p):
    d = p.shape[0] - 1
    r = out
    # Powers r_j ** (d - k), k = 0..d: column k is p_k's monomial at each root.
    v = r[:, None] ** jnp.arange(d, -1, -1, dtype=jnp.finfo(p.dtype).dtype)[None, :]
    slope = tnp.matmul(v[:, 1:], p[:-1] * jnp.arange(d, 0, -1, dtype=jnp.finfo(p.dtype).dtype))  # p'(r_j)
    return -tnp.matmul(g / slope, v)


# The cotangent is complex; the sweep keeps its real part for a real p (JAX's convention).
roots_p = Primitive("roots", _roots_impl, save_out=True).defvjp(_roots_rule)
