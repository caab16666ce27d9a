"""``jax_array.at[idx].set(tracer)``: a constant JAX array updated with a differentiated value.

``tnp.zeros(n).at[i].set(p)`` is the most common way to build an array in JAX code. ``tnp.zeros``
makes a constant, a plain ``jax.Array``, so ``.at`` is JAX's own, and JAX would convert ``p`` (a
tapegrad Tracer) to an array, losing its gradient, which tapegrad refuses. So JAX's update methods
are wrapped once, here: when the values hold a tapegrad Tracer, the update is tapegrad's
(:class:`tapegrad.rules.indexing.IndexUpdateHelper`, a primitive with its VJP rule); otherwise
JAX's method runs unchanged.
"""
from __future__ import annotations

import functools
from typing import Any

from tapegrad.core.tracer import Tracer
from tapegrad.rules.indexing import IndexUpdateHelper

_METHODS = ("set", "add", "multiply", "mul", "subtract", "divide")


def _holds_tracer(seq: Any) -> bool:
    """A (nested) list or tuple with a tapegrad Tracer in it: NumPy's array-like, differentiable."""
    return any(type(v) is Tracer or (type(v) in (list, tuple) and _holds_tracer(v)) for v in seq)


def _routed(name: str, jax_method: Any) -> Any:
    @functools.wraps(jax_method)
    def method(self: Any, values: Any, **kwargs: Any) -> Any:
        if type(values) is Tracer or (type(values) in (list, tuple) and _holds_tracer(values)):
            kwargs.pop("out_sharding", None)
            kwargs.pop("wrap_negative_indices", None)
            return getattr(IndexUpdateHelper(self.array)[self.index], name)(values, **kwargs)
        return jax_method(self, values, **kwargs)

    method._tapegrad_routed = True  # type: ignore[attr-defined]
    return method


def install() -> bool:
    """Wrap JAX's ``.at[]`` update methods once; False where this JAX keeps them elsewhere."""
    try:
        from jax._src.numpy.array_methods import _IndexUpdateRef
    except ImportError:  # another JAX layout: a traced value then raises tapegrad's conversion error
        return False
    for name in _METHODS:
        jax_method = getattr(_IndexUpdateRef, name, None)
        if jax_method is not None and not getattr(jax_method, "_tapegrad_routed", False):
            setattr(_IndexUpdateRef, name, _routed(name, jax_method))
    return True


INSTALLED = install()
