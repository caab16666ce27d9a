"""``tg.config``: the library's switches, read and set by name (as ``jax.config``).

* ``"lazy"`` (default off; ``TAPEGRAD_LAZY=1`` turns it on at import): eager transforms record their
  primitives as pending and run each segment of them as one compiled program when a value is read
  (:mod:`tapegrad.accel.lazy`). Off, every primitive runs as it is recorded. It is off by default
  because, measured, it does not yet pay: a training loop whose steps repeat a segment runs about
  2x slower than with the compiled backward sweeps alone (benchmarks/RESULTS.md, "lazy segments").
* ``"accel"`` (default on): compiled VJP rules and whole compiled backward sweeps for the eager path
  that is not lazy (:mod:`tapegrad.accel`).

Neither changes a number beyond float rounding where XLA fuses differently (see
docs/guide/performance.md).

Example:
    >>> import tapegrad as tg
    >>> tg.config.update("lazy", True); tg.config.read("lazy")
    True
    >>> tg.config.update("lazy", False)
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
update("lazy", os.environ.get("TAPEGRAD_LAZY", "0").strip().lower() not in ("0", "false", "no", "off", ""))
