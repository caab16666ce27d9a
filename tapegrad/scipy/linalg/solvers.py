"""Linear solves and the factorizations behind them: triangular, Cholesky, LU, general, Sylvester.

The primitives are ``tapegrad.rules.triangular`` (triangular solve, pivoted LU) and
``tapegrad.rules.matrix_functions`` (Sylvester); Cholesky, inverse, determinant and the general
solve are ``tnp.linalg``'s, with scipy's argument conventions on top.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.numpy import linalg as _tla
from tapegrad.rules.matrix_functions import sylvester_p
from tapegrad.rules.triangular import lu_p, triangular_solve_p
from tapegrad.scipy.linalg._util import PREFIX, Array, conj, inexact, mH, rhs, square, trans_code


def _tri_solve(a: Array, b: Array, trans: int, lower: bool, unit_diagonal: bool = False) -> Array:
    # op(a) = a^H is conj(a) transposed: the conjugate is its own tape entry, the primitive only transposes.
    if trans == 2:
        a = conj(a)
    return triangular_solve_p(a, b, lower=bool(lower), transpose_a=trans != 0, unit_diagonal=bool(unit_diagonal))


def solve_triangular(a: Array, b: Array, trans: int | str = 0, lower: bool = False, unit_diagonal: bool = False,
                     overwrite_b: bool = False, debug=None, check_finite: bool = True) -> Array:
    """Solve ``op(a) @ x = b`` for triangular ``a``, reading only its ``lower`` (or upper) triangle.

    ``trans``: 0/'N' (``a``), 1/'T' (``a^T``), 2/'C' (``a^H``). With ``unit_diagonal`` the diagonal is
    taken as ones and not read. ``b`` is ``(n,)`` or ``(..., n, k)``; batch dims broadcast.
    Differentiable in ``a`` (its read triangle) and ``b``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> solve_triangular(tnp.asarray([[2.0, 0.0], [1.0, 1.0]]), tnp.asarray([2.0, 3.0]), lower=True).tolist()
        [1.0, 2.0]
    """
    del overwrite_b, debug, check_finite
    t = trans_code(trans, "solve_triangular")
    a, b = inexact(a, b, who="solve_triangular")
    square(a, "solve_triangular")
    b, vector = rhs(a, b, "solve_triangular")
    x = _tri_solve(a, b, t, lower, unit_diagonal)
    return x[..., 0] if vector else x


def cholesky(a: Array, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """The Cholesky factor of a Hermitian positive-definite ``a``: upper ``U`` (``a = U^H U``) or, with
    ``lower``, lower ``L`` (``a = L L^H``). Only that triangle of ``a`` is read, as in jax.scipy.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> cholesky(tnp.asarray([[4.0, 2.0], [2.0, 2.0]])).tolist()
        [[2.0, 1.0], [0.0, 1.0]]
    """
    del overwrite_a, check_finite
    (a,) = inexact(a, who="cholesky")
    square(a, "cholesky")
    low = _tla.cholesky(a if lower else mH(a), symmetrize_input=False)
    return low if lower else mH(low)


def cho_factor(a: Array, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Array, bool]:
    """``(c, lower)`` for :func:`cho_solve`: ``c`` the Cholesky factor (zeros in the other triangle).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> c, low = cho_factor(tnp.asarray([[4.0, 2.0], [2.0, 2.0]]))
    """
    del overwrite_a, check_finite
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower: tuple[Array, bool], b: Array, overwrite_b: bool = False,
              check_finite: bool = True) -> Array:
    """Solve ``a @ x = b`` given ``cho_factor(a)``: two triangular solves, differentiable in ``c`` and ``b``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> a = tnp.asarray([[4.0, 2.0], [2.0, 2.0]])
        >>> cho_solve(cho_factor(a), tnp.asarray([6.0, 4.0])).tolist()
        [1.0, 1.0]
    """
    del overwrite_b, check_finite
    try:
        c, lower = c_and_lower
    except (TypeError, ValueError):
        raise TypeError(f"{PREFIX}.cho_solve: c_and_lower must be the pair (c, lower) from cho_factor") from None
    c, b = inexact(c, b, who="cho_solve")
    square(c, "cho_solve", "c")
    b, vector = rhs(c, b, "cho_solve")
    # a = L L^H: L y = b, then L^H x = y; a = U^H U: U^H y = b, then U x = y.
    y = _tri_solve(c, b, 0 if lower else 2, lower)
    x = _tri_solve(c, y, 2 if lower else 0, lower)
    return x[..., 0] if vector else x


def solve(a: Array, b: Array, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          debug: bool = False, check_finite: bool = True, assume_a: str = "gen") -> Array:
    """Solve ``a @ x = b``. ``assume_a`` ('gen', 'sym', 'her', 'pos') is checked; every kind is solved by
    LU (jax.scipy uses Cholesky for 'pos', which reads one triangle: the same for a symmetric ``a``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> solve(tnp.asarray([[2.0, 1.0], [1.0, 3.0]]), tnp.asarray([3.0, 4.0])).tolist()
        [1.0, 1.0]
    """
    del lower, overwrite_a, overwrite_b, debug, check_finite
    valid = ["gen", "sym", "her", "pos"]
    if assume_a not in valid:
        raise ValueError(f"{PREFIX}.solve: expected assume_a to be one of {valid}; got {assume_a!r}")
    a, b = inexact(a, b, who="solve")
    return _tla.solve(a, b)


def inv(a: Array, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """The inverse of a square matrix (or of each in a stack).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> inv(tnp.asarray([[2.0, 0.0], [0.0, 4.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.25]]
    """
    del overwrite_a, check_finite
    return _tla.inv(a)


def det(a: Array, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """The determinant of a square matrix (or of each in a stack).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(det(tnp.asarray([[2.0, 1.0], [1.0, 3.0]])))
        5.0
    """
    del overwrite_a, check_finite
    return _tla.det(a)


# ---- LU -------------------------------------------------------------------------------------

def lu_factor(a: Array, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Array, Array]:
    """``(lu, piv)``: ``L`` (unit diagonal, not stored) and ``U`` packed in one matrix, and LAPACK's row
    pivots (int32, no gradient). ``lu`` is differentiable in ``a``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> lu, piv = lu_factor(tnp.asarray([[1.0, 2.0], [3.0, 4.0]]))
        >>> piv.tolist()
        [1, 1]
    """
    del overwrite_a, check_finite
    (a,) = inexact(a, who="lu_factor")
    if a.ndim < 2:
        raise ValueError(f"{PREFIX}.lu_factor: expected a matrix or a stack of them, got shape {tuple(a.shape)}")
    lu, piv, _ = lu_p(a)
    return lu, piv


def lu_solve(lu_and_piv: tuple[Array, Array], b: Array, trans: int = 0, overwrite_b: bool = False,
             check_finite: bool = True) -> Array:
    """Solve ``op(a) @ x = b`` given ``lu_factor(a)``; ``trans`` 0 (``a``), 1 (``a^T``), 2 (``a^H``).
    Differentiable in ``lu`` and ``b``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> a = tnp.asarray([[1.0, 2.0], [3.0, 4.0]])
        >>> [round(v, 6) for v in lu_solve(lu_factor(a), tnp.asarray([5.0, 11.0])).tolist()]
        [1.0, 2.0]
    """
    del overwrite_b, check_finite
    try:
        lu, piv = lu_and_piv
    except (TypeError, ValueError):
        raise TypeError(f"{PREFIX}.lu_solve: lu_and_piv must be the pair (lu, piv) from lu_factor") from None
    t = trans_code(trans, "lu_solve")
    lu, b = inexact(lu, b, who="lu_solve")
    square(lu, "lu_solve", "lu")
    m = lu.shape[-1]
    piv = jnp.asarray(piv)  # integers: never a tracer
    if not jnp.issubdtype(piv.dtype, jnp.integer) or piv.shape[-1:] != (m,):
        raise ValueError(f"{PREFIX}.lu_solve: piv must be integer pivots of shape (..., {m}), got "
                         f"{piv.dtype}{list(piv.shape)}")
    b, vector = rhs(lu, b, "lu_solve")
    perm = jax.lax.linalg.lu_pivots_to_permutation(piv, m)
    batch = jnp.broadcast_shapes(lu.shape[:-2], perm.shape[:-1], b.shape[:-2])
    b = tnp.broadcast_to(b, batch + tuple(b.shape[-2:]))
    perm = jnp.broadcast_to(perm, batch + (m,))
    if t == 0:  # a = P^T L U: x = U^-1 L^-1 P b
        x = tnp.take_along_axis(b, perm[..., :, None], axis=-2)
        x = _tri_solve(lu, x, 0, True, unit_diagonal=True)
        x = _tri_solve(lu, x, 0, False)
    else:  # op(a) = U^T L^T P (conjugated for 'C'): x = P^T L^-T U^-T b
        x = _tri_solve(lu, b, t, False)
        x = _tri_solve(lu, x, t, True, unit_diagonal=True)
        x = tnp.take_along_axis(x, jnp.argsort(perm, axis=-1)[..., :, None], axis=-2)
    return x[..., 0] if vector else x


def lu(a: Array, permute_l: bool = False, overwrite_a: bool = False,
       check_finite: bool = True) -> tuple[Array, Array] | tuple[Array, Array, Array]:
    """``(p, l, u)`` with ``a = p @ l @ u`` (``p`` a permutation matrix, no gradient; ``l`` unit lower
    ``(m, k)``, ``u`` upper ``(k, n)``), or ``(p @ l, u)`` with ``permute_l``. Batched over leading dims.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> p, l, u = lu(tnp.asarray([[1.0, 2.0], [3.0, 4.0]]))
        >>> u[0].tolist(), round(float(u[1, 1]), 4)
        ([3.0, 4.0], 0.6667)
    """
    del overwrite_a, check_finite
    (a,) = inexact(a, who="lu")
    if a.ndim < 2:
        raise ValueError(f"{PREFIX}.lu: expected a matrix or a stack of them, got shape {tuple(a.shape)}")
    packed, _, perm = lu_p(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    dtype = a.dtype
    p = jnp.real(jnp.asarray(perm[..., None, :] == jnp.arange(m, dtype=perm.dtype)[:, None], dtype=dtype))
    low = tnp.tril(packed, -1)[..., :, :k] + jnp.eye(m, k, dtype=dtype)
    up = tnp.triu(packed)[..., :k, :]
    if permute_l:
        return tnp.matmul(p, low), up
    return p, low, up


# ---- Sylvester ------------------------------------------------------------------------------

def solve_sylvester(A: Array, B: Array, C: Array, *, method: str = "schur", tol: float = 1e-8) -> Array:
    """``X`` with ``A @ X + X @ B = C`` (NaN where the solution is not unique, as jax.scipy).

    Differentiable in ``A``, ``B`` and ``C`` (jax.scipy's is not): the VJP solves the transposed
    equation ``A^T Y + Y B^T = G``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> solve_sylvester(tnp.eye(2), 2 * tnp.eye(2), 3 * tnp.ones((2, 2))).tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    if method not in ("schur", "eigen"):
        raise ValueError(f"{PREFIX}.solve_sylvester: unrecognized method {method!r}; the two valid methods are "
                         "'schur' and 'eigen'")
    A, B, C = inexact(A, B, C, who="solve_sylvester")
    if C.ndim < 2:
        raise ValueError(f"{PREFIX}.solve_sylvester: C must be a matrix (..., m, n), got shape {tuple(C.shape)}")
    m, n = C.shape[-2:]
    if A.shape[-2:] != (m, m) or B.shape[-2:] != (n, n):
        raise ValueError(f"{PREFIX}.solve_sylvester: incompatible shapes A {tuple(A.shape)}, B {tuple(B.shape)}, "
                         f"C {tuple(C.shape)}: A must be (..., {m}, {m}) and B (..., {n}, {n})")
    return sylvester_p(A, B, C, method=method, tol=float(tol))


__all__ = ["cho_factor", "cho_solve", "cholesky", "det", "inv", "lu", "lu_factor", "lu_solve", "solve",
           "solve_sylvester", "solve_triangular"]
