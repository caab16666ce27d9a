"""The Wengert tape: a flat, ordered list of primitive applications."""
from __future__ import annotations

from typing import Any

from tapegrad.core.source import Where, format_where


class Entry:
    """One primitive application on a tape.

    ``in_ids[i]`` is the id of argument ``i`` when it was a tracer of this
    tape's level, else ``None`` (a constant here). ``args`` and ``out`` are what
    the VJP rule needs (residuals): the values themselves where the rule reads
    them, or an :class:`~tapegrad.core.tracer.Aval` (shape and dtype only) where it
    does not. The backward sweep drops them once it has passed this entry.
    """

    __slots__ = ("prim", "in_ids", "out_ids", "args", "out", "params", "out_avals", "where")

    def __init__(self, prim, in_ids, out_ids, args, out, params, out_avals, where: Where) -> None:
        self.prim = prim
        self.in_ids = in_ids
        self.out_ids = out_ids
        self.args = args
        self.out = out
        self.params = params
        self.out_avals = out_avals
        self.where = where

    def saved(self) -> list[tuple[str, Any]]:
        """The residuals this entry holds for its VJP rule, as (role, value) pairs."""
        from tapegrad.core.tracer import Aval

        items = [(f"arg{i}", a) for i, a in enumerate(self.args) if hasattr(a, "shape") and not isinstance(a, Aval)]
        if self.out is not None:
            outs = self.out if self.prim.multiple_results else (self.out,)
            items += [(f"out{i}" if len(outs) > 1 else "out", o) for i, o in enumerate(outs)]
        if "residuals" in self.params:  # custom_vjp / checkpoint keep theirs in params
            import jax

            leaves = jax.tree_util.tree_leaves(self.params["residuals"])
            items += [(f"residuals[{i}]", r) for i, r in enumerate(leaves) if hasattr(r, "shape")]
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

    __slots__ = ("entries", "inputs", "outputs", "__weakref__")

    def __init__(self) -> None:
        self.entries: list[Entry | None] = []
        self.inputs: list[tuple[int, str | None, Any]] = []  # (id, name, aval)
        self.outputs: list[tuple[int | None, str | None, Any]] = []

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __str__(self) -> str:
        from tapegrad.viz.listing import format_tape

        return format_tape(self)

    def __repr__(self) -> str:
        return f"<Tape: {len(self.entries)} entries, {len(self.inputs)} inputs>"

    def draw(self, **kwargs: Any):
        """A ``graphviz.Digraph`` of this tape (see :func:`tapegrad.draw_graph`)."""
        from tapegrad.viz.dot import draw_tape

        return draw_tape(self, **kwargs)

    def where(self, i: int) -> str:
        """``file:line`` of entry ``i``."""
        return format_where(self.entries[i].where)
