"""Shape and joining: reshape, transpose, expand/squeeze, astype, where, concatenate, split, tile,
repeat, flip, roll, and the matrix parts diagonal, diag, trace, tril, triu.

Most rules here are each other's transposes: the rule of ``reshape`` is a
reshape, that of ``concatenate`` a split, that of ``tile`` a sum. Indexing
(``x[idx]``, ``.at[]``, take, sort) lives in ``indexing.py``, ``pad`` in ``padding.py``.
"""
from __future__ import annotations

import operator

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axes, canon_axis  # noqa: F401  (re-exported for older imports)
from tapegrad.core.foreign import as_jax
from tapegrad.core.primitive import Primitive, broadcast_to_p, convert_p
from tapegrad.core.tracer import Tracer
from tapegrad.rules.indexing import _index_add


def _unchanged(a):
    """``a`` when an op leaves it as it is: a tracer stays itself, anything else becomes a JAX array."""
    return a if type(a) is Tracer else as_jax(a)


_ARRAY = type(jnp.zeros(()))
_reshape_jitted = jax.jit(lambda x, shape: jnp.reshape(x, shape), static_argnums=1)


def _reshape_impl(x, shape):
    # A concrete array through jit's C++ dispatch: ~8 us where jnp.reshape costs ~22 (a Flatten of the
    # input batch runs eagerly every step, before anything is recorded).
    return _reshape_jitted(x, shape) if type(x) is _ARRAY else jnp.reshape(x, shape)


_reshape = Primitive("reshape", _reshape_impl, save_args=False).defvjp(
    lambda g, out, x, shape: _reshape(g, shape=tuple(x.shape)))
_transpose = Primitive("transpose", lambda x, axes: jnp.transpose(x, axes), save_args=False).defvjp(
    lambda g, out, x, axes: _transpose(g, axes=tuple(int(i) for i in np.argsort(axes))))


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """``a`` with a new shape (one dimension may be -1)."""
    shape = newshape if shape is None else shape
    if shape is None:
        raise TypeError("tnp.reshape: missing the new shape")
    if order != "C":
        raise NotImplementedError(f"tnp.reshape supports order='C' only, got order={order!r}")
    # operator.index, not int(): a float dimension is an error (as in jax), never silently truncated.
    try:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"tnp.reshape: the new shape must be integers, got {shape!r}") from None
    if -1 in shape and 0 in shape:  # jax.numpy divides by the zero (ZeroDivisionError); NumPy refuses
        raise ValueError(f"tnp.reshape: cannot reshape an array of shape {tuple(tnp.shape(a))} into {shape}: "
                         "the -1 dimension is ambiguous next to a 0")
    if tuple(tnp.shape(a)) == shape:
        return _unchanged(a)
    return _reshape(a, shape=shape)


def ravel(a, order="C"):
    """``a`` flattened to one dimension."""
    return reshape(a, (-1,), order)


def transpose(a, axes=None):
    """``a`` with its axes permuted (reversed by default)."""
    ndim = tnp.ndim(a)
    if axes is None:
        axes = tuple(range(ndim))[::-1]
    else:
        axes = canon_axes(axes, ndim, "transpose")
        if len(axes) != ndim:
            raise ValueError(f"tnp.transpose: axes {axes} do not match an array of dimension {ndim}")
    if axes == tuple(range(ndim)):
        return _unchanged(a)
    return _transpose(a, axes=axes)


def swapaxes(a, axis1, axis2):
    """``a`` with two axes interchanged."""
    ndim = tnp.ndim(a)
    perm = list(range(ndim))
    i, j = canon_axis(axis1, ndim, "swapaxes"), canon_axis(axis2, ndim, "swapaxes")
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(a, perm)


def matrix_transpose(x):
    """The last two axes swapped (``x.mT``)."""
    if tnp.ndim(x) < 2:
        raise ValueError(f"tnp.matrix_transpose: needs at least 2 dimensions, got shape "
                         f"{tuple(tnp.shape(x))}")
    return swapaxes(x, -1, -2)


def moveaxis(a, source, destination):
    """``a`` with axes moved from ``source`` to ``destination`` positions."""
    ndim = tnp.ndim(a)
    src = canon_axes(source, ndim, "moveaxis")
    dst = canon_axes(destination, ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"tnp.moveaxis: source {source} and destination {destination} must have the "
                         "same number of elements")
    order = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, order)


def broadcast_to(array, shape):
    """``array`` broadcast to ``shape``."""
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if tuple(tnp.shape(array)) == shape:
        return _unchanged(array)
    return broadcast_to_p(array, shape=shape)


def expand_dims(a, axis):
    """``a`` with new size-1 axes inserted at ``axis`` (an int or a tuple; negatives count from the end)."""
    shape = tuple(tnp.shape(a))
    n_new = 1 if isinstance(axis, (int, np.integer)) else len(tuple(axis))
    axes = canon_axes(axis, len(shape) + n_new, "expand_dims")
    it = iter(shape)
    return _reshape(a, shape=tuple(1 if i in axes else next(it) for i in range(len(shape) + n_new)))


def squeeze(a, axis=None):
    """``a`` without its size-1 axes (or only those in ``axis``, which must have size 1)."""
    shape = tuple(tnp.shape(a))
    if axis is None:
        axes = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        axes = canon_axes(axis, len(shape), "squeeze")
        bad = [ax for ax in axes if shape[ax] != 1]
        if bad:
            raise ValueError(f"tnp.squeeze: cannot squeeze axis {bad[0]} of size {shape[bad[0]]} "
                             f"(shape {shape})")
    if not axes:
        return _unchanged(a)
    return _reshape(a, shape=tuple(s for i, s in enumerate(shape) if i not in axes))


def _atleast(a, nd):
    shape = tuple(tnp.shape(a))
    if len(shape) >= nd:
        return _unchanged(a)
    if nd == 3 and len(shape) == 2:
        return reshape(a, shape + (1,))
    if nd == 3:
        return reshape(a, (1,) + (shape or (1,)) + (1,))
    return reshape(a, (1,) * (nd - len(shape)) + shape)


def atleast_1d(*arys):
    """Each input as an array of at least one dimension (a list when given several)."""
    out = [_atleast(a, 1) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Each input with at least two dimensions (1-D ``(n,)`` becomes ``(1, n)``)."""
    out = [_atleast(a, 2) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """Each input with at least three dimensions: ``(n,)`` becomes ``(1, n, 1)``, ``(m, n)`` ``(m, n, 1)``."""
    out = [_atleast(a, 3) for a in arys]
    return out[0] if len(out) == 1 else out


def astype(x, dtype, /, *, copy=False, device=None):
    """``x`` cast to ``dtype``; casting to an integer type ends differentiation."""
    dtype = jnp.dtype(dtype)
    if tnp.result_type(x) == dtype and hasattr(x, "dtype"):
        return _unchanged(x)
    return convert_p(x, dtype=dtype)


# ---- selection and joining ------------------------------------------------------

_where = Primitive("where", lambda c, x, y: jnp.where(c, x, y)).defvjp(
    None,
    lambda g, out, c, x, y: _where(c, g, 0.0),
    lambda g, out, c, x, y: _where(c, 0.0, g))


def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """``x`` where ``condition`` else ``y``; the gradient flows to the chosen side only."""
    if type(condition) is Tracer:
        condition = condition.primal()
    if x is None and y is None:
        if size is None and fill_value is None:
            return tnp.nonzero(condition)
        return jnp.nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("tnp.where: give both x and y, or neither (then it is tnp.nonzero)")
    return _where(condition, x, y)


def _concatenate_vjp(g, out, *xs, axis):
    # One split gives every piece (the sweep drops those of constant arguments).
    sizes = [x.shape[axis] for x in xs]
    return split(g, np.cumsum(sizes)[:-1].tolist(), axis=axis)


_concatenate = Primitive("concatenate", lambda *xs, axis: jnp.concatenate(xs, axis=axis),
                         save_args=False).defvjp_all(_concatenate_vjp)


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (of the flattened arrays when ``axis`` is None)."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("tnp.concatenate: need at least one array to concatenate")
    if dtype is not None:
        arrays = [astype(a, dtype) for a in arrays]
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    nds = {tnp.ndim(a) for a in arrays}
    if 0 in nds:
        raise ValueError("tnp.concatenate: zero-dimensional arrays cannot be concatenated")
    if len(nds) > 1:
        raise ValueError(f"tnp.concatenate: all arrays need the same number of dimensions, got shapes "
                         f"{[tuple(tnp.shape(a)) for a in arrays]}")
    axis = canon_axis(axis, nds.pop(), "concatenate")
    if len(arrays) == 1:
        return _unchanged(arrays[0])
    return _concatenate(*arrays, axis=axis)


def stack(arrays, axis=0, out=None, dtype=None):
    """Join arrays of one shape along a new axis."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("tnp.stack: need at least one array to stack")
    shapes = {tuple(tnp.shape(a)) for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"tnp.stack: all input arrays must have the same shape, got {sorted(shapes)}")
    ax = canon_axis(axis, len(shapes.pop()) + 1, "stack")
    return concatenate([expand_dims(a, ax) for a in arrays], axis=ax, dtype=dtype)


def hstack(tup, dtype=None):
    """Join arrays column-wise (along axis 1, or axis 0 for 1-D inputs)."""
    arrays = [_atleast(a, 1) for a in tup]
    if not arrays:
        raise ValueError("tnp.hstack: need at least one array")
    return concatenate(arrays, axis=0 if tnp.ndim(arrays[0]) == 1 else 1, dtype=dtype)


def vstack(tup, dtype=None):
    """Join arrays row-wise (1-D inputs become rows)."""
    return concatenate([_atleast(a, 2) for a in tup], axis=0, dtype=dtype)


_split = Primitive("split", lambda x, indices, axis: tuple(jnp.split(x, indices, axis=axis)),
                   save_args=False, multiple_results=True).defvjp_all(
    lambda gs, out, x, indices, axis: (_concatenate(*gs, axis=axis) if len(gs) > 1 else gs[0],))


def split(ary, indices_or_sections, axis=0):
    """Split into pieces along ``axis``: ``n`` equal sections, or at the given indices."""
    shape = tuple(tnp.shape(ary))
    axis = canon_axis(axis, len(shape), "split")
    n = shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"tnp.split: an axis of size {n} does not split into {k} equal sections "
                             f"(shape {shape}, axis {axis})")
        indices = tuple(i * (n // k) for i in range(1, k))
    else:
        indices = tuple(int(i) for i in np.asarray(indices_or_sections).ravel())
    return list(_split(ary, indices=indices, axis=axis))


# ---- tile, repeat, flip, roll ---------------------------------------------------

def _tile_vjp(g, out, x, reps):
    nd = max(len(reps), x.ndim)
    shape = (1,) * (nd - x.ndim) + tuple(x.shape)
    reps = (1,) * (nd - len(reps)) + reps
    # Each axis of size r*s is (r copies) x (s elements): split it and sum the copies.
    g = tnp.reshape(g, tuple(v for pair in zip(reps, shape, strict=True) for v in pair))
    return tnp.reshape(tnp.sum(g, axis=tuple(range(0, 2 * nd, 2))), x.shape)


_tile = Primitive("tile", lambda x, reps: jnp.tile(x, reps), save_args=False).defvjp(_tile_vjp)


def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis."""
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tnp.tile: reps must be non-negative, got {reps}")
    return _tile(A, reps=reps)


def _repeat_vjp(g, out, x, repeats, axis, total_repeat_length):
    n = x.shape[axis]
    if isinstance(repeats, int):
        # out[..., i*r + j, ...] = x[..., i, ...]: sum the r copies of each element.
        g = tnp.reshape(g, tuple(x.shape[:axis]) + (n, repeats) + tuple(x.shape[axis + 1:]))
        return tnp.sum(g, axis=axis + 1)
    # Ragged repeats: a segment sum, as the scatter-add of each output to its source.
    source = jnp.repeat(jnp.arange(n), repeats, total_repeat_length=total_repeat_length)
    return _index_add(tnp.zeros(x.shape, g.dtype), g, idx=(slice(None),) * axis + (source,), mode=None)


_repeat = Primitive("repeat", lambda x, repeats, axis, total_repeat_length: jnp.repeat(
    x, repeats, axis=axis, total_repeat_length=total_repeat_length), save_args=False).defvjp(_repeat_vjp)


def repeat(a, repeats, axis=None, *, total_repeat_length=None):
    """Each element of ``a`` repeated ``repeats`` times (an int, or one count per element) along ``axis``."""
    if type(repeats) is Tracer:
        raise TypeError("tnp.repeat: repeats must be integers, not a differentiable tracer")
    if axis is None:
        a, axis = ravel(a), 0
    if tnp.ndim(a) == 0:
        a = reshape(a, (1,))
    axis = canon_axis(axis, tnp.ndim(a), "repeat")
    if np.ndim(repeats) == 0 and not isinstance(repeats, jax.core.Tracer):
        repeats = int(repeats)
        if repeats < 0:
            raise ValueError(f"tnp.repeat: repeats must be non-negative, got {repeats}")
        if total_repeat_length is not None and total_repeat_length != repeats * tnp.shape(a)[axis]:
            repeats = jnp.full((tnp.shape(a)[axis],), repeats)
    else:
        # Kept as NumPy when known: under jax.jit a jnp array would be traced, and
        # jnp.repeat needs concrete repeats (or total_repeat_length).
        repeats = repeats if isinstance(repeats, jax.core.Tracer) else np.asarray(repeats)
        if not jnp.issubdtype(repeats.dtype, jnp.integer):
            raise TypeError(f"tnp.repeat: repeats must be integers, got dtype {repeats.dtype}")
    return _repeat(a, repeats=repeats, axis=axis, total_repeat_length=total_repeat_length)


_flip = Primitive("flip", lambda x, axis: jnp.flip(x, axis), save_args=False).defvjp(
    lambda g, out, x, axis: _flip(g, axis=axis))


def flip(m, axis=None):
    """``m`` with the order of elements reversed along ``axis`` (all axes when None)."""
    nd = tnp.ndim(m)
    axes = tuple(range(nd)) if axis is None else canon_axes(axis, nd, "flip")
    if not axes:
        return _unchanged(m)
    return _flip(m, axis=axes)


def _neg(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


_roll = Primitive("roll", lambda x, shift, axis: jnp.roll(x, shift, axis), save_args=False).defvjp(
    lambda g, out, x, shift, axis: _roll(g, shift=_neg(shift), axis=axis))


def roll(a, shift, axis=None):
    """``a`` with elements shifted cyclically by ``shift`` along ``axis`` (the flattened array when None)."""
    if type(shift) is Tracer:
        raise TypeError("tnp.roll: shift must be integers, not a differentiable tracer")
    if not isinstance(shift, jax.core.Tracer):  # a jax.jit-traced shift stays dynamic
        shift = int(shift) if np.ndim(shift) == 0 else tuple(int(s) for s in np.asarray(shift).ravel())
    nd = tnp.ndim(a)
    if axis is not None:
        axis = canon_axis(axis, nd, "roll") if isinstance(axis, (int, np.integer)) else tuple(
            canon_axis(ax, nd, "roll") for ax in axis)
    return _roll(a, shift=shift, axis=axis)


# ---- matrix parts: diagonal, diag, trace, tril, triu ----------------------------

def _diagonal_vjp(g, out, x, offset, axis1, axis2):
    if 0 in g.shape:
        return tnp.zeros(x.shape, g.dtype)
    # Scatter g onto the diagonal of zeros laid out as (other axes..., axis1, axis2), then put the axes back.
    rest = [j for j in range(x.ndim) if j not in (axis1, axis2)]
    moved = tuple(x.shape[j] for j in rest) + (x.shape[axis1], x.shape[axis2])
    k = jnp.arange(g.shape[-1])
    idx = (Ellipsis, k + max(-offset, 0), k + max(offset, 0))
    z = _index_add(tnp.zeros(moved, g.dtype), g, idx=idx, mode="promise_in_bounds")
    return transpose(z, tuple(int(i) for i in np.argsort(rest + [axis1, axis2])))


_diagonal = Primitive("diagonal", lambda x, offset, axis1, axis2: jnp.diagonal(x, offset, axis1, axis2),
                      save_args=False).defvjp(_diagonal_vjp)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of ``a`` over ``axis1``, ``axis2``; it becomes the last axis."""
    nd = tnp.ndim(a)
    if nd < 2:
        raise ValueError(f"tnp.diagonal: needs at least 2 dimensions, got shape {tuple(tnp.shape(a))}")
    a1, a2 = canon_axis(axis1, nd, "diagonal"), canon_axis(axis2, nd, "diagonal")
    if a1 == a2:
        raise ValueError(f"tnp.diagonal: axis1 and axis2 must differ, both are {a1}")
    return _diagonal(a, offset=int(offset), axis1=a1, axis2=a2)


_diag = Primitive("diag", lambda v, k: jnp.diag(v, k), save_args=False).defvjp(
    lambda g, out, v, k: diagonal(g, k))


def diag(v, k=0):
    """A matrix with the 1-D ``v`` on its ``k``-th diagonal, or the ``k``-th diagonal of a 2-D ``v``."""
    nd = tnp.ndim(v)
    if nd == 1:
        return _diag(v, k=int(k))
    if nd == 2:
        return diagonal(v, k)
    raise ValueError(f"tnp.diag: input must be 1-D or 2-D, got shape {tuple(tnp.shape(v))}")


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """The sum along the ``offset`` diagonal over ``axis1``, ``axis2``."""
    if out is not None:
        raise NotImplementedError("tnp.trace: the 'out' argument is not supported (arrays are immutable)")
    return tnp.sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


_tril = Primitive("tril", lambda m, k: jnp.tril(m, k), save_args=False).defvjp(
    lambda g, out, m, k: _tril(g, k=k))
_triu = Primitive("triu", lambda m, k: jnp.triu(m, k), save_args=False).defvjp(
    lambda g, out, m, k: _triu(g, k=k))


def tril(m, k=0):
    """``m`` with the elements above the ``k``-th diagonal of its last two axes zeroed."""
    if tnp.ndim(m) < 2:
        raise ValueError(f"tnp.tril: needs at least 2 dimensions, got shape {tuple(tnp.shape(m))}")
    return _tril(m, k=int(k))


def triu(m, k=0):
    """``m`` with the elements below the ``k``-th diagonal of its last two axes zeroed."""
    if tnp.ndim(m) < 2:
        raise ValueError(f"tnp.triu: needs at least 2 dimensions, got shape {tuple(tnp.shape(m))}")
    return _triu(m, k=int(k))
