"""The Graphviz vocabulary shared by the forward and backward drawings: torchviz's colours and node
style, label escaping, byte sizes, and the node/edge builder (:class:`_Builder`).

Both :mod:`tapegrad.viz.dot` (the forward tape) and :mod:`tapegrad.viz.dot_backward` (the backward
cluster) draw with it, so neither imports the other's internals.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad.core.source import format_where
from tapegrad.viz.listing import format_aval, format_const, format_entry, format_params

INPUT, OP, SAVED, OUTPUT = "lightblue", "lightgrey", "orange", "darkolivegreen1"
# torchviz's node style, so pictures look familiar to PyTorch users.
NODE_ATTR = {"style": "filled", "shape": "box", "align": "left", "fontsize": "10", "height": "0.2",
             "fontname": "monospace"}
EDGE_ATTR = {"fontsize": "8", "fontname": "monospace"}
# No size cap: Graphviz lays the graph out at its natural size (10-point text stays 10-point), which is
# what keeps a big graph legible; ranksep/nodesep are tighter than Graphviz's 0.5/0.25 inch, as the
# nodes are small. newrank: clusters do not distort the ranks.
GRAPH_ATTR = {"newrank": "true", "ranksep": "0.3", "nodesep": "0.2"}
# A node that stands for a call of a function or layer (detail="functions"/"modules") has round corners.
CALL_STYLE = ' style="filled,rounded"'

INSTALL_HINT = ("Install Graphviz and make sure `dot` is on your PATH: `apt-get install graphviz` (Debian/"
                "Ubuntu), `brew install graphviz` (macOS), `conda install graphviz`, or see "
                "https://graphviz.org/download/. Building the graph (its .source) works without it.")


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs the Graphviz ``dot`` program, and it is not installed or not on PATH."""


_graph_class: type | None = None


def graph_class() -> type:
    """The ``graphviz.Digraph`` subclass every drawing returns (built on first use).

    ``graphviz`` is imported here, not at module import, so ``import tapegrad``
    works without it.
    """
    global _graph_class
    if _graph_class is not None:
        return _graph_class
    try:
        import graphviz
    except ImportError as e:
        raise ImportError("drawing a tape needs the graphviz Python package: `pip install graphviz` (or "
                          "`pip install tapegrad[viz]`). " + INSTALL_HINT) from e

    class TapeGraph(graphviz.Digraph):
        """A ``graphviz.Digraph`` whose rendering explains how to install a missing ``dot``.

        Example:
            >>> import tapegrad as tg, tapegrad.numpy as tnp
            >>> g = tg.draw_graph(lambda x: (x * x).mean(), tnp.ones((2, 2)))
            >>> g.render("graph", format="png")  # doctest: +SKIP
            'graph.png'
        """

        def render(self, *args: Any, **kwargs: Any) -> str:
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise GraphvizNotFoundError(f"cannot render the graph: {e}. {INSTALL_HINT}") from e

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise GraphvizNotFoundError(f"cannot render the graph: {e}. {INSTALL_HINT}") from e

    _graph_class = TapeGraph
    return TapeGraph


def _esc(s: str) -> str:
    if '"' not in s and "\\" not in s and "\n" not in s:  # most labels: nothing to escape
        return s
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _label(lines: list[str]) -> str:
    return '"' + "\\n".join(_esc(s) for s in lines if s) + '"'


def format_bytes(n: int) -> str:
    """``96 B``; from 1 KiB on, also in binary units: ``1,605,632 B (1.53 MiB)``."""
    if n < 1024:
        return f"{n} B"
    value, units = n / 1024, ["KiB", "MiB", "GiB", "TiB"]
    while value >= 1024 and len(units) > 1:
        value /= 1024
        units.pop(0)
    return f"{n:,} B ({value:.3g} {units[0]})"


def _nbytes(v: Any) -> int:
    return int(v.size) * np.dtype(v.dtype).itemsize


def _aval_of(v: Any) -> str:
    return format_aval(*v) if v is not None else ""


class _Builder:
    """DOT text in buckets: one per cluster, then the edges (deduplicated)."""

    def __init__(self, show_shapes: bool) -> None:
        self.show_shapes = show_shapes
        self.buckets: dict[Any, list[str]] = {(): []}
        self.edges: list[str] = []
        self.seen: set[tuple[str, str]] = set()

    def node(self, name: str, lines: list[str], color: str, where: Any = (), extra: str = "") -> None:
        bucket = self.buckets.get(where)
        if bucket is None:
            bucket = self.buckets[where] = []
        bucket.append(f"\t{name} [label={_label(lines)} fillcolor={color}{extra}]\n")

    def edge(self, src: str | None, dst: str, aval: Any = None, extra: str = "") -> None:
        if src is None or (src, dst) in self.seen:
            return
        self.seen.add((src, dst))
        label = f' label="{_esc(_aval_of(aval))}"' if self.show_shapes and aval is not None else ""
        attrs = f" [{(label + ' ' + extra).strip()}]" if label or extra else ""
        self.edges.append(f"\t{src} -> {dst}{attrs}\n")

    def body(self, module_labels: Callable[[tuple], str]) -> list[str]:
        """Top-level nodes, nested module clusters, special clusters, then edges."""
        out = list(self.buckets[()])
        paths = {p[:n] for p in self.buckets if isinstance(p, tuple) for n in range(1, len(p) + 1)}
        stack: list[tuple] = []
        # Sorted, a parent precedes its children and they follow it contiguously: open
        # and close clusters with an explicit stack, no recursion.
        for i, p in enumerate(sorted(paths)):
            while stack and p[: len(stack[-1])] != stack[-1]:
                stack.pop()
                out.append("\t}\n")
            out.append(f"\tsubgraph cluster_module{i} {{\n\t\tlabel=\"{_esc(module_labels(p))}\" "
                       "style=\"rounded,dashed\" color=grey40 fontsize=10\n")
            out.extend(self.buckets.get(p, ()))
            stack.append(p)
        out.extend("\t}\n" for _ in stack)
        for key, bucket in self.buckets.items():
            if isinstance(key, str):
                out.append(f"\tsubgraph cluster_{key} {{\n")
                out.extend(bucket)
                out.append("\t}\n")
        out.extend(self.edges)
        return out


def _op_lines(e: Any, show_source: bool) -> list[str]:
    lines = [e.prim.name]
    if e.params:
        lines.extend(_attr_lines(e.params, e.prim.name))
    consts = [format_const(a).removeprefix("const ")
              for i, a in zip(e.in_ids, e.args, strict=True) if i is None]
    if consts:
        lines.append("const: " + ", ".join(consts))
    if show_source:
        lines.append(format_where(e.where))
    return lines


def _attr_lines(params: dict, op_name: str) -> list[str]:
    """The attributes worth reading in a picture, a few per line.

    ``None``/``False`` (the defaults), functions, pytree structures (a custom
    rule's machinery, still in the tooltip) and names the op's name already
    spells are left out.
    """
    shown = {k: v for k, v in params.items()
             if not (v is None or v is False or callable(v) or type(v).__name__ == "PyTreeDef"
                     or isinstance(v, str) and v in op_name)}
    if not shown:
        return []
    text = format_params(shown)
    if len(text) <= 40:
        return [text]
    return [format_params({k: v}) for k, v in shown.items()]


def _tooltip(e: Any) -> str:
    where = format_where(e.where)
    return f' tooltip="{_esc(format_entry(e) + ("  # " + where if where else ""))}"'
