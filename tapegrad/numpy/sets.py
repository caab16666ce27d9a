"""Set operations with jax.numpy signatures: unique and its array-API variants, union, intersection,
differences, membership.

Their values are *elements of the inputs*, so JAX differentiates them: a gradient reaches the input
element each output value was read from (for a repeated value, its first occurrence, as JAX's
stable sorts pick) and, under ``size=``, the ``fill_value`` for the padding. Here each function is a
gather: which elements to read (an index, a mask, counts) is computed on the primal values by a
non-differentiable primitive, and the values are ``tnp.take`` of the (differentiable) input, padded
with ``tnp.where`` exactly as jax.numpy pads, so gradients route as ``jax.grad``'s do.

Without ``size=`` the output shape depends on the input's values, so a traced input (under
``jax.jit``) raises ``ConcretizationTypeError`` naming the op, as in JAX. There JAX also reads the
concrete values of the arrays it passes through ``unique``, which drops their gradient: ``unique``,
``union1d``, and ``intersect1d``/``setxor1d``/``setdiff1d`` without ``assume_unique`` have zero
gradients without ``size=``, in JAX and here alike.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axis
from tapegrad.core.primitive import nondifferentiable
from tapegrad.numpy._values import SIZE_HINT, arraylike, concrete_or_error, primal, static_int

# ---- the index computations (primal values in, integer and boolean arrays out) ---------------------


def _unique_index_impl(x, fill_value, *, axis, equal_nan, size):
    # jnp.unique's own index outputs: the first occurrence of each unique value (padding reads
    # index 0 of the sorted values, the minimum, as JAX's gather does), the inverse, the counts.
    _, index, inverse, counts = jnp.unique(x, return_index=True, return_inverse=True, return_counts=True,
                                           axis=axis, equal_nan=equal_nan, size=size, fill_value=fill_value)
    return index, inverse, counts


def _sized(impl, *static):
    """``impl`` compiled as one program when ``size`` is given (its output shape is then static), eager
    otherwise (the output shape is read from the values). One XLA program instead of dozens of eager ops."""
    jitted = jax.jit(impl, static_argnames=static)

    def run(*args, **params):
        return (impl if params["size"] is None else jitted)(*args, **params)

    return run


_unique_index = nondifferentiable("unique_index", _sized(_unique_index_impl, "axis", "equal_nan", "size"),
                                  multiple_results=True)


def _setdiff_select_impl(u1, a2, *, assume_unique, size):
    """Which elements of ``u1`` (``ar1``'s unique values, padded with its minimum) are not in ``a2``."""
    mask = jnp.isin(u1, a2, invert=True, assume_unique=assume_unique)
    if size is None:
        return jnp.nonzero(mask)[0], jnp.ones(int(mask.sum()), bool)
    if not assume_unique:
        # unique(ar1, size=ar1.size) repeats the minimum as padding: only the first copy counts.
        n_unique = u1.size + 1 - (u1 == u1[0]).sum()
        mask = jnp.where(jnp.arange(u1.size) < n_unique, mask, False)
    return jnp.nonzero(mask, size=size)[0], jnp.arange(size) < mask.sum()


_setdiff_select = nondifferentiable("setdiff1d_select", _sized(_setdiff_select_impl, "assume_unique", "size"),
                                   multiple_results=True)


def _first_unique(a, assume_unique):
    """The first occurrence of each distinct value of 1-D ``a`` (index, and whether it is real, not padding)."""
    n = a.size
    if assume_unique or n == 0:
        return jnp.arange(n), jnp.ones(n, bool)
    _, index, counts = jnp.unique(a, return_index=True, return_counts=True, size=n)
    return index, counts > 0


def _setxor_select_impl(a1, a2, *, assume_unique, size):
    """Indices into ``concatenate([a1, a2])`` of the values in exactly one of them, sorted by value."""
    i1, ok1 = _first_unique(a1, assume_unique)
    i2, ok2 = _first_unique(a2, assume_unique)
    src = jnp.concatenate([i1, a1.size + i2])
    vals = jnp.concatenate([a1, a2])[src]
    ok = jnp.concatenate([ok1, ok2])
    # Stable sort: the real candidates first, by value; padding after them.
    order = jnp.lexsort((vals, ~ok))
    v, s, o = vals[order], src[order], ok[order]
    differ = v[1:] != v[:-1]
    last_ok = o[:-1] & ~o[1:]  # the last real candidate: its successor is padding, not a neighbour
    before = jnp.concatenate([jnp.ones(1, bool), differ])
    after = jnp.concatenate([differ | last_ok, jnp.ones(1, bool)])
    keep = o & before & after
    if size is None:
        return s[jnp.nonzero(keep)[0]], jnp.ones(int(keep.sum()), bool)
    idx = jnp.nonzero(keep, size=size)[0]
    return s[idx] if s.size else jnp.zeros(size, s.dtype), jnp.arange(size) < keep.sum()


_setxor_select = nondifferentiable("setxor1d_select", _sized(_setxor_select_impl, "assume_unique", "size"),
                                   multiple_results=True)

def _intersect_index_impl(a1, a2, *, assume_unique, size):
    """The indices in ``a1`` and ``a2`` of the common values' first occurrences (padded out of bounds)."""
    if a1.size == 0 or a2.size == 0:  # nothing in common (jnp's sized gather fails on an empty input)
        n = 0 if size is None else size
        return jnp.full(n, a1.size, jnp.result_type(int)), jnp.full(n, a2.size, jnp.result_type(int))
    return jnp.intersect1d(a1, a2, assume_unique=assume_unique, return_indices=True, size=size)[1:]


_intersect_index = nondifferentiable("intersect1d_index", _intersect_index_impl, multiple_results=True)

_isin = nondifferentiable("isin", lambda e, t, assume_unique, invert, method: jnp.isin(
    e, t, assume_unique=assume_unique, invert=invert, method=method))


# ---- unique and its variants ---------------------------------------------------------------------


def unique(ar, return_index: bool = False, return_inverse: bool = False, return_counts: bool = False,
           axis: int | None = None, *, equal_nan: bool = True, size: int | None = None, fill_value=None,
           sorted: bool = True):
    """The sorted unique values of ``ar`` (or unique slices along ``axis``), optionally with the index of
    each one's first occurrence, the inverse indices and the counts.

    The values are differentiable: each one's gradient goes to its first occurrence in ``ar``. With
    ``size=``, the output has exactly ``size`` entries (truncated, or padded with ``fill_value``, by
    default the minimum), which makes it usable under ``jax.jit``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> values, counts = tnp.unique(tnp.array([3, 1, 3, 2]), return_counts=True)
        >>> values.tolist(), counts.tolist()
        ([1, 2, 3], [1, 1, 2])
    """
    del sorted  # JAX's values are always sorted
    arr = arraylike(ar)
    if size is None:
        # JAX reads the concrete value here, which also drops the gradient: without size=, the values
        # are constants (jax.grad gives zero), and so they are here.
        arr = concrete_or_error(arr, "unique", SIZE_HINT)
    else:
        size = static_int(size, "unique", "size")
    shape = tuple(arr.shape)
    if axis is None:
        arr, ax = tnp.ravel(arr), 0
    else:
        ax = canon_axis(axis, arr.ndim, "unique")
    if arr.shape[ax] == 0 and size and fill_value is None:
        raise ValueError(f"tnp.unique: an input of shape {shape} has no values to pad the output to size={size} "
                         "with: pass fill_value")
    index, inverse, counts = _unique_index(arr, fill_value, axis=ax, equal_nan=bool(equal_nan), size=size)
    values = _unique_values(arr, ax, index, counts, size, fill_value)
    if return_inverse and axis is None:
        inverse = jnp.reshape(inverse, shape)
    ret = (values,) + ((index,) if return_index else ()) + ((inverse,) if return_inverse else ()) \
        + ((counts,) if return_counts else ())
    return ret[0] if len(ret) == 1 else ret


def _unique_values(arr, ax, index, counts, size, fill_value):
    """``arr``'s unique slices along ``ax``: a gather at the first occurrences, padded as jnp.unique pads."""
    if arr.shape[ax] == 0:
        if not size:
            return arr
        out_shape = tuple(arr.shape[:ax]) + (size,) + tuple(arr.shape[ax + 1:])
        return tnp.full(out_shape, tnp.astype(tnp.asarray(fill_value), arr.dtype))
    values = tnp.take(arr, index, axis=ax)
    if jnp.issubdtype(values.dtype, jnp.complexfloating):
        # jnp.unique replaces a complex nan (any nan part) by nan + 0j before comparing.
        values = tnp.where(tnp.isnan(values), tnp.full_like(values, jnp.nan), values)
    if size is not None and fill_value is not None and values.shape[ax]:
        valid = jnp.reshape(counts > 0, (1,) * ax + (-1,) + (1,) * (values.ndim - ax - 1))
        values = tnp.where(valid, values, tnp.astype(tnp.asarray(fill_value), values.dtype))
    return values


class UniqueAllResult(NamedTuple):
    """``unique_all``'s result (the array API's fields)."""

    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


class UniqueCountsResult(NamedTuple):
    """``unique_counts``'s result."""

    values: Any
    counts: Any


class UniqueInverseResult(NamedTuple):
    """``unique_inverse``'s result."""

    values: Any
    inverse_indices: Any


def unique_all(x, /, *, size: int | None = None, fill_value=None) -> UniqueAllResult:
    """Unique values with first-occurrence indices, inverse indices and counts (nans are all distinct).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> r = tnp.unique_all(tnp.array([2.0, 1.0, 2.0]))
        >>> r.values.tolist(), r.indices.tolist(), r.inverse_indices.tolist(), r.counts.tolist()
        ([1.0, 2.0], [1, 0], [1, 0, 1], [1, 2])
    """
    values, indices, inverse, counts = unique(x, return_index=True, return_inverse=True, return_counts=True,
                                              equal_nan=False, size=size, fill_value=fill_value)
    return UniqueAllResult(values=values, indices=indices, inverse_indices=inverse, counts=counts)


def unique_counts(x, /, *, size: int | None = None, fill_value=None) -> UniqueCountsResult:
    """Unique values and how often each occurs (nans are all distinct).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.unique_counts(tnp.array([2, 1, 2])).counts.tolist()
        [1, 2]
    """
    values, counts = unique(x, return_counts=True, equal_nan=False, size=size, fill_value=fill_value)
    return UniqueCountsResult(values=values, counts=counts)


def unique_inverse(x, /, *, size: int | None = None, fill_value=None) -> UniqueInverseResult:
    """Unique values and, for each element of ``x``, the index of its value among them.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.unique_inverse(tnp.array([2, 1, 2])).inverse_indices.tolist()
        [1, 0, 1]
    """
    values, inverse = unique(x, return_inverse=True, equal_nan=False, size=size, fill_value=fill_value)
    return UniqueInverseResult(values=values, inverse_indices=inverse)


def unique_values(x, /, *, size: int | None = None, fill_value=None):
    """The sorted unique values of ``x`` (nans are all distinct).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.unique_values(tnp.array([2, 1, 2])).tolist()
        [1, 2]
    """
    return unique(x, equal_nan=False, size=size, fill_value=fill_value)


# ---- two-array set operations ---------------------------------------------------------------------


def _promoted_flat(ar1, ar2):
    a1, a2 = arraylike(ar1), arraylike(ar2)
    dtype = tnp.result_type(a1, a2)
    return tnp.astype(tnp.ravel(a1), dtype), tnp.astype(tnp.ravel(a2), dtype)


def _pad_like_jax(vals, valid, fill_value):
    """JAX's padding for intersect1d and setxor1d: ``fill_value``, else the smallest result value."""
    if fill_value is not None:
        return tnp.where(valid, vals, fill_value)
    vals = tnp.where(valid, vals, tnp.max(vals))
    return tnp.where(valid, vals, tnp.min(vals))


def union1d(ar1, ar2, *, size: int | None = None, fill_value=None):
    """The sorted unique values found in either array (flattened); gradients reach each value's first
    occurrence in ``concatenate([ar1, ar2])``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.union1d(tnp.array([3, 1]), tnp.array([2, 3])).tolist()
        [1, 2, 3]
    """
    a1, a2 = arraylike(ar1), arraylike(ar2)
    if size is None:
        concrete_or_error(a1, "union1d", SIZE_HINT)
        concrete_or_error(a2, "union1d", SIZE_HINT)
    return unique(tnp.concatenate([tnp.ravel(a1), tnp.ravel(a2)]), size=size, fill_value=fill_value)


def intersect1d(ar1, ar2, assume_unique: bool = False, return_indices: bool = False, *,
                size: int | None = None, fill_value=None):
    """The sorted unique values found in both arrays (flattened), optionally with the indices of their
    first occurrences in each. Gradients reach ``ar1``'s elements (the values are read from it).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> v, i1, i2 = tnp.intersect1d(tnp.array([4, 1, 3]), tnp.array([3, 4, 5]), return_indices=True)
        >>> v.tolist(), i1.tolist(), i2.tolist()
        ([3, 4], [2, 0], [0, 1])
    """
    a1, a2 = _promoted_flat(ar1, ar2)
    if size is None:
        concrete_or_error(a1, "intersect1d", SIZE_HINT)
        concrete_or_error(a2, "intersect1d", SIZE_HINT)
        if not assume_unique:  # JAX's unique(ar1) reads the concrete value: no gradient, as there
            a1 = primal(a1)
    else:
        size = static_int(size, "intersect1d", "size")
    i1, i2 = _intersect_index(a1, a2, assume_unique=bool(assume_unique), size=size)
    if size is None:
        vals = tnp.take(a1, i1)
    else:
        valid = i1 < a1.size  # the padding's indices are out of bounds
        # The padding's out-of-bounds reads give 0, as JAX's gather in 'fill' mode does.
        vals = tnp.take(a1, i1, mode="fill", fill_value=0) if a1.size else tnp.zeros(size, a1.dtype)
        vals = _pad_like_jax(vals, valid, fill_value)
    return (vals, i1, i2) if return_indices else vals


def setdiff1d(ar1, ar2, assume_unique: bool = False, *, size: int | None = None, fill_value=None):
    """The sorted unique values of ``ar1`` that are not in ``ar2``; gradients reach ``ar1``.

    With ``size=``, padded with ``fill_value`` (0 by default, as jax.numpy).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.setdiff1d(tnp.array([4, 1, 3, 1]), tnp.array([3])).tolist()
        [1, 4]
    """
    a1, a2 = tnp.ravel(arraylike(ar1)), tnp.ravel(arraylike(ar2))
    if size is None:
        concrete_or_error(a1, "setdiff1d", SIZE_HINT)
    else:
        size = static_int(size, "setdiff1d", "size")
    fill = tnp.astype(tnp.asarray(0 if fill_value is None else fill_value), a1.dtype)
    if a1.size == 0:
        return tnp.full((size or 0,), fill)
    if not assume_unique:
        a1 = unique(a1, size=a1.size if size is not None else None)
    idx, valid = _setdiff_select(a1, a2, assume_unique=bool(assume_unique), size=size)
    vals = tnp.take(a1, idx)
    return vals if size is None else tnp.where(valid, vals, fill)


def setxor1d(ar1, ar2, assume_unique: bool = False, *, size: int | None = None, fill_value=None):
    """The sorted values found in exactly one of the arrays (flattened); gradients reach each value's
    first occurrence in the array holding it.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.setxor1d(tnp.array([1, 2, 3]), tnp.array([3, 4])).tolist()
        [1, 2, 4]
    """
    a1, a2 = _promoted_flat(ar1, ar2)
    if size is None:
        concrete_or_error(a1, "setxor1d", SIZE_HINT)
        concrete_or_error(a2, "setxor1d", SIZE_HINT)
        if not assume_unique:  # JAX's unique() calls read the concrete values: no gradient, as there
            a1, a2 = primal(a1), primal(a2)
    else:
        size = static_int(size, "setxor1d", "size")
    src, valid = _setxor_select(a1, a2, assume_unique=bool(assume_unique), size=size)
    both = tnp.concatenate([a1, a2])
    if both.size == 0:
        vals = tnp.zeros(0 if size is None else size, both.dtype)
    else:
        vals = tnp.take(both, src)
    if size is None:
        return vals
    return _pad_like_jax(tnp.where(valid, vals, tnp.zeros_like(vals)), valid, fill_value)


def isin(element, test_elements, assume_unique: bool = False, invert: bool = False, *, method: str = "auto"):
    """Whether each element of ``element`` is in ``test_elements`` (no derivative).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.isin(tnp.array([1, 2, 3]), tnp.array([3, 1])).tolist()
        [True, False, True]
    """
    return _isin(arraylike(element), arraylike(test_elements), assume_unique=bool(assume_unique),
                 invert=bool(invert), method=method)
