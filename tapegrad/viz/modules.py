"""``collapse="module"``: which nn module each op of a tape belongs to.

A tape knows nothing of modules, only the names of its inputs, e.g.
``params['linear_relu_stack']['0']['weight']``. A *parameter* is an input whose
name has a path of string keys (dict keys or attributes, as in PyTorch's
``state_dict``); its *module* is that path without the last key
(``linear_relu_stack.0``). Inputs indexed by position (``batch[0]``) or
without a path (``x``) are data. When a single argument holds all the
parameters, its name is left out of the module paths.

The rule, in three passes over the entries (loops, no recursion):

1. **Parameter-only values.** A parameter is parameter-only, for its module; an
   op output is parameter-only when every traced argument is, for the deepest
   common prefix of their modules (``W.T`` is ``linear_relu_stack.0``'s).
2. **Ops that read parameters.** An op with at least one parameter-only
   argument belongs to the deepest common prefix of those arguments' modules:
   ``x @ W.T`` and ``... + b`` go to ``linear_relu_stack.0``.
3. **Ops between modules.** Every other op (ReLU, a residual add, a loss) goes
   to the deepest common prefix of where its inputs come from (forward pass)
   and where its outputs go (backward pass). A ReLU between
   ``linear_relu_stack.0`` and ``linear_relu_stack.2`` lands in
   ``linear_relu_stack``; a flatten fed by the data, or a loss feeding the
   output, lands at the top level (the empty path).

So clusters nest like the modules, and no op is drawn inside a module it only
follows. A parameter-free module such as PyTorch's ``ReLU()`` (``'1'``) has no
names on the tape and cannot get a cluster of its own.

Example:
    >>> import tapegrad as tg, tapegrad.numpy as tnp
    >>> p = {"fc": {"weight": tnp.ones((2, 3)), "bias": tnp.ones(2)}}
    >>> tape = tg.make_tape(lambda p, x: tnp.maximum(x @ p["fc"]["weight"].T + p["fc"]["bias"], 0.0))(
    ...     p, tnp.ones((4, 3)))
    >>> assign_modules(tape)[1]
    [('fc',), ('fc',), ('fc',), ()]
"""
from __future__ import annotations

import re
from typing import Any

Path = tuple[str, ...]

_KEY = re.compile(r"\[(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|([^\]]*))\]|\.([A-Za-z_]\w*)")


def parse_name(name: str | None) -> tuple[str, list[tuple[str, bool]]]:
    """``params['a'][0].b`` -> ``('params', [('a', True), ('0', False), ('b', True)])``.

    The flag says whether the key is a name (dict string key or attribute) rather
    than a position.
    """
    if not name:
        return "", []
    m = re.search(r"[\[.]", name)
    head = name if m is None else name[: m.start()]
    keys = []
    for km in _KEY.finditer(name, len(head)):
        sq, dq, bare, attr = km.groups()
        if attr is not None:
            keys.append((attr, True))
        elif sq is not None or dq is not None:
            keys.append((sq if sq is not None else dq, True))
        else:
            keys.append((bare, False))
    return head, keys


def common_prefix(a: Path, b: Path) -> Path:
    """The deepest path both ``a`` and ``b`` lie under."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a if n == len(a) else a[:n]


def parameter_modules(tape: Any) -> dict[int, Path]:
    """Input id -> module path, for the inputs that are parameters."""
    found: dict[int, tuple[str, Path]] = {}
    for iid, name, _ in tape.inputs:
        head, keys = parse_name(name)
        if keys and all(named for _, named in keys):
            found[iid] = (head, tuple(k for k, _ in keys[:-1]))
    heads = {h for h, _ in found.values()}
    # One argument holds every parameter: its name adds nothing, unless dropping it
    # would leave some parameter (e.g. params['weight']) with no module at all.
    drop = len(heads) == 1 and all(path for _, path in found.values())
    return {iid: path if drop else (head,) + path for iid, (head, path) in found.items()}


def assign_modules(tape: Any) -> tuple[dict[int, Path], list[Path | None]]:
    """(input id -> module of each parameter, per entry its module path; ``()`` is the top level).

    Consumed entries (``None``) get ``None``.
    """
    param_mod = parameter_modules(tape)
    entries = tape.entries
    n = len(entries)
    top: Path = ()

    # Passes 1 and 2, and the forward half of pass 3: where each value comes from.
    pure: dict[int, Path] = dict(param_mod)
    came_from: dict[int, Path] = {iid: param_mod.get(iid, top) for iid, _, _ in tape.inputs}
    assigned: list[Path | None] = [None] * n
    upstream: list[Path | None] = [None] * n
    for k, e in enumerate(entries):
        if e is None:
            continue
        traced = [i for i in e.in_ids if i is not None]
        mods = [pure[i] for i in traced if i in pure]
        if mods:
            m = mods[0]
            for other in mods[1:]:
                m = common_prefix(m, other)
            assigned[k] = m
            if len(mods) == len(traced):
                for o in e.out_ids:
                    if o is not None:
                        pure[o] = m
            here = m
        else:
            here = None
            for i in traced:
                src = came_from.get(i, top)  # a value of a consumed entry: no information
                here = src if here is None else common_prefix(here, src)
            upstream[k] = here = top if here is None else here
        for o in e.out_ids:
            if o is not None:
                came_from[o] = here

    # Backward half of pass 3: where each value goes; an output goes to the top level.
    goes_to: dict[int, Path] = {oid: top for oid, _, _ in tape.outputs if oid is not None}
    result: list[Path | None] = [None] * n
    for k in range(n - 1, -1, -1):
        e = entries[k]
        if e is None:
            continue
        m = assigned[k]
        if m is None:
            dest = None
            for o in e.out_ids:
                if o is not None and o in goes_to:
                    dest = goes_to[o] if dest is None else common_prefix(dest, goes_to[o])
            m = common_prefix(upstream[k], top if dest is None else dest)
        result[k] = m
        for i in e.in_ids:
            if i is not None:
                prev = goes_to.get(i)
                goes_to[i] = m if prev is None else common_prefix(prev, m)
    return param_mod, result
