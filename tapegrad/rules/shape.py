"""Shape, indexing and joining: reshape, transpose, ``x[idx]``, ``.at[]``, concatenate, where, …

Most rules here are each other's transposes: the rule of ``reshape`` is a
reshape, that of ``getitem`` a scatter-add, that of ``concatenate`` slices.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive, broadcast_to_p, convert_p
from tapegrad.core.tracer import Tracer

_reshape = Primitive("reshape", lambda x, shape: jnp.reshape(x, shape), save_args=False).defvjp(
    lambda g, out, x, shape: _reshape(g, shape=tuple(x.shape)))
_transpose = Primitive("transpose", lambda x, axes: jnp.transpose(x, axes), save_args=False).defvjp(
    lambda g, out, x, axes: _transpose(g, axes=tuple(np.argsort(axes)) if axes is not None else None))


def reshape(a, shape=None, order="C", *, newshape=None):
    """``a`` with a new shape (one dimension may be -1)."""
    shape = newshape if shape is None else shape
    if order != "C":
        raise NotImplementedError("tnp.reshape supports order='C' only")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    return _reshape(a, shape=shape)


def ravel(a):
    """``a`` flattened to one dimension."""
    return _reshape(a, shape=(-1,))


def transpose(a, axes=None):
    """``a`` with its axes permuted (reversed by default)."""
    ndim = tnp.ndim(a)
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(int(i) % max(ndim, 1) for i in axes)
    return _transpose(a, axes=axes)


def swapaxes(a, axis1, axis2):
    """``a`` with two axes interchanged."""
    perm = list(range(tnp.ndim(a)))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(a, perm)


def moveaxis(a, source, destination):
    """``a`` with axes moved from ``source`` to ``destination`` positions."""
    ndim = tnp.ndim(a)
    src = [s % ndim for s in ((source,) if isinstance(source, int) else source)]
    dst = [d % ndim for d in ((destination,) if isinstance(destination, int) else destination)]
    order = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def broadcast_to(array, shape):
    """``array`` broadcast to ``shape``."""
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if tuple(tnp.shape(array)) == shape:
        return array
    return broadcast_to_p(array, shape=shape)


def expand_dims(a, axis):
    """``a`` with new size-1 axes inserted at ``axis``."""
    shape = jnp.expand_dims(jnp.zeros(tnp.shape(a), dtype=bool), axis).shape
    return _reshape(a, shape=tuple(shape))


def squeeze(a, axis=None):
    """``a`` without its size-1 axes (or only those in ``axis``)."""
    shape = tnp.shape(a)
    if axis is None:
        axes = [i for i, s in enumerate(shape) if s == 1]
    else:
        axes = [ax % len(shape) for ax in ((axis,) if isinstance(axis, int) else axis)]
        bad = [ax for ax in axes if shape[ax] != 1]
        if bad:
            raise ValueError(f"tnp.squeeze: cannot squeeze axis {bad[0]} of size {shape[bad[0]]} "
                             f"(shape {tuple(shape)})")
    return _reshape(a, shape=tuple(s for i, s in enumerate(shape) if i not in axes))


def astype(x, dtype):
    """``x`` cast to ``dtype``; casting to an integer type ends differentiation."""
    if tnp.result_type(x) == np.dtype(dtype):
        return x
    return convert_p(x, dtype=np.dtype(dtype) if not isinstance(dtype, type(jnp.bfloat16)) else dtype)


# ---- indexing -------------------------------------------------------------------
# Index expressions are static params. Integer index arrays and boolean masks are
# never tracers (no gradient flows into an index), so they are kept as raw values.

def _plain_index(idx):
    if isinstance(idx, tuple):
        return tuple(_plain_index(i) for i in idx)
    if type(idx) is Tracer:
        return idx.primal()
    if isinstance(idx, list):
        return jnp.asarray(idx)
    return idx


_getitem = Primitive("getitem", lambda x, idx: x[idx], save_args=False)
_index_add = Primitive("index_add", lambda x, y, idx: x.at[idx].add(y), save_args=False)
_index_set = Primitive("index_set", lambda x, y, idx: x.at[idx].set(y), save_args=False)
_index_mul = Primitive("index_multiply", lambda x, y, idx: x.at[idx].multiply(y))

_getitem.defvjp(lambda g, out, x, idx: _index_add(tnp.zeros(x.shape, g.dtype), g, idx=idx))
_index_add.defvjp(lambda g, out, x, y, idx: g,
                  lambda g, out, x, y, idx: _getitem(g, idx=idx))
_index_set.defvjp(lambda g, out, x, y, idx: _index_set(g, 0.0, idx=idx),
                  lambda g, out, x, y, idx: _getitem(g, idx=idx))
_index_mul.defvjp(lambda g, out, x, y, idx: _index_mul(g, y, idx=idx),
                  lambda g, out, x, y, idx: _getitem(g * x, idx=idx))


def getitem(x, idx):
    """``x[idx]`` (ints, slices, None, ..., integer arrays; boolean masks in eager mode)."""
    return _getitem(x, idx=_plain_index(idx))


class _IndexUpdateRef:
    """``x.at[idx]``: functional updates, as in JAX."""

    __slots__ = ("x", "idx")

    def __init__(self, x, idx) -> None:
        self.x, self.idx = x, _plain_index(idx)

    def get(self):
        return _getitem(self.x, idx=self.idx)

    def set(self, values):
        return _index_set(self.x, values, idx=self.idx)

    def add(self, values):
        return _index_add(self.x, values, idx=self.idx)

    def multiply(self, values):
        return _index_mul(self.x, values, idx=self.idx)

    mul = multiply


class IndexUpdateHelper:
    __slots__ = ("x",)

    def __init__(self, x) -> None:
        self.x = x

    def __getitem__(self, idx) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.x, idx)


# ---- selection and joining ------------------------------------------------------

_where = Primitive("where", lambda c, x, y: jnp.where(c, x, y)).defvjp(
    None,
    lambda g, out, c, x, y: tnp.where(c, g, 0.0),
    lambda g, out, c, x, y: tnp.where(c, 0.0, g))


def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y``; the gradient flows to the chosen side only."""
    if x is None and y is None:
        return tnp.nonzero(condition)
    if type(condition) is Tracer:
        condition = condition.primal()
    return _where(condition, x, y)


class _Concatenate(Primitive):
    """Variadic: one rule per position, generated on demand."""

    def vjp(self, g, entry):
        axis = entry.params["axis"]
        sizes = [x.shape[axis] for x in entry.args]
        cuts = np.cumsum(sizes)[:-1].tolist()
        pieces = tnp.split(g, cuts, axis=axis)
        return [p if i is not None else None for p, i in zip(pieces, entry.in_ids)]


_concatenate = _Concatenate("concatenate", lambda *xs, axis: jnp.concatenate(xs, axis=axis), save_args=False)


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis."""
    arrays = list(arrays)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    nd = tnp.ndim(arrays[0])
    return _concatenate(*arrays, axis=int(axis) % max(nd, 1))


def stack(arrays, axis=0):
    """Join arrays along a new axis."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("tnp.stack: need at least one array to stack")
    nd = tnp.ndim(arrays[0]) + 1
    ax = int(axis) % nd
    return concatenate([expand_dims(a, ax) for a in arrays], axis=ax)


_split = Primitive("split", lambda x, indices, axis: tuple(jnp.split(x, indices, axis=axis)),
                   save_args=False, multiple_results=True).defvjp_all(
    lambda gs, out, x, indices, axis: (concatenate(list(gs), axis=axis),))


def split(ary, indices_or_sections, axis=0):
    """Split into pieces along ``axis`` (equal sections or at given indices)."""
    n = tnp.shape(ary)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if n % indices_or_sections:
            raise ValueError(f"tnp.split: array of size {n} along axis {axis} does not split into "
                             f"{indices_or_sections} equal sections")
        step = n // indices_or_sections
        indices = tuple(range(step, n, step))
    else:
        indices = tuple(int(i) for i in indices_or_sections)
    return list(_split(ary, indices=indices, axis=axis))
