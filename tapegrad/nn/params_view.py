"""``ParamsView``: what a module's ``forward`` receives as ``params``, and how running state travels.

A module call hands ``forward`` a read-only view of its node of the params
tree instead of the dict itself. The view knows two things the dict cannot:

* its **path** from the tree passed to the outermost call (``("features", "1")``
  for ``params["features"]["1"]``). ``view[name]`` on a sub-dict returns the
  view one level down, so a parent that calls its child as
  ``self.child(params["child"], x)`` hands it its path without knowing it does;
* the **call** it belongs to: one per outermost ``model(params, ...)`` or
  ``model.apply(params, ...)``. Under ``apply`` the call collects the buffer
  updates that stateful layers record (``Module.record_state``) in a plain
  dict from path to ``{buffer name: new value}``, and ``apply`` writes them into
  a copy of the tree at those paths.

Nothing is keyed by object identity and nothing is global: a copied params tree
(``jax.tree_util.tree_map(jnp.copy, p)``, ``copy.deepcopy``, a ``tg.load``
round trip) gives the same result, two sub-dicts that happen to be the same
object are still two paths, and under ``jax.jit``/``jax.vmap``/``tg.grad`` the
updates are ordinary traced values returned by ``apply``.

A view reads like the dict (``params["weight"]``, ``.get``, ``in``, ``items()``,
``dict(params)``) but cannot be assigned to. It is a pytree: ``jax`` transforms
and ``tree_map`` see the dict's leaves and give back a plain dict (which starts a
call of its own when passed to a module, so state recorded below it cannot
reach this ``apply``: pass stateful children ``params[name]`` as received).

Example:
    >>> import jax.numpy as jnp, tapegrad.nn as nn
    >>> class Show(nn.Module):
    ...     def __init__(self):
    ...         self.fc = nn.Linear(2, 2)
    ...     def forward(self, params, x):
    ...         print(type(params).__name__, params["fc"].path)
    ...         return self.fc(params["fc"], x)
    >>> _ = Show()(Show().init(0), jnp.ones((1, 2)))
    ParamsView ('fc',)
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import jax
import numpy as np

Path = tuple[str, ...]


def empty_node(node: Mapping[str, Any]) -> dict[str, Any]:
    """An empty node of the same kind: a plain ``dict`` stays one (so a jit/scan carry keeps its
    type), anything else becomes an ``OrderedDict`` (which JAX does not reorder)."""
    if isinstance(node, ParamsView):
        node = node.raw
    return {} if type(node) is dict else OrderedDict()


def dotted(path: Path) -> str:
    """``("features", "1")`` -> ``"'features.1'"``, ``()`` -> ``"the top level"`` (for messages)."""
    return repr(".".join(path)) if path else "the top level"


class Call:
    """One outermost module call. ``collect`` is true under ``Module.apply``, whose buffer updates
    accumulate in ``updates``: path of a params node -> ``{buffer name: new value}``."""

    __slots__ = ("collect", "updates")

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.updates: dict[Path, dict[str, Any]] = {}

    def merged(self, root: Mapping[str, Any]) -> dict[str, Any]:
        """A new tree: ``root`` with every recorded update written in at its path."""

        def walk(node: Mapping[str, Any], path: Path) -> dict[str, Any]:
            out = empty_node(node)
            for k, v in node.items():
                out[k] = walk(v, path + (str(k),)) if isinstance(v, Mapping) else v
            out.update(self.updates.get(path, {}))
            return out

        return walk(root, ())


class ParamsView(Mapping):
    """A read-only view of one node of the params tree, with its path and the call it belongs to.

    Example:
        >>> v = ParamsView({"bn": {"running_mean": 0.0}}, (), Call(collect=False))
        >>> v["bn"].path, dict(v["bn"])
        (('bn',), {'running_mean': 0.0})
    """

    __slots__ = ("_node", "_path", "_call")

    def __init__(self, node: Mapping[str, Any], path: Path, call: Call) -> None:
        self._node = node.raw if isinstance(node, ParamsView) else node
        self._path = path
        self._call = call

    @property
    def raw(self) -> Mapping[str, Any]:
        """The params dict itself (the node of the tree the outermost call was given)."""
        return self._node

    @property
    def path(self) -> Path:
        """The keys leading to this node from the tree passed to the outermost call."""
        return self._path

    @property
    def call(self) -> Call:
        return self._call

    def __getitem__(self, key: str) -> Any:
        value = self._node[key]
        if isinstance(value, ParamsView):  # a dict rebuilt from views ({**params}): each keeps its place
            return value
        return ParamsView(value, self._path + (str(key),), self._call) if isinstance(value, Mapping) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._node)

    def __len__(self) -> int:
        return len(self._node)

    def __contains__(self, key: object) -> bool:
        return key in self._node

    def __repr__(self) -> str:
        return f"ParamsView(at {dotted(self._path)}: {self._node!r})"

    def relative_to(self, outer: Mapping[str, Any]) -> Path | None:
        """This node's path below ``outer`` if ``outer`` is a view of an enclosing node in the same call."""
        if not isinstance(outer, ParamsView) or outer._call is not self._call:
            return None
        n = len(outer._path)
        return self._path[n:] if self._path[:n] == outer._path else None

    # --- running state (used by Module.current_state / record_state) ----------------------------

    def current(self) -> dict[str, Any]:
        """The node's entries with the updates this call already recorded for it."""
        return {**self._node, **self._call.updates.get(self._path, {})}

    def record(self, owner: str, buffer_names: tuple[str, ...], new: Mapping[str, Any]) -> None:
        """Record new values for buffers of this node; checked so that ``apply``'s result has the
        structure, shapes and dtypes of its input (a jit or scan carry needs exactly that)."""
        if not isinstance(new, Mapping):
            raise TypeError(f"{owner}.record_state: expected a dict of buffer name -> new value, "
                            f"got {type(new).__name__}")
        for name, value in new.items():
            if name not in buffer_names:
                raise ValueError(f"{owner}.record_state: {name!r} is not a buffer of this module "
                                 f"(buffer_names = {tuple(buffer_names)}); only buffers are state")
            if name not in self._node:
                raise ValueError(f"{owner}.record_state: buffer {name!r} is not in the params at "
                                 f"{dotted(self._path)} (they hold {list(self._node)}); init_params must "
                                 "create every buffer")
            old = self._node[name]
            want, got = _aval(old), _aval(value)
            if want != got:
                raise ValueError(f"{owner}.record_state: buffer {name!r} at {dotted(self._path)} is "
                                 f"{want[1]} of shape {want[0]}, got {got[1]} of shape {got[0]}; a buffer "
                                 "keeps its shape and dtype (cast the new value with .astype)")
        self._call.updates[self._path] = {**self._call.updates.get(self._path, {}), **new}


def _aval(value: Any) -> tuple[tuple[int, ...], str]:
    # .shape/.dtype first: tapegrad and JAX tracers have them, and np.shape would try to read values.
    shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
    dtype = value.dtype if hasattr(value, "dtype") else np.result_type(value)
    return tuple(shape), np.dtype(dtype).name


def _flatten_with_keys(view: ParamsView) -> tuple[list[tuple[Any, Any]], tuple[type, tuple[str, ...]]]:
    keys = tuple(view.raw)
    return [(jax.tree_util.DictKey(k), view.raw[k]) for k in keys], (type(empty_node(view)), keys)


def _flatten(view: ParamsView) -> tuple[list[Any], tuple[type, tuple[str, ...]]]:
    keys = tuple(view.raw)
    return [view.raw[k] for k in keys], (type(empty_node(view)), keys)


def _unflatten(aux: tuple[type, tuple[str, ...]], children: Any) -> dict[str, Any]:
    # A plain dict, not a view: a transformed tree has left this call, and a view rebuilt inside a
    # jax.jit/checkpoint trace would record that trace's values into the outer call (leaked tracers).
    kind, keys = aux
    return kind(zip(keys, children))


jax.tree_util.register_pytree_with_keys(ParamsView, _flatten_with_keys, _unflatten, _flatten)


__all__ = ["Call", "ParamsView", "dotted", "empty_node"]
