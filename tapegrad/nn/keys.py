"""``as_key``: a ``jax.random`` key from an int seed or a key, for the functions and the modules alike.

It sits below both (``attention``'s dropout takes ``dropout_key=`` as the modules take ``key=``), so a
function module needs no import of :mod:`tapegrad.nn.module`; ``nn.as_key`` is the public name.
"""
from __future__ import annotations

from typing import Any

import jax
import numpy as np

from tapegrad.core.tracer import Tracer


def as_key(key: Any) -> jax.Array:
    """A ``jax.random`` key from an int seed or a key (typed or raw ``uint32``).

    Example:
        >>> as_key(0).dtype
        key<fry>
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    dtype = getattr(key, "dtype", None)
    if dtype is not None and not isinstance(key, Tracer):
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key) or np.dtype(dtype) == np.uint32:
            return key
        if np.issubdtype(np.dtype(dtype), np.integer) and np.shape(key) == ():
            return jax.random.key(key)  # an integer seed array, e.g. traced by jax.jit(model.init)
    raise TypeError(f"expected an int seed or a jax.random key (jax.random.key(seed)), got "
                    f"{type(key).__name__} {key!r:.60}")


__all__ = ["as_key"]
