"""Which entries of a tape a drawing or a listing folds into one node: the user-level calls.

Every entry keeps the name stack it was recorded under (:mod:`tapegrad.core.scope`): the
``F.`` functions, the composed ``tnp`` functions and the ``nn`` modules that were running. A
*call* is one :class:`~tapegrad.core.scope.Scope` object, so ``relu(relu(x))`` is two calls. The
``detail`` of a view decides what one node is:

- ``"functions"`` (the default): the outermost named call that is not see-through. A library
  function (``relu``, ``linear``, ``cross_entropy``, ``var``) or a library layer
  (``nn.Linear``, ``nn.LayerNorm``, ``nn.LSTM``, ``nn.MultiheadAttention``: see :func:`opaque`)
  is one node, named as the user wrote it; the user's own modules, the containers
  (``Sequential``, ``ModuleList``) and the modules made of layers (``TransformerEncoderLayer``)
  are see-through, so what they call shows. ``cross_entropy``'s inner ``log_softmax`` is part
  of ``cross_entropy``.
- ``"modules"``: every module call is a cluster, nested as the calls were, and inside it each
  outermost function call is a node: ``linear`` inside ``linear_relu_stack.0 (Linear)``.
- ``"primitives"``: one node per primitive, as recorded (the picture before grouping).

A call recorded as a single primitive of its own name (``F.relu`` is the ``relu`` primitive) is
drawn as that primitive, attributes included: folding it would only hide them.

Groups are runs of consecutive entries: one call records its primitives one after the other, so a
run is the whole call, and contracting runs of a topologically ordered tape cannot make a cycle.
Everything is one loop over the entries, with the name stack of each distinct tuple looked up
once (entries recorded inside one call share the tuple).

Example:
    >>> import jax.numpy as jnp, tapegrad as tg, tapegrad.nn.functional as F
    >>> tape = tg.make_tape(lambda x: F.cross_entropy(F.relu(x), jnp.array([0, 1])))(jnp.ones((2, 3)))
    >>> [(g.label, g.stop - g.start) for g in group_entries(tape.entries, "functions")]
    [('relu', 1), ('cross_entropy', 2)]
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DETAILS = ("functions", "modules", "primitives")
# Library modules that only hold and call others: see-through at the "functions" level.
CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


def check_detail(detail: str) -> str:
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {', '.join(repr(d) for d in DETAILS)}, got {detail!r}")
    return detail


def opaque(call: Any) -> bool:
    """Whether a module call is one node at the ``"functions"`` level: a library layer whose
    sub-modules, if any, have none of their own (``Linear``, ``LayerNorm``, ``LSTM``, and
    ``MultiheadAttention`` with its ``out_proj``). Containers (``Sequential``, ``ModuleList``,
    ``ModuleDict``) and deeper modules (``TransformerEncoderLayer``) show what they call, and so
    does a module defined outside tapegrad: the user's own code is the point."""
    module = call.module
    t = type(module)
    if not t.__module__.startswith("tapegrad.") or t.__name__ in CONTAINERS:
        return False
    try:
        return all(not child.named_children() for _, child in module.named_children())
    except TypeError:  # a list of modules not registered as children: see-through
        return False


def call_label(call: Any) -> str:
    """``relu``, ``Linear: linear_relu_stack.0``, or ``Net`` for an outermost module call."""
    if call.kind != "module":
        return str(call)
    cls = type(call.module).__name__
    return f"{cls}: {'.'.join(call.path)}" if call.path else cls


def _unit(names: tuple, detail: str) -> tuple[Any, tuple]:
    """(the call naming the node, or None for a bare primitive; the module calls around it)."""
    if detail == "functions":
        for s in names:
            if s.kind != "module" or opaque(s):
                return s, ()
        return None, ()
    clusters = []
    for s in names:
        if s.kind != "module":
            return s, tuple(clusters)
        clusters.append(s)
    return None, tuple(clusters)


class Group:
    """Entries ``start:stop`` of a tape, drawn as one node.

    Attributes:
        call: the :class:`~tapegrad.core.scope.Scope` that names the node, or None (a primitive).
        clusters: the module calls the node sits in, outermost first (``detail="modules"`` only).
        folded: whether the node stands for the call (else it is drawn as its one primitive).
        label: the node's name (:func:`call_label`), or the primitive's.
    """

    __slots__ = ("start", "stop", "call", "clusters", "folded")

    def __init__(self, start: int, stop: int, call: Any, clusters: tuple) -> None:
        self.start = start
        self.stop = stop
        self.call = call
        self.clusters = clusters
        self.folded = call is not None

    @property
    def label(self) -> str:
        return call_label(self.call) if self.call is not None else ""

    def __repr__(self) -> str:
        return f"Group({self.start}:{self.stop}, {self.label or 'primitive'})"


def group_entries(entries: Sequence[Any], detail: str = "functions") -> list[Group]:
    """The nodes of a tape at ``detail``, in order, covering every entry (a consumed entry, ``None``,
    is a group of its own with no call)."""
    check_detail(detail)
    groups: list[Group] = []
    if detail == "primitives":
        return [Group(k, k + 1, None, ()) for k in range(len(entries))]
    units: dict[int, tuple[Any, tuple]] = {}  # id(name stack) -> unit; the tuples live as long as the entries
    last: Group | None = None
    for k, e in enumerate(entries):
        names = e.scope if e is not None else ()
        if not names:
            groups.append(Group(k, k + 1, None, ()))
            last = None
            continue
        unit = units.get(id(names))
        if unit is None:
            unit = units[id(names)] = _unit(names, detail)
        call, clusters = unit
        if call is not None and last is not None and last.call is call and last.clusters == clusters:
            last.stop = k + 1
            continue
        last = Group(k, k + 1, call, clusters)
        groups.append(last)
        if call is None:
            last = None
    for g in groups:
        # One primitive of the call's own name says all the node would (F.relu is the relu primitive).
        if g.folded and g.stop - g.start == 1 and entries[g.start].prim.name == str(g.call):
            g.folded = False
    return groups


def group_io(entries: Sequence[Any], groups: Sequence[Group], outputs: Sequence[Any]) -> list[tuple[list, list]]:
    """Per group: (ids it reads from outside, in first-use order; ids it hands on: read by a later
    group or returned, else those of its last entry)."""
    owner: dict[int, int] = {}
    used_outside: set[int] = {oid for oid, _, _ in outputs if oid is not None}
    ins_of: list[list[int]] = []
    for n, g in enumerate(groups):
        ins: list[int] = []
        for k in range(g.start, g.stop):
            e = entries[k]
            if e is None:
                continue
            for i in e.in_ids:
                if i is not None and owner.get(i) != n:
                    if i not in ins:
                        ins.append(i)
                    used_outside.add(i)
            for o in e.out_ids:
                if o is not None:
                    owner[o] = n
        ins_of.append(ins)
    result = []
    for n, g in enumerate(groups):
        outs = [o for k in range(g.start, g.stop) if entries[k] is not None
                for o in entries[k].out_ids if o is not None and o in used_outside]
        if not outs and entries[g.stop - 1] is not None:
            outs = [o for o in entries[g.stop - 1].out_ids if o is not None]
        result.append((ins_of[n], outs))
    return result


def summary(entries: Sequence[Any], g: Group, most: int = 4) -> str:
    """``dot_general, add`` or ``log_softmax, weighted_sum, sum, … 12 ops``: what a folded node holds."""
    n = g.stop - g.start
    names = [entries[k].prim.name for k in range(g.start, min(g.stop, g.start + most))]
    return ", ".join(names) if n <= most else ", ".join(names[: most - 1]) + f", … {n} ops"
