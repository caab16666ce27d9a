"""Selection and placement with jax.numpy signatures: ``choose``, ``compress``, ``extract``, ``place``,
``put``, ``put_along_axis``, ``partition``, ``sort_complex``.

Compositions: the positions are integer (or boolean) arrays computed with jax.numpy on values that
carry no gradient; the data moves through tapegrad's gather/scatter primitives (``getitem``,
``.at[].set``, ``sort``), whose rules route each cotangent to the element that was read or written.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axis
from tapegrad.core.tracer import Tracer
from tapegrad.rules.indexing import IndexUpdateHelper


def _plain(x, op: str, what: str):
    """``x`` as an array that carries no gradient (indices, masks): NumPy when it is known, so that under
    jax.jit it stays a constant (a shape may depend on it); a JAX tracer when it is traced."""
    if type(x) is Tracer:
        if jnp.issubdtype(x.dtype, jnp.inexact):
            raise TypeError(f"tnp.{op}: {what} must be integers or booleans, got a differentiable {x.dtype} tracer")
        x = x.primal()
    return x if isinstance(x, jax.core.Tracer) else np.asarray(x)


def _concrete(x, op: str, why: str) -> np.ndarray:
    if isinstance(x, jax.core.Tracer):
        raise TypeError(f"tnp.{op}: {why} must be concrete (known outside jax.jit); pass size= to trace it")
    return np.asarray(x)


def choose(a, choices, out=None, mode: str = "raise"):
    """Per element, ``choices[a[i]][i]``: ``a`` holds integer indices into the list ``choices``.

    ``mode`` handles out-of-range indices: ``'raise'`` (needs concrete ``a``), ``'wrap'`` or ``'clip'``.
    The gradient goes to the chosen entries.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.choose(tnp.array([0, 1, 0]), [tnp.zeros(3), tnp.ones(3)]).tolist()
        [0.0, 1.0, 0.0]
    """
    if out is not None:
        raise NotImplementedError("tnp.choose: the 'out' argument is not supported (arrays are immutable)")
    idx = _plain(a, "choose", "a")
    if not jnp.issubdtype(idx.dtype, jnp.integer):
        raise ValueError(f"tnp.choose: a must be integers, got dtype {idx.dtype}")
    choices = list(choices)
    n = len(choices)
    if mode == "raise":
        raw = _concrete(idx, "choose", "a with mode='raise'")
        if np.any((raw < 0) | (raw >= n)):
            raise ValueError(f"tnp.choose: invalid entry in a for {n} choices")
    elif mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = jnp.clip(idx, 0, n - 1)
    else:
        raise ValueError(f"tnp.choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    shape = tuple(np.broadcast_shapes(tuple(idx.shape), *(tuple(tnp.shape(c)) for c in choices)))
    stacked = tnp.stack([tnp.broadcast_to(c, shape) for c in choices])
    sel = jnp.broadcast_to(idx, shape)[None]
    return tnp.take_along_axis(stacked, sel, axis=0)[0]


def compress(condition, a, axis: int | None = None, *, size: int | None = None, fill_value=0, out=None):
    """The slices of ``a`` along ``axis`` (flattened when None) where the 1-D ``condition`` is true.

    Without ``size`` the condition must be concrete (the output shape depends on it); with ``size``
    the first ``size`` selected slices are kept, padded with ``fill_value``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.compress([True, False, True], tnp.array([1.0, 2.0, 3.0])).tolist()
        [1.0, 3.0]
    """
    if out is not None:
        raise NotImplementedError("tnp.compress: the 'out' argument is not supported (arrays are immutable)")
    cond = _plain(condition, "compress", "condition").astype(bool)
    if cond.ndim != 1:
        raise ValueError(f"tnp.compress: condition must be 1-D, got shape {cond.shape}")
    arr = tnp.asarray(a)
    if axis is None:
        arr, axis = tnp.ravel(arr), 0
    else:
        axis = canon_axis(axis, arr.ndim, "compress")
        arr = tnp.moveaxis(arr, axis, 0)
    cond, extra = cond[:arr.shape[0]], cond[arr.shape[0]:]
    arr = arr[:cond.shape[0]]
    if size is None:
        c = _concrete(cond, "compress", "condition")
        if np.any(_concrete(extra, "compress", "condition")):
            raise ValueError(f"tnp.compress: condition has true entries beyond the axis of size {arr.shape[0]}")
        result = arr[np.nonzero(c)[0]]
    else:
        size = int(size)
        if not 0 <= size <= arr.shape[0]:
            raise ValueError(f"tnp.compress: size must be in [0, {arr.shape[0]}], got {size}")
        mask = jnp.expand_dims(cond, tuple(range(1, arr.ndim)))
        arr = tnp.where(mask, arr, tnp.astype(tnp.asarray(fill_value), tnp.result_type(arr)))
        result = arr[jnp.argsort(cond, stable=True, descending=True)[:size]]
    return tnp.moveaxis(result, 0, axis)


def extract(condition, arr, *, size: int | None = None, fill_value=0):
    """The elements of ``arr`` where ``condition`` is true, flattened (``compress`` of the raveled arrays).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x = tnp.array([[1.0, -2.0], [3.0, -4.0]])
        >>> tnp.extract(x > 0, x).tolist()
        [1.0, 3.0]
    """
    cond = _plain(condition, "extract", "condition")
    return compress(cond.ravel(), tnp.ravel(arr), size=size, fill_value=fill_value)


def place(arr, mask, vals, *, inplace: bool = True):
    """``arr`` with the entries where ``mask`` is true replaced by ``vals`` in order (cycled).

    As jax.numpy: arrays are immutable, so ``inplace=False`` is required.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x = tnp.array([1.0, -2.0, 3.0, -4.0])
        >>> tnp.place(x, x < 0, tnp.array([0.0]), inplace=False).tolist()
        [1.0, 0.0, 3.0, 0.0]
    """
    if inplace:
        raise ValueError("tnp.place: arrays are immutable, pass inplace=False to get the updated array")
    data = tnp.asarray(arr)
    m = _plain(mask, "place", "mask")
    v = tnp.ravel(vals)
    if data.size != m.size:
        raise ValueError(f"tnp.place: arr and mask must have the same size, got {tuple(data.shape)} and {m.shape}")
    if v.shape[0] == 0:
        raise ValueError("tnp.place: cannot place values from an empty array")
    if data.size == 0:
        return data
    idx = jnp.nonzero(m.ravel(), size=m.size, fill_value=m.size)[0]
    reps = -(-m.size // v.shape[0])
    v = tnp.tile(v, reps)[:m.size] if reps > 1 or v.shape[0] != m.size else v
    flat = IndexUpdateHelper(tnp.ravel(data))[idx].set(tnp.astype(v, tnp.result_type(data)), mode="drop")
    return tnp.reshape(flat, tuple(data.shape))


def put(a, ind, v, mode: str | None = None, *, inplace: bool = True):
    """``a`` with the flat positions ``ind`` set to ``v`` (cycled); ``mode`` None drops out-of-range
    positions, ``'clip'`` clamps them, ``'wrap'`` wraps them. ``inplace=False`` is required.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.put(tnp.zeros((2, 2)), [0, 3], tnp.array([1.0, 2.0]), inplace=False).tolist()
        [[1.0, 0.0], [0.0, 2.0]]
    """
    if inplace:
        raise ValueError("tnp.put: arrays are immutable, pass inplace=False to get the updated array")
    arr = tnp.asarray(a)
    idx = _plain(ind, "put", "ind").ravel()
    vals = tnp.ravel(v)
    if arr.size == 0 or idx.size == 0 or vals.shape[0] == 0:
        return arr
    reps = -(-idx.size // vals.shape[0])
    vals = tnp.tile(vals, reps)[:idx.size] if reps > 1 or vals.shape[0] != idx.size else vals
    if mode is None:
        scatter = "drop"
    elif mode == "clip":
        idx, scatter = jnp.clip(idx, 0, arr.size - 1), "promise_in_bounds"
    elif mode == "wrap":
        idx, scatter = idx % arr.size, "promise_in_bounds"
    elif mode == "raise":
        raise NotImplementedError("tnp.put: the 'raise' mode is not supported (as in jax.numpy)")
    else:
        raise ValueError(f"tnp.put: mode must be None, 'clip' or 'wrap', got {mode!r}")
    pos = jnp.unravel_index(idx, tuple(arr.shape))
    return IndexUpdateHelper(arr)[pos].set(tnp.astype(vals, tnp.result_type(arr)), mode=scatter)


def put_along_axis(arr, indices, values, axis: int | None, inplace: bool = True, *, mode: str | None = None):
    """``arr`` with ``values`` written at ``indices`` matched along ``axis`` (the inverse of
    ``take_along_axis``). ``inplace=False`` is required.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x = tnp.zeros((2, 3))
        >>> tnp.put_along_axis(x, tnp.array([[2], [0]]), 1.0, axis=1, inplace=False).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    if inplace:
        raise ValueError("tnp.put_along_axis: arrays are immutable, pass inplace=False to get the updated array")
    a = tnp.asarray(arr)
    idx = _plain(indices, "put_along_axis", "indices")
    shape = tuple(a.shape)
    if axis is None:
        a, axis = tnp.ravel(a), 0
    if a.ndim != idx.ndim:
        raise ValueError(f"tnp.put_along_axis: arr and indices must have the same number of dimensions, got "
                         f"{tuple(a.shape)} and {idx.shape}")
    axis = canon_axis(axis, a.ndim, "put_along_axis")
    vals = tnp.broadcast_to(tnp.astype(tnp.asarray(values), tnp.result_type(a)), tuple(idx.shape))
    pos = tuple(idx if j == axis else jnp.arange(n).reshape((1,) * j + (n,) + (1,) * (a.ndim - j - 1))
                for j, n in enumerate(a.shape))
    out = IndexUpdateHelper(a)[pos].set(vals, mode=mode)
    return tnp.reshape(out, shape) if tuple(out.shape) != shape else out


def partition(a, kth: int, axis: int = -1):
    """``a`` partially sorted along ``axis``: the ``kth`` smallest element at position ``kth``, the
    smaller ones before it (ascending), the larger ones after it (descending, as jax's top_k).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.partition(tnp.array([3.0, 1.0, 4.0, 1.5, 2.0]), 2).tolist()
        [1.0, 1.5, 2.0, 4.0, 3.0]
    """
    a = tnp.asarray(a)
    if jnp.issubdtype(a.dtype, jnp.complexfloating):
        raise NotImplementedError("tnp.partition: complex input is not supported (as in jax.numpy)")
    axis = canon_axis(axis, a.ndim, "partition")
    kth = canon_axis(kth, a.shape[axis], "partition")
    s = tnp.moveaxis(tnp.sort(a, axis=axis), axis, -1)
    out = tnp.concatenate([s[..., :kth + 1], tnp.flip(s[..., kth + 1:], -1)], axis=-1)
    return tnp.moveaxis(out, -1, axis)


def sort_complex(a):
    """``a`` sorted along its last axis (complex values by real part, then imaginary), as complex.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.sort_complex(tnp.array([2.0, 1.0])).tolist()
        [(1+0j), (2+0j)]
    """
    a = tnp.sort(a, axis=-1)
    dt = tnp.result_type(a)
    if not jnp.issubdtype(dt, jnp.complexfloating):
        dt = jnp.result_type(dt, jnp.complex64)
    return tnp.astype(a, dt)
