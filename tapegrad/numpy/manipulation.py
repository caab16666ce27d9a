"""Array manipulation with jax.numpy signatures (rotations, stacks, grids, selections), composed of primitives.

The seam: ``tapegrad.rules`` defines primitives (impl + VJP rule); ``tapegrad.numpy`` defines the
signatures. Everything here is reshapes, flips, transposes, broadcasts, joins, slices, ``where`` and
index updates (``insert``, ``fill_diagonal``): no new rules.
(The module is not called ``shape``: ``tnp.shape`` is a function, and a submodule would shadow it.)
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axes, canon_axis
from tapegrad.core.tracer import Tracer


def kron(a, b):
    """The Kronecker product: blocks ``a[i, j] * b``, for arrays of any ranks (the smaller one padded with 1s).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.kron(tnp.array([1.0, 2.0]), tnp.array([1.0, 10.0])).tolist()
        [1.0, 10.0, 2.0, 20.0]
    """
    a, b = tnp.asarray(a), tnp.asarray(b)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    # Interleave: a's axis i at position 2i, b's at 2i+1; merging each pair gives the blocks.
    a2 = tnp.reshape(a, tuple(x for s in sa for x in (s, 1)))
    b2 = tnp.reshape(b, tuple(x for s in sb for x in (1, s)))
    return tnp.reshape(a2 * b2, tuple(x * y for x, y in zip(sa, sb)))


def rot90(m, k: int = 1, axes: tuple[int, int] = (0, 1)):
    """``m`` rotated by ``k`` quarter turns in the plane of ``axes`` (from the first axis towards the second).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.rot90(tnp.array([[1.0, 2.0], [3.0, 4.0]])).tolist()
        [[2.0, 4.0], [1.0, 3.0]]
    """
    m = tnp.asarray(m)
    if len(tuple(axes)) != 2:
        raise ValueError(f"tnp.rot90: axes must be two axes, got {axes!r}")
    if m.ndim < 2:
        raise ValueError(f"tnp.rot90: needs an array of at least 2 dimensions, got shape {m.shape}")
    i, j = canon_axes(tuple(axes), m.ndim, "rot90")
    k = int(k) % 4
    if k == 0:
        return tnp.asarray(m)
    if k == 2:
        return tnp.flip(tnp.flip(m, i), j)
    perm = list(range(m.ndim))
    perm[i], perm[j] = perm[j], perm[i]
    if k == 1:
        return tnp.transpose(tnp.flip(m, j), tuple(perm))
    return tnp.flip(tnp.transpose(m, tuple(perm)), j)


def flipud(m):
    """``m`` with axis 0 reversed (rows upside down).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.flipud(tnp.array([1.0, 2.0])).tolist()
        [2.0, 1.0]
    """
    m = tnp.asarray(m)
    if m.ndim < 1:
        raise ValueError(f"tnp.flipud: needs an array of at least 1 dimension, got shape {m.shape}")
    return tnp.flip(m, 0)


def fliplr(m):
    """``m`` with axis 1 reversed (columns left to right).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fliplr(tnp.array([[1.0, 2.0]])).tolist()
        [[2.0, 1.0]]
    """
    m = tnp.asarray(m)
    if m.ndim < 2:
        raise ValueError(f"tnp.fliplr: needs an array of at least 2 dimensions, got shape {m.shape}")
    return tnp.flip(m, 1)


def column_stack(tup):
    """1-D arrays as columns (and 2-D arrays as they are), joined along axis 1.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.column_stack([tnp.array([1.0, 2.0]), tnp.array([3.0, 4.0])]).tolist()
        [[1.0, 3.0], [2.0, 4.0]]
    """
    arrays = [tnp.asarray(x) for x in tup]
    if not arrays:
        raise ValueError("tnp.column_stack: needs at least one array")
    cols = [tnp.reshape(x, (-1, 1)) if x.ndim < 2 else x for x in arrays]
    return tnp.concatenate(cols, axis=1)


def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy"):
    """Coordinate arrays from 1-D coordinate vectors (``'xy'``: Cartesian, first two axes swapped; ``'ij'``: matrix).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> X, Y = tnp.meshgrid(tnp.array([1.0, 2.0, 3.0]), tnp.array([0.0, 1.0]))
        >>> X.shape, Y.tolist()
        ((2, 3), [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"tnp.meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [tnp.asarray(x) for x in xi]
    for x in xs:
        if x.ndim != 1:
            raise ValueError(f"tnp.meshgrid: needs 1-D arrays, got shapes {[tuple(v.shape) for v in xs]}")
    n = len(xs)
    shapes = [[1] * n for _ in xs]
    for d, x in enumerate(xs):
        shapes[d][d] = x.shape[0]
    if indexing == "xy" and n >= 2:
        for s in shapes:
            s[0], s[1] = s[1], s[0]
    out = [tnp.reshape(x, tuple(s)) for x, s in zip(xs, shapes)]
    if sparse:
        return out
    full = tuple(np.broadcast_shapes(*(tuple(s) for s in shapes)))
    return [tnp.broadcast_to(x, full) for x in out]


def select(condlist, choicelist, default=0):
    """Per element, the choice of the first true condition (``default`` where none holds).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x = tnp.array([-1.0, 0.5, 3.0])
        >>> tnp.select([x < 0, x > 1], [-x, x * 10], default=x).tolist()
        [1.0, 0.5, 30.0]
    """
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError(f"tnp.select: condlist and choicelist must have the same length, "
                         f"got {len(condlist)} and {len(choicelist)}")
    if not condlist:
        raise ValueError("tnp.select: condlist must be non-empty")
    for c in condlist:
        dt = getattr(c, "dtype", None)
        if dt is None or np.dtype(dt) != np.bool_:
            raise TypeError(f"tnp.select: conditions must be boolean arrays, got dtype {dt}")
    out = tnp.asarray(default)
    # Folded from the last: the first true condition is the outermost where, so it wins.
    for c, x in zip(reversed(condlist), reversed(choicelist)):
        out = tnp.where(c, x, out)
    return out


# ---- joining, reordering and resizing (jax.numpy's remaining array manipulation) ----------------

def append(arr, values, axis: int | None = None):
    """``values`` joined to the end of ``arr`` along ``axis`` (both flattened when ``axis`` is None).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.append(tnp.array([1.0, 2.0]), [[3.0]]).tolist()
        [1.0, 2.0, 3.0]
    """
    if axis is None:
        return tnp.concatenate([tnp.ravel(arr), tnp.ravel(values)], axis=0)
    return tnp.concatenate([arr, values], axis=axis)


def concat(arrays, /, *, axis: int | None = 0):
    """The Array API's name of ``concatenate``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.concat([tnp.ones(2), tnp.zeros(1)]).tolist()
        [1.0, 1.0, 0.0]
    """
    return tnp.concatenate(arrays, axis=axis)


def permute_dims(a, /, axes):
    """The Array API's name of ``transpose`` (``axes`` required).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.permute_dims(tnp.ones((2, 3, 4)), (2, 0, 1)).shape
        (4, 2, 3)
    """
    return tnp.transpose(a, tuple(axes))


def rollaxis(a, axis: int, start: int = 0):
    """``a`` with ``axis`` moved to just before position ``start`` (prefer ``moveaxis``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.rollaxis(tnp.ones((2, 3, 4)), 2).shape
        (4, 2, 3)
    """
    nd = tnp.ndim(a)
    axis = canon_axis(axis, nd, "rollaxis")
    start = int(start)
    if not -nd <= start <= nd:
        raise ValueError(f"tnp.rollaxis: start={start} must satisfy {-nd} <= start <= {nd}")
    if start < 0:
        start += nd
    if start > axis:
        start -= 1
    return tnp.moveaxis(a, axis, start)


def broadcast_arrays(*args):
    """The arguments broadcast to their common shape, as a list.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [x.shape for x in tnp.broadcast_arrays(tnp.ones((2, 1)), tnp.ones(3))]
        [(2, 3), (2, 3)]
    """
    try:
        shape = tuple(np.broadcast_shapes(*(tuple(tnp.shape(x)) for x in args)))
    except ValueError:
        raise ValueError(f"tnp.broadcast_arrays: shapes {[tuple(tnp.shape(x)) for x in args]} do not "
                         "broadcast together") from None
    return [tnp.broadcast_to(x, shape) for x in args]


def _atleast_nd(x, n):
    x = tnp.asarray(x)
    return x if x.ndim >= n else tnp.reshape(x, (1,) * (n - x.ndim) + tuple(x.shape))


def _block(xs):
    if isinstance(xs, tuple):
        raise ValueError(f"tnp.block: nested tuples are not allowed (use lists), got {xs!r}")
    if not isinstance(xs, list):
        return tnp.asarray(xs), 1
    if not xs:
        raise ValueError("tnp.block: empty lists are not allowed")
    parts, depths = zip(*[_block(x) for x in xs])
    if any(d != depths[0] for d in depths):
        raise ValueError(f"tnp.block: mismatched list depths {list(depths)}")
    rank = max(depths[0], max(p.ndim for p in parts))
    return tnp.concatenate([_atleast_nd(p, rank) for p in parts], axis=-depths[0]), depths[0] + 1


def block(arrays):
    """An array assembled from nested lists of blocks: the innermost lists join along the last axis.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.block([[tnp.eye(2), tnp.zeros((2, 1))], [tnp.ones((1, 3))]]).shape
        (3, 3)
    """
    return _block(arrays)[0]


def dstack(tup, dtype=None):
    """Arrays joined depth-wise (along axis 2), 1-D ``(n,)`` read as ``(1, n, 1)``, 2-D as ``(m, n, 1)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.dstack([tnp.ones(2), tnp.zeros(2)]).shape
        (1, 2, 2)
    """
    arrays = [tnp.atleast_3d(x) for x in tup]
    if not arrays:
        raise ValueError("tnp.dstack: need at least one array")
    return tnp.concatenate(arrays, axis=2, dtype=dtype)


def resize(a, new_shape):
    """``a`` flattened, repeated cyclically (or cut) to fill ``new_shape``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.resize(tnp.array([1.0, 2.0, 3.0]), (2, 2)).tolist()
        [[1.0, 2.0], [3.0, 1.0]]
    """
    new_shape = (int(new_shape),) if np.ndim(new_shape) == 0 else tuple(int(s) for s in new_shape)
    if any(s < 0 for s in new_shape):
        raise ValueError(f"tnp.resize: all elements of new_shape must be non-negative, got {new_shape}")
    flat = tnp.ravel(a)
    size = int(np.prod(new_shape, dtype=np.int64))
    if flat.shape[0] == 0 or size == 0:
        return tnp.zeros(new_shape, tnp.result_type(flat))
    reps = -(-size // flat.shape[0])
    return tnp.reshape(tnp.tile(flat, reps)[:size], new_shape)


def diagflat(v, k: int = 0):
    """A 2-D array with ``v`` flattened on its ``k``-th diagonal.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.diagflat(tnp.array([[1.0, 2.0]]), 1).tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]]
    """
    return tnp.diag(tnp.ravel(v), int(k))


def _index_values(obj, op):
    """``obj`` as a concrete NumPy index array (a slice, ints or booleans known before tracing)."""
    if type(obj) is Tracer:
        raise TypeError(f"tnp.{op}: indices must be integers, not a differentiable tracer")
    try:
        return np.asarray(obj)
    except Exception as e:  # a JAX tracer under jit: the positions must be known
        raise TypeError(f"tnp.{op}: the positions must be concrete (known outside jax.jit), got {obj!r}") from e


def delete(arr, obj, axis: int | None = None, *, assume_unique_indices: bool = False):
    """``arr`` without the entries at ``obj`` (an int, a slice, ints or a boolean mask) along ``axis``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.delete(tnp.array([1.0, 2.0, 3.0, 4.0]), [0, 2]).tolist()
        [2.0, 4.0]
    """
    a = tnp.asarray(arr)
    if axis is None:
        a, axis = tnp.ravel(a), 0
    axis = canon_axis(axis, a.ndim, "delete")
    n = a.shape[axis]
    lead = (slice(None),) * axis
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        i = canon_axis(int(obj), n, "delete")
        return tnp.concatenate([a[lead + (slice(0, i),)], a[lead + (slice(i + 1, None),)]], axis=axis)
    if isinstance(obj, slice):
        obj = np.arange(n)[obj]
    elif assume_unique_indices and isinstance(obj, jax.core.Tracer):
        # Under jit with unique indices (jax's formula): the kept positions are computed, not masked.
        o = jnp.sort(jnp.clip(jnp.where(obj < 0, obj + n, obj), 0, n).ravel())
        o = o - jnp.arange(o.shape[0], dtype=o.dtype)
        i = jnp.arange(n - o.shape[0], dtype=o.dtype)
        i = i + (i[None, :] >= o[:, None]).sum(0, dtype=i.dtype)
        return a[lead + (i,)]
    idx = _index_values(obj, "delete")
    if np.issubdtype(idx.dtype, np.integer):
        mask = np.ones(n, dtype=bool)
        mask[idx] = False
    elif idx.dtype == np.bool_:
        if idx.shape != (n,):
            raise ValueError(f"tnp.delete: a boolean obj must have shape ({n},), got {idx.shape}")
        mask = ~idx
    else:
        raise ValueError(f"tnp.delete: obj must be integers or booleans, got dtype {idx.dtype}")
    return a[lead + (np.nonzero(mask)[0],)]


def insert(arr, obj, values, axis: int | None = None):
    """``values`` inserted into ``arr`` before the positions ``obj`` along ``axis`` (flattened if None).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.insert(tnp.array([1.0, 2.0, 3.0]), 1, 9.0).tolist()
        [1.0, 9.0, 2.0, 3.0]
    """
    from tapegrad.rules.indexing import IndexUpdateHelper

    a = tnp.asarray(arr)
    if axis is None:
        a, axis = tnp.ravel(a), 0
    axis = canon_axis(axis, a.ndim, "insert")
    n = a.shape[axis]
    if isinstance(obj, slice):
        indices = jnp.arange(*obj.indices(n))
    else:
        if type(obj) is Tracer:
            raise TypeError("tnp.insert: obj must be integers, not a differentiable tracer")
        indices = jnp.asarray(obj)
    if indices.ndim > 1:
        raise ValueError(f"tnp.insert: obj must be a slice, a 1-D array or a scalar, got shape {indices.shape}")
    if not jnp.issubdtype(indices.dtype, jnp.integer):
        if indices.size == 0:
            indices = indices.astype(int)
        else:
            raise ValueError(f"tnp.insert: obj must be integers, got dtype {indices.dtype}")
    vals = tnp.astype(tnp.asarray(values), tnp.result_type(a))
    vals = _atleast_nd(vals, a.ndim)
    if indices.size == 1:
        index = indices.ravel()[0]
        if indices.ndim == 0:
            vals = tnp.moveaxis(vals, 0, axis)
        indices = jnp.full(vals.shape[axis], index)
    n_insert = np.broadcast_shapes(indices.shape, (vals.shape[axis],))[0]
    out_shape = list(a.shape)
    out_shape[axis] += n_insert
    # jax.numpy's construction: the inserted values' final positions, then the kept ones'.
    indices = jnp.clip(jnp.where(indices < 0, indices + n, indices), 0, n)
    values_ind = indices.at[jnp.argsort(indices)].add(jnp.arange(n_insert, dtype=indices.dtype))
    arr_mask = jnp.ones(n + n_insert, dtype=bool).at[values_ind].set(False)
    arr_ind = jnp.nonzero(arr_mask, size=n)[0]
    lead = (slice(None),) * axis
    vals = tnp.broadcast_to(vals, tuple(out_shape[:axis]) + (n_insert,) + tuple(out_shape[axis + 1:]))
    out = IndexUpdateHelper(tnp.zeros(tuple(out_shape), tnp.result_type(a)))[lead + (values_ind,)].set(vals)
    return IndexUpdateHelper(out)[lead + (arr_ind,)].set(a)


def trim_zeros(filt, trim: str = "fb", axis=None):
    """``filt`` without its leading (``'f'``) and/or trailing (``'b'``) zeros along ``axis`` (all axes
    when None). The values must be concrete (the output shape depends on them), as in jax.numpy.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.trim_zeros(tnp.array([0.0, 1.0, 2.0, 0.0])).tolist()
        [1.0, 2.0]
    """
    filt = tnp.asarray(filt)
    raw = filt.primal() if type(filt) is Tracer else filt
    if isinstance(raw, jax.core.Tracer):
        raise TypeError("tnp.trim_zeros: the values must be concrete (the output shape depends on them); "
                        "it cannot run under jax.jit")
    raw = np.asarray(raw)
    axes = set(canon_axes(tuple(range(raw.ndim)) if axis is None else axis, raw.ndim, "trim_zeros"))
    t = trim.lower()
    if not axes or ("f" not in t and "b" not in t):
        return filt
    slices = []
    for ax in range(raw.ndim):
        if ax not in axes:
            slices.append(slice(None))
            continue
        mask = raw.any(axis=tuple(i for i in range(raw.ndim) if i != ax))
        if not mask.any():
            slices.append(slice(0, 0))
            continue
        start = int(mask.argmax()) if "f" in t else None
        stop = raw.shape[ax] - int(mask[::-1].argmax()) if "b" in t else None
        slices.append(slice(start, stop))
    return filt[tuple(slices)]


def _tile_to_size(v, size):
    reps = -(-size // v.shape[0])
    return tnp.tile(v, reps)[:size] if reps > 1 or v.shape[0] != size else v


def fill_diagonal(a, val, wrap: bool = False, *, inplace: bool = True):
    """``a`` with its main diagonal (``a[i, i, ...]``) set to ``val`` (cycled when shorter).

    As jax.numpy: arrays are immutable, so ``inplace=False`` is required; ``wrap`` is not supported.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fill_diagonal(tnp.zeros((2, 2)), 5.0, inplace=False).tolist()
        [[5.0, 0.0], [0.0, 5.0]]
    """
    from tapegrad.rules.indexing import IndexUpdateHelper

    if inplace:
        raise NotImplementedError("tnp.fill_diagonal: arrays are immutable, pass inplace=False")
    if wrap:
        raise NotImplementedError("tnp.fill_diagonal: wrap=True is not supported (as in jax.numpy)")
    a, val = tnp.asarray(a), tnp.asarray(val)
    if a.ndim < 2:
        raise ValueError(f"tnp.fill_diagonal: needs an array of at least 2 dimensions, got shape {tuple(a.shape)}")
    if a.ndim > 2 and len(set(a.shape)) != 1:
        raise ValueError(f"tnp.fill_diagonal: all dimensions must have the same length, got shape "
                         f"{tuple(a.shape)}")
    n = min(a.shape)
    idx = (jnp.arange(n),) * a.ndim
    v = val if val.ndim == 0 else _tile_to_size(tnp.ravel(val), n)
    return IndexUpdateHelper(a)[idx].set(tnp.astype(v, tnp.result_type(a)))
