"""``print(tape)``: a tape as a Wengert list, one line per primitive application.

The format follows a jaxpr read top to bottom::

    Tape: 4 entries, 1 input, 1 output
      %0 = input x : f32[2,2]
      %1 = multiply %0 %0 : f32[2,2]                  # train.py:12
      %2 = multiply %1 %0 : f32[2,2]                  # train.py:12
      %3 = multiply %2 %0 : f32[2,2]                  # train.py:12
      %4 = mean[axis=None, keepdims=False] %3 : f32[]  # train.py:13
      return out = %4 : f32[]

Tracer ids are ``%n``; constants are shown by value when they are scalars
(``2.0``) and by type otherwise (``const f32[3]``); static parameters go in
brackets after the op name. The helpers here are shared with the Graphviz
drawing so both views spell shapes and attributes the same way.

Everything is a loop over the entries (no recursion), so a tape of a million
entries prints as well as one of four.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from tapegrad.core.source import format_where

# The column where `# file.py:12` starts; longer lines push it right, one by one.
_MAX_SOURCE_COLUMN = 64
_MAX_REPR = 40

_dtype_short: dict[Any, str] = {}
_DTYPE_PREFIX = re.compile(r"^(bfloat|float|uint|int|complex)(\d+)$")
_PREFIX_SHORT = {"bfloat": "bf", "float": "f", "uint": "u", "int": "i", "complex": "c"}


def short_dtype(dtype: Any) -> str:
    """``f32`` for float32, ``i64`` for int64, ``bf16``, ``bool``: jaxpr's spelling.

    Example:
        >>> short_dtype(np.float32), short_dtype(np.dtype("int64")), short_dtype(bool)
        ('f32', 'i64', 'bool')
    """
    s = _dtype_short.get(dtype)
    if s is None:
        name = np.dtype(dtype).name
        m = _DTYPE_PREFIX.match(name)
        s = _PREFIX_SHORT[m.group(1)] + m.group(2) if m else name
        _dtype_short[dtype] = s
    return s


_aval_text: dict[tuple, str] = {}


def format_aval(shape: Any, dtype: Any) -> str:
    """``f32[2,3]`` for a shape and dtype (``f32[]`` for a scalar).

    Example:
        >>> format_aval((2, 3), np.float32)
        'f32[2,3]'
    """
    # Big tapes repeat a handful of shapes; formatting each once keeps listings and drawings fast.
    key = (tuple(shape), dtype)
    s = _aval_text.get(key)
    if s is None:
        if len(_aval_text) > 4096:
            _aval_text.clear()
        s = _aval_text[key] = f"{short_dtype(dtype)}[{','.join(str(d) for d in shape)}]"
    return s


def format_value_type(v: Any) -> str:
    """``f32[2,3]`` for anything with ``shape`` and ``dtype`` (array, Aval, tracer); else its type."""
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        return format_aval(v.shape, v.dtype)
    return type(v).__name__


def _short(s: str) -> str:
    return s if len(s) <= _MAX_REPR else s[: _MAX_REPR - 1] + "…"


def format_const(v: Any) -> str:
    """A constant argument, compactly: ``2.0``, ``None``, ``const f32[3]``.

    A 0-d concrete array shows its value (it is usually a literal the user wrote);
    anything bigger, an :class:`~tapegrad.core.tracer.Aval` placeholder, or a tracer
    of an outer level (constant at this level) shows only its type.

    Example:
        >>> format_const(2.0), format_const(np.zeros(3, np.float32))
        ('2.0', 'const f32[3]')
    """
    if v is None or isinstance(v, (bool, int, float, complex, str)):
        return _short(repr(v))
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        if tuple(v.shape) == () and isinstance(v, (np.ndarray, np.generic)) or _is_concrete_jax_scalar(v):
            try:
                return _short(repr(v.item()))
            except Exception:  # an abstract value under jax.jit: fall back to its type
                pass
        return "const " + format_aval(v.shape, v.dtype)
    return _short(repr(v))


def _is_concrete_jax_scalar(v: Any) -> bool:
    import jax

    return isinstance(v, jax.Array) and not isinstance(v, jax.core.Tracer) and tuple(v.shape) == ()


def format_param(v: Any) -> str:
    """A static parameter value: tuples and numbers as written, dtypes by name, arrays by type."""
    if isinstance(v, (np.dtype, type)) and _is_dtype(v):
        return np.dtype(v).name
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        return format_const(v).removeprefix("const ")  # a parameter is constant anyway
    if isinstance(v, (tuple, list)) and any(hasattr(x, "shape") for x in v):
        # e.g. a custom rule's residuals: their types, not their contents
        inner = ", ".join(format_param(x) for x in v)
        return f"({inner},)" if isinstance(v, tuple) and len(v) == 1 else (
            f"({inner})" if isinstance(v, tuple) else f"[{inner}]")
    if callable(v):
        return getattr(v, "__name__", type(v).__name__)
    return _short(repr(v))


def _is_dtype(v: Any) -> bool:
    try:
        np.dtype(v)
        return True
    except TypeError:
        return False


_params_text: dict[tuple, str] = {}


def format_params(params: dict, skip_defaults: bool = False) -> str:
    """``axis=(0,), keepdims=False``; with ``skip_defaults``, ``None`` and ``False`` values are left out."""
    try:  # the same few parameter sets recur all over a big tape
        key: tuple | None = (skip_defaults, *params.items())
        s = _params_text.get(key)
    except TypeError:  # an unhashable value (an index array)
        key, s = None, None
    if s is None:
        s = _format_params(params, skip_defaults)
        if key is not None:
            if len(_params_text) > 4096:
                _params_text.clear()
            _params_text[key] = s
    return s


def _format_params(params: dict, skip_defaults: bool) -> str:
    items = []
    for k, v in params.items():
        if skip_defaults and (v is None or v is False):
            continue
        items.append(f"{k}={format_param(v)}")
    return ", ".join(items)


def format_args(entry: Any) -> str:
    """``%2 %3`` for traced arguments, with constants written in place."""
    parts = []
    for i, a in zip(entry.in_ids, entry.args, strict=True):
        parts.append(f"%{i}" if i is not None else format_const(a))
    return " ".join(parts)


def format_entry(entry: Any) -> str:
    """One tape entry without its source location: ``%4 = multiply %2 %3 : f32[2,2]``.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tape = tg.make_tape(lambda x: tnp.sum(x * 2.0, axis=0))(tnp.ones((2, 3)))
        >>> format_entry(tape.entries[1])
        '%2 = sum[axis=0, keepdims=False] %1 : f32[3]'
    """
    out_ids = entry.out_ids
    if len(out_ids) == 1:  # the common case, without the joins
        o = out_ids[0]
        outs = "_" if o is None else f"%{o}"
        types = format_aval(*entry.out_avals[0])
    else:
        outs = ", ".join("_" if o is None else f"%{o}" for o in out_ids)
        types = ", ".join(format_aval(s, d) for s, d in entry.out_avals)
    params = format_params(entry.params) if entry.params else ""
    op = f"{entry.prim.name}[{params}]" if params else entry.prim.name
    args = format_args(entry)
    return f"{outs} = {op} {args} : {types}" if args else f"{outs} = {op} : {types}"


def format_outputs(tape: Any) -> str:
    """The ``return`` line: ``return out = %4 : f32[]`` (constants written by type)."""
    parts = []
    for oid, name, aval in tape.outputs:
        val = f"%{oid}" if oid is not None else "const"
        typ = f" : {format_aval(*aval)}" if aval is not None else ""
        parts.append(f"{name} = {val}{typ}" if name else f"{val}{typ}")
    return "return " + ", ".join(parts) if parts else "return ()"


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


def format_tape(tape: Any, detail: str = "functions") -> str:
    """The whole tape as text: header, inputs, one line per call or entry, outputs.

    ``detail`` is the drawing's (:mod:`tapegrad.viz.groups`): by default a call of a library
    function or layer is one line, named as the user wrote it, with the primitives it recorded in
    braces (``%7 = linear %5 %0 %1 : f32[4,5]  {dot_general, add}``); ``"modules"`` also heads each
    module call's lines with its name and indents them; ``"primitives"`` lists every entry. Entries
    already dropped by a consuming backward sweep (``None``) are summarised as one line per run of them.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> print(format_tape(tg.make_tape(lambda x: x * 2.0)(tnp.ones(3))))  # doctest: +ELLIPSIS
        Tape: 1 entry, 1 input, 1 output
          %0 = input x : f32[3]
          %1 = multiply %0 2.0 : f32[3]  # ...
          return out = %1 : f32[3]
    """
    from tapegrad.viz.groups import check_detail

    check_detail(detail)
    n_out = len(tape.outputs)
    lines = [f"Tape: {_plural(len(tape.entries), 'entry', 'entries')}, "
             f"{_plural(len(tape.inputs), 'input')}, {_plural(n_out, 'output')}"]
    for iid, name, aval in tape.inputs:
        label = f"input {name}" if name else "input"
        lines.append(f"  %{iid} = {label} : {format_aval(aval.shape, aval.dtype)}")

    bodies, wheres = (_entry_lines(tape.entries) if detail == "primitives" or not _any_scope(tape.entries)
                      else _group_lines(tape, detail))

    # Align the source comments in one column, as far as the lines allow.
    widest = max((len(b) for b, w in zip(bodies, wheres, strict=True) if w), default=0)
    column = min(widest, _MAX_SOURCE_COLUMN)
    for b, w in zip(bodies, wheres, strict=True):
        lines.append(f"{b.ljust(column)}  # {w}" if w else b)
    if tape.outputs:
        lines.append("  " + format_outputs(tape))
    lines += segment_lines(tape)
    return "\n".join(lines)


def segment_lines(tape: Any) -> list[str]:
    """Where lazy segments split the tape, and what ran each:
    ``lazy segment: entries 0-7 (8), ran when a value was read at model.py:63``. Nothing when one
    segment holds the whole tape (no boundary to show: the usual case)."""
    segments = []
    for first, count, how in getattr(tape, "segments", ()):
        if how == "pending":  # still recording, or never read: it holds the tape's entries from `first` on
            count = len(tape.entries) - first
        segments.append((first, count, how))
    if len(segments) == 1 and segments[0][:2] == (0, len(tape.entries)):
        return []
    lines = []
    for first, count, how in segments:
        last = f"-{first + count - 1}" if count > 1 else ""
        lines.append(f"  lazy segment: entries {first}{last} ({count}), "
                     + ("not run yet" if how == "pending" else f"ran {how}"))
    return lines


def _any_scope(entries: Any) -> bool:
    return any(e is not None and e.scope for e in entries)


def _entry_lines(entries: Any) -> tuple[list[str], list[str]]:
    """One line per entry (``detail="primitives"``, or a tape recorded outside any named call)."""
    bodies: list[str] = []
    wheres: list[str] = []
    consumed = 0
    for e in entries:
        if e is None:
            consumed += 1
            continue
        if consumed:
            bodies.append(_consumed_line(consumed))
            wheres.append("")
            consumed = 0
        bodies.append("  " + format_entry(e))
        wheres.append(format_where(e.where))
    if consumed:
        bodies.append(_consumed_line(consumed))
        wheres.append("")
    return bodies, wheres


def _group_lines(tape: Any, detail: str) -> tuple[list[str], list[str]]:
    """One line per call (folded) or entry; under ``"modules"``, module headers and indentation."""
    from tapegrad.viz.groups import group_entries, group_io, summary

    entries = tape.entries
    groups = group_entries(entries, detail)
    io = group_io(entries, groups, tape.outputs)
    bodies: list[str] = []
    wheres: list[str] = []
    consumed = 0
    open_: tuple = ()  # the module calls whose header is printed, outermost first
    for g, (ins, outs) in zip(groups, io, strict=True):
        e = entries[g.start]
        if e is None:
            consumed += 1
            continue
        if consumed:
            bodies.append(_consumed_line(consumed))
            wheres.append("")
            consumed = 0
        # Module headers: keep the calls still open (same objects), print the new ones.
        keep = 0
        while keep < min(len(open_), len(g.clusters)) and open_[keep] is g.clusters[keep]:
            keep += 1
        for depth in range(keep, len(g.clusters)):
            bodies.append("  " + "  " * depth + f"{g.clusters[depth]}:")
            wheres.append("")
        open_ = g.clusters
        indent = "  " + "  " * len(g.clusters)
        if not g.folded:
            bodies.append(indent + format_entry(e))
        else:
            outs_text = ", ".join(f"%{o}" for o in outs) or "_"
            types = ", ".join(format_aval(*av) for k in range(g.start, g.stop)
                              for o, av in zip(entries[k].out_ids, entries[k].out_avals, strict=True)
                              if o is not None and o in outs)
            args = "".join(f" %{i}" for i in ins)
            label = g.label.replace(": ", "[", 1) + "]" if ": " in g.label else g.label
            bodies.append(f"{indent}{outs_text} = {label}{args} : {types}  {{{summary(entries, g)}}}")
        wheres.append(format_where(e.where))
    if consumed:
        bodies.append(_consumed_line(consumed))
        wheres.append("")
    return bodies, wheres


def _consumed_line(n: int) -> str:
    return f"  … {_plural(n, 'entry', 'entries')} consumed (freed by a backward sweep)"
