"""The name stack: which user-level function recorded each primitive (``F.relu``, a module's ``forward``).

A drawing or listing that shows ``where const: bool[8,16], 0`` for a ReLU speaks the primitives'
language; the user wrote ``F.relu``. Library functions and modules push their names while they
run, and every entry recorded meanwhile keeps the stack as a tuple (outermost first), so viewers
can fold the primitives of one call into one node. JAX keeps the same thing (``name_stack``).

Each name on the stack is a :class:`Scope`: a ``str`` (``"relu"``, ``"linear_relu_stack.0 (Linear)"``)
that is also the token of *one call*. Two calls of ``F.relu`` push two Scopes that compare equal
as strings but are distinct objects, so viewers tell ``relu(relu(x))`` from one ``relu`` by
identity. All entries recorded directly inside one call share one stack tuple, and a nested call's
tuple starts with the same Scope objects as its caller's.

Who pushes what:

- ``tapegrad.nn.functional``: every public ``F.`` function (:func:`scope_functions` over the
  module's ``__all__``), so calls made through ``F`` are named, the layers' calls included;
- ``nn.Module.__call__``: the module, named by its path in the params tree and its class
  (:func:`enter_module`), with the module itself kept on the Scope for viewers;
- ``tapegrad.numpy``: the functions composed of several primitives (``var``, ``linalg.norm``, ...);
- user code may name a block with ``with named("attention"):``.

Pushing is a tuple concatenation on a thread-local; entries share the tuple until the stack changes,
so recording a primitive costs one attribute read.
"""
from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar


class _Names(threading.local):
    names: tuple = ()  # a class default: reading a missing thread-local attribute raises (slowly) inside getattr


_local = _Names()

F = TypeVar("F", bound=Callable[..., Any])


class Scope(str):
    """One call of a named function, module or block: its name as a ``str``, its identity the call's.

    Attributes (class defaults; a module's Scope sets them on the instance):
        kind: ``"function"`` (an ``F.``/``tnp`` function), ``"module"`` or ``"block"`` (:func:`named`).
        module: the ``nn.Module`` whose ``forward`` ran (configuration only, no arrays), else None.
        path: that module's path in the params tree (``("linear_relu_stack", "0")``), else ``()``.

    Example:
        >>> a, b = Scope("relu"), Scope("relu")
        >>> a == b == "relu", a is b, a.kind
        (True, False, 'function')
    """

    kind = "function"
    module: Any = None
    path: tuple[str, ...] = ()


_EMPTY: tuple[Scope, ...] = ()


def current() -> tuple[Scope, ...]:
    """The names open on this thread, outermost first."""
    return _local.names


def enter(name: Scope) -> tuple[Scope, ...]:
    """Push ``name``; returns the stack to hand back to :func:`restore` (in a ``finally``)."""
    saved = _local.names
    _local.names = saved + (name,)
    return saved


def restore(saved: tuple[Scope, ...]) -> None:
    """Put back the stack :func:`enter` returned."""
    _local.names = saved


def module_scope(module: Any, path: tuple[str, ...]) -> Scope:
    """The Scope of one call of ``module`` at ``path``: ``"linear_relu_stack.0 (Linear)"``, or the
    class name alone for an outermost call (``"NeuralNetwork"``)."""
    cls = type(module).__name__
    s = Scope(f"{'.'.join(path)} ({cls})" if path else cls)
    s.kind = "module"
    s.module = module
    s.path = tuple(path)
    return s


def enter_module(module: Any, path: tuple[str, ...]) -> tuple[Scope, ...]:
    """Push a call of ``module`` (see :func:`module_scope`); returns the stack for :func:`restore`."""
    return enter(module_scope(module, path))


@contextmanager
def named(name: str) -> Iterator[None]:
    """Entries recorded inside the block carry ``name`` on their scope.

    Example:
        >>> with named("block"):
        ...     current()
        ('block',)
    """
    s = Scope(name)
    s.kind = "block"
    saved = enter(s)
    try:
        yield
    finally:
        _local.names = saved


def scoped(name: str) -> Callable[[F], F]:
    """Decorator: calls of the function push ``name`` (e.g. ``@scoped("relu")`` on ``F.relu``).

    Example:
        >>> @scoped("double")
        ... def double(x):
        ...     return current()
        >>> double(1)
        ('double',)
    """
    def wrap(fun: F) -> F:
        @functools.wraps(fun)
        def inner(*args: Any, **kwargs: Any) -> Any:
            saved = _local.names
            _local.names = saved + (Scope(name),)
            try:
                return fun(*args, **kwargs)
            finally:
                _local.names = saved
        inner._tapegrad_scope = name  # type: ignore[attr-defined]
        return inner  # type: ignore[return-value]
    return wrap


def scope_functions(namespace: dict[str, Any], names: Iterable[str], prefix: str = "") -> None:
    """Rebind each function ``names[i]`` of ``namespace`` (a module's ``globals()``) to a :func:`scoped`
    version named ``prefix + name``, so calls through that module (``F.relu``) record their name
    (``prefix="linalg."`` names ``tnp.linalg.norm`` ``linalg.norm``).

    One line at the bottom of a module instead of a decorator on every function; the module's own
    calls between its functions (``cross_entropy`` calling ``log_softmax``) nest. Only Python functions
    are wrapped: a primitive (one entry anyway), a class or a constant is left alone; running it twice
    wraps once.

    Example:
        >>> ns = {"double": lambda x: current(), "N": 3}
        >>> scope_functions(ns, ["double", "N"])
        >>> ns["double"](1), ns["N"]
        (('double',), 3)
    """
    for name in names:
        fun = namespace[name]  # a KeyError names a stale entry of the list
        if inspect.isfunction(fun) and not hasattr(fun, "_tapegrad_scope"):
            namespace[name] = scoped(prefix + name)(fun)
