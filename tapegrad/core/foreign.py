"""Foreign memory becomes tapegrad's own: a synchronous, aligned copy, never a shared buffer.

A NumPy array, a torch tensor or any other buffer that becomes a tapegrad array is copied first
(:func:`owned_array`): JAX may adopt a host buffer without copying it (on CPU, ``jax.device_put``
and ``jnp.asarray(x, dtype=...)`` do whenever the buffer is 64-byte aligned), and even
``jnp.asarray(x)``'s copy runs later, on JAX's worker thread, so it may read ``x`` after the call
has returned. A later in-place change to the source would then change an "immutable" array.
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


def as_jax(a: Any, dtype: Any = None) -> Any:
    """``jnp.asarray(a, dtype)``, except that foreign memory is copied first (:func:`owned_array`), and a
    list or tuple is NumPy's array-like (:func:`set_sequence_converter`): one holding tracers stays a tracer.

    Example:
        >>> src = np.zeros(2, np.float32)
        >>> x = as_jax(src); src += 1
        >>> x.tolist()
        [0.0, 0.0]
    """
    if _sequence_converter is not None and type(a) in SEQUENCES:
        return _sequence_converter(a, dtype)
    return owned_array(a, dtype) if is_foreign(a) else jnp.asarray(a, dtype=dtype)


# NumPy's array-likes: nested lists and tuples, possibly holding tracers. Turning those into one array
# takes differentiable ops (a stack), which core does not know: tapegrad.numpy registers the converter,
# ``converter(seq, dtype)``. jax.numpy refuses lists; tapegrad's users come from NumPy.
SEQUENCES = (list, tuple)
_sequence_converter: Any = None


def set_sequence_converter(fn: Any) -> None:
    """Install how a (nested) list or tuple becomes an array; :func:`as_jax` and every primitive use it."""
    global _sequence_converter
    _sequence_converter = fn
