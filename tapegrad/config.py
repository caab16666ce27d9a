"""``tg.config``: the library's switches, read and set by name (as ``jax.config``).

* ``"lazy"`` (default on; ``TAPEGRAD_LAZY=0`` turns it off at import): eager transforms record their
  primitives as pending, a gradient whose forward is still pending runs forward and backward as one
  compiled program, any other read runs the pending segment (:mod:`tapegrad.accel.lazy`), and an
  optimizer step on concrete arrays is one compiled call (:mod:`tapegrad.optim.compiled`). Off,
  every primitive runs as it is recorded (benchmarks/RESULTS.md, "Lazy segments", has both).
* ``"accel"`` (default on): compiled VJP rules and whole compiled backward sweeps, for the eager
  sweeps that are not fused with their forward (:mod:`tapegrad.accel`).

Neither changes a number beyond float rounding where XLA fuses differently (see
docs/guide/performance.md).

Example:
    >>> import tapegrad as tg
    >>> tg.config.update("lazy", False); tg.config.read("lazy")
    False
    >>> tg.config.update("lazy", True)
"""
from __future__ import annotations

import os
from typing import Any

from tapegrad import accel
from tapegrad.accel import lazy
from tapegrad.core import primitive

_values: dict[str, bool] = {}


def update(name: str, value: Any) -> None:
    """Set switch ``name`` ("lazy" or "accel") to ``value`` (a bool)."""
    if name not in ("lazy", "accel"):
        raise KeyError(f"tg.config.update: unknown option {name!r}; the options are 'lazy' and 'accel'")
    if not isinstance(value, (bool, int)):
        raise TypeError(f"tg.config.update({name!r}, ...): the value must be a bool, got {type(value).__name__}")
    on = bool(value)
    if name == "lazy":
        lazy.install(on)
        primitive.set_deferral(lazy.defer if on else None, lazy.LazyArray if on else None)
    else:
        accel.enable(on)
    _values[name] = on


def read(name: str) -> bool:
    """The current value of switch ``name``."""
    if name not in _values:
        raise KeyError(f"tg.config.read: unknown option {name!r}; the options are 'lazy' and 'accel'")
    return _values[name]


update("accel", True)
update("lazy", os.environ.get("TAPEGRAD_LAZY", "1").strip().lower() not in ("0", "false", "no", "off", ""))
