"""Matrix functions and equations: ``expm``, ``sqrtm`` and the Sylvester solve, and the forward-only
factorizations of ``jax.scipy.linalg`` (``schur``, ``hessenberg``, ...).

Rules follow JAX's convention (plain transposes; the transforms give PyTorch's for complex values),
and each is written with these same primitives, so every order of differentiation works:

* ``expm``: the VJP is the Fréchet derivative at the transpose, ``L(A^T, G)``, the upper-right
  block of ``expm([[A^T, G], [0, A^T]])`` (Mathias 1996), computed by ``expm`` itself.
* ``solve_sylvester`` (``A X + X B = C``): differentiating gives ``A dX + dX B = dC - dA X - X dB``,
  so with ``Y`` solving ``A^T Y + Y B^T = G``: ``gC = Y``, ``gA = -Y X^T``, ``gB = -X^T Y``.
* ``sqrtm`` (``X X = A``): ``X dX + dX X = dA``, so ``gA`` solves ``X^T Y + Y X^T = G``.

JAX's own ``sqrtm`` and ``solve_sylvester`` have no derivative (``schur`` has none); these do.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax import lax

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.rules.linalg import _mm, _mT

# ---- expm --------------------------------------------------------------------------------


def _norm1(x):
    # The 1-norm (largest column sum), a constant: only its size is used. Its innermost value, as
    # tg.stop_gradient takes it (the transforms sit above the rules).
    n = tnp.max(tnp.sum(tnp.abs(x), axis=-2), axis=-1)
    return lax.stop_gradient(n.primal() if type(n) is Tracer else n)


def frechet(a, e, max_squarings=16):
    """``L(a, e)``, the Fréchet derivative of ``expm`` at ``a`` along ``e``: the upper-right block of
    ``expm([[a, e], [0, a]])``, written with the ``expm`` primitive so that it differentiates again."""
    n = a.shape[-1]
    # L is linear in e: e is scaled to a's size first, so that a large e does not raise the number of
    # squarings of the block matrix (past max_squarings expm gives NaN). The scale is a constant.
    ne, na = _norm1(e), _norm1(a)
    s = tnp.where(ne > 0, ne / tnp.maximum(na, 1.0), 1.0)[..., None, None]
    batch = jnp.broadcast_shapes(tuple(a.shape), tuple(e.shape))
    a = tnp.broadcast_to(a, batch)
    zero = jnp.zeros(batch, tnp.result_type(a, e))
    big = tnp.concatenate([tnp.concatenate([a, tnp.broadcast_to(e / s, batch)], axis=-1),
                           tnp.concatenate([zero, a], axis=-1)], axis=-2)
    return expm_p(big, upper_triangular=False, max_squarings=max_squarings)[..., :n, n:] * s


def _expm_rule(g, out, a, upper_triangular, max_squarings):
    # The block matrix is at most twice A's norm: one squaring more than A's own may be needed.
    ga = frechet(_mT(a), g, max_squarings + 1)
    if upper_triangular:  # the forward computes a function of the upper triangle
        ga = tnp.triu(ga)
    return ga


expm_p = Primitive("expm", lambda a, upper_triangular, max_squarings: jsl.expm(
    a, upper_triangular=upper_triangular, max_squarings=max_squarings)).defvjp(_expm_rule)


# ---- Sylvester equation and the square root -------------------------------------------------

def _sylvester_impl(a, b, c, method, tol):
    batch = jnp.broadcast_shapes(a.shape[:-2], b.shape[:-2], c.shape[:-2])
    a, b, c = (jnp.broadcast_to(x, batch + x.shape[-2:]) for x in (a, b, c))
    return jsl.solve_sylvester(a, b, c, method=method, tol=tol)


def _sylvester_rule(g, out, a, b, c, method, tol):
    y = sylvester_p(_mT(a), _mT(b), g, method=method, tol=tol)
    return -_mm(y, _mT(out)), -_mm(_mT(out), y), y


sylvester_p = Primitive("solve_sylvester", _sylvester_impl, save_out=True).defvjp_all(_sylvester_rule)


def _sqrtm_rule(g, out, a):
    xt = _mT(out)
    return sylvester_p(xt, xt, g, method="schur", tol=0.0)


def _sqrtm_impl(a):
    # jax.scipy.linalg.sqrtm is 2-D only (a complex Schur form): mapped over the batch dims.
    flat = jnp.reshape(a, (-1,) + a.shape[-2:])
    out = jax.vmap(jsl.sqrtm)(flat)
    return jnp.reshape(out, a.shape[:-2] + out.shape[-2:])


sqrtm_p = Primitive("sqrtm", _sqrtm_impl, save_args=False, save_out=True).defvjp(_sqrtm_rule)


# ---- forward only: JAX has no derivative for these ------------------------------------------

def _no_derivative(name: str, why: str):
    def rule(gs, out, *args, **params):
        raise NotImplementedError(f"tapegrad.scipy.linalg.{name} is not differentiable (nor is "
                                  f"jax.scipy.linalg.{name}: {why})")
    return rule


def forward_only(name: str, impl, why: str, multiple_results: bool = False) -> Primitive:
    """A primitive whose outputs are values of the tape but whose VJP raises, naming ``name``: the
    error comes when something differentiates through it, as JAX's does."""
    p = Primitive(f"{name}", impl, save_args=False, multiple_results=multiple_results)
    return p.defvjp_all(_no_derivative(name, why))


schur_p = forward_only("schur", lambda a, output: tuple(jsl.schur(a, output=output)),
                       "the Schur form has no derivative rule in JAX", multiple_results=True)
hessenberg_p = forward_only("hessenberg", lambda a, calc_q: (lambda r: r if calc_q else (r,))(
    jsl.hessenberg(a, calc_q=calc_q)), "the Hessenberg reduction has no derivative rule in JAX",
    multiple_results=True)
funm_p = forward_only("funm", lambda a, func: jsl.funm(a, func), "it goes through the Schur form")


def _eigh_tridiagonal_impl(d, e, key_data, eigvals_only, select, select_range, tol, key_impl):
    key = None if key_data is None else jax.random.wrap_key_data(key_data, impl=key_impl)
    out = jsl.eigh_tridiagonal(d, e, eigvals_only=eigvals_only, select=select, select_range=select_range,
                               tol=tol, key=key)
    return (out,) if eigvals_only else tuple(out)


eigh_tridiagonal_p = forward_only("eigh_tridiagonal", _eigh_tridiagonal_impl,
                                  "its bisection is a while loop; use eigh on the full matrix for gradients",
                                  multiple_results=True)
polar_qdwh_p = forward_only("polar", lambda a, side, eps, max_iterations: tuple(jsl.polar(
    a, side=side, method="qdwh", eps=eps, max_iterations=max_iterations)),
    "method='qdwh' iterates in a while loop; method='svd' is differentiable", multiple_results=True)
qr_multiply_p = forward_only("qr_multiply", lambda a, c, mode, pivoting, conjugate: tuple(jsl.qr_multiply(
    a, c, mode=mode, pivoting=pivoting, conjugate=conjugate)),
    "it applies Householder reflectors (geqrf/ormqr), which have no derivative rule", multiple_results=True)
