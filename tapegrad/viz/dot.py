"""Draw a tape with Graphviz, in torchviz's colours.

:func:`draw_graph` records ``fun(*args)`` on a tape and draws it;
:func:`draw_tape` (``tape.draw(...)``) draws a tape already recorded. Both
return a :class:`graphviz.Digraph` (a subclass whose ``render``/``pipe`` say
how to install Graphviz when its ``dot`` program is missing).

What is drawn:

- inputs and parameters (lightblue), one node per call of a user-level
  function or layer (``relu``, ``linear``, ``cross_entropy``, ``Linear: fc1``;
  round corners, the primitives it recorded underneath and in its tooltip) or
  per primitive recorded outside one (lightgrey, with its attributes), outputs
  (darkolivegreen1), edges labelled with shape and dtype. ``detail="modules"``
  adds a cluster per module call, ``detail="primitives"`` draws every primitive
  (the grouping rule is in :mod:`tapegrad.viz.groups`);
- ``show_saved``: what each VJP rule keeps (orange), with its size in bytes;
  the legend gives the total over the tape;
- ``backward``: the backward pass in a cluster named ``backward``, recorded by
  running the tape's own backward sweep under a fresh trace (see
  :mod:`tapegrad.viz.backward_view`), the rules of a call as one ``∂ linear``
  node (:mod:`tapegrad.viz.dot_backward`); dashed edges from forward nodes show
  the residuals each backward op reads, and a seed node per output the
  cotangent it starts from;
- ``collapse="module"``: the ops of each nn module in a cluster named by its
  parameter path (the rule is in :mod:`tapegrad.viz.modules`).

The DOT source is built as a list of text lines handed to
``graphviz.Digraph(body=...)`` in one loop over the entries: a 10,000-op tape
takes a few tens of milliseconds, where ``Digraph.node()`` per op would spend
most of its time quoting. Past ``max_nodes`` nodes the drawing stops with one
``… N more ops`` node. There is no size cap (a capped picture of a big graph
is illegible); the default output format is SVG.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax.tree_util import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten

from tapegrad.core.source import format_where
from tapegrad.core.tape import Tape
from tapegrad.viz.dot_builder import (  # noqa: F401 (GraphvizNotFoundError, format_bytes: public here too)
    CALL_STYLE,
    EDGE_ATTR,
    GRAPH_ATTR,
    INPUT,
    INSTALL_HINT,
    NODE_ATTR,
    OP,
    OUTPUT,
    SAVED,
    GraphvizNotFoundError,
    _attr_lines,
    _aval_of,
    _Builder,
    _esc,
    _label,
    _nbytes,
    _op_lines,
    _tooltip,
    format_bytes,
    graph_class,
)
from tapegrad.viz.groups import Group, check_detail, group_entries
from tapegrad.viz.listing import (
    _plural,
    format_aval,
    format_entry,
    format_value_type,
)
from tapegrad.viz.modules import common_prefix


def draw_tape(tape: Tape, *, params: dict | None = None, show_shapes: bool = True, show_saved: bool = False,
              show_source: bool = False, backward: bool = False, collapse: str | None = None,
              detail: str = "functions", max_nodes: int = 2000, legend: bool = True,
              input_labels: dict[int, str] | None = None) -> Any:
    """Draw ``tape`` as a ``graphviz.Digraph`` (the options are :func:`draw_graph`'s).

    ``params`` names inputs by identity with the values the tape holds as
    residuals (an input no VJP rule reads cannot be matched here; use
    :func:`draw_graph`, which matches the arguments themselves).
    ``input_labels`` maps input ids to names directly.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tape = tg.make_tape(lambda x: (x * x).mean())(tnp.ones((2, 2)))
        >>> g = tape.draw(show_saved=True)
        >>> "multiply" in g.source and "orange" in g.source
        True
    """
    if collapse not in (None, "module"):
        raise ValueError(f"collapse must be None or 'module', got {collapse!r}")
    check_detail(detail)
    if collapse and detail == "modules":
        raise ValueError("collapse='module' (clusters guessed from parameter names) and detail='modules' "
                         "(clusters of the module calls) both draw modules: choose one")
    if not isinstance(max_nodes, (int, np.integer)) or max_nodes < 0:
        raise ValueError(f"max_nodes must be a non-negative int, got {max_nodes!r}")
    labels = _labels_from_residuals(tape, params) if params else {}
    labels.update(input_labels or {})
    b = _Builder(show_shapes)
    entries = tape.entries
    # A tape recorded outside any named call (or detail="primitives") is drawn entry by entry.
    groups = group_entries(entries, detail) if detail != "primitives" and any(
        e is not None and e.scope for e in entries) else None
    param_mod, entry_mod = _modules(tape) if collapse else ({}, None)
    clusters = _Clusters(tape, groups) if detail == "modules" and groups else None
    if clusters is not None:
        param_mod = clusters.param_buckets

    producer: dict[int, str] = {}
    avals: dict[int, Any] = {}
    names: dict[int, str] = {}
    for iid, name, aval in tape.inputs:
        names[iid] = label = labels.get(iid, name or f"%{iid}")
        module = param_mod.get(iid, ())
        if module and iid not in labels:  # the cluster names the module: "weight" says the rest
            label = _leaf_key(name)
        b.node(f"in{iid}", [label, format_aval(aval.shape, aval.dtype) if show_shapes else ""], INPUT,
               module, f' tooltip="%{iid} = {_esc(name or "")}"')
        producer[iid] = f"in{iid}"
        avals[iid] = (aval.shape, aval.dtype)

    drawn = truncated = consumed = 0
    saved_total = 0
    distinct: dict[int, int] = {}
    calls: dict[int, Group] = {}  # first entry of each call drawn -> its group (the backward view folds them)
    any_folded = False
    spans = ((g.start, g.stop, g) for g in groups) if groups is not None else (
        (k, k + 1, None) for k in range(len(entries)))
    for start, stop, g in spans:
        e = entries[start]
        if e is None:
            consumed += 1
            continue
        if drawn >= max_nodes:
            for k in range(start, stop):
                truncated += 1
                e = entries[k]
                for i in e.in_ids:
                    if i is not None and producer.get(i, "more") != "more":
                        b.edge(producer[i], "more")
                for o, av in zip(e.out_ids, e.out_avals, strict=True):
                    if o is not None:
                        producer[o] = "more"
                        avals[o] = av
                if show_saved:
                    for _, v in e.saved():
                        distinct[id(v)] = n = _nbytes(v)
                        saved_total += n
            continue
        drawn += 1
        name = f"op{start}"
        if g is not None and g.call is not None:
            calls[start] = g
        if clusters is not None:
            where = clusters.bucket(g.clusters)
        elif entry_mod is not None:  # collapse="module": a call sits where all its ops would
            where = entry_mod[start]
            for k in range(start + 1, stop):
                where = common_prefix(where, entry_mod[k])
        else:
            where = ()
        if g is None or not g.folded:
            lines = _op_lines(e, show_source)
            if backward:  # the backward ops say whose rule emitted them by this id
                lines[0] += " " + ",".join(f"%{o}" for o in e.out_ids if o is not None)
            extra = _tooltip(e)
        else:
            any_folded = True
            # The call's name; its primitives are in the tooltip, and detail="primitives" draws them.
            lines = [g.label, _plural(stop - start, "op") if stop - start > 1 else ""]
            if show_source:
                lines.append(format_where(e.where))
            extra = _group_tooltip(entries, g) + CALL_STYLE
        if show_saved:
            nbytes = 0
            if g is None or not g.folded:
                for j, (role, v) in enumerate(e.saved()):
                    n = _nbytes(v)
                    nbytes += n
                    distinct[id(v)] = n
                    sv = f"sv{start}_{j}"
                    b.node(sv, [role, format_value_type(v), format_bytes(n)], SAVED, where)
                    b.edge(sv, name, extra="dir=none style=dashed")
            else:  # one box for the call: its arrays, each counted once
                mine: dict[int, int] = {}
                for k in range(start, stop):
                    for _, v in entries[k].saved():
                        n = _nbytes(v)
                        saved_total += n  # the legend's total counts per entry, as for primitives
                        distinct[id(v)] = mine[id(v)] = n
                nbytes = sum(mine.values())
                if mine:
                    b.node(f"sv{start}_0", [f"saved by {g.label}", _plural(len(mine), "array"),
                                            format_bytes(nbytes)], SAVED, where)
                    b.edge(f"sv{start}_0", name, extra="dir=none style=dashed")
            if g is None or not g.folded:
                saved_total += nbytes
            if nbytes:
                lines.append("saved " + format_bytes(nbytes))
        b.node(name, lines, OP, where, extra)
        for k in range(start, stop):
            e = entries[k]
            for i in e.in_ids:
                if i is not None:
                    src = producer.get(i, "consumed" if consumed else None)
                    if src != name:
                        b.edge(src, name, avals.get(i))
            for o, av in zip(e.out_ids, e.out_avals, strict=True):
                if o is not None:
                    producer[o] = name
                    avals[o] = av

    if consumed:
        b.node("consumed", [f"… {consumed} entries consumed by a backward sweep"], "white",
               extra=" style=dashed")
    if truncated:
        b.node("more", [f"… {truncated} more ops (max_nodes={max_nodes})"], "white", extra=" style=dashed")
    for n, (oid, name, aval) in enumerate(tape.outputs):
        lines = [name or f"out{n}", _aval_of(aval) if show_shapes else ""]
        if oid is None:
            lines.append("(constant)")
        b.node(f"out{n}", lines, OUTPUT)
        if oid is not None:
            b.edge(producer.get(oid, "consumed" if consumed else None), f"out{n}", aval)

    if backward:
        from tapegrad.viz.backward_view import record_backward
        from tapegrad.viz.dot_backward import draw_backward

        draw_backward(b, tape, record_backward(tape), producer, names, max_nodes - drawn, show_source, calls)
    if legend:
        _draw_legend(b, show_saved, saved_total, sum(distinct.values()), backward, any_folded)

    label_of = clusters.label if clusters is not None else _module_labeler()
    return graph_class()(name="tape", graph_attr=GRAPH_ATTR, node_attr=NODE_ATTR, edge_attr=EDGE_ATTR,
                         body=b.body(label_of), format="svg")


def _group_tooltip(entries: Any, g: Group, most: int = 24) -> str:
    """The call's primitives as listing lines: hovering over the node in an SVG shows them."""
    lines = [f"{g.label}: {_plural(g.stop - g.start, 'op')}"]
    for k in range(g.start, min(g.stop, g.start + most)):
        lines.append(format_entry(entries[k]))
    if g.stop - g.start > most:
        lines.append(f"… {g.stop - g.start - most} more")
    where = format_where(entries[g.start].where)
    if where:
        lines.append("# " + where)
    return f' tooltip="{_esc(chr(10).join(lines))}"'


class _Clusters:
    """``detail="modules"``: one cluster per module call, nested as the calls were.

    A cluster's key is the chain of ``(call number, label)`` from the outermost call, so two calls
    of one module stay two clusters and sorted keys keep the calls' order. Parameters whose path
    (:func:`~tapegrad.viz.modules.parameter_modules`) is a called module's go into its cluster.
    """

    def __init__(self, tape: Tape, groups: list[Group]) -> None:
        from tapegrad.viz.modules import parameter_modules

        self.keys: dict[int, tuple] = {}  # id(module Scope) -> key; the Scopes live on the entries
        self.by_path: dict[tuple, tuple] = {}
        for g in groups:
            self.bucket(g.clusters)
        self.param_buckets = {iid: self.by_path[path] for iid, path in parameter_modules(tape).items()
                              if path in self.by_path}

    def bucket(self, chain: tuple) -> tuple:
        if not chain:
            return ()
        key = self.keys.get(id(chain[-1]))
        if key is None:
            key = self.bucket(chain[:-1]) + ((len(self.keys), str(chain[-1])),)  # depth: the nesting's
            self.keys[id(chain[-1])] = key
            self.by_path.setdefault(chain[-1].path, key)
        return key

    @staticmethod
    def label(key: tuple) -> str:
        return key[-1][1]


def _leaf_key(name: str) -> str:
    from tapegrad.viz.modules import parse_name

    _, keys = parse_name(name)
    return keys[-1][0] if keys else name


def _modules(tape: Tape) -> tuple[dict[int, tuple], list]:
    from tapegrad.viz.modules import assign_modules

    return assign_modules(tape)


def _module_labeler() -> Callable[[tuple], str]:
    return lambda path: ".".join(path)


def _draw_legend(b: _Builder, show_saved: bool, saved_total: int, saved_distinct: int,
                 backward: bool, calls: bool = False) -> None:
    bucket = b.buckets["legend"] = ['\t\tlabel="legend" style="rounded" color=grey60 fontsize=10\n']
    kinds = [("legend_input", "input / parameter", INPUT), ("legend_op", "op", OP),
             ("legend_output", "output" + (" / gradient" if backward else ""), OUTPUT)]
    if calls:
        kinds.insert(2, ("legend_call", "call of a function or layer\\n(detail='primitives' opens it)", OP))
    if show_saved:
        text = f"saved for backward\\ntotal {format_bytes(saved_total)}"
        if saved_distinct != saved_total:  # some arrays are kept by several entries
            text += f"\\n({format_bytes(saved_distinct)} in distinct arrays)"
        kinds.append(("legend_saved", text, SAVED))
    for name, text, color in kinds:
        style = CALL_STYLE if name == "legend_call" else ""
        bucket.append(f'\t\t{name} [label="{text}" fillcolor={color}{style}]\n')
    # Invisible edges stack the legend's boxes vertically.
    bucket.append("\t\t" + " -> ".join(n for n, _, _ in kinds) + " [style=invis]\n")


def _flat_names(params: dict) -> dict[int, str]:
    """``id(array) -> name`` for a torchviz-style ``params`` dict (values may be pytrees)."""
    out: dict[int, str] = {}
    for key, value in params.items():
        if hasattr(value, "shape"):
            out[id(value)] = str(key)
            continue
        for path, leaf in tree_flatten_with_path(value)[0]:
            out[id(leaf)] = f"{key}{keystr(path)}"
    return out


def _labels_from_residuals(tape: Tape, params: dict) -> dict[int, str]:
    by_id = _flat_names(params)
    inputs = {iid for iid, _, _ in tape.inputs}
    labels: dict[int, str] = {}
    for e in tape.entries:
        if e is None:
            continue
        for i, a in zip(e.in_ids, e.args, strict=True):
            if i in inputs and i not in labels and id(a) in by_id:
                labels[i] = by_id[id(a)]
    return labels


def draw_graph(fun: Callable | Tape, *args: Any, params: dict | None = None, show_shapes: bool = True,
               show_saved: bool = False, show_source: bool = False, backward: bool = False,
               collapse: str | None = None, detail: str = "functions", max_nodes: int = 2000,
               legend: bool = True) -> Any:
    """Record ``fun(*args)`` and draw it: a ``graphviz.Digraph`` (``.render(path)`` writes ``path.svg``).

    Args:
        fun: the function to draw (or an already recorded :class:`~tapegrad.Tape`).
        args: its arguments; floating-point leaves are the inputs, named by argument
            name and pytree path (``params['linear_relu_stack']['0']['weight']``).
        params: torchviz's ``params=``: ``{name: array}`` naming inputs by identity with
            the argument leaves (a value may also be a pytree: its leaves are named by path).
        show_shapes: label edges and nodes with shape and dtype (``f32[2,2]``).
        show_saved: draw what each VJP rule keeps (orange) and its bytes, the total in the legend.
        show_source: add the ``file.py:line`` of your code that recorded each node (for a call
            of ``F.relu`` or a layer, the line that called it).
        backward: also draw the backward pass, in a cluster named ``backward``.
        collapse: ``"module"`` groups ops in clusters by nn module (guessed from parameter paths).
        detail: what one node is. ``"functions"`` (default): a call of an ``F.`` or composed ``tnp``
            function or of a library layer is one node named as you wrote it (``relu``, ``linear``,
            ``cross_entropy``, ``Linear: fc1``, ``MultiheadAttention: attn``); your own modules,
            ``Sequential`` and the layers made of layers (``TransformerEncoderLayer``) show their
            contents. ``"modules"``: also a cluster per module call (``fc1 (Linear)``), nested.
            ``"primitives"``: one node per primitive (the tape as recorded). The rule is in
            :mod:`tapegrad.viz.groups`.
        max_nodes: draw at most this many nodes, then one ``… N more ops`` node.
        legend: draw the colour legend.

    The drawing has no size cap: Graphviz lays it out at its natural size, so labels stay
    readable however big the graph. The returned graph's default format is SVG (``.render(path)``
    writes ``path.svg``; in Jupyter it displays as SVG), which scales and pans in any browser and
    whose nodes show their primitives on hover; ``.render(path, format="png")`` still writes a PNG,
    which for a graph of hundreds of nodes is large.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x = tnp.ones((2, 2))
        >>> dot = draw_graph(lambda x: (x * x * x * x).mean(), x, params=dict(x=x))
        >>> dot.source.count('label="multiply')
        3
    """
    if isinstance(fun, Tape):
        tape = fun
        labels = _labels_from_residuals(tape, params) if params else {}
    else:
        from tapegrad.core.primitive import INEXACT
        from tapegrad.core.tracer import Tracer
        from tapegrad.transforms.make_tape import make_tape

        by_id = _flat_names(params) if params else {}
        converted = []
        matched: list[str | None] = []  # one per differentiable leaf: its params= name, if any
        for a in args:
            leaves, tree = tree_flatten(a)
            new = []
            for leaf in leaves:
                v = leaf if type(leaf) is Tracer else jnp.asarray(leaf)
                if np.dtype(v.dtype) in INEXACT:
                    matched.append(by_id.get(id(leaf)))
                new.append(v)
            converted.append(tree_unflatten(tree, new))
        tape = make_tape(fun)(*converted)
        labels = {iid: m for (iid, _, _), m in zip(tape.inputs, matched, strict=False) if m is not None}
    return draw_tape(tape, show_shapes=show_shapes, show_saved=show_saved, show_source=show_source,
                     backward=backward, collapse=collapse, detail=detail, max_nodes=max_nodes, legend=legend,
                     input_labels=labels)
