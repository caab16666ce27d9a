"""Functions of a matrix: ``expm``, its Fréchet derivative, ``sqrtm`` and ``funm``.

``expm`` and ``sqrtm`` are primitives (``tapegrad.rules.matrix_functions``) whose VJPs are again
``expm`` and a Sylvester solve, so every order works. ``expm_frechet`` is the upper-right block of
``expm`` of a block matrix. ``funm`` goes through the Schur form and, as in JAX, has no derivative.
"""
from __future__ import annotations

from collections.abc import Callable

import jax.scipy.linalg as jsl

from tapegrad.core.tracer import Tracer
from tapegrad.rules.matrix_functions import expm_p, frechet, funm_p, sqrtm_p
from tapegrad.scipy.linalg._util import PREFIX, Array, inexact, square


def expm(A: Array, *, upper_triangular: bool = False, max_squarings: int = 16) -> Array:
    """The matrix exponential (Padé approximation with scaling and squaring), batched over leading dims.

    With ``upper_triangular`` only ``A``'s upper triangle is used (and gets a gradient). NaN where more
    than ``max_squarings`` squarings would be needed, as in jax.scipy.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> expm(tnp.zeros((2, 2))).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    (A,) = inexact(A, who="expm")
    square(A, "expm", "A")
    return expm_p(A, upper_triangular=bool(upper_triangular), max_squarings=int(max_squarings))


def expm_frechet(A: Array, E: Array, *, method: str | None = None,
                 compute_expm: bool = True) -> Array | tuple[Array, Array]:
    """``(expm(A), L(A, E))`` with ``L(A, E)`` the Fréchet derivative of ``expm`` at ``A`` along ``E``
    (``L(A, E)`` alone with ``compute_expm=False``). Differentiable in ``A`` and ``E`` to any order.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> expm_frechet(tnp.zeros((2, 2)), tnp.eye(2), compute_expm=False).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    del method  # jax.scipy ignores it too
    A, E = inexact(A, E, who="expm_frechet")
    square(A, "expm_frechet", "A")
    square(E, "expm_frechet", "E")
    if tuple(A.shape) != tuple(E.shape):
        raise ValueError(f"{PREFIX}.expm_frechet: expected A and E to be the same shape, got A.shape="
                         f"{tuple(A.shape)} E.shape={tuple(E.shape)}")
    le = frechet(A, E)
    return (expm(A), le) if compute_expm else le


def sqrtm(A: Array, blocksize: int = 1) -> Array:
    """The principal square root ``X`` (``X @ X == A``), complex as in jax.scipy, batched over leading dims.

    Differentiable (jax.scipy's is not): the VJP solves the Sylvester equation ``X^T Y + Y X^T = G``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> sqrtm(tnp.asarray([[4.0, 0.0], [0.0, 9.0]])).real.tolist()
        [[2.0, 0.0], [0.0, 3.0]]
    """
    if blocksize > 1:
        raise NotImplementedError(f"{PREFIX}.sqrtm: the blocked version (blocksize={blocksize}) is not implemented")
    (A,) = inexact(A, who="sqrtm")
    square(A, "sqrtm", "A")
    return sqrtm_p(A)


def funm(A: Array, func: Callable[[Array], Array], disp: bool = True) -> Array | tuple[Array, Array]:
    """``func`` applied to the square matrix ``A`` through its Schur form (Parlett's recurrence).

    ``func`` maps an array of (complex) eigenvalues to their images. Not differentiable (neither is
    jax.scipy's: the Schur form has no derivative); ``disp=False`` also returns an error estimate.

    Example:
        >>> import jax.numpy as jnp, tapegrad.numpy as tnp
        >>> funm(tnp.zeros((2, 2)), jnp.exp).real.tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    (A,) = inexact(A, who="funm")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{PREFIX}.funm: expected a square matrix, got shape {tuple(A.shape)}")
    if not callable(func):
        raise TypeError(f"{PREFIX}.funm: func must be callable, got {type(func).__name__}")
    if type(A) is not Tracer:
        return jsl.funm(A, func, disp=disp)
    f = funm_p(A, func=func)
    if disp:
        return f
    return f, jsl.funm(A.primal(), func, disp=False)[1]


__all__ = ["expm", "expm_frechet", "funm", "sqrtm"]
