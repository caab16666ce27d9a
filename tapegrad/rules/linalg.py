"""Products and linear algebra: matmul, einsum and its relatives, and the ``tnp.linalg`` solvers.

Every contraction (``dot``, ``inner``, ``outer``, ``tensordot``, ``vdot``, ``einsum``) is one
einsum primitive under its own name, so one rule serves them all: the cotangent of an operand is
an einsum of ``g`` with the other operands. The decompositions (``inv``, ``solve``, ``slogdet``,
``cholesky``, ``svd``) have the textbook matrix rules, written with these same primitives so that
they differentiate again. Every rule takes complex input: it is written in JAX's convention (the
transpose of the real-linear JVP under ``Re sum(g * t)``), so where the JVP has a conjugate
transpose ``X^H`` the rule has ``conj`` in its place; the grad/vjp boundary turns it into PyTorch's.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jax import lax
from opt_einsum.parser import convert_interleaved_input, get_symbol, parse_einsum_input

import tapegrad.numpy as tnp
from tapegrad.core.foreign import as_jax
from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.rules.reductions import normalize_axis
from tapegrad.rules.sharding import permuted_sharding


def _mT(a):
    return tnp.swapaxes(a, -1, -2)


def _as_array(x):
    return x if type(x) is Tracer else as_jax(x)


def _inexact(x, op):
    """``x`` promoted to an inexact dtype as jax.numpy.linalg does (complex stays complex)."""
    x = _as_array(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = tnp.astype(x, jnp.result_type(x.dtype, float))
    return x


def _is_complex(x):
    return jnp.issubdtype(x.dtype, jnp.complexfloating)


def _conj(x):
    """``conj(x)``, recorded only for complex ``x`` (a real rule stays as short as it was)."""
    return tnp.conj(x) if _is_complex(x) else x


def _H(x):
    """The conjugate transpose of the last two axes."""
    return _conj(_mT(x))


def _square(a, op):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"tnp.{op}: expected a square matrix or a stack of them (shape (..., n, n)), "
                         f"got shape {tuple(a.shape)}")


# ---- matmul ------------------------------------------------------------------------

def _promote(g, x, y):
    """Treat 1-D operands as matrices (a row for ``x``, a column for ``y``) in the rules."""
    xe = tnp.reshape(x, (1, x.shape[0])) if x.ndim == 1 else x
    ye = tnp.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y
    if x.ndim == 1:
        g = tnp.expand_dims(g, -2 if y.ndim > 1 else 0)
    if y.ndim == 1:
        g = tnp.expand_dims(g, -1)
    return g, xe, ye


def _matmul_x(g, out, x, y, precision, preferred_element_type):
    if x.ndim == 2 and y.ndim == 2:  # contract in place: no transposed copy of y
        return dot_general(g, y, (((1,), (1,)), ((), ())), precision=precision)
    g, _, ye = _promote(g, x, y)
    dx = _mm(g, _mT(ye), precision)  # (..., n, k); the sweep sums broadcast batch dims
    return dx if x.ndim > 1 else tnp.reshape(tnp.sum(dx, axis=tuple(range(dx.ndim - 1))), x.shape)


def _matmul_y(g, out, x, y, precision, preferred_element_type):
    if x.ndim == 2 and y.ndim == 2:
        return dot_general(x, g, (((0,), (0,)), ((), ())), precision=precision)
    g, xe, _ = _promote(g, x, y)
    dy = _mm(_mT(xe), g, precision)  # (..., k, m)
    return dy if y.ndim > 1 else tnp.sum(dy, axis=-1)


# ---- dot_general: contractions without transposed copies --------------------------
# Its rules are JAX's transposition of dot_general (lax.py): the cotangent of one
# operand is a dot_general of g with the other, then at most one transpose.

def _remaining(n, *removed):
    gone = {i for r in removed for i in r}
    return [i for i in range(n) if i not in gone]


def _dot_general_lhs(g, x, y, dimension_numbers, precision, swap_ans=False):
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_kept = _remaining(x.ndim, x_contract, x_batch)
    y_kept = _remaining(y.ndim, y_contract, y_batch)
    nb = len(x_batch)
    if swap_ans:
        ans_y = list(range(nb, nb + len(y_kept)))
    else:
        ans_y = list(range(nb + len(x_kept), nb + len(x_kept) + len(y_kept)))
    dims = ((tuple(ans_y), tuple(y_kept)), (tuple(range(nb)), tuple(y_batch)))
    x_contract_by_y = [x_contract[i] for i in np.argsort(y_contract)]
    unsorted = list(x_batch) + x_kept + x_contract_by_y
    out_axes = tuple(int(i) for i in np.argsort(unsorted))
    ct = dot_general(g, y, dims, precision=precision, out_sharding=permuted_sharding(x, unsorted))
    return ct if out_axes == tuple(range(len(out_axes))) else tnp.transpose(ct, out_axes)



def _dot_general_rhs(g, x, y, dimension_numbers, precision):
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    swapped = ((y_contract, x_contract), (y_batch, x_batch))
    return _dot_general_lhs(g, y, x, swapped, precision, swap_ans=True)


_dot_general = Primitive(
    "dot_general", lambda x, y, dimension_numbers, precision, preferred_element_type, out_sharding=None:
    lax.dot_general(x, y, dimension_numbers, precision=precision, preferred_element_type=preferred_element_type,
                    out_sharding=out_sharding))
_dot_general.defvjp(
    lambda g, out, x, y, dimension_numbers, precision, preferred_element_type, out_sharding=None:
    _dot_general_lhs(g, x, y, dimension_numbers, precision),
    lambda g, out, x, y, dimension_numbers, precision, preferred_element_type, out_sharding=None:
    _dot_general_rhs(g, x, y, dimension_numbers, precision))


def dot_general(x, y, dimension_numbers, precision=None, preferred_element_type=None, out_sharding=None):
    """``lax.dot_general``: contract and batch the given axes (tuples of ints, as lax takes them)."""
    (lc, rc), (lb, rb) = dimension_numbers
    dims = ((tuple(int(i) for i in lc), tuple(int(i) for i in rc)),
            (tuple(int(i) for i in lb), tuple(int(i) for i in rb)))
    if out_sharding is None:  # the usual case: no extra param, so tapes and cache keys stay as they were
        return _dot_general(x, y, dimension_numbers=dims, precision=precision,
                            preferred_element_type=preferred_element_type)
    return _dot_general(x, y, dimension_numbers=dims, precision=precision,
                        preferred_element_type=preferred_element_type, out_sharding=out_sharding)


_matmul = Primitive("matmul", lambda a, b, precision, preferred_element_type: jnp.matmul(
    a, b, precision=precision, preferred_element_type=preferred_element_type)).defvjp(_matmul_x, _matmul_y)


def _mm(a, b, precision=None):
    # Cotangents are computed in the operands' dtype; the sweep casts them to each input's.
    return _matmul(a, b, precision=precision, preferred_element_type=None)


def matmul(a, b, *, precision=None, preferred_element_type=None):
    """Matrix product with NumPy's rules: 1-D operands promoted, batch dimensions broadcast."""
    return _matmul(a, b, precision=precision, preferred_element_type=preferred_element_type)


# ---- einsum and the contractions built on it ----------------------------------------

def _einsum_impl(*operands, subscripts, precision, preferred_element_type, optimize="auto", out_sharding=None):
    return jnp.einsum(subscripts, *operands, optimize=optimize, precision=precision,
                      preferred_element_type=preferred_element_type, out_sharding=out_sharding)


def _einsum_vjp(i, g, out, *args, subscripts, precision, **params):
    """Variadic contraction with explicit subscripts (no ellipsis): one rule for every operand."""
    ins, result = subscripts.split("->")
    return _einsum_ct(g, args, ins.split(","), result, i, precision)


def _einsum_ct(g, args, ins, out, i, precision):
    """The cotangent of operand ``i``: ``g`` contracted with the other operands.

    A letter repeated in operand ``i`` ('ii->i') needs the diagonal written back: its second
    occurrence gets a fresh letter tied to the first by an identity matrix. A letter found in no
    other term (summed within operand ``i`` only) cannot be an einsum output: it is left out and
    the result broadcast back along it, as is any size-1 dim that broadcast in the forward pass.
    """
    x, s = args[i], ins[i]
    used = set("".join(ins) + out)
    fresh = (c for c in map(get_symbol, itertools.count()) if c not in used)
    ops = [g] + [a for j, a in enumerate(args) if j != i]
    subs = [out] + [t for j, t in enumerate(ins) if j != i]
    target = []
    for p, c in enumerate(s):
        if c in s[:p]:
            f = next(fresh)
            ops.append(jnp.eye(x.shape[p], dtype=tnp.result_type(g)))
            subs.append(c + f)
            c = f
        target.append(c)
    avail = set("".join(subs))
    kept = "".join(c for c in target if c in avail)
    sharding = permuted_sharding(x, [p for p, c in enumerate(target) if c in avail])
    extra = {} if sharding is None else {"out_sharding": sharding}  # only under an explicit mesh
    ct = _einsum(*ops, subscripts=",".join(subs) + "->" + kept, precision=precision,
                 preferred_element_type=None, **extra)
    if len(kept) < len(target):
        dims = iter(ct.shape)
        ct = tnp.reshape(ct, tuple(next(dims) if c in avail else 1 for c in target))
    if tuple(ct.shape) != tuple(x.shape):
        ct = tnp.broadcast_to(ct, np.broadcast_shapes(tuple(ct.shape), tuple(x.shape)))
    return ct


# One contraction primitive under the names users wrote, so that the tape reads as their code.
_einsum, _dot, _vdot, _inner, _outer, _tensordot = (
    Primitive(name, _einsum_impl).defvjp_each(_einsum_vjp)
    for name in ("einsum", "dot", "vdot", "inner", "outer", "tensordot"))


def _letters(n, start=0):
    return "".join(get_symbol(k) for k in range(start, start + n))


def einsum(subscripts, /, *operands, out=None, optimize="auto", precision=None, preferred_element_type=None):
    """Einstein summation, as ``jnp.einsum``: explicit or implicit output, ellipsis, interleaved form.

    ``optimize`` (a string or bool) picks the forward contraction order; cotangents use ``'auto'``.
    """
    if out is not None:
        raise NotImplementedError("tnp.einsum: the 'out' argument is not supported (arrays are immutable)")
    if not isinstance(optimize, (str, bool)):
        raise TypeError(f"tnp.einsum: optimize must be a string or bool, got {type(optimize).__name__}")
    if isinstance(subscripts, str):
        spec, ops = subscripts, operands
    else:  # interleaved: einsum(op0, sublist0, op1, sublist1, ..., [sublist_out])
        spec, ops = convert_interleaved_input((subscripts,) + operands)
    ops = [_as_array(o) for o in ops]
    try:
        ins, outs, _ = parse_einsum_input((spec, *[tuple(o.shape) for o in ops]), shapes=True)
    except (ValueError, TypeError) as e:
        shapes = ", ".join(str(tuple(o.shape)) for o in ops)
        raise ValueError(f"tnp.einsum: bad subscripts {spec!r} for operands of shapes {shapes}: {e}") from e
    return _einsum(*ops, subscripts=f"{ins}->{outs}", precision=precision,
                   preferred_element_type=preferred_element_type, optimize=optimize)


def dot(a, b, *, precision=None, preferred_element_type=None):
    """``jnp.dot``: the last axis of ``a`` with the last (1-D ``b``) or second-to-last axis of ``b``."""
    a, b = _as_array(a), _as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return tnp.multiply(a, b)
    sa = _letters(a.ndim)
    if b.ndim == 1:
        sb, so = sa[-1], sa[:-1]
    else:
        rest = _letters(b.ndim - 1, a.ndim)
        sb = rest[:-1] + sa[-1] + rest[-1]
        so = sa[:-1] + rest
    return _dot(a, b, subscripts=f"{sa},{sb}->{so}", precision=precision,
                preferred_element_type=preferred_element_type)


def vdot(a, b, *, precision=None, preferred_element_type=None):
    """``jnp.vdot``: the dot product of the flattened arrays, ``a`` conjugated first (as NumPy)."""
    a, b = _as_array(a), _as_array(b)
    if a.size != b.size:
        raise ValueError(f"tnp.vdot: arrays of sizes {a.size} and {b.size} (shapes {tuple(a.shape)}, "
                         f"{tuple(b.shape)}) have different numbers of elements")
    return _vdot(_conj(tnp.ravel(a)), tnp.ravel(b), subscripts="a,a->", precision=precision,
                 preferred_element_type=preferred_element_type)


def inner(a, b, *, precision=None, preferred_element_type=None):
    """``jnp.inner``: sum over the last axes of ``a`` and ``b``."""
    a, b = _as_array(a), _as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return tnp.multiply(a, b)
    sa = _letters(a.ndim)
    sb = _letters(b.ndim - 1, a.ndim) + sa[-1]
    return _inner(a, b, subscripts=f"{sa},{sb}->{sa[:-1]}{sb[:-1]}", precision=precision,
                  preferred_element_type=preferred_element_type)


def outer(a, b, out=None):
    """``jnp.outer``: ``a.ravel()[:, None] * b.ravel()[None, :]``."""
    if out is not None:
        raise NotImplementedError("tnp.outer: the 'out' argument is not supported (arrays are immutable)")
    return _outer(tnp.ravel(_as_array(a)), tnp.ravel(_as_array(b)), subscripts="a,b->ab",
                  precision=None, preferred_element_type=None)


def _axes(axes, x):
    """Contraction axes of ``x``, non-negative; out-of-range or repeated axes are an error."""
    out = tuple(int(i) + x.ndim if int(i) < 0 else int(i) for i in axes)
    if any(not 0 <= i < x.ndim for i in out) or len(set(out)) != len(out):
        raise ValueError(f"tnp.tensordot: axes {tuple(axes)} are out of range or repeated for an operand of "
                         f"shape {tuple(x.shape)}")
    return out


def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None):
    """``jnp.tensordot``: contract ``axes`` (an int N, or a pair of axis sequences) of ``a`` and ``b``."""
    a, b = _as_array(a), _as_array(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > min(a.ndim, b.ndim):
            raise ValueError(f"tnp.tensordot: axes={n} is out of range for shapes {tuple(a.shape)} and "
                             f"{tuple(b.shape)}")
        ax_a, ax_b = tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    else:
        try:
            ax_a, ax_b = axes
        except (TypeError, ValueError):
            raise TypeError(f"tnp.tensordot: axes must be an int or a pair of axis sequences, "
                            f"got {axes!r}") from None
        ax_a = (ax_a,) if isinstance(ax_a, (int, np.integer)) else tuple(ax_a)
        ax_b = (ax_b,) if isinstance(ax_b, (int, np.integer)) else tuple(ax_b)
        if len(ax_a) != len(ax_b):
            raise ValueError(f"tnp.tensordot: axes {ax_a} and {ax_b} have different lengths")
        ax_a, ax_b = _axes(ax_a, a), _axes(ax_b, b)
    sa = list(_letters(a.ndim))
    sb = list(_letters(b.ndim, a.ndim))
    for i, j in zip(ax_a, ax_b, strict=True):
        sb[j] = sa[i]
    so = [c for k, c in enumerate(sa) if k not in ax_a] + [c for k, c in enumerate(sb) if k not in ax_b]
    return _tensordot(a, b, subscripts=f"{''.join(sa)},{''.join(sb)}->{''.join(so)}", precision=precision,
                      preferred_element_type=preferred_element_type)


# ---- inverse, solve, determinants ----------------------------------------------------

# d(A^-1) = -A^-1 dA A^-1, so the cotangent is -A^-T g A^-T.
_inv = Primitive("inv", jnp.linalg.inv, save_args=False, save_out=True).defvjp(
    lambda g, out, a: -_mm(_mm(_mT(out), g), _mT(out)))


def _solve_b(g, out, a, b):
    return _solve(_mT(a), g)


def _solve_a(g, out, a, b):
    # X = A^-1 B: dX = -A^-1 dA X, so the cotangent of A is -(A^-T g) X^T.
    return -_mm(_solve(_mT(a), g), _mT(out))


# Matrix right-hand sides only: the public wrapper turns a vector into a column.
_solve = Primitive("solve", jnp.linalg.solve, save_out=True).defvjp(_solve_a, _solve_b)


def inv(a):
    """The inverse of a square matrix (or of each matrix in a stack)."""
    a = _inexact(a, "linalg.inv")
    _square(a, "linalg.inv")
    return _inv(a)


def solve(a, b):
    """Solve ``a @ x = b``: ``b`` a vector (shape ``(n,)``) or a stack of matrices, batch dims broadcast."""
    a, b = _inexact(a, "linalg.solve"), _inexact(b, "linalg.solve")
    _square(a, "linalg.solve")
    n = a.shape[-1]
    if b.ndim == 1:
        if b.shape[0] != n:
            raise ValueError(f"tnp.linalg.solve: b of shape {tuple(b.shape)} does not match a of shape "
                             f"{tuple(a.shape)}")
        return tnp.squeeze(_solve(a, tnp.reshape(b, (n, 1))), -1)
    if b.ndim == 0 or b.shape[-2] != n:
        raise ValueError(f"tnp.linalg.solve: b of shape {tuple(b.shape)} must be (n,) or (..., n, k) with "
                         f"n = {n} from a of shape {tuple(a.shape)}")
    return _solve(a, b)


@jax.jit
def _det_cofactor(a):
    # The cofactor matrix adj(A)^T = det(A) A^-T, also at singular A (jax's LU-based rule).
    return jax.vjp(jnp.linalg.det, a)[1](jnp.ones(a.shape[:-2], a.dtype))[0]


def _cofactor_rule(g, out, a):
    # C = det A^-T; dC = tr(A^-1 dA) C - C dA^T A^-T, transposed: (<g, C> C - C g^T C) / det.
    d = tnp.expand_dims(_det(a), (-1, -2))
    return (tnp.sum(g * out, axis=(-2, -1), keepdims=True) * out - _mm(_mm(out, _mT(g)), out)) / d


_cofactor = Primitive("det_cofactor", _det_cofactor, save_out=True).defvjp(_cofactor_rule)
# det via LU (sign-correct); its gradient is the cofactor matrix, finite at singular matrices too.
_det = Primitive("det", jnp.linalg.det).defvjp(
    lambda g, out, a: tnp.expand_dims(g, (-1, -2)) * _cofactor(a))

def _slogdet_rule(gs, out, a):
    # With t = tr(A^-1 dA) (jax's JVP): d logabsdet = Re t, and d sign = i Im(t) sign for complex A
    # (a real sign is piecewise constant: no gradient). Transposed: A's cotangent is c A^-T with
    # c = g_logabsdet + i Im(g_sign sign).
    gsign, glog = gs
    c = glog
    if _is_complex(a):
        c = c + 1j * tnp.imag(gsign * out[0])
    return (tnp.expand_dims(c, (-1, -2)) * _mT(_inv(a)),)


_slogdet = Primitive("slogdet", lambda a: tuple(jnp.linalg.slogdet(a)), save_out=True,
                     multiple_results=True).defvjp_all(_slogdet_rule)


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


def det(a):
    """The determinant of a square matrix (or of each matrix in a stack)."""
    a = _inexact(a, "linalg.det")
    _square(a, "linalg.det")
    return _det(a)


def slogdet(a, *, method=None):
    """``(sign, logabsdet)`` of the determinant; ``sign`` carries a gradient only for complex input
    (a real sign is piecewise constant)."""
    if method not in (None, "lu"):
        raise ValueError(f"tnp.linalg.slogdet: method {method!r} is not supported (only 'lu')")
    a = _inexact(a, "linalg.slogdet")
    _square(a, "linalg.slogdet")
    return SlogdetResult(*_slogdet(a))


# ---- Cholesky ------------------------------------------------------------------------

def _tri_mask(n, dtype, lower, diag=1.0):
    m = np.tril(np.ones((n, n))) if lower else np.triu(np.ones((n, n)))
    np.fill_diagonal(m, diag)
    return jnp.asarray(m, dtype)


def _tri_solve_b(g, out, a, b, lower, transpose_a):
    # X = op(A)^-1 B: B's cotangent is op(A)^-T g.
    return _tri_solve(a, g, lower=lower, transpose_a=not transpose_a)


def _tri_solve_a(g, out, a, b, lower, transpose_a):
    # op(A)'s cotangent is -(op(A)^-T g) X^T; only A's triangle is read, so only it gets one.
    gb = _tri_solve_b(g, out, a, b, lower, transpose_a)
    ga = -_mm(gb, _mT(out)) if not transpose_a else -_mm(out, _mT(gb))
    return ga * _tri_mask(a.shape[-1], tnp.result_type(ga), lower)


# Internal (the Cholesky rule's solves); operands share their batch dims.
_tri_solve = Primitive("triangular_solve", lambda a, b, lower, transpose_a: jsl.solve_triangular(
    a, b, trans=1 if transpose_a else 0, lower=lower), save_out=True).defvjp(_tri_solve_a, _tri_solve_b)


def _cholesky_rule(g, out, a, symmetrize_input):
    # Murray (2016), as jax: dL = L Phi(L^-1 dA L^-H) with Phi = lower triangle, halved diagonal;
    # transposed, A's cotangent is L^-T Phi(L^T g) conj(L)^-1, made Hermitian when the input is.
    n = out.shape[-1]
    p = _mm(_mT(out), g) * _tri_mask(n, tnp.result_type(g), True, 0.5)
    y = _tri_solve(out, p, lower=True, transpose_a=True)
    s = _mT(_tri_solve(_conj(out), _mT(y), lower=True, transpose_a=True))
    return (s + _H(s)) * 0.5 if symmetrize_input else s


_cholesky = Primitive("cholesky", lambda a, symmetrize_input: jnp.linalg.cholesky(
    a, symmetrize_input=symmetrize_input), save_args=False, save_out=True).defvjp(_cholesky_rule)


def cholesky(a, *, upper=False, symmetrize_input=True):
    """The Cholesky factor ``L`` (``L @ L.conj().T == a``) of a Hermitian positive-definite matrix;
    ``L^H`` if ``upper``. With ``symmetrize_input`` (the default) ``(a + a^H) / 2`` is factored, as in jax.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> L = tnp.linalg.cholesky(tnp.asarray([[4.0, 2.0], [2.0, 3.0]]))
    """
    a = _inexact(a, "linalg.cholesky")
    _square(a, "linalg.cholesky")
    low = _cholesky(a, symmetrize_input=bool(symmetrize_input))
    return _H(low) if upper else low


# ---- singular values ------------------------------------------------------------------

def _svd_rule(gs, out, a, full_matrices):
    """Transpose of jax's thin-SVD JVP (Townsend 2016), complex included.

    JVP: ``dS = U^H dA V``, ``ds = Re diag(dS)``, ``dU = U (F o (dS S + S dS^H) + i Im diag(dS) / s)``,
    ``dV = V (F o (S dS + dS^H S))`` with ``F_ij = 1 / (s_j^2 - s_i^2)``, plus the parts of ``dU``
    (``dV``) outside span(U) (span(V)) for a tall (wide) matrix. Outputs without a cotangent arrive
    as None (symbolic zeros) and are skipped, as jax skips them: the singular values alone have a
    finite gradient even where two of them coincide (then ``F`` is infinite).
    """
    gu, gsv, gvh = gs
    u, s, vh = out
    m, n = a.shape[-2:]
    k = min(m, n)
    eye = jnp.eye(k, dtype=tnp.result_type(s))
    s_row = tnp.expand_dims(s, -2)  # s_j along columns
    s_col = tnp.expand_dims(s, -1)  # s_i along rows
    f = 1.0 / (s_row * s_row - s_col * s_col + eye) - eye  # 1 / (s_j^2 - s_i^2), 0 on the diagonal
    terms = []
    if gsv is not None:
        terms.append(tnp.expand_dims(gsv, -2) * eye)
    if gu is not None:
        utgu = _mm(_mT(u), gu)
        x = f * utgu
        terms.append((x + _H(x)) * s_row)
        if _is_complex(u):  # the phase of each (u_i, v_i) pair: i Im(u_i^H du_i) / s_i
            zero = s_row == 0
            s_inv = tnp.where(zero, 0.0, 1.0 / tnp.where(zero, 1.0, s_row))
            terms.append(eye * (1j * tnp.imag(utgu)) * s_inv)
    if gvh is not None:
        y = f * _mm(vh, _mT(gvh))  # V^T gV with V = vh^H, gV = gvh^H: conj of vh gvh^T
        y = _conj(y)
        terms.append(s_col * (y + _H(y)))
    ga = None
    if terms:
        core = terms[0]
        for t in terms[1:]:
            core = core + t
        ga = _mm(_mm(_conj(u), core), _conj(vh))  # conj(U) core V^T
    if m > k and gu is not None:  # the part of gu outside span(U)
        extra = _mm((gu - _mm(_conj(u), _mm(_mT(u), gu))) / s_row, _conj(vh))
        ga = extra if ga is None else ga + extra
    if n > k and gvh is not None:  # the part of gv outside span(V)
        extra = _mm(_conj(u) / s_row, gvh - _mm(_mm(gvh, _mT(vh)), _conj(vh)))
        ga = extra if ga is None else ga + extra
    return (ga,)


def _svd_impl(a, full_matrices):
    return tuple(jnp.linalg.svd(a, full_matrices=full_matrices))


def _svd_full_rule(gs, out, a, full_matrices):
    raise NotImplementedError(
        f"tnp.linalg.svd: the VJP of full_matrices=True for a non-square matrix (shape {tuple(a.shape)}) "
        "is not implemented (nor in jax); use full_matrices=False")


_svd = Primitive("svd", _svd_impl, save_args=False, save_out=True, multiple_results=True,
                 symbolic_zeros=True).defvjp_all(_svd_rule)
_svd_full = Primitive("svd_full", _svd_impl, save_args=False, save_out=True,
                      multiple_results=True).defvjp_all(_svd_full_rule)


def _svdvals_rule(g, out, a):
    # ds = Re diag(U^H dA V): the cotangent is conj(U) diag(g) V^T = conj(U diag(g) Vh). U, V are
    # recomputed by the differentiable SVD so that a second derivative sees how they move.
    u, _, vh = _svd(a, full_matrices=False)
    return _conj(_mm(u * tnp.expand_dims(g, -2), vh))


_svdvals = Primitive("svdvals", lambda a: jnp.linalg.svd(a, compute_uv=False)).defvjp(_svdvals_rule)


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """``(U, S, Vh)`` with ``a = U @ diag(S) @ Vh`` (or ``S`` alone), real or complex.

    ``hermitian`` is accepted for compatibility and changes nothing (a general SVD is computed).
    Gradients of U and Vh need ``full_matrices=False`` (or a square matrix), as in jax. The
    gradient of ``S`` alone is finite at repeated singular values; those of U and Vh are not.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> u, s, vh = tnp.linalg.svd(tnp.asarray([[3.0, 0.0], [4.0, 5.0]]))
    """
    a = _inexact(a, "linalg.svd")
    if a.ndim < 2:
        raise ValueError(f"tnp.linalg.svd: expected a matrix or a stack of them, got shape {tuple(a.shape)}")
    if not compute_uv:
        return _svdvals(a)
    square = a.shape[-1] == a.shape[-2]
    if full_matrices and not square:
        return SVDResult(*_svd_full(a, full_matrices=True))
    return SVDResult(*_svd(a, full_matrices=False))


def svdvals(x, /):
    """The singular values of ``x`` (descending)."""
    return svd(x, compute_uv=False)


# ---- norms ------------------------------------------------------------------------------

def _restore(t, x, axis, keepdims):
    """``t`` (reduced over ``axis``) broadcast back to ``x``'s shape."""
    if not keepdims:
        t = tnp.reshape(t, tuple(1 if i in axis else d for i, d in enumerate(x.shape)))
    return tnp.broadcast_to(t, tuple(x.shape))


def _pnorm_impl(x, ord, axis, keepdims):
    if ord == 2:
        sq = jnp.real(x * jnp.conj(x)) if jnp.iscomplexobj(x) else x * x
        return jnp.sqrt(jnp.sum(sq, axis=axis, keepdims=keepdims))
    return jnp.sum(jnp.abs(x) ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)


def _pnorm_rule(g, out, x, ord, axis, keepdims):
    # d ||x||_p = Re(conj(sgn x) dx) (|x| / ||x||)^(p-1), sgn x = x / |x|; at ||x|| = 0 we give 0 (the
    # subgradient PyTorch gives) where jax's sqrt-of-sum rule gives NaN.
    g, out = _restore(g, x, axis, keepdims), _restore(out, x, axis, keepdims)
    zero = out == 0
    safe = tnp.where(zero, 1.0, out)
    if ord == 2:
        d = _conj(x) / safe
    elif _is_complex(x):  # sgn x moves with x: built from differentiable ops, 0 where x is
        ax = tnp.abs(x)
        d = tnp.conj(x) / tnp.where(ax == 0, 1.0, ax) * (ax / safe) ** (ord - 1)
    else:
        d = tnp.sign(x) * (tnp.abs(x) / safe) ** (ord - 1)
    return g * tnp.where(zero, 0.0, d)


_pnorm = Primitive("norm", _pnorm_impl, save_out=True).defvjp(_pnorm_rule)


def _extreme(x, axis, keepdims, largest):
    # jnp uses initial=0 for the max-type norms: an empty reduction gives 0 instead of an error.
    if largest and any(x.shape[a] == 0 for a in normalize_axis(axis, x.ndim)):
        return tnp.sum(x, axis=axis, keepdims=keepdims)
    return (tnp.max if largest else tnp.min)(x, axis=axis, keepdims=keepdims)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as ``jnp.linalg.norm``.

    Vector (one axis): ord None/2, inf, -inf, 0 (count, no gradient), 1, any other p.
    Matrix (two axes): None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf. ``ord=None, axis=None``
    takes the 2-norm of the flattened array. The gradient of a 2-/p-norm at 0 is 0. Complex input
    gives a real norm.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.linalg.norm(tnp.asarray([3.0, 4.0])))
        5.0
    """
    x = _inexact(x, "linalg.norm")
    if axis is None:
        if ord is None:
            return _pnorm(x, ord=2, axis=tuple(range(x.ndim)), keepdims=keepdims)
        axis = tuple(range(x.ndim))
    else:
        axis = tuple(int(a) for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
        if x.ndim == 0:
            raise ValueError(f"tnp.linalg.norm: axis={axis} is out of bounds for a 0-d array")
        if len(set(normalize_axis(axis, x.ndim))) != len(axis):
            raise ValueError(f"tnp.linalg.norm: duplicate axes in {axis}")
        axis = tuple(int(a) % x.ndim for a in axis)
    if len(axis) == 1:
        return _vector_norm(x, 2 if ord is None else ord, axis, keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError(f"tnp.linalg.norm: improper number of axes for norm: axis={axis} on shape "
                     f"{tuple(x.shape)}. Pass one axis for a vector norm, two for a matrix norm.")


def _vector_norm(x, ord, axis, keepdims):
    if isinstance(ord, str):
        raise ValueError(f"tnp.linalg.norm: invalid order {ord!r} for a vector norm")
    if ord == np.inf:
        return _extreme(tnp.abs(x), axis, keepdims, largest=True)
    if ord == -np.inf:
        return _extreme(tnp.abs(x), axis, keepdims, largest=False)
    if ord == 0:
        return tnp.sum(tnp.astype(x != 0, jnp.finfo(x.dtype).dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return tnp.sum(tnp.abs(x), axis=axis, keepdims=keepdims)
    return _pnorm(x, ord=float(ord) if ord != 2 else 2, axis=axis, keepdims=keepdims)


def _matrix_norm(x, ord, axis, keepdims):
    row, col = axis
    if ord is None or ord in ("f", "fro"):
        return _pnorm(x, ord=2, axis=axis, keepdims=keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        # 1: largest column sum (sum over rows first); inf: largest row sum.
        first, second = (row, col) if ord in (1, -1) else (col, row)
        if not keepdims and second > first:
            second -= 1
        sums = tnp.sum(tnp.abs(x), axis=first, keepdims=keepdims)
        return _extreme(sums, second, keepdims, largest=ord > 0)
    if ord in ("nuc", 2, -2):
        s = svdvals(tnp.moveaxis(x, axis, (-2, -1)))
        if ord == "nuc":
            y = tnp.sum(s, axis=-1)
        else:
            y = _extreme(s, -1, False, largest=ord == 2)
        return tnp.expand_dims(y, axis) if keepdims else y
    raise ValueError(f"tnp.linalg.norm: invalid order {ord!r} for a matrix norm")
