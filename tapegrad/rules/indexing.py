"""Indexing: ``x[idx]``, ``x.at[idx].get/set/add/multiply``, take, take_along_axis, sort.

A gather and a scatter-add are each other's transposes, so every rule here is
one of the two. Index expressions are static params: no gradient flows into an
index, so integer arrays and boolean masks are kept as raw (non-tracer) values.

Out-of-bounds indices follow jax.numpy: a plain ``x[idx]`` clamps when reading
but its gradient drops the out-of-bounds entries (that is what ``jax.vjp``
gives), ``mode="fill"`` reads a fill value, ``mode="clip"`` clamps both ways.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axis
from tapegrad.core.foreign import as_jax
from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer

_MODES = {lax.GatherScatterMode.FILL_OR_DROP: "fill", lax.GatherScatterMode.CLIP: "clip",
          lax.GatherScatterMode.PROMISE_IN_BOUNDS: "promise_in_bounds",
          lax.GatherScatterMode.ONE_HOT: "one_hot"}


def _mode(mode, op):
    """``None`` (jax.numpy's default for the op) or one canonical mode name."""
    if mode is None:
        return None
    try:
        return _MODES[lax.GatherScatterMode.from_any(mode)]
    except (KeyError, ValueError) as e:
        raise ValueError(f"tnp.{op}: unknown out-of-bounds mode {mode!r}; use 'fill', 'drop', 'clip' or "
                         "'promise_in_bounds'") from e


def _scatter_mode(gather_mode):
    """The scatter mode that transposes a gather in ``gather_mode`` (as jax.vjp does)."""
    return {None: None, "fill": "fill", "one_hot": "fill"}.get(gather_mode, gather_mode)


def _gather_mode(scatter_mode):
    """The gather (mode, fill_value) that transposes a scatter: dropped updates get a zero cotangent."""
    if scatter_mode in (None, "fill", "one_hot"):
        return "fill", 0
    return scatter_mode, None


def _plain_index(idx):
    """The index with tracers replaced by their values and lists made arrays (NumPy's reading)."""
    if isinstance(idx, tuple):
        return tuple(_plain_index(i) for i in idx)
    if type(idx) is Tracer:
        return idx.primal()
    if isinstance(idx, list):
        if any(i is None or i is Ellipsis or isinstance(i, slice) for i in idx):
            raise TypeError(f"tnp indexing: a list index may hold only integers or booleans, got {idx!r}; "
                            "use a tuple for multi-dimensional indexing")
        return as_jax(idx)
    return idx


def _is_static_int(i) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))


def _basic_plan(idx, shape):
    """For an index of ints, slices, ``None`` and ``...`` only: how to undo it, else ``None``.

    Returns ``(sliced_shape, rev_axes, pad_config)``: the cotangent of ``x[idx]``
    is reshaped to ``sliced_shape`` (ints restored as size-1 axes, ``None`` axes
    dropped), reversed on ``rev_axes`` (negative steps) and zero-padded with
    ``pad_config`` (interior padding undoes a step). A pad is much cheaper than
    the general scatter-add into zeros.
    """
    idx = idx if isinstance(idx, tuple) else (idx,)
    for i in idx:
        static_slice = isinstance(i, slice) and all(
            v is None or _is_static_int(v) for v in (i.start, i.stop, i.step))
        if not (i is None or i is Ellipsis or _is_static_int(i) or static_slice):
            return None
    if sum(i is Ellipsis for i in idx) > 1:
        return None
    consumed = sum(i is not None and i is not Ellipsis for i in idx)
    if consumed > len(shape):
        return None
    if Ellipsis in idx:
        k = idx.index(Ellipsis)
        idx = idx[:k] + (slice(None),) * (len(shape) - consumed) + idx[k + 1:]
    else:
        idx = idx + (slice(None),) * (len(shape) - consumed)
    sliced, rev, config = [], [], []
    axis = 0
    for i in idx:
        if i is None:
            continue
        n = shape[axis]
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            count = len(range(start, stop, step))
        else:
            # Out of bounds, jax.numpy's gather clamps (after wrapping negatives once): so does the gradient.
            if n == 0:
                return None  # jax.numpy raises the IndexError in the forward pass
            i = int(i) + n if i < 0 else int(i)
            start, step, count = min(max(i, 0), n - 1), 1, 1
        if count == 0:
            config.append((0, n, 0))
        else:
            low = start if step > 0 else start + (count - 1) * step
            if step < 0 and count > 1:
                rev.append(axis)
            config.append((low, n - low - (count - 1) * abs(step) - 1, abs(step) - 1))
        sliced.append(count)
        axis += 1
    return tuple(sliced), tuple(rev), tuple(config)


def _has_int_array(idx) -> bool:
    """Whether the index may name one element twice (only integer arrays can)."""
    for i in (idx if isinstance(idx, tuple) else (idx,)):
        if hasattr(i, "dtype") and jnp.issubdtype(i.dtype, jnp.integer) and np.ndim(i) > 0:
            return True
    return False


def _get_impl(x, idx, mode, fill_value):
    if mode is None and fill_value is None:
        return x[idx]
    return x.at[idx].get(mode=mode, fill_value=fill_value)


def _unslice_impl(g, idx, shape):
    sliced, rev, config = _basic_plan(idx, shape)
    g = jnp.reshape(g, sliced)
    if rev:
        g = lax.rev(g, rev)
    return lax.pad(g, jnp.zeros((), g.dtype), config)


_getitem = Primitive("getitem", _get_impl, save_args=False)
# The transpose of a basic-index read: zero-pad the cotangent back into place.
_unslice = Primitive("unslice", _unslice_impl, save_args=False)
_index_add = Primitive("index_add", lambda x, y, idx, mode: x.at[idx].add(y, mode=mode), save_args=False)
_index_set = Primitive("index_set", lambda x, y, idx, mode: x.at[idx].set(y, mode=mode), save_args=False)
_index_mul = Primitive("index_multiply", lambda x, y, idx, mode, unique: x.at[idx].multiply(
    y, mode=mode, unique_indices=unique))


def _getitem_vjp(g, out, x, idx, mode, fill_value):
    if mode is None and _basic_plan(idx, x.shape) is not None:
        return _unslice(g, idx=idx, shape=tuple(x.shape))
    return _index_add(tnp.zeros(x.shape, g.dtype), g, idx=idx, mode=_scatter_mode(mode))


def _read_back(g, idx, mode):
    """``g`` at the updated positions: the cotangent of a scatter's updates."""
    gmode, fill = _gather_mode(mode)
    if mode in (None, "fill") and _basic_plan(idx, g.shape) is not None:
        gmode, fill = None, None  # an in-bounds basic index: a plain slice, no gather
    return _getitem(g, idx=idx, mode=gmode, fill_value=fill)


def _set_y_vjp(g, out, x, y, idx, mode):
    gy = _read_back(g, idx, mode)
    if not _has_int_array(idx):
        return gy
    # Repeated indices: only the update that was written last (the scatter's
    # choice) reaches the output. Scatter update ids and read back which won.
    gmode, fill = _gather_mode(mode)
    ids = jnp.arange(1, gy.size + 1, dtype=jnp.int32).reshape(gy.shape)
    written = jnp.zeros(x.shape, jnp.int32).at[idx].set(ids, mode=mode)
    won = written.at[idx].get(mode=gmode, fill_value=fill) == ids
    return tnp.where(won, gy, 0.0)


def _mul_y_vjp(g, out, x, y, idx, mode, unique):
    gx = _read_back(g * x, idx, mode)
    if unique or not _has_int_array(idx):
        return gx
    # Repeated indices multiply together: d out[p] / d y_j = x[p] * (product of
    # the other updates at p). Each update's target position, by the same gather:
    gmode, _ = _gather_mode(mode)
    size = int(np.prod(x.shape, dtype=np.int64))
    fill = -1 if gmode == "fill" else None  # a dropped update has no target
    target = jnp.arange(size).reshape(x.shape).at[idx].get(mode=gmode, fill_value=fill)
    if isinstance(target, jax.core.Tracer):
        return gx * _others_zero_safe(gx, x, y, idx, mode)
    return gx * _others_exact(gx, y, np.asarray(target).ravel())


def _others_exact(gx, y, target):
    """Product of the other updates at each update's target, exact to every order (indices known).

    Updates are grouped by target into a (groups, D) table padded with ones; the
    exclusive products along D are prefix times suffix products: no division.
    """
    valid = target >= 0
    groups, group_of, counts = np.unique(target[valid], return_inverse=True, return_counts=True)
    if counts.size == 0 or counts.max() == 1:
        return tnp.ones_like(gx)
    m, depth = target.size, int(counts.max())
    group = np.zeros(m, np.int64)
    group[valid] = group_of
    rank = np.zeros(m, np.int64)
    order = np.argsort(np.where(valid, group, -1), kind="stable")
    seen = np.zeros(groups.size, np.int64)
    for u in order[np.count_nonzero(~valid):]:
        rank[u], seen[group[u]] = seen[group[u]], seen[group[u]] + 1
    slots = np.full((groups.size, depth), m)  # m points at the padding one
    slots[group[valid], rank[valid]] = np.nonzero(valid)[0]
    flat = tnp.ravel(tnp.broadcast_to(y, gx.shape))
    cols = tnp.concatenate([flat, tnp.ones((1,), flat.dtype)])[slots]
    cols = [cols[:, d] for d in range(depth)]
    prefix, suffix = [None] * depth, [None] * depth
    for d in range(1, depth):
        prefix[d] = cols[d - 1] if d == 1 else prefix[d - 1] * cols[d - 1]
        e = depth - 1 - d
        suffix[e] = cols[e + 1] if d == 1 else suffix[e + 1] * cols[e + 1]
    excl = tnp.stack([p if s is None else s if p is None else p * s
                      for p, s in zip(prefix, suffix, strict=True)], axis=1)
    return tnp.reshape(excl[group, rank], gx.shape)


def _others_zero_safe(gx, x, y, idx, mode):
    """The same under jax.jit, where the indices are unknown: count the zeros, multiply the rest.

    Exact at first order; a second derivative across an exactly-zero repeated update is not.
    """
    gmode, fill = _gather_mode(mode)
    yb = tnp.broadcast_to(y, gx.shape)
    zero = tnp.equal(yb, 0)
    safe = tnp.where(zero, 1.0, yb)
    prod_nz = _read_back(_index_mul(tnp.ones(x.shape, safe.dtype), safe, idx=idx, mode=mode, unique=False),
                         idx, mode)
    zeros_at = jnp.zeros(x.shape, jnp.int32).at[idx].add(zero.astype(jnp.int32), mode=mode)
    n_zero = zeros_at.at[idx].get(mode=gmode, fill_value=fill)
    return tnp.where(zero, tnp.where(n_zero == 1, prod_nz, 0.0), tnp.where(n_zero == 0, prod_nz / safe, 0.0))


_getitem.defvjp(_getitem_vjp)
_unslice.defvjp(lambda g, out, x, idx, shape: _getitem(g, idx=idx, mode=None, fill_value=None))
_index_add.defvjp(lambda g, out, x, y, idx, mode: g,
                  lambda g, out, x, y, idx, mode: _read_back(g, idx, mode))
_index_set.defvjp(lambda g, out, x, y, idx, mode: _index_set(g, 0.0, idx=idx, mode=mode), _set_y_vjp)
_index_mul.defvjp(lambda g, out, x, y, idx, mode, unique: _index_mul(g, y, idx=idx, mode=mode, unique=unique),
                  _mul_y_vjp)


def getitem(x, idx):
    """``x[idx]`` (ints, slices, None, ..., integer arrays; boolean masks in eager mode)."""
    return _getitem(x, idx=_plain_index(idx), mode=None, fill_value=None)


class _IndexUpdateRef:
    """``x.at[idx]``: functional updates, as in JAX."""

    __slots__ = ("x", "idx")

    def __init__(self, x, idx) -> None:
        self.x, self.idx = x, _plain_index(idx)

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        """``x[idx]``, with jax.numpy's out-of-bounds ``mode`` and ``fill_value``."""
        return _getitem(self.x, idx=self.idx, mode=_mode(mode, "at[].get"), fill_value=fill_value)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] = values``; with repeated indices the written update gets the gradient."""
        return _index_set(self.x, values, idx=self.idx, mode=_mode(mode, "at[].set"))

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] += values`` (repeated indices accumulate)."""
        return _index_add(self.x, values, idx=self.idx, mode=_mode(mode, "at[].add"))

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] *= values`` (repeated indices multiply)."""
        return _index_mul(self.x, values, idx=self.idx, mode=_mode(mode, "at[].multiply"),
                          unique=bool(unique_indices))

    mul = multiply

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] -= values``."""
        return self.add(-values if type(values) is Tracer else jnp.negative(values), mode=mode)

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """``x`` with ``x[idx] /= values`` (as a product with ``1 / values``)."""
        import tapegrad.numpy as tnp

        return self.multiply(tnp.reciprocal(values), unique_indices=unique_indices, mode=mode)


class IndexUpdateHelper:
    """The ``x.at`` property: ``x.at[idx]`` gives the update methods."""

    __slots__ = ("x",)

    def __init__(self, x) -> None:
        self.x = x

    def __getitem__(self, idx) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.x, idx)


# ---- take, take_along_axis, sort ------------------------------------------------

def _check_indices(indices, op):
    if type(indices) is Tracer:
        raise TypeError(f"tnp.{op}: indices must be integers, got a differentiable {indices.dtype} tracer")
    indices = as_jax(indices)
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        raise TypeError(f"tnp.{op}: indices must be of integer type, got {indices.dtype}")
    return indices


def _take_vjp(g, out, a, indices, axis, mode, fill_value):
    if 0 in a.shape:
        return tnp.zeros(a.shape, g.dtype)
    # Route each cotangent to the element the forward read: jnp.take wraps
    # negatives in 'fill' mode only; 'clip' (and XLA's 'promise_in_bounds') clamp.
    if mode == "wrap":
        indices, mode = jnp.mod(indices, a.shape[axis]), "promise_in_bounds"
    elif mode in ("clip", "promise_in_bounds"):
        indices, mode = jnp.clip(indices, 0, a.shape[axis] - 1), "promise_in_bounds"
    idx = (slice(None),) * axis + (indices,)
    return _index_add(tnp.zeros(a.shape, g.dtype), g, idx=idx, mode=_scatter_mode(mode))


_take = Primitive("take", lambda a, indices, axis, mode, fill_value: jnp.take(
    a, indices, axis=axis, mode=mode, fill_value=fill_value), save_args=False).defvjp(_take_vjp)


def take(a, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False,
         fill_value=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when ``axis`` is None)."""
    if out is not None:
        raise NotImplementedError("tnp.take: the 'out' argument is not supported (arrays are immutable)")
    if mode == "raise":
        raise NotImplementedError("tnp.take: the 'raise' mode is not supported (as in jax.numpy); "
                                  "use 'fill', 'clip' or 'wrap'")
    if mode not in (None, "fill", "clip", "wrap", "promise_in_bounds"):
        raise ValueError(f"tnp.take: mode must be 'fill', 'clip', 'wrap' or 'promise_in_bounds', "
                         f"got {mode!r}")
    indices = _check_indices(indices, "take")
    if axis is None:
        a, axis = tnp.ravel(a), 0
    axis = canon_axis(axis, tnp.ndim(a), "take")
    if tnp.shape(a)[axis] == 0 and indices.size:
        raise IndexError(f"tnp.take: cannot take {indices.shape} indices from an empty axis {axis} "
                         f"of an array of shape {tuple(tnp.shape(a))}")
    return _take(a, indices=indices, axis=axis, mode="fill" if mode is None else mode, fill_value=fill_value)


def _along_axis_index(indices, shape, axis):
    """The full advanced index that reads ``take_along_axis(x, indices, axis)`` from ``x``."""
    idx = []
    for j, n in enumerate(shape):
        if j == axis:
            idx.append(indices)
        else:
            idx.append(jnp.arange(n).reshape((1,) * j + (n,) + (1,) * (len(shape) - j - 1)))
    return tuple(idx)


def _take_along_vjp(g, out, arr, indices, axis, mode, fill_value):
    if 0 in arr.shape:
        return tnp.zeros(arr.shape, g.dtype)
    idx = _along_axis_index(indices, arr.shape, axis)
    return _index_add(tnp.zeros(arr.shape, g.dtype), g, idx=idx, mode=_scatter_mode(mode))


_take_along = Primitive("take_along_axis", lambda arr, indices, axis, mode, fill_value: jnp.take_along_axis(
    arr, indices, axis, mode=mode, fill_value=fill_value), save_args=False).defvjp(_take_along_vjp)


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    """Elements of ``arr`` at ``indices`` matched along ``axis`` (e.g. with ``argsort``'s result)."""
    indices = _check_indices(indices, "take_along_axis")
    if axis is None:
        if indices.ndim != 1:
            raise ValueError(f"tnp.take_along_axis: indices must be 1-D when axis=None, got shape "
                             f"{indices.shape}")
        arr, axis = tnp.ravel(arr), 0
    if tnp.ndim(arr) != indices.ndim:
        raise ValueError(f"tnp.take_along_axis: indices and arr must have the same number of dimensions, "
                         f"got {indices.shape} and {tuple(tnp.shape(arr))}")
    axis = canon_axis(axis, tnp.ndim(arr), "take_along_axis")
    return _take_along(arr, indices=indices, axis=axis, mode=_mode(mode, "take_along_axis"),
                       fill_value=fill_value)


def _sort_impl(x, axis, stable, descending):
    # jax's own sort JVP: sort an iota along as a second operand; the permutation
    # it yields routes each cotangent back (ties follow the stable order).
    iota = lax.broadcasted_iota(jnp.int64 if x.shape[axis] >= 2 ** 31 else jnp.int32, x.shape, axis)
    out, perm = lax.sort((x, iota), dimension=axis, is_stable=stable, num_keys=1)
    if descending:
        out, perm = lax.rev(out, (axis,)), lax.rev(perm, (axis,))
    return out, perm


def _sort_vjp(gs, out, x, axis, stable, descending):
    if 0 in x.shape:
        return (tnp.zeros(x.shape, gs[0].dtype),)
    idx = _along_axis_index(out[1], x.shape, axis)
    # A permutation: every position is written once, so a scatter-add is exact.
    return (_index_add(tnp.zeros(x.shape, gs[0].dtype), gs[0], idx=idx, mode="promise_in_bounds"),)


_sort = Primitive("sort", _sort_impl, save_args=False, save_out=True, multiple_results=True)
_sort.defvjp_all(_sort_vjp)
_sort.pending_constant = True  # its permutation output is the rule's, never a user's: it may stay pending


def sort(a, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    """``a`` sorted along ``axis`` (flattened when None); the gradient follows each element."""
    if kind is not None or order is not None:
        raise TypeError("tnp.sort: 'kind' and 'order' are not supported; use stable=True/False")
    if axis is None:
        a, axis = tnp.ravel(a), 0
    if tnp.ndim(a) == 0:
        raise ValueError("tnp.sort: cannot sort a 0-d array along an axis")
    axis = canon_axis(axis, tnp.ndim(a), "sort")
    return _sort(a, axis=axis, stable=bool(stable), descending=bool(descending))[0]
