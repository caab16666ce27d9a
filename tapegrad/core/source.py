"""Where in the user's code an op was recorded, captured cheaply.

Capturing costs a short walk up the stack; formatting the ``file:line`` string
happens only when something prints it (a tape listing, an error message).
"""
from __future__ import annotations

import os
import sys
from types import CodeType

import jax

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# JAX's own frames sit between the user and us under jit/vmap/scan: skip them too.
_SKIPPED = (_PACKAGE_DIR, os.path.dirname(os.path.abspath(jax.__file__)) + os.sep)
# code object -> is it tapegrad's own code? Cached: a dict lookup per frame.
_internal: dict[CodeType, bool] = {}

Where = tuple  # (CodeType, lineno) or () when unknown


def user_frame(depth: int = 1) -> Where:
    """The first stack frame outside the tapegrad package, as (code, lineno)."""
    f = sys._getframe(depth)
    while f is not None:
        code = f.f_code
        internal = _internal.get(code)
        if internal is None:
            internal = _internal[code] = code.co_filename.startswith(_SKIPPED)
        if not internal:
            return (code, f.f_lineno)
        f = f.f_back
    return ()


def format_where(where: Where) -> str:
    """``file.py:12`` for a captured frame ('' when unknown)."""
    if not where:
        return ""
    code, lineno = where
    return f"{os.path.basename(code.co_filename)}:{lineno}"


def format_where_long(where: Where) -> str:
    """``/path/to/file.py:12 in fun`` for error messages."""
    if not where:
        return "<unknown>"
    code, lineno = where
    return f"{code.co_filename}:{lineno} in {code.co_name}"
