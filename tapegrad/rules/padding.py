"""``tnp.pad``: every jax.numpy mode except ``median`` and callables.

* ``constant`` / ``empty``: one ``lax.pad``; the rule slices the cotangent back
  out, and ``constant_values`` (which may be a tracer) gets the rest of it.
* ``edge``, ``wrap``, ``reflect``, ``symmetric`` (even or odd), ``linear_ramp``:
  linear in the input, one axis at a time. The forward is ``jnp.pad``; the rule
  applies, per axis, the transpose of the small matrix that ``numpy.pad`` builds
  from an identity: each of its few non-zeros per row is one scatter-add.
* ``maximum``, ``minimum``, ``mean``: composed of tnp reductions, repeat and
  concatenate, mirroring jax.numpy step by step (so ties split as in jnp.max).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import tapegrad.numpy as tnp
from tapegrad.core.foreign import as_jax
from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.rules.indexing import _index_add

_KWARGS = {
    "constant": {"constant_values"}, "empty": set(), "edge": set(), "wrap": set(),
    "reflect": {"reflect_type"}, "symmetric": {"reflect_type"}, "linear_ramp": {"end_values"},
    "maximum": {"stat_length"}, "minimum": {"stat_length"}, "mean": {"stat_length"},
    "median": {"stat_length"},
}


def _pairs(value, nd, name):
    """jax.numpy's reading of a pad width or stat length: ``n``, ``(lo, hi)`` or one pair per axis."""
    if isinstance(value, (Tracer, jax.core.Tracer)):
        raise TypeError(f"tnp.pad: {name} must be static integers")
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"tnp.pad: {name} must be integers, got {value!r}")
    if arr.shape not in ((), (1,), (2,), (1, 2), (nd, 2), (1, 1)):
        raise ValueError(f"tnp.pad: {name} of shape {arr.shape} does not fit an array of dimension {nd}; "
                         f"use (), (2,), (1, 2) or ({nd}, 2)")
    arr = np.broadcast_to(arr.reshape((1, 1) if arr.size == 1 else (-1, 2)), (nd, 2))
    return tuple((int(lo), int(hi)) for lo, hi in arr)


# ---- constant -------------------------------------------------------------------

def _inner(widths, shape):
    return tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, shape, strict=True))


_pad_constant = Primitive("pad", lambda x, c, widths: lax.pad(
    x, jnp.asarray(c).astype(x.dtype), [(lo, hi, 0) for lo, hi in widths]), save_args=False).defvjp(
    lambda g, out, x, c, widths: g[_inner(widths, x.shape)],
    # As jax's own rule: everything that is not the input came from the constant.
    lambda g, out, x, c, widths: tnp.sum(g) - tnp.sum(g[_inner(widths, x.shape)]))


def _pad_with_constants(x, widths, c):
    nd = tnp.ndim(x)
    c = c if type(c) is Tracer else as_jax(c)
    cshape = tuple(tnp.shape(c))
    if len(cshape) > 2 or (cshape and cshape[-1] not in (1, 2)) or (
            len(cshape) == 2 and cshape[0] not in (1, nd)):
        raise ValueError(f"tnp.pad: constant_values of shape {cshape} does not fit an array of "
                         f"dimension {nd}")
    if not cshape or (cshape[-1] == 1 and int(np.prod(cshape)) == 1):
        return _pad_constant(x, tnp.reshape(c, ()) if cshape else c, widths=widths)
    # One constant per side of each axis: pad one side at a time, as jax.numpy does
    # (corners take the later axis's value).
    c = tnp.broadcast_to(c, (nd, 2))
    for i, (lo, hi) in enumerate(widths):
        for side, w in ((0, (lo, 0)), (1, (0, hi))):
            if max(w):
                x = _pad_constant(x, c[i, side], widths=tuple(w if j == i else (0, 0) for j in range(nd)))
    return x


# ---- linear modes ---------------------------------------------------------------

def _axis_map(n, lo, hi, mode, kw):
    """One axis's padding as a sparse (lo + n + hi, n) matrix: a list of (index, coefficient) columns.

    Copying modes are an index map (numpy.pad of an arange). The others (odd
    reflection, linear ramps) take each padded value from a few elements near
    its edge, so numpy.pad of a small identity gives the coefficients.
    """
    if mode in ("edge", "wrap") or kw.get("reflect_type") == "even":
        return [(np.pad(np.arange(n), (lo, hi), mode=mode), np.ones(lo + n + hi))]
    opts = {"reflect_type": "odd"} if "reflect_type" in kw else {}
    a, b = min(n, lo + 1), min(n, hi + 1)
    top = np.pad(np.eye(a), ((lo, 0), (0, 0)), mode=mode, **opts)[:lo]
    bottom = np.pad(np.eye(b), ((0, hi), (0, 0)), mode=mode, **opts)[b:]
    k = max(1, int(max((top != 0).sum(axis=1).max(initial=0), (bottom != 0).sum(axis=1).max(initial=0))))
    idx = np.zeros((lo + n + hi, k), np.int64)
    coef = np.zeros((lo + n + hi, k))
    idx[lo:lo + n, 0], coef[lo:lo + n, 0] = np.arange(n), 1.0
    for rows, m, offset in ((slice(0, lo), top, 0), (slice(lo + n, None), bottom, n - b)):
        order = np.argsort(m == 0, axis=1, kind="stable")[:, :k]  # the non-zeros first
        idx[rows, :order.shape[1]] = order + offset
        coef[rows, :order.shape[1]] = np.take_along_axis(m, order, axis=1)
    return [(idx[:, j], coef[:, j]) for j in range(k)]


def _pad_linear_vjp(g, out, x, widths, mode, kw):
    kw = dict(kw)
    for axis, ((lo, hi), n) in enumerate(zip(widths, x.shape, strict=True)):
        if lo == hi == 0:
            continue
        shape = tuple(g.shape[:axis]) + (n,) + tuple(g.shape[axis + 1:])
        ct = None
        for idx, coef in _axis_map(n, lo, hi, mode, kw):
            part = g
            if not np.all(coef == 1):
                part = g * jnp.asarray(coef, g.dtype).reshape((-1,) + (1,) * (g.ndim - axis - 1))
            part = _index_add(tnp.zeros(shape, g.dtype), part, idx=(slice(None),) * axis + (idx,),
                              mode="promise_in_bounds")
            ct = part if ct is None else ct + part
        g = tnp.zeros(shape, g.dtype) if ct is None else ct
    return g


_pad_linear = Primitive("pad_linear", lambda x, widths, mode, kw: jnp.pad(x, widths, mode, **dict(kw)),
                        save_args=False).defvjp(_pad_linear_vjp)


# ---- statistics -----------------------------------------------------------------

def _pad_stats(x, widths, stat_length, mode):
    func = {"maximum": tnp.max, "minimum": tnp.min, "mean": tnp.mean}[mode]
    for i, (lo, hi) in enumerate(widths):
        shape = tuple(tnp.shape(x))
        if stat_length is None:
            before = after = func(x, axis=i, keepdims=True)
        else:
            lb, la = stat_length[i]
            if lb == 0 or la == 0:
                raise ValueError("tnp.pad: a stat_length of 0 yields no value for padding")
            lb, la = min(lb, shape[i]), min(la, shape[i])
            before = func(x[(slice(None),) * i + (slice(0, lb),)], axis=i, keepdims=True)
            after = func(x[(slice(None),) * i + (slice(shape[i] - la, None),)], axis=i, keepdims=True)
        if jnp.issubdtype(tnp.result_type(x), jnp.integer):
            before, after = tnp.round(before), tnp.round(after)
        before, after = tnp.astype(before, tnp.result_type(x)), tnp.astype(after, tnp.result_type(x))
        x = tnp.concatenate([tnp.repeat(before, lo, axis=i), x, tnp.repeat(after, hi, axis=i)], axis=i)
    return x


def pad(array, pad_width, mode="constant", **kwargs):
    """``array`` padded by ``pad_width`` with jax.numpy's ``mode`` (all but ``median`` and callables)."""
    if callable(mode):
        raise NotImplementedError("tnp.pad: a callable mode is not supported (it would run outside tapegrad)")
    if mode not in _KWARGS:
        raise ValueError(f"tnp.pad: unknown mode {mode!r}; expected one of {sorted(_KWARGS)}")
    extra = set(kwargs) - _KWARGS[mode]
    if extra:
        raise ValueError(f"tnp.pad: unsupported keyword arguments for mode {mode!r}: {sorted(extra)}")
    if mode == "median":
        raise NotImplementedError("tnp.pad: mode='median' is not supported; use 'mean', 'maximum' or "
                                  "'minimum'")
    nd = tnp.ndim(array)
    widths = _pairs(pad_width, nd, "pad_width")
    if any(w < 0 for pair in widths for w in pair):
        raise ValueError(f"tnp.pad: pad_width must be non-negative, got {pad_width!r}")
    if nd == 0:  # as jax.numpy: nothing to pad
        return array if type(array) is Tracer else as_jax(array)
    if mode in ("constant", "empty"):
        return _pad_with_constants(array, widths, kwargs.get("constant_values", 0))
    shape = tuple(tnp.shape(array))
    if mode in ("edge", "wrap", "reflect", "symmetric"):
        empty = [i for i, n in enumerate(shape) if n == 0 and max(widths[i]) > 0]
        if empty:
            raise ValueError(f"tnp.pad: cannot apply {mode!r} padding to the empty axis {empty[0]} "
                             f"of an array of shape {shape}")
    if mode in ("maximum", "minimum", "mean"):
        sl = kwargs.get("stat_length")
        return _pad_stats(array, widths, None if sl is None else _pairs(sl, nd, "stat_length"), mode)
    kw = {}
    if mode in ("reflect", "symmetric"):
        kw["reflect_type"] = kwargs.get("reflect_type", "even")
        if kw["reflect_type"] not in ("even", "odd"):
            raise ValueError(f"tnp.pad: reflect_type must be 'even' or 'odd', got {kw['reflect_type']!r}")
    if mode == "linear_ramp":
        ev = kwargs.get("end_values", 0)
        if isinstance(ev, (Tracer, jax.core.Tracer)):
            raise TypeError("tnp.pad: end_values must be constants (no gradient flows into them)")
        kw["end_values"] = tuple(map(tuple, np.broadcast_to(
            np.asarray(ev).reshape((1, 1) if np.size(ev) == 1 else (-1, 2)), (nd, 2)).tolist()))
    return _pad_linear(array, widths=widths, mode=mode, kw=tuple(sorted(kw.items())))
