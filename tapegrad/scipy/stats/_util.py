"""What every distribution module shares: jax's argument promotion, done on tapegrad values.

jax.scipy.stats starts each function with ``promote_args_inexact``: the arguments
take one inexact dtype (Python scalars are weak, so ``loc=0`` keeps a float32 ``x``
float32; integers and booleans become floats) and complex input is refused. Here the
same, without ever turning a tracer into a JAX array.
"""
from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer

Array = Any
ArrayLike = Any


@functools.cache
def _to_inexact(dtype: Any, x64: bool) -> Any:
    # jnp.exp promotes exactly as jax.scipy.stats does (int8 -> float32 and so on); x64 is in the key.
    del x64
    return jax.eval_shape(jnp.exp, jax.ShapeDtypeStruct((), dtype)).dtype


def as_array(a: Any) -> Any:
    """Tracers and Python scalars as they are; NumPy arrays, lists and tuples as JAX arrays."""
    if type(a) is Tracer or isinstance(a, (int, float, bool)):
        return a
    if isinstance(a, (np.ndarray, list, tuple, np.generic)) or not hasattr(a, "dtype"):
        return jnp.asarray(a)
    return a


def inexact_dtype(who: str, *args: Any) -> Any:
    """The one inexact dtype jax.scipy.stats' ``who`` computes in for ``args``."""
    vals = [a.dtype if type(a) is Tracer else a for a in args]
    try:
        dt = jnp.result_type(*vals)
    except TypeError as e:
        raise TypeError(f"tapegrad.scipy.stats.{who}: arguments must be numbers or arrays, got "
                        f"{[type(a).__name__ for a in args]}") from e
    if jnp.issubdtype(dt, jnp.complexfloating):
        raise TypeError(f"tapegrad.scipy.stats.{who}: complex input ({dt}) is not supported; pass real arrays")
    if not jnp.issubdtype(dt, jnp.inexact):
        dt = _to_inexact(jnp.dtype(dt), bool(jax.config.jax_enable_x64))
    return dt


def promote(who: str, *args: Any) -> tuple[Any, ...]:
    """``args`` in one inexact dtype (``promote_args_inexact``); tracers stay tracers.

    Example:
        >>> promote("norm.logpdf", 1, 0, 1.0)[0].dtype == promote("norm.logpdf", 1.0)[0].dtype
        True
    """
    args = tuple(as_array(a) for a in args)
    dt = inexact_dtype(who, *args)
    out = []
    for a in args:
        if type(a) is Tracer:
            out.append(a if a.dtype == dt else tnp.astype(a, dt))
        else:
            out.append(jnp.asarray(a, dt))
    return tuple(out)


def where(cond: Any, x: Any, y: Any) -> Any:
    """``tnp.where``; a named helper so each module reads like jax's source."""
    return tnp.where(cond, x, y)


def clamp(lo: float, x: Any, hi: float) -> Any:
    """``lax.clamp(lo, x, hi)`` with its derivative: ``x``'s gradient passes only strictly inside
    ``(lo, hi)`` (tnp.clip shares it at a tie, as jnp.clip does; jax.scipy.stats uses lax.clamp)."""
    inside = tnp.logical_and(x > lo, x < hi)
    return tnp.where(inside, x, jnp.clip(tnp.where(inside, 0.0, x).primal() if type(x) is Tracer else x, lo, hi))
