"""Parameter groups: per-path hyperparameters (torch's ``param_groups``) chosen by glob patterns.

``groups={"encoder.*": {"lr": 1e-4}, "*.bias": {"weight_decay": 0.0}}`` matches each leaf's path,
spelled as ``nn.named_parameters`` spells it (dict keys joined by ``.``; list/tuple indices and
NamedTuple fields are path parts too), with ``fnmatch`` globs (``*`` also matches dots).

Semantics, precisely: **the first pattern (in the dict's order) that matches a path wins**, and the
group's entries replace the optimizer's own hyperparameters for those leaves; the entries of later
matching groups are not merged in. This mirrors torch, whose ``param_groups`` are disjoint: a param
belongs to exactly one group. Leaves matching no pattern use the optimizer's own hyperparameters.
A pattern matching no leaf is an error (a misspelled path would otherwise silently change
nothing), as is an entry that is not a hyperparameter of the optimizer. ``{"frozen": True}``
leaves the group's params and their state untouched (it must then be the group's only entry).
A group's ``lr`` may be a schedule. The state is a ``GroupedState``: one state per group (None
for frozen ones, the default group last), each with its own step count, as torch's per-param state.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax

from tapegrad.optim import base, compiled
from tapegrad.optim.base import PyTree


class GroupedState(NamedTuple):
    """``step``: int32 count of grouped steps taken; ``groups``: each group's own optimizer state (the
    state of the same optimizer over the list of that group's leaves), None for a frozen group; the
    params matching no pattern are the last group."""

    step: jax.Array
    groups: tuple


def _path_name(path) -> str:
    parts = []
    for k in path:
        for attr in ("key", "idx", "name"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
        else:
            parts.append(str(k))
    return ".".join(parts)


def check_groups(opt: Any) -> None:
    """Validate ``opt.groups`` at construction: a mapping of patterns to dicts of known hyperparameters."""
    name = type(opt).__name__
    if opt.groups is None:
        return
    if not isinstance(opt.groups, Mapping):
        raise TypeError(f"{name}: groups must be a dict of glob pattern -> dict of hyperparameters, got {opt.groups!r}")
    known = {f.name for f in dataclasses.fields(opt)} - {"groups"}
    for pattern, entries in opt.groups.items():
        if not isinstance(pattern, str) or not isinstance(entries, Mapping):
            raise TypeError(f"{name}: group {pattern!r} must map a str pattern to a dict, got {entries!r}")
        if "frozen" in entries:
            if set(entries) != {"frozen"} or not isinstance(entries["frozen"], bool):
                raise ValueError(
                    f"{name}: group {pattern!r}: 'frozen' takes a bool and no other entries, got {entries}"
                )
            continue
        unknown = set(entries) - known
        if unknown:
            raise ValueError(
                f"{name}: group {pattern!r} sets {sorted(unknown)}, which are not {name} hyperparameters "
                f"(expected some of {sorted(known)} or 'frozen')"
            )
        dataclasses.replace(opt, groups=None, **entries)  # the group's values checked as the optimizer's


def _plan(opt: Any, params: PyTree):
    """(treedef, group index per leaf, sub-optimizer or None (frozen) per group)."""
    name = type(opt).__name__
    with_path, treedef = jax.tree_util.tree_flatten_with_path(params)
    names = [_path_name(p) for p, _ in with_path]
    patterns = list(opt.groups)
    index = []
    for n in names:
        hit = next((i for i, pat in enumerate(patterns) if fnmatch.fnmatchcase(n, pat)), len(patterns))
        index.append(hit)
    for pat in patterns:
        if not any(fnmatch.fnmatchcase(n, pat) for n in names):
            raise ValueError(f"{name}: group pattern {pat!r} matches no parameter; the paths are {names}")
    subs = []
    for pat in patterns:
        entries = opt.groups[pat]
        subs.append(None if entries.get("frozen") else dataclasses.replace(opt, groups=None, **entries))
    subs.append(dataclasses.replace(opt, groups=None))
    return treedef, index, subs


def _split(leaves: list, index: list[int], n: int) -> list[list]:
    return [[x for x, i in zip(leaves, index, strict=True) if i == g] for g in range(n)]


def init(opt: Any, params: PyTree) -> GroupedState:
    """One state per group over the list of its leaves."""
    _, index, subs = _plan(opt, params)
    parts = _split(jax.tree_util.tree_leaves(params), index, len(subs))
    states = tuple(None if sub is None else sub.init(part) for sub, part in zip(subs, parts, strict=True))
    return GroupedState(base.init_step(), states)


def step(opt: Any, params: PyTree, grads: PyTree, state: GroupedState) -> tuple[PyTree, GroupedState]:
    """Each group's leaves stepped by its own optimizer; frozen groups' params and states kept."""
    name = type(opt).__name__
    if not isinstance(state, GroupedState):
        raise TypeError(f"{name}.step: with groups the state is a GroupedState (from init), got {type(state).__name__}")
    grads = base.check_grads(name, params, grads)
    treedef, index, subs = _plan(opt, params)
    if len(state.groups) != len(subs):
        raise ValueError(f"{name}.step: state has {len(state.groups)} groups, the optimizer {len(subs)}")
    p_parts = _split(jax.tree_util.tree_leaves(params), index, len(subs))
    g_parts = _split(jax.tree_util.tree_leaves(grads), index, len(subs))
    new_parts, new_states = [], []
    for sub, p, g, s in zip(subs, p_parts, g_parts, state.groups, strict=True):
        if sub is None:
            new_parts.append(p)
            new_states.append(s)
        else:
            p, s = sub.step(p, g, s)
            new_parts.append(p)
            new_states.append(s)
    iters = [iter(part) for part in new_parts]
    leaves = [next(iters[i]) for i in index]
    return jax.tree_util.tree_unflatten(treedef, leaves), GroupedState(state.step + 1, tuple(new_states))


def supports_groups(cls: type) -> type:
    """Class decorator: a ``groups`` field routes ``init``/``step`` through the groups when set."""
    plain_init, plain_step, post = cls.init, cls.step, getattr(cls, "__post_init__", None)

    def __post_init__(self) -> None:
        if post is not None:
            post(self)
        check_groups(self)

    def init_(self, params: PyTree):
        return plain_init(self, params) if self.groups is None else init(self, params)

    def step_(self, params: PyTree, grads: PyTree, state):
        return compiled.run(plain_step if self.groups is None else step, self, params, grads, state)

    for new, old in ((init_, plain_init), (step_, plain_step)):
        new.__doc__, new.__name__, new.__qualname__ = old.__doc__, old.__name__, old.__qualname__
        new.__annotations__ = old.__annotations__
    cls.__post_init__, cls.init, cls.step = __post_init__, init_, step_
    return cls
