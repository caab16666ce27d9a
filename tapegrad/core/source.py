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


# Exceptions whose message already names the user's line (op errors, or an inner transform's).
_LOCATED = "_tapegrad_located"


def mark_located(e: BaseException) -> BaseException:
    """Flag ``e`` as already naming the user's line, so outer transforms leave it alone."""
    try:
        setattr(e, _LOCATED, True)
    except AttributeError:  # exceptions with __slots__: nothing to flag, nothing lost
        pass
    return e


def call_located(fun, *args, **kwargs):
    """``fun(*args, **kwargs)``, where an argument check raised inside tapegrad names the user's line.

    Primitive failures already do (``op_error``); this catches the checks written in Python before a
    primitive is bound (``tnp.concatenate``'s ranks, ``nn.functional``'s shapes, ...). The message is
    extended in place, so the exception keeps its type and traceback. The user's line is the last
    traceback frame outside tapegrad and JAX, i.e. the line that called into tapegrad.
    """
    try:
        return fun(*args, **kwargs)
    except (TypeError, ValueError, IndexError) as e:
        if not getattr(e, _LOCATED, False) and len(e.args) == 1 and isinstance(e.args[0], str):
            frames = []
            tb = e.__traceback__
            while tb is not None:
                frames.append((tb.tb_frame.f_code, tb.tb_lineno))
                tb = tb.tb_next
            # Raised inside tapegrad (not by the user's own code) and called from a user frame.
            if frames and frames[-1][0].co_filename.startswith(_PACKAGE_DIR):
                user = [w for w in frames[1:] if not w[0].co_filename.startswith(_SKIPPED)]
                if user:
                    e.args = (f"{e.args[0]} (at {format_where_long(user[-1])})",)
        mark_located(e)
        raise
