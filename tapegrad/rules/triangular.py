"""Triangular solves and the pivoted LU factorization: primitives whose VJPs are triangular solves again.

``triangular_solve(a, b)`` is ``op(a)^-1 b`` with ``op`` the identity or the transpose, reading one
triangle of ``a`` (and, with ``unit_diagonal``, not its diagonal). Its VJP is another triangular
solve: ``b`` gets ``op(a)^-T g`` and ``a`` gets ``-(op(a)^-T g) x^T`` (transposed for ``op = T``),
masked to the triangle that was read. The conjugate transpose is ``conj`` of ``a`` then ``op = T``
(the wrapper does it), so complex values need nothing here: rules follow JAX's convention (plain
transposes), and the transforms turn it into PyTorch's.

``lu(a)`` is LAPACK's ``getrf``: packed ``L\\U``, the pivots and the permutation (integers, no
gradient). Its VJP is the transpose of JAX's ``lu`` JVP (``lax.linalg._lu_jvp_rule``):
``dLU = L tril(X, -1) + triu(X) U`` with ``X = L^-1 P dA U^-1``, so
``gA = P^T L^-T (tril(L^T G, -1) + triu(G U^T)) U^-T``. Both rules are tapegrad code (they call
these same primitives on the saved outputs), so they differentiate again.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive
from tapegrad.rules.linalg import _mm, _mT


def _mask(n, dtype, lower, unit_diagonal):
    """1 on the triangle a solve reads (strict when the diagonal is taken as ones), 0 elsewhere."""
    m = np.tril(np.ones((n, n)), -1 if unit_diagonal else 0) if lower else np.triu(np.ones((n, n)),
                                                                                1 if unit_diagonal else 0)
    return jnp.asarray(m, dtype)


def _solve_impl(a, b, lower, transpose_a, unit_diagonal):
    batch = jnp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = jnp.broadcast_to(a, batch + a.shape[-2:])
    b = jnp.broadcast_to(b, batch + b.shape[-2:])
    return lax.linalg.triangular_solve(a, b, left_side=True, lower=lower, transpose_a=transpose_a,
                                       unit_diagonal=unit_diagonal)


def _solve_b(g, out, a, b, lower, transpose_a, unit_diagonal):
    # x = op(a)^-1 b is linear in b; its transpose is op(a)^-T.
    return triangular_solve_p(a, g, lower=lower, transpose_a=not transpose_a, unit_diagonal=unit_diagonal)


def _solve_a(g, out, a, b, lower, transpose_a, unit_diagonal):
    # dx = -op(a)^-1 op(da) x, so op(a)'s cotangent is -(op(a)^-T g) x^T; only the triangle read counts.
    gb = _solve_b(g, out, a, b, lower, transpose_a, unit_diagonal)
    ga = -_mm(out, _mT(gb)) if transpose_a else -_mm(gb, _mT(out))
    return ga * _mask(a.shape[-1], tnp.result_type(ga), lower, unit_diagonal)


triangular_solve_p = Primitive("solve_triangular", _solve_impl, save_out=True).defvjp(_solve_a, _solve_b)


# ---- LU with partial pivoting ------------------------------------------------------------

def _lu_impl(a):
    lu, pivots, perm = lax.linalg.lu(a)
    return lu, pivots, perm


def _factors(lu, m, n):
    """The padded square factors of JAX's rule: unit-lower ``L`` (m, m) and upper ``U`` (n, n)."""
    k = min(m, n)
    batch = [(0, 0)] * (lu.ndim - 2)
    dtype = tnp.result_type(lu)
    low = tnp.tril(lu[..., :, :k], -1)
    if m > k:
        low = tnp.pad(low, batch + [(0, 0), (0, m - k)])
    low = low + jnp.eye(m, dtype=dtype)
    up = tnp.triu(lu[..., :k, :])
    if n > k:
        up = tnp.pad(up, batch + [(0, n - k), (0, 0)]) + jnp.asarray(np.diag([0.0] * k + [1.0] * (n - k)), dtype)
    return low, up


def _lu_rule(gs, out, a):
    g = gs[0]
    lu, _, perm = out
    m, n = a.shape[-2:]
    low, up = _factors(lu, m, n)
    g_lau = tnp.tril(_mm(_mT(low), g), -1) + tnp.triu(_mm(g, _mT(up)))
    g_la = _mT(triangular_solve_p(up, _mT(g_lau), lower=False, transpose_a=False, unit_diagonal=False))
    g_x = triangular_solve_p(low, g_la, lower=True, transpose_a=True, unit_diagonal=True)
    # x = a[perm]: row i of x is row perm[i] of a, so a's cotangent takes row inv[j] of g_x for row j.
    inv = jnp.argsort(perm, axis=-1)
    return (tnp.take_along_axis(g_x, inv[..., :, None], axis=-2),)


lu_p = Primitive("lu", _lu_impl, save_args=False, save_out=True, multiple_results=True).defvjp_all(_lu_rule)
