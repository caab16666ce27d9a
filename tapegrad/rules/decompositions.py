"""Eigendecompositions of symmetric matrices: the ``eigh`` primitive and its VJP.

The rule is the transpose of jax's JVP for ``eigh``: ``dw = diag(V^T dA V)`` and
``dV = V (F * (V^T dA V))`` with ``F_ij = 1 / (w_j - w_i)`` off the diagonal, so
``gA = V (diag(gw) + F * (V^T gV)) V^T``, symmetrized when the input is (as jax does).
It is written with tapegrad ops on the saved outputs, so it differentiates again.
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive
from tapegrad.rules.linalg import _mm, _mT


def _eigh_impl(a, lower, symmetrize_input):
    w, v = jnp.linalg.eigh(a, UPLO="L" if lower else "U", symmetrize_input=symmetrize_input)
    return w, v


def _eigh_rule(gs, out, a, lower, symmetrize_input):
    gw, gv = gs
    w, v = out
    n = a.shape[-1]
    eye = jnp.eye(n, dtype=tnp.result_type(w))
    # 1 / (w_j - w_i) off the diagonal, 0 on it (the eye keeps the division finite there).
    f = 1.0 / (tnp.expand_dims(w, -2) - tnp.expand_dims(w, -1) + eye) - eye
    core = tnp.expand_dims(gw, -2) * eye + f * _mm(_mT(v), gv)
    ga = _mm(_mm(v, core), _mT(v))
    if symmetrize_input:
        ga = (ga + _mT(ga)) / 2
    return (ga,)


eigh_p = Primitive("eigh", _eigh_impl, save_args=False, save_out=True,
                   multiple_results=True).defvjp_all(_eigh_rule)
