"""``tg.debug_nans()``: stop at the first primitive that makes a NaN or an Inf.

Like ``jax_debug_nans`` and PyTorch's ``detect_anomaly``, but it also watches
the backward sweep and names the user's source line that recorded the
primitive.

Eagerly, each value is looked at as it is made. Under ``jax.jit`` (and
``vmap``, ``scan``, any JAX trace) values are abstract while the program is
traced, so the check puts a ``jax.debug.callback`` into the program instead,
which looks at the value when the compiled program runs. That callback raises
inside XLA, which reports it as a ``JaxRuntimeError`` carrying the message;
leaving the ``debug_nans`` block turns it back into the same
``FloatingPointError`` the eager path raises. The callbacks are ordered, so the
first primitive in program order is the one named, as eagerly.

The switch is part of JAX's jit cache key while a block is open: a function
jitted before the block is traced again inside it (with the checks), and the
programs traced inside are not the ones run after it (without them), so
nothing is added to jitted programs when no block is open.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

from tapegrad.core import debug
from tapegrad.core.source import format_where_long
from tapegrad.core.tape import Aval


def _jit_key_state() -> Any:
    """A JAX config state in the jit cache key, or None where this JAX has no such API (private)."""
    try:
        from jax._src import config

        return config.bool_state("tapegrad_debug_nans", False,
                                 help="tapegrad.debug_nans() is open: jitted programs get NaN checks",
                                 include_in_jit_key=True, include_in_trace_context=True)
    except Exception:  # an API change must not break import; the fallback clears JAX's caches instead
        return None


_JIT_KEY = _jit_key_state()
_lock = threading.Lock()
_failures: list[FloatingPointError] = []  # raised by callbacks inside compiled programs, first first
_warned: set[str] = set()


class _QuietOurs(logging.Filter):
    """JAX logs each exception a debug callback raises; ours leave the block as a clean
    FloatingPointError, so their log (a second copy of the traceback) is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and getattr(record.exc_info[1], "_tapegrad_debug_nans", False))


logging.getLogger("jax._src.debugging").addFilter(_QuietOurs())


def _unwrap(x: Any) -> Any:
    """The value under tapegrad Tracers (at every nesting level)."""
    while hasattr(x, "primal") and type(x).__name__ == "Tracer":
        x = x.primal()
    return x


def _concrete(x: Any) -> Any | None:
    """The value as a NumPy array, or None where it cannot be seen (abstract under jit)."""
    x = _unwrap(x)
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x)
    except Exception:
        return None


def _stats_of(a: np.ndarray) -> str:
    if a.dtype.kind not in "fc" or a.size == 0:
        return f"{a.dtype.name}{list(a.shape)}"
    finite = a[np.isfinite(a)]
    rng = (f"min {finite.min():.4g}, max {finite.max():.4g}, mean {finite.mean():.4g}" if finite.size
           else "no finite values")
    return (f"{a.dtype.name}{list(a.shape)} ({rng}, {int(np.isnan(a).sum())} NaN, "
            f"{int(np.isinf(a).sum())} Inf)")


def _stats(x: Any) -> str:
    if isinstance(x, Aval):
        return f"{np.dtype(x.dtype).name}{list(x.shape)} (values not kept by this rule)"
    a = _concrete(x)
    return "abstract" if a is None else _stats_of(a)


def _message(prim_name: str, where: tuple, phase: str, value: str, inputs: str) -> str:
    what = "output" if phase == "forward" else "cotangent"
    return (f"debug_nans: primitive '{prim_name}' produced a NaN/Inf {what} in the {phase} pass "
            f"({value}), recorded at {format_where_long(where)}. Its inputs: {inputs or 'none'}")


def _is_inexact(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and np.dtype(dtype).kind in "fc"


def check_value(prim: Any, where: tuple, value: Any, phase: str, inputs: tuple) -> None:
    """Raise FloatingPointError if ``value`` holds a NaN or Inf; under a JAX trace, make the
    program check it when it runs."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        raw = _unwrap(v)
        if isinstance(raw, jax.core.Tracer):
            if _is_inexact(raw):
                _check_when_run(prim.name, where, raw, phase, inputs)
            continue
        a = _concrete(raw)
        if a is None or a.dtype.kind not in "fc" or np.all(np.isfinite(a)):
            continue
        described = "; ".join(f"arg{i}: {_stats(x)}" for i, x in enumerate(inputs) if hasattr(x, "shape"))
        raise FloatingPointError(_message(prim.name, where, phase, _stats_of(a), described))


debug.register_checker(check_value)


def _check_when_run(prim_name: str, where: tuple, raw: Any, phase: str, inputs: tuple) -> None:
    """Put the check of the abstract ``raw`` into the program being traced."""
    # The inputs that have values travel with the callback; the others are described now.
    slots: list[tuple[int, str | None]] = []
    dynamic: list[Any] = []
    for i, x in enumerate(inputs):
        if not hasattr(x, "shape"):
            continue
        if isinstance(x, Aval):
            slots.append((i, _stats(x)))
        else:
            slots.append((i, None))
            dynamic.append(_unwrap(x))

    def report(value: Any, *ins: Any) -> None:
        # A program traced inside a block can outlive it (another thread's cache entry): inert then.
        if not debug.active:
            return
        a = np.asarray(value)
        if np.all(np.isfinite(a)):
            return
        it = iter(ins)
        described = "; ".join(f"arg{i}: {s if s is not None else _stats_of(np.asarray(next(it)))}"
                              for i, s in slots)
        err = FloatingPointError(_message(prim_name, where, phase, _stats_of(a), described)
                                 + " (checked under a JAX trace, when the compiled program ran)")
        err._tapegrad_debug_nans = True  # type: ignore[attr-defined]
        with _lock:
            _failures.append(err)
        raise err  # stops the program here; XLA wraps it in a JaxRuntimeError that carries the message

    try:
        jax.debug.callback(report, raw, *dynamic, ordered=True)
    except Exception as e_ordered:
        if getattr(e_ordered, "_tapegrad_debug_nans", False):
            raise  # the check itself, run at once (an eager vmap calls back while it traces)
        try:  # some transforms take no ordered effects; an unordered check still stops at a NaN
            jax.debug.callback(report, raw, *dynamic)
        except Exception as e:
            if getattr(e, "_tapegrad_debug_nans", False):
                raise
            _warn_once(type(e).__name__,
                       f"tg.debug_nans: values inside this JAX trace are not checked: jax.debug.callback "
                       f"cannot be used here ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                       "debug the step without jax.jit, or use jax.config.update('jax_debug_nans', True)")
            return
        _warn_once("unordered",
                   f"tg.debug_nans: this JAX trace takes no ordered callbacks ({type(e_ordered).__name__}); "
                   "the NaN checks run unordered, so the primitive named may be one that received the "
                   "NaN rather than the first that made it")


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def _from_callback(e: BaseException) -> FloatingPointError | None:
    """The FloatingPointError a callback raised that ``e`` (XLA's wrapper of it) carries."""
    text = str(e)
    with _lock:
        for err in _failures:
            if str(err) in text:
                return err
    return None


@contextlib.contextmanager
def debug_nans() -> Iterator[None]:
    """Raise ``FloatingPointError`` at the first primitive whose forward output or backward
    cotangent holds a NaN or Inf, naming the primitive, the pass, the user's source
    line and summary statistics of its inputs.

    Off by default and free when off. Works under ``jax.jit`` too: there the check
    is compiled into the program (a ``jax.debug.callback`` per primitive, only for
    functions traced inside the block) and runs when it does; the error then
    reaches your code inside the block as JAX's ``JaxRuntimeError`` carrying the
    same message, and leaves the block as ``FloatingPointError``. The switch is
    process-wide while any block is open.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> with tg.debug_nans():
        ...     tg.grad(lambda x: tnp.sqrt(x))(0.0)
        Traceback (most recent call last):
        FloatingPointError: ...
    """
    outermost = debug.active == 0
    if outermost:
        with _lock:
            _failures.clear()
        if _JIT_KEY is None:
            jax.clear_caches()  # no cache-key switch: programs compiled before the block must retrace
    debug.active += 1
    try:
        with _JIT_KEY(True) if _JIT_KEY is not None else contextlib.nullcontext():
            yield
            jax.effects_barrier()  # callbacks of programs still running report before the block ends
    except Exception as e:
        err = e if isinstance(e, FloatingPointError) else _from_callback(e)
        if err is None or err is e:
            raise
        raise FloatingPointError(str(err)) from e
    else:
        with _lock:
            pending = _failures[0] if _failures else None
        if pending is not None:  # a callback raised, but the error never reached the caller
            raise FloatingPointError(str(pending))
    finally:
        debug.active -= 1
        if outermost:
            with _lock:
                _failures.clear()
            if _JIT_KEY is None:
                jax.clear_caches()
