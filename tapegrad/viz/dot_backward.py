"""The backward pass of a drawing (``backward=True``): its ops, seeds and gradients, in a cluster.

The ops come from :func:`~tapegrad.viz.backward_view.record_backward`, which knows which forward
entry's rule emitted each one. The ops the rules of one call emit (``linear``, ``cross_entropy``,
``relu``: any node of the forward picture named by a call) are one ``∂ linear`` node: the sweep
runs the rules of one call one after the other, so they form one run of the backward tape, as the
call's primitives did forward. Elsewhere each backward op is its own node, named by the forward op
it differentiates (``∂ of multiply %2``).
"""
from __future__ import annotations

from typing import Any

from tapegrad.core.source import format_where
from tapegrad.core.tape import Tape
from tapegrad.viz.dot_builder import (
    CALL_STYLE,
    INPUT,
    OP,
    OUTPUT,
    SAVED,
    _aval_of,
    _Builder,
    _esc,
    _op_lines,
    _tooltip,
)
from tapegrad.viz.groups import Group
from tapegrad.viz.listing import _plural, format_entry, format_value_type


def _runs(origin: list[int], call_of: dict[int, Group], n: int) -> list[tuple[int, int, Group | None]]:
    """Backward entries ``start:stop`` per node: one run per forward call, else one entry each."""
    runs: list[tuple[int, int, Group | None]] = []
    for j in range(n):
        g = call_of.get(origin[j]) if origin[j] >= 0 else None
        if g is not None and runs and runs[-1][2] is g and runs[-1][1] == j:
            runs[-1] = (runs[-1][0], j + 1, g)
        else:
            runs.append((j, j + 1, g))
    return runs


def draw_backward(b: _Builder, tape: Tape, rec: Any, fwd_producer: dict[int, str], names: dict[int, str],
                  budget: int, show_source: bool, calls: dict[int, Group]) -> None:
    """The backward ops, seeds and gradients, all in the cluster ``backward``.

    ``fwd_producer`` maps forward ids to their forward nodes (residual edges start there);
    ``calls`` maps the first entry of each forward node named by a call to its group.
    """
    from tapegrad.core.tracer import Tracer

    call_of: dict[int, Group] = {}  # forward entry -> the call it is part of
    for g in calls.values():
        for k in range(g.start, g.stop):
            call_of[k] = g
    where = "backward"
    b.buckets[where] = ['\t\tlabel="backward" style="rounded" color=firebrick fontcolor=firebrick '
                        'fontsize=12\n']
    producer: dict[int, str] = {}
    avals: dict[int, Any] = {}
    residual: set[int] = set()
    for oid, fid in rec.stand_ins.items():
        producer[oid] = fwd_producer.get(fid)
        residual.add(oid)
    for oid, _, aval in rec.tape.inputs:
        avals[oid] = (aval.shape, aval.dtype)
    for oid, k in rec.held.items():  # a custom rule's own residuals, kept in its params
        held = f"held{oid}"
        fe = tape.entries[k]
        b.node(held, [f"kept by {fe.prim.name}", _aval_of(avals[oid]) if b.show_shapes else ""], SAVED, where)
        b.edge(f"op{call_of[k].start if k in call_of else k}", held, extra="dir=none style=dashed")
        producer[oid] = held
    for oid, n in rec.seeds.items():
        out_name = tape.outputs[n][1] or f"out{n}"
        b.node(f"seed{n}", [f"seed ∂{out_name}", _aval_of(avals[oid]) if b.show_shapes else ""], INPUT,
               where, ' tooltip="the cotangent the backward pass starts from: ones_like(output)"')
        b.edge(f"out{n}", f"seed{n}", extra="style=dashed")
        producer[oid] = f"seed{n}"

    drawn = truncated = 0
    entries = rec.tape.entries
    for start, stop, g in _runs(rec.origin, call_of, len(entries)):
        if drawn >= budget:
            for j in range(start, stop):
                truncated += 1
                e = entries[j]
                for i in e.in_ids:
                    if i is not None and i not in residual and producer.get(i, "more_bw") != "more_bw":
                        b.edge(producer[i], "more_bw")
                for o in e.out_ids:
                    if o is not None:
                        producer[o] = "more_bw"
            continue
        drawn += 1
        name = f"bw{start}"
        e = entries[start]
        if g is None:
            lines = _op_lines(e, False)
            k = rec.origin[start]
            fe = tape.entries[k] if k >= 0 else None
            if fe is not None:
                lines.append(f"∂ of {fe.prim.name} %{','.join(str(o) for o in fe.out_ids if o is not None)}")
                if show_source:
                    lines.append(format_where(fe.where))
            extra = _tooltip(e).replace(' tooltip="', ' tooltip="backward: ', 1)
        else:
            lines = [f"∂ {g.label}", _plural(stop - start, "op") if stop - start > 1 else ""]
            if show_source:
                lines.append(format_where(tape.entries[g.start].where))
            shown = [format_entry(entries[j]) for j in range(start, min(stop, start + 24))]
            head = f"backward of {g.label}: {_plural(stop - start, 'op')}"
            extra = f' tooltip="{_esc(chr(10).join([head, *shown]))}"'
            extra += CALL_STYLE
        b.node(name, lines, OP, where, extra)
        for j in range(start, stop):
            e = entries[j]
            for i in e.in_ids:
                if i is None:
                    continue
                if i in residual:
                    # No shape label: the forward node already shows it, and these edges are long.
                    b.edge(producer[i], name, None, "style=dashed color=darkorange3")
                elif producer.get(i) != name:
                    b.edge(producer.get(i), name, avals.get(i))
            for o, av in zip(e.out_ids, e.out_avals, strict=True):
                if o is not None:
                    producer[o] = name
                    avals[o] = av
    if truncated:
        b.node("more_bw", [f"… {truncated} more backward ops"], "white", where, " style=dashed")

    for n, (iid, _, g) in enumerate(rec.grads):
        lines = [f"∂/∂{names.get(iid, f'%{iid}')}"]
        if isinstance(g, Tracer) and g.trace is rec.trace:
            lines.append(_aval_of(avals.get(g.id)) if b.show_shapes else "")
            b.node(f"grad{n}", lines, OUTPUT, where)
            b.edge(producer.get(g.id), f"grad{n}", avals.get(g.id),
                   "style=dashed color=darkorange3" if g.id in residual else "")
        else:
            lines.append("zero" if g is None else "constant " + format_value_type(g))
            b.node(f"grad{n}", lines, OUTPUT, where)
