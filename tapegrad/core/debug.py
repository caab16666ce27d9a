"""The NaN/Inf checking switch, read on the hot path.

A module-level counter, not a thread-local: when no ``debug_nans`` block is
open anywhere, ``bind`` and the sweep pay one attribute read and nothing else.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

active = 0  # number of open debug_nans() blocks, across threads


def nan_checks_enabled() -> bool:
    return active > 0


# The checker itself lives above core (``tapegrad.debugging``), which registers it here when it is
# imported: core only knows that a checker may be installed, never which one.
_check_value: Callable[..., None] | None = None


def register_checker(check_value: Callable[..., None]) -> None:
    """Install ``check_value(prim, where, value, direction, args)``, called on every value while ``active``."""
    global _check_value
    _check_value = check_value


def check_forward(prim: Any, args: tuple, out: Any) -> None:
    from tapegrad.core.source import user_frame

    if _check_value is not None:
        _check_value(prim, user_frame(3), out, "forward", args)


def check_backward(prim: Any, entry: Any, ct: Any) -> None:
    if _check_value is not None:
        _check_value(prim, entry.where, ct, "backward", entry.args)
