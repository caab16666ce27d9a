"""``tg.debug_nans()``: stop at the first primitive that makes a NaN or an Inf.

Like ``jax_debug_nans`` and PyTorch's ``detect_anomaly``, but it also watches
the backward sweep and names the user's source line that recorded the
primitive.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

from tapegrad.core import debug
from tapegrad.core.source import format_where_long
from tapegrad.core.tracer import Aval


def _concrete(x: Any) -> Any | None:
    """The value as a NumPy array, or None where it cannot be seen (abstract under jit)."""
    while hasattr(x, "primal") and type(x).__name__ == "Tracer":
        x = x.primal()
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x)
    except Exception:
        return None


def _stats(x: Any) -> str:
    if isinstance(x, Aval):
        return f"{np.dtype(x.dtype).name}{list(x.shape)} (values not kept by this rule)"
    a = _concrete(x)
    if a is None:
        return "abstract"
    if a.dtype.kind not in "fc" or a.size == 0:
        return f"{a.dtype.name}{list(a.shape)}"
    finite = a[np.isfinite(a)]
    rng = (f"min {finite.min():.4g}, max {finite.max():.4g}, mean {finite.mean():.4g}" if finite.size
           else "no finite values")
    return (f"{a.dtype.name}{list(a.shape)} ({rng}, {int(np.isnan(a).sum())} NaN, "
            f"{int(np.isinf(a).sum())} Inf)")


def check_value(prim: Any, where: tuple, value: Any, phase: str, inputs: tuple) -> None:
    """Raise FloatingPointError if ``value`` holds a NaN or Inf."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        a = _concrete(v)
        if a is None or a.dtype.kind not in "fc" or np.all(np.isfinite(a)):
            continue
        described = "; ".join(f"arg{i}: {_stats(x)}" for i, x in enumerate(inputs) if hasattr(x, "shape"))
        what = "output" if phase == "forward" else "cotangent"
        raise FloatingPointError(
            f"debug_nans: primitive '{prim.name}' produced a NaN/Inf {what} in the {phase} pass "
            f"({_stats(v)}), recorded at {format_where_long(where)}. Its inputs: {described or 'none'}")


@contextlib.contextmanager
def debug_nans() -> Iterator[None]:
    """Raise ``FloatingPointError`` at the first primitive whose forward output or backward
    cotangent holds a NaN or Inf, naming the primitive, the pass, the user's source
    line and summary statistics of its inputs.

    Off by default and free when off. Under ``jax.jit`` values are abstract and
    cannot be checked; there, use JAX's ``jax.config.update("jax_debug_nans", True)``.
    The switch is process-wide while any block is open.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> with tg.debug_nans():
        ...     tg.grad(lambda x: tnp.sqrt(x))(0.0)
        Traceback (most recent call last):
        FloatingPointError: ...
    """
    debug.active += 1
    try:
        yield
    finally:
        debug.active -= 1
