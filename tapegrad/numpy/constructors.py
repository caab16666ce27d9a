"""Array constructors and shape queries. Constructors make constants (plain JAX arrays).

Foreign memory. A NumPy array, a torch tensor or any other buffer that becomes a tapegrad array is
copied first (:func:`owned_array`): JAX may adopt a host buffer without copying it (on CPU,
``jax.device_put`` and ``jnp.asarray(x, dtype=...)`` do whenever the buffer is 64-byte aligned), and
a later in-place change to the source would then change an "immutable" array.
"""
from __future__ import annotations

import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tapegrad.core.tracer import Tracer

# XLA:CPU adopts a host buffer aligned to 64 bytes instead of copying it; an aligned private copy
# is therefore the only copy made on CPU.
_ALIGN = 64


def _torch_to_numpy(t: Any) -> np.ndarray:
    """A NumPy view (or, for a GPU tensor, a copy) of a torch tensor, without its autograd graph."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    t = t.resolve_conj().resolve_neg()
    try:
        return t.numpy()
    except TypeError:
        # NumPy has no bfloat16/float8: reinterpret the bits as the ml_dtypes type of that name.
        import ml_dtypes
        import torch

        target = getattr(ml_dtypes, str(t.dtype).removeprefix("torch."), None)
        ints = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}.get(t.element_size())
        if target is None or ints is None:
            raise
        return t.view(ints).numpy().view(target)


def _is_torch(a: Any) -> bool:
    return type(a).__module__.partition(".")[0] == "torch" and hasattr(a, "detach") and "torch" in sys.modules


def is_foreign(a: Any) -> bool:
    """Whether ``a`` is mutable memory that a JAX array built from it could share.

    NumPy arrays (and subclasses such as ``np.memmap``), torch tensors, and anything else exposing
    ``__array__`` or the buffer protocol. JAX arrays, tracers, NumPy scalars and Python numbers and
    lists are not: they are immutable or are converted element by element.
    """
    if isinstance(a, (jax.Array, Tracer, np.generic, int, float, complex, bool, list, tuple, str, bytes)) \
            or a is None:
        return False
    if isinstance(a, (np.ndarray, memoryview, bytearray)) or _is_torch(a) or hasattr(a, "__array__"):
        return True
    try:
        memoryview(a)
    except TypeError:
        return False
    return True


def foreign_numpy(a: Any) -> np.ndarray:
    """``a`` as a NumPy array, which may still share ``a``'s memory (torch tensors are detached)."""
    return _torch_to_numpy(a) if _is_torch(a) else np.asarray(a)


def host_copy(a: Any, dtype: Any = None) -> np.ndarray:
    """A new C-contiguous NumPy array with the values of ``a`` (cast to ``dtype``), in memory nothing else
    refers to, 64-byte aligned so that ``jax.device_put`` on CPU adopts it instead of copying it again.

    Example:
        >>> src = np.ones(3, np.float32)
        >>> c = host_copy(src); src[0] = 7
        >>> c.tolist(), np.shares_memory(c, src)
        ([1.0, 1.0, 1.0], False)
    """
    src = foreign_numpy(a)
    dt = src.dtype if dtype is None else np.dtype(dtype)
    if dt.hasobject or dt.itemsize == 0:
        return np.array(src, dtype=dt, copy=True, order="C")
    nbytes = src.size * dt.itemsize
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = -raw.ctypes.data % _ALIGN
    out = raw[start : start + nbytes].view(dt).reshape(src.shape)
    np.copyto(out, src, casting="unsafe")  # astype's casting, which jnp.asarray(x, dtype) applies too
    return out


def _unsupported(dt: np.dtype) -> bool:
    """Dtypes JAX cannot hold: objects, strings, raw and structured voids (ml_dtypes' kind "V" it can)."""
    return dt.hasobject or dt.kind in "SU" or dt.type is np.void


def owned_host_array(a: Any, dtype: Any = None) -> np.ndarray:
    """:func:`host_copy` of ``a`` in the dtype JAX gives it (``dtype`` or ``a``'s, canonicalized:
    float64 becomes float32 without ``jax_enable_x64``), ready for ``jax.device_put``.

    Arrays JAX cannot hold (objects, strings) come back as they are, for JAX to reject.

    Example:
        >>> owned_host_array(np.arange(3, dtype=np.int8)).dtype
        dtype('int8')
    """
    src = foreign_numpy(a)
    if _unsupported(src.dtype):
        return src
    return host_copy(src, jax.dtypes.canonicalize_dtype(src.dtype if dtype is None else dtype))


def owned_array(a: Any, dtype: Any = None, device: Any = None) -> jax.Array:
    """A JAX array with the values of foreign memory ``a`` that never changes when ``a`` does.

    One copy: ``a`` is copied (and cast to ``dtype``, canonicalized as JAX does) into a private
    aligned host buffer, which ``jax.device_put`` adopts on CPU or transfers to ``device``
    (a device or sharding) otherwise.

    Example:
        >>> src = np.zeros(2, np.float32)
        >>> x = owned_array(src); src += 1
        >>> x.tolist()
        [0.0, 0.0]
    """
    src = foreign_numpy(a)
    if _unsupported(src.dtype):
        return jnp.asarray(src, dtype=dtype)  # JAX's own error for arrays it cannot hold
    return jax.device_put(owned_host_array(src, dtype), device)


def asarray(a: Any, dtype: Any = None) -> Any:
    """``a`` as an array; a tracer stays a tracer (its gradient is kept).

    NumPy arrays, torch tensors and other foreign buffers are copied (:func:`owned_array`), so a
    later change to them never shows in the result.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.asarray([1.0, 2.0]).shape
        (2,)
    """
    if type(a) is Tracer:
        return a if dtype is None else a.astype(dtype)
    if isinstance(a, (list, tuple)) and any(type(v) is Tracer for v in _leaves(a)):
        from tapegrad.numpy import stack

        out = stack([asarray(v) for v in a])
        return out if dtype is None else out.astype(dtype)
    if is_foreign(a):
        return owned_array(a, dtype)
    return jnp.asarray(a, dtype=dtype)


def _leaves(seq: Any) -> list[Any]:
    out: list[Any] = []
    stack = [seq]
    while stack:
        s = stack.pop()
        if isinstance(s, (list, tuple)):
            stack.extend(s)
        else:
            out.append(s)
    return out


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


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (a constant)."""
    return jnp.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    """An identity-like matrix (a constant)."""
    return jnp.eye(N, M, k, dtype=dtype)


def _shape_of(a: Any) -> tuple[int, ...]:
    """The shape of ``a`` (an array, tracer or number)."""
    return tuple(a.shape) if hasattr(a, "shape") else np.shape(a)


shape = _shape_of


def ndim(a: Any) -> int:
    """The number of dimensions of ``a``."""
    return len(_shape_of(a))


def size(a: Any) -> int:
    """The number of elements of ``a``."""
    return int(np.prod(_shape_of(a), dtype=np.int64))


def _raw(a: Any) -> Any:
    """The array under any levels of tracers (it keeps JAX's weak type, which ``.dtype`` drops)."""
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
