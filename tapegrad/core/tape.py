"""The Wengert tape: a flat, ordered list of primitive applications."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from tapegrad.core.source import Where, format_where

# How a tape prints and draws is registered from above (tapegrad.viz), so that the core imports
# nothing above it: "listing" (tape -> str) and "drawing" (tape, **options -> graphviz.Digraph).
_VIEWS: dict[str, Callable[..., Any]] = {}


def register_view(kind: str, fn: Callable[..., Any]) -> None:
    """Make ``fn`` the tape's ``kind`` view: ``"listing"`` for ``str(tape)``, ``"drawing"`` for ``tape.draw``."""
    if kind not in ("listing", "drawing"):
        raise ValueError(f"register_view: kind must be 'listing' or 'drawing', got {kind!r}")
    _VIEWS[kind] = fn


def _is_array(v: Any) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype") and type(v) is not Aval  # an Aval keeps no buffer


class Aval:
    """Shape and dtype of a value the VJP rule does not need in full."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n * self.dtype.itemsize

    def __eq__(self, other: object) -> bool:
        return type(other) is Aval and self.shape == other.shape and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        return f"Aval({self.shape}, {self.dtype})"


class Entry:
    """One primitive application on a tape.

    ``in_ids[i]`` is the id of argument ``i`` when it was a tracer of this
    tape's level, else ``None`` (a constant here). ``args`` and ``out`` are what
    the VJP rule needs (residuals): the values themselves where the rule reads
    them, or an :class:`~tapegrad.core.tracer.Aval` (shape and dtype only) where it
    does not. The backward sweep drops them once it has passed this entry.
    """

    __slots__ = ("prim", "in_ids", "out_ids", "args", "out", "params", "out_avals", "where", "scope")

    def __init__(self, prim, in_ids, out_ids, args, out, params, out_avals, where: Where,
                 scope: tuple[str, ...] = ()) -> None:
        self.prim = prim
        self.in_ids = in_ids
        self.out_ids = out_ids
        self.args = args
        self.out = out
        self.params = params
        self.out_avals = out_avals
        self.where = where
        self.scope = scope  # the user-level functions that were running (core.scope), outermost first

    def saved(self) -> list[tuple[str, Any]]:
        """The arrays this entry keeps alive for its VJP rule, as (role, value) pairs: arguments and
        outputs it reads, and any array among its params (a custom rule's residuals, an index)."""
        items = [(f"arg{i}", a) for i, a in enumerate(self.args) if _is_array(a)]
        if self.out is not None:
            outs = self.out if self.prim.multiple_results else (self.out,)
            items += [(f"out{i}" if len(outs) > 1 else "out", o) for i, o in enumerate(outs)]
        for name, value in self.params.items():
            leaves = jax.tree_util.tree_leaves(value)
            arrays = [v for v in leaves if _is_array(v)]
            if len(leaves) == 1 and arrays:
                items.append((name, arrays[0]))
            else:
                items += [(f"{name}[{i}]", v) for i, v in enumerate(arrays)]
        return items

    def saved_bytes(self) -> int:
        """Bytes held by this entry's residuals."""
        total = 0
        for _, v in self.saved():
            total += int(v.size) * v.dtype.itemsize
        return total


class Tape:
    """A flat, ordered list of :class:`Entry`, plus the ids of its inputs and outputs.

    Example:
        >>> import tapegrad as tg
        >>> tape = tg.make_tape(lambda x: (x * x).sum())(1.0 * tg.numpy.arange(3.0))
        >>> len(tape)
        2
    """

    __slots__ = ("entries", "inputs", "outputs", "segments", "__weakref__")

    def __init__(self) -> None:
        self.entries: list[Entry | None] = []
        self.inputs: list[tuple[int, str | None, Any]] = []  # (id, name, aval)
        self.outputs: list[tuple[int | None, str | None, Any]] = []
        # Lazy segments (tapegrad.accel.lazy) mark where their entries start, how many they hold and
        # what ran them, as [first entry, count, how]: the listing shows them; nothing else reads them.
        self.segments: list[list] = []

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __str__(self) -> str:
        show = _VIEWS.get("listing")
        if show is None:  # tapegrad.viz not imported: one line per entry, names only
            return "\n".join(f"{i}: {e.prim.name if e is not None else '-'}" for i, e in enumerate(self.entries))
        return show(self)

    def __repr__(self) -> str:
        return f"<Tape: {len(self.entries)} entries, {len(self.inputs)} inputs>"

    def draw(self, **kwargs: Any):
        """A ``graphviz.Digraph`` of this tape (see :func:`tapegrad.draw_graph`)."""
        draw = _VIEWS.get("drawing")
        if draw is None:
            raise RuntimeError("Tape.draw needs tapegrad.viz: import tapegrad (or tapegrad.viz) first")
        return draw(self, **kwargs)

    def where(self, i: int) -> str:
        """``file:line`` of entry ``i``."""
        return format_where(self.entries[i].where)
