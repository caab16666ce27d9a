"""Reductions and scans: sum, mean, max, prod, var, logsumexp, cumsum, cumprod, …

Every reduction's rule first restores the reduced axes (``keepdims``), then
broadcasts; ``_expand`` is that one step.

Products are differentiated without ever dividing by ``x``: the gradient of
``prod`` is the product of the *other* elements, built from exclusive
cumulative products from both sides, and the gradient of ``cumprod`` is a
first-order linear recurrence, solved by an associative scan (its own
primitive, ``linear_recurrence``, whose rule is the same recurrence run the
other way). So zeros in the input give exact gradients at every order.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
from jax import lax

import tapegrad.numpy as tnp
from tapegrad.core.axes import normalize_axis
from tapegrad.core.primitive import Primitive, nondifferentiable
from tapegrad.core.tracer import Tracer


def _expand(g, shape, axis, keepdims):
    """``g`` with the reduced axes put back as size-1 dims, broadcast to ``shape``."""
    shape = tuple(shape)
    if not keepdims:
        axes = normalize_axis(axis, len(shape))
        g = tnp.reshape(g, tuple(1 if i in axes else s for i, s in enumerate(shape)))
    return tnp.broadcast_to(g, shape)


def _count(shape, axis) -> int:
    return int(np.prod([shape[a] for a in normalize_axis(axis, len(shape))], dtype=np.int64))


# ---- sum, mean, max, min --------------------------------------------------------

_sum = Primitive("sum", lambda x, axis, keepdims: jnp.sum(x, axis=axis, keepdims=keepdims),
                 save_args=False).defvjp(
    lambda g, out, x, axis, keepdims: _expand(g, x.shape, axis, keepdims))
_mean = Primitive("mean", lambda x, axis, keepdims: jnp.mean(x, axis=axis, keepdims=keepdims),
                  save_args=False).defvjp(
    lambda g, out, x, axis, keepdims: _expand(g, x.shape, axis, keepdims) / _count(x.shape, axis))


def _extremum_rule(g, out, x, axis, keepdims):
    # The gradient is shared equally among tied extrema (jax.numpy's convention).
    out = _expand(out, x.shape, axis, keepdims)
    hit = tnp.where(x == out, 1.0, 0.0)
    return _expand(g, x.shape, axis, keepdims) * hit / tnp.sum(hit, axis=axis, keepdims=True)


_max = Primitive("max", lambda x, axis, keepdims: jnp.max(x, axis=axis, keepdims=keepdims),
                 save_out=True).defvjp(_extremum_rule)
_min = Primitive("min", lambda x, axis, keepdims: jnp.min(x, axis=axis, keepdims=keepdims),
                 save_out=True).defvjp(_extremum_rule)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Sum of elements over ``axis`` (``where`` masks elements out, ``initial`` is added)."""
    _no_out("sum", out)
    a = _cast(a, dtype)
    if where is not None:
        a = tnp.where(_mask(where), a, 0)
    res = _sum(a, axis=_static_axis(axis, "sum"), keepdims=keepdims)
    return res if initial is None else res + initial


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over ``axis`` (of the elements where ``where`` is true)."""
    _no_out("mean", out)
    a = _cast(a, dtype)
    axis = _static_axis(axis, "mean")
    if where is None:
        return _mean(a, axis=axis, keepdims=keepdims)
    a, n = _masked(a, where, axis, keepdims)
    return _sum(a, axis=axis, keepdims=keepdims) / n


def _choose(prim, combine, name, a, axis, out, keepdims, initial, where):
    _no_out(name, out)
    if where is not None:
        if initial is None:
            raise ValueError(f"tnp.{name}: a where= mask needs initial= ({name} has no identity)")
        a = tnp.where(_mask(where), a, initial)
    res = prim(a, axis=_static_axis(axis, name), keepdims=keepdims)
    # As jax.numpy: initial joins after the reduction, so a tie with it shares the gradient.
    return res if initial is None else combine(initial, res)


def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    return _choose(_max, tnp.maximum, "max", a, axis, out, keepdims, initial, where)


def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    """Minimum over ``axis``; tied minima share the gradient equally."""
    return _choose(_min, tnp.minimum, "min", a, axis, out, keepdims, initial, where)


amax = max
amin = min


# ---- products and scans ---------------------------------------------------------

def _shift_impl(x, axis, by, fill):
    # lax.pad with a negative high pad crops: one call shifts along `axis`, filling with `fill`.
    cfg = [(0, 0, 0)] * x.ndim
    cfg[axis] = (by, -by, 0)
    return lax.pad(x, jnp.asarray(fill, x.dtype), cfg)


# x shifted by `by` places along `axis` (toward the end when by > 0); its transpose is the
# opposite shift with zero fill, whatever `fill` is (the filled slots are constants).
_shift = Primitive("shift_along_axis", _shift_impl, save_args=False).defvjp(
    lambda g, out, x, axis, by, fill: _shift(g, axis=axis, by=-by, fill=0))


def _combine(first, second):
    # h -> a h + b, composed in scan order: first, then second.
    (a1, b1), (a2, b2) = first, second
    return a1 * a2, a2 * b1 + b2


def _linrec_impl(a, b, axis, reverse):
    dtype = jnp.result_type(a, b)
    a, b = jnp.broadcast_arrays(jnp.asarray(a, dtype), jnp.asarray(b, dtype))
    return lax.associative_scan(_combine, (a, b), reverse=reverse, axis=axis)[1]


def _linrec_rule(g, out, a, b, axis, reverse):
    # h_k = a_k h_{k-1} + b_k (h_{k+1} when reverse) is linear in b; its transpose runs the
    # other way with the coefficients moved one place: l_j = g_j + a_{j+1} l_{j+1}.
    s = 1 if reverse else -1
    lam = _linrec(_shift(a, axis=axis, by=s, fill=0), g, axis=axis, reverse=not reverse)
    return lam * _shift(out, axis=axis, by=-s, fill=0), lam


_linrec = Primitive("linear_recurrence", _linrec_impl, save_out=True).defvjp_all(_linrec_rule)


def _cumprod_rule(g, out, x, axis, reverse):
    # d/dx_k of sum_i g_i y_i = (product of the elements before k) * S_k, with
    # S_k = g_k + x_{k+1} S_{k+1}: no division, so exact at zeros.
    by = -1 if reverse else 1
    before = _shift(out, axis=axis, by=by, fill=1)
    return before * _linrec(_shift(x, axis=axis, by=-by, fill=0), g, axis=axis, reverse=not reverse)


_cumsum = Primitive("cumsum", lambda x, axis, reverse: lax.cumsum(x, axis, reverse=reverse) if reverse
                    else jnp.cumsum(x, axis=axis), save_args=False).defvjp(
    lambda g, out, x, axis, reverse: _cumsum(g, axis=axis, reverse=not reverse))
_cumprod = Primitive("cumprod", lambda x, axis, reverse: lax.cumprod(x, axis, reverse=reverse) if reverse
                     else jnp.cumprod(x, axis=axis), save_out=True).defvjp(_cumprod_rule)


def _others_product(x, axes):
    """For each element, the product over ``axes`` of all *other* elements (no division)."""
    if not axes:
        return 1.0
    keep = [i for i in range(x.ndim) if i not in axes]
    perm = tuple(keep) + tuple(axes)
    moved = perm != tuple(range(x.ndim))
    xt = tnp.transpose(x, perm) if moved else x
    lead = tuple(x.shape[i] for i in keep)
    k = len(lead)
    flat = tnp.reshape(xt, lead + (_count(x.shape, axes),))
    left = _shift(_cumprod(flat, axis=k, reverse=False), axis=k, by=1, fill=1)
    right = _shift(_cumprod(flat, axis=k, reverse=True), axis=k, by=-1, fill=1)
    others = tnp.reshape(left * right, tuple(xt.shape))
    return tnp.transpose(others, tuple(int(i) for i in np.argsort(perm))) if moved else others


_prod = Primitive("prod", lambda x, axis, keepdims: jnp.prod(x, axis=axis, keepdims=keepdims)).defvjp(
    lambda g, out, x, axis, keepdims: _expand(g, x.shape, axis, keepdims)
    * _others_product(x, normalize_axis(axis, x.ndim)))


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product of elements over ``axis``; its gradient is exact where elements are zero."""
    _no_out("prod", out)
    a = _cast(a, dtype)
    if where is not None:
        a = tnp.where(_mask(where), a, 1)
    res = _prod(a, axis=_static_axis(axis, "prod"), keepdims=keepdims)
    return res if initial is None else res * initial


def _scan_args(a, axis, dtype, name):
    a = _cast(a, dtype)
    if axis is None:
        return tnp.ravel(a), 0
    nd = tnp.ndim(a)
    if not -nd <= axis < nd:
        raise ValueError(f"tnp.{name}: axis {axis} is out of bounds for an array of shape {tnp.shape(a)}")
    return a, int(axis) % nd


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum along ``axis`` (the flattened array when ``axis`` is None)."""
    _no_out("cumsum", out)
    a, axis = _scan_args(a, axis, dtype, "cumsum")
    return _cumsum(a, axis=axis, reverse=False)


def cumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product along ``axis`` (flattened when None); gradient exact at zeros."""
    _no_out("cumprod", out)
    a, axis = _scan_args(a, axis, dtype, "cumprod")
    return _cumprod(a, axis=axis, reverse=False)


# ---- variance and log-sum-exp (compositions, so every order comes for free) -----

def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Variance over ``axis`` with divisor ``N - ddof`` (NaN where that is not positive)."""
    _no_out("var", out)
    if correction is not None:
        if ddof != 0:
            raise ValueError("tnp.var: ddof and correction can't be provided simultaneously")
        ddof = correction
    a = _cast(a, dtype if dtype is not None else _inexact(tnp.result_type(a)))
    axis = _static_axis(axis, "var")
    if mean is None:
        mean = _mean_fn(a, axis, keepdims=True, where=where)
    c = a - mean
    if where is None:
        n = _count(tnp.shape(a), axis) - ddof
    else:
        c, n = _masked(c, where, axis, keepdims)
        n = n - ddof
    # |c|^2, real, for complex input (as jax.numpy's var): c * c would be complex and wrong.
    sq = tnp.real(c) * tnp.real(c) + tnp.imag(c) * tnp.imag(c) if tnp.iscomplexobj(c) else c * c
    res = _sum(sq, axis=axis, keepdims=keepdims) / n
    # As jax.numpy: NaN where N - ddof <= 0. Like jax, the division stays unguarded, so the
    # gradient there is NaN too (0 / 0) rather than a made-up zero.
    if isinstance(n, (int, float)):  # static count: no mask
        return res if n > 0 else tnp.where(False, res, np.nan)
    return tnp.where(n > 0, res, np.nan)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Standard deviation: ``sqrt(var(...))``, so its gradient at zero variance is jax's (NaN)."""
    if dtype is not None and not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(f"tnp.std: dtype must be inexact, got {dtype}")
    return tnp.sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean, correction=correction))


def _lse_impl(a, *b, axis, keepdims, signed):
    res = jsp.logsumexp(a, axis=axis, b=b[0] if b else None, keepdims=keepdims, return_sign=signed)
    return res[0] if signed else res


def _lse_rule(wrt_b):
    def rule(g, out, a, *b, axis, keepdims, signed):
        # d/da_i = b_i exp(a_i - out) (times the sum's sign when the result is log|sum|).
        shape = jnp.broadcast_shapes(tnp.shape(a), *(tnp.shape(v) for v in b))
        w = _expand(g, shape, axis, keepdims) * tnp.exp(a - _expand(out, shape, axis, keepdims))
        if signed:
            w = w * _expand(_lse_sign(a, *b, axis=axis, keepdims=keepdims), shape, axis, keepdims)
        if wrt_b or not b:
            return w
        # A term with weight 0 is absent: exactly 0 even where exp(a - out) is inf (all-masked
        # rows). Masking the factor, not the product, keeps d/db of this rule intact.
        absent = (b[0] == 0) & ~tnp.isfinite(w)
        return tnp.where(absent, 0.0, w) * b[0]
    return rule


# Jitted: jax.scipy's logsumexp is a dozen small ops, each its own dispatch when run eagerly.
_lse = Primitive("logsumexp", jax.jit(_lse_impl, static_argnames=("axis", "keepdims", "signed")),
                 save_out=True).defvjp(_lse_rule(False), _lse_rule(True))
_lse_sign = nondifferentiable("logsumexp_sign", lambda a, *b, axis, keepdims: jsp.logsumexp(
    a, axis=axis, b=b[0] if b else None, keepdims=keepdims, return_sign=True)[1])


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably (jax.scipy.special.logsumexp).

    With ``return_sign`` returns ``(log|sum|, sign)``; the sign has no derivative.
    """
    axis = _static_axis(axis, "logsumexp")
    if where is not None:
        mask = _mask(where)
        b = jnp.asarray(mask, _inexact(tnp.result_type(a))) if b is None else tnp.where(mask, b, 0)
    args = (a,) if b is None else (a, b)
    res = _lse(*args, axis=axis, keepdims=keepdims, signed=bool(return_sign))
    if return_sign:
        return res, _lse_sign(*args, axis=axis, keepdims=keepdims)
    return res


# ---- helpers --------------------------------------------------------------------

_mean_fn = mean


def _masked(a, where, axis, keepdims):
    """``a`` with masked-out elements zeroed, and the count of kept ones (a constant, in a's dtype)."""
    mask = jnp.broadcast_to(_mask(where), jnp.broadcast_shapes(tnp.shape(a), jnp.shape(_mask(where))))
    n = jnp.sum(mask, axis=axis, keepdims=keepdims)
    dt = tnp.result_type(a)
    return tnp.where(mask, a, 0), n.astype(dt if jnp.issubdtype(dt, jnp.inexact) else _inexact(dt))


def _mask(where):
    # Masks are boolean and carry no gradient.
    return where.primal() if type(where) is Tracer else where


def _inexact(dtype):
    """jax.numpy's float dtype for integer/bool inputs (float32 unless already wider)."""
    if jnp.issubdtype(dtype, jnp.inexact):
        return dtype
    # As jax.numpy: 64-bit integers go to float64 (only present with x64 on), the rest to float32.
    return np.dtype(np.float64 if np.dtype(dtype).itemsize > 4 else np.float32)


def _cast(a, dtype):
    return a if dtype is None else tnp.astype(a, dtype)


def _no_out(name, out):
    if out is not None:
        raise NotImplementedError(f"tnp.{name}: the 'out' argument is not supported (arrays are immutable)")


def _static_axis(axis, op: str):
    # Params must be hashable and printable: lists become tuples. Anything but ints is refused here:
    # a string would otherwise reach jax's named-axis machinery and fail with a NameError.
    def check(a):
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"tnp.{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
        return int(a)

    if axis is None:
        return None
    return tuple(check(a) for a in axis) if isinstance(axis, (list, tuple)) else check(axis)
