"""The name stack: which user-level function recorded each primitive (``F.relu``, a module's ``forward``).

A drawing or listing that shows ``where const: bool[8,16], 0`` for a ReLU speaks the primitives'
language; the user wrote ``F.relu``. Library functions and modules push their names while they
run, and every entry recorded meanwhile keeps the stack as a tuple (outermost first), so viewers
can fold the primitives of one call into one node. JAX keeps the same thing (``name_stack``).

Pushing is one list append; entries share the tuple until the stack changes.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

_local = threading.local()
_EMPTY: tuple[str, ...] = ()

F = TypeVar("F", bound=Callable[..., Any])


def current() -> tuple[str, ...]:
    """The names open on this thread, outermost first."""
    return getattr(_local, "names", _EMPTY)


@contextmanager
def named(name: str) -> Iterator[None]:
    """Entries recorded inside the block carry ``name`` on their scope.

    Example:
        >>> with named("block"):
        ...     current()
        ('block',)
    """
    saved = current()
    _local.names = saved + (name,)
    try:
        yield
    finally:
        _local.names = saved


def scoped(name: str) -> Callable[[F], F]:
    """Decorator: calls of the function push ``name`` (e.g. ``@scoped("relu")`` on ``F.relu``)."""
    def wrap(fun: F) -> F:
        @functools.wraps(fun)
        def inner(*args: Any, **kwargs: Any) -> Any:
            saved = current()
            _local.names = saved + (name,)
            try:
                return fun(*args, **kwargs)
            finally:
                _local.names = saved
        return inner  # type: ignore[return-value]
    return wrap
