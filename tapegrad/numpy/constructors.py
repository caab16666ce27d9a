"""Array constructors and shape queries. Constructors make constants (plain JAX arrays).

NumPy arrays, torch tensors and other foreign buffers are copied (:mod:`tapegrad.core.foreign`).
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tapegrad.core import tracer as tracer_module
from tapegrad.core.foreign import SEQUENCES, is_foreign, owned_array, set_sequence_converter
from tapegrad.core.tracer import Tracer


def asarray(a: Any, dtype: Any = None, order: str | None = None, *, copy: bool | None = None,
            device: Any = None) -> Any:
    """``a`` as an array; a tracer stays a tracer (its gradient is kept).

    Nested lists and tuples holding tracers are stacked with tnp ops, so gradients flow to each
    element (every tnp function takes them: :func:`_from_sequence` is the one place). NumPy arrays,
    torch tensors and other foreign buffers are copied (:func:`owned_array`), so a later change to
    them never shows in the result.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.asarray([1.0, 2.0]).shape
        (2,)
    """
    if order not in (None, "C", "K", "A"):
        raise NotImplementedError(f"tnp.asarray: only C order is supported, got order={order!r}")
    if type(a) is Tracer:
        return a if dtype is None else a.astype(dtype)
    if type(a) in SEQUENCES:
        return _from_sequence(a, dtype)
    if is_foreign(a):
        return owned_array(a, dtype)
    return jnp.asarray(a, dtype=dtype)


def _is_traced(v: Any) -> bool:
    # A tapegrad tracer, or a pending value of the library's rule code (tapegrad.accel.lazy).
    return type(v) is Tracer or (tracer_module._lazy_type is not None and type(v) is tracer_module._lazy_type)


def _holds_tracer(seq: Any) -> bool:
    todo = [seq]
    while todo:
        s = todo.pop()
        for v in s:
            if type(v) in SEQUENCES:
                todo.append(v)
            elif _is_traced(v):
                return True
    return False


def _from_sequence(seq: Any, dtype: Any = None) -> Any:
    """A nested list or tuple as one array: where it holds tracers, a ``tnp.stack`` of its elements
    (so the gradient reaches each one), else ``jnp.asarray``. Primitives get their list arguments
    through here (:func:`tapegrad.core.foreign.set_sequence_converter`)."""
    if not _holds_tracer(seq):
        return jnp.asarray(seq, dtype=dtype)
    from tapegrad.numpy import stack

    parts = [_from_sequence(v) if type(v) in SEQUENCES else asarray(v) for v in seq]
    out = stack(parts)
    return out if dtype is None else out.astype(dtype)


def array(object: Any, dtype: Any = None, copy: bool | None = True) -> Any:
    """A new array from ``object`` (lists of tracers are stacked, keeping gradients).

    Foreign memory (NumPy arrays, torch tensors) is always copied, whatever ``copy`` says, since a
    JAX array sharing it would change with it: ``copy=False`` (NumPy's "never copy") raises for it.

    Example:
        >>> import numpy as np, tapegrad.numpy as tnp
        >>> src = np.ones(2)
        >>> x = tnp.array(src, dtype="float32"); src[:] = 5
        >>> x.tolist()
        [1.0, 1.0]
    """
    if copy is False and is_foreign(object):
        raise ValueError(
            f"tnp.array(copy=False): a {type(object).__name__} cannot become a tapegrad array without a copy "
            "(JAX arrays are immutable, so they never share a mutable buffer); use copy=True or copy=None")
    if copy and isinstance(object, jax.Array):
        return jnp.array(object, dtype=dtype, copy=True)  # a copy still matters to buffer donation
    return asarray(object, dtype=dtype)


def zeros(shape: Any, dtype: Any = None) -> Any:
    """A constant array of zeros."""
    return jnp.zeros(shape, dtype=dtype)


def ones(shape: Any, dtype: Any = None) -> Any:
    """A constant array of ones."""
    return jnp.ones(shape, dtype=dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
    """A constant array filled with ``fill_value``."""
    if type(fill_value) is Tracer:
        from tapegrad.numpy import broadcast_to

        return broadcast_to(fill_value if dtype is None else fill_value.astype(dtype), shape)
    return jnp.full(shape, fill_value, dtype=dtype)


def zeros_like(a: Any, dtype: Any = None, shape: Any = None) -> Any:
    """Zeros with the shape and dtype of ``a`` (a constant: no gradient flows)."""
    return jnp.zeros(_shape_of(a) if shape is None else shape, dtype=dtype or result_type(a))


def ones_like(a: Any, dtype: Any = None, shape: Any = None) -> Any:
    """Ones with the shape and dtype of ``a`` (a constant)."""
    return jnp.ones(_shape_of(a) if shape is None else shape, dtype=dtype or result_type(a))


def full_like(a: Any, fill_value: Any, dtype: Any = None) -> Any:
    """``fill_value`` with the shape and dtype of ``a`` (a constant)."""
    return jnp.full(_shape_of(a), fill_value, dtype=dtype or result_type(a))


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Any:
    """Evenly spaced values in ``[start, stop)`` (a constant)."""
    return jnp.arange(start, stop, step, dtype=dtype)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    """An identity-like matrix (a constant)."""
    return jnp.eye(N, M, k, dtype=dtype)


def _shape_of(a: Any) -> tuple[int, ...]:
    """The shape of ``a`` (an array, tracer, number, or nested list of them)."""
    if hasattr(a, "shape"):
        return tuple(a.shape)
    if type(a) in SEQUENCES and _holds_tracer(a):
        return tuple(_from_sequence(a).shape)
    return np.shape(a)


shape = _shape_of


def ndim(a: Any) -> int:
    """The number of dimensions of ``a``."""
    return len(_shape_of(a))


def size(a: Any) -> int:
    """The number of elements of ``a``."""
    return int(np.prod(_shape_of(a), dtype=np.int64))


def _raw(a: Any) -> Any:
    """The array under any levels of tracers (it keeps JAX's weak type, which ``.dtype`` drops)."""
    if type(a) in SEQUENCES:
        a = _from_sequence(a)
    while type(a) is Tracer:
        a = a.value
    return a


def result_type(*args: Any) -> Any:
    """The dtype jax.numpy would give an operation on ``args``.

    Example:
        >>> import jax.numpy as jnp, tapegrad.numpy as tnp
        >>> tnp.result_type(jnp.ones(2, "float32"), 1.0)   # a Python float is weakly typed
        dtype('float32')
    """
    return jnp.result_type(*[_raw(a) for a in args])


def iscomplexobj(x: Any) -> bool:
    """Whether ``x`` has a complex dtype."""
    return bool(jnp.iscomplexobj(_raw(x)))


set_sequence_converter(_from_sequence)
