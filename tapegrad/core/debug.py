"""NaN/Inf checking switch. Off by default; the sweep reads one flag when off."""
from __future__ import annotations

import threading
from typing import Any

_state = threading.local()


def nan_checks_enabled() -> bool:
    return getattr(_state, "depth", 0) > 0


def check_backward(prim: Any, entry: Any, ct: Any) -> None:
    """Raise FloatingPointError if a backward cotangent holds NaN or Inf."""
    from tapegrad.debugging import check_value

    check_value(prim, entry.where, ct, "backward", entry.args)
