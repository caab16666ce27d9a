"""Value-level helpers for tnp's integer, boolean, index and data-dependent-shape functions.

Those functions read their inputs' *values* (not only shapes and dtypes): a tapegrad Tracer gives its
primal value (no gradient flows through an index), and a JAX tracer under ``jax.jit`` has no value at
all, so a function whose output *shape* depends on values must refuse it with an error naming the op
(JAX's ``ConcretizationTypeError``), unless ``size=`` fixes the shape.
"""
from __future__ import annotations

import operator
from typing import Any

import jax
import jax.numpy as jnp

from tapegrad.core.tracer import Tracer


def primal(x: Any) -> Any:
    """The raw value under any levels of tapegrad tracers (a JAX array, a JAX tracer, or ``x``)."""
    return x.primal() if type(x) is Tracer else x


def raw_array(x: Any) -> Any:
    """``x``'s raw value as a JAX array (a tapegrad tracer's primal): for constants that carry no gradient."""
    return x.primal() if type(x) is Tracer else jnp.asarray(x)


def inexact(x: Any) -> Any:
    """``x`` as a tnp array of an inexact dtype: integers and booleans promote with Python's float, as jnp's
    statistics, signal and polynomial functions do. A tracer stays a tracer."""
    import tapegrad.numpy as tnp  # the namespace sits above this module

    x = tnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = tnp.astype(x, jnp.result_type(x.dtype, float))
    return x


def arraylike(x: Any) -> Any:
    """``x`` as an array; lists and tuples (which jax.numpy refuses and NumPy accepts) are stacked.

    A tracer stays a tracer, so a differentiable composition keeps its gradient.
    """
    if type(x) is Tracer or isinstance(x, jax.Array):
        return x
    from tapegrad.numpy.constructors import asarray

    return asarray(x)


def concrete_or_error(x: Any, who: str, why: str) -> Any:
    """``x``'s concrete value; under ``jax.jit`` (no value), JAX's ``ConcretizationTypeError`` naming ``who``.

    ``why`` says what the value decides and how to avoid needing it (usually: pass ``size=``).
    """
    v = primal(x)
    if isinstance(v, jax.core.Tracer):
        raise jax.errors.ConcretizationTypeError(v, f"tnp.{who}: {why}")
    return v


def static_int(n: Any, who: str, what: str) -> int:
    """``n`` as a Python int (a size, a count, an axis): under ``jax.jit`` it must not be traced."""
    v = concrete_or_error(n, who, f"the {what} argument sets an output shape, so it must be a concrete integer")
    try:
        return operator.index(v)
    except TypeError:
        if getattr(v, "shape", None) == () and jax.numpy.issubdtype(getattr(v, "dtype", None), jax.numpy.integer):
            return int(v)
        raise TypeError(f"tnp.{who}: {what} must be an integer, got {v!r}") from None


SIZE_HINT = ("the output's shape depends on the input's values, which a traced value does not have; "
             "pass a static size= (and optionally fill_value=) to fix the output shape")
