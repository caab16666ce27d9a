"""Backend-specific fast paths, taken only on the backends where they were measured to win.

A fast path is an implementation that gives the general one's numbers and was measured faster on
some platform; elsewhere it may be slower (a GPU runs one ``lax.conv`` faster than a sum of shifted
slices). The choice is made per call, at trace time, from the array's own device when it is a
concrete array and from ``jax.default_backend()`` when it is abstract (under ``jax.jit``).
"""
from __future__ import annotations

from typing import Any

import jax

from tapegrad.accel.key import ARRAY

# path -> the platforms where it was measured faster than the general implementation (CPU, jax 0.10):
MEASURED = {
    # conv with one input channel as a fused sum of kernel-size shifted slices: ~10x lax.conv on CPU
    "single_channel_conv": frozenset({"cpu"}),
    # max pooling as a loop over the window's taps, one strided slice each: 4.4x (3x3/s1) the
    # stacked-window reduction on CPU
    "max_pool_taps": frozenset({"cpu"}),
}


def platform(x: Any) -> str:
    """The platform ``x`` lives on (``'cpu'``, ``'gpu'``, ``'tpu'``), or the default backend's."""
    if type(x) is ARRAY:
        try:
            return next(iter(x.devices())).platform
        except Exception:  # a deleted or donated array: the default is as good a guess as any
            pass
    return jax.default_backend()


def use(path: str, x: Any) -> bool:
    """Whether fast path ``path`` was measured to win on the platform of ``x``."""
    return platform(x) in MEASURED[path]
