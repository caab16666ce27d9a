"""The NaN/Inf checking switch, read on the hot path.

A module-level counter, not a thread-local: when no ``debug_nans`` block is
open anywhere, ``bind`` and the sweep pay one attribute read and nothing else.
"""
from __future__ import annotations

from typing import Any

active = 0  # number of open debug_nans() blocks, across threads


def nan_checks_enabled() -> bool:
    return active > 0


def check_forward(prim: Any, args: tuple, out: Any) -> None:
    from tapegrad.core.source import user_frame
    from tapegrad.debugging import check_value

    check_value(prim, user_frame(3), out, "forward", args)


def check_backward(prim: Any, entry: Any, ct: Any) -> None:
    from tapegrad.debugging import check_value

    check_value(prim, entry.where, ct, "backward", entry.args)
