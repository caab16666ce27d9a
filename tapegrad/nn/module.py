"""``nn.Module`` and ``nn.Sequential``: immutable configuration objects over explicit params.

A module holds configuration only, never arrays. ``params = module.init(key)``
builds a nested ``dict`` named and shaped like PyTorch's ``state_dict``, and
``module(params, x)`` is a pure function of it::

    >>> import tapegrad.nn as nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    >>> params = model.init(0)
    >>> {k: v.shape for k, v in nn.named_parameters(params)}
    {'0.weight': (3, 4), '0.bias': (3,)}
    >>> model(params, jnp.ones((2, 4))).shape
    (2, 3)

Params are ``OrderedDict`` s (a ``dict`` subclass): JAX sorts the keys of plain
dicts when it flattens them, so ``tg.grad``, ``jax.jit`` or an optimizer step
would otherwise reorder them; with ``OrderedDict`` every result keeps PyTorch's
definition order, which :func:`named_parameters` reports.

Children and keys. A custom module's children are the ``Module`` attributes
assigned in ``__init__``, keyed by attribute name, in assignment order (the
order of the instance ``__dict__``, which is also PyTorch's registration
order). A module's own arrays (from :meth:`Module.init_params`) come first,
then one entry per child, so a module without arrays still gets ``{}``:
``params["flatten"] == {}``.

Key splitting. ``init(key)`` draws the module's own arrays from
``jax.random.fold_in(key, 0)`` and child number ``i`` (0-based, definition
order) from ``jax.random.fold_in(key, i + 1)``: the same key gives the same
params, every child gets its own stream, and appending a child leaves the
earlier children's values unchanged.

``key=`` and ``train=``. Layers with randomness or train/eval behaviour
(``Dropout``, ``BatchNorm2d``) take keyword arguments ``key=`` and ``train=``;
``train`` defaults to ``True``, PyTorch's default mode (``train=False`` is
``model.eval()``). A custom ``forward`` passes them on explicitly::

    def forward(self, params, x, *, key=None, train=True):
        x = self.fc(params["fc"], x)
        return self.drop(params["drop"], x, key=key, train=train)

``Sequential`` does this for you: it forwards ``train`` to each child whose
``forward`` accepts it and gives child ``i`` the key ``fold_in(key, i)``.

Running statistics (``BatchNorm2d``). Buffers live in ``params`` under
PyTorch's names (``running_mean``, ``running_var``, ``num_batches_tracked``).
A training-mode call must hand back their new values, so it only runs through
:meth:`Module.apply`, which returns ``(y, new_params)``::

    y, params = model.apply(params, x, train=True)     # running stats updated
    y = model(params, x, train=False)                  # evaluation: uses them

The state is explicit: ``forward`` receives its params as a
:class:`~tapegrad.nn.params_view.ParamsView` that knows its path in the tree
(``params["features"]["1"]`` is at ``features.1``) and the call it belongs to;
under ``apply`` a stateful layer records its new buffers by that path
(:meth:`Module.record_state`), and ``apply`` writes them into a new tree. No
object identity and no global is involved, so copied params, ``jax.jit``,
``jax.vmap`` and ``tg.grad`` all see a pure function from params to
``(y, new_params)``. A layer called twice in one ``apply`` updates twice.

Calling a model whose BatchNorm runs in training mode without ``apply``
raises, so the state cannot be dropped by accident. Gradients never flow into
the new statistics. Buffers are not parameters (``num_batches_tracked`` is an
integer, which ``tg.grad`` refuses, and weight decay must not shrink running
statistics), so a training step differentiates and optimises only the
trainable half of ``model.partition(params)``::

    trainable, buffers = model.partition(params)
    opt_state = opt.init(trainable)

    def loss_fn(trainable, buffers, x, y):
        logits, new = model.apply(nn.merge(trainable, buffers), x, train=True)
        return F.cross_entropy(logits, y), model.partition(new)[1]

    (loss, buffers), grads = tg.value_and_grad(loss_fn, has_aux=True)(trainable, buffers, x, y)
    trainable, opt_state = opt.step(trainable, grads, opt_state)
    params = nn.merge(trainable, buffers)              # for evaluation and saving
"""
from __future__ import annotations

import inspect
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tapegrad.core import scope
from tapegrad.core.foreign import foreign_numpy, owned_array
from tapegrad.core.tracer import Tracer
from tapegrad.nn.keys import as_key  # here for nn.as_key and the layers
from tapegrad.nn.params_view import Call, ParamsView, dotted
from tapegrad.nn.params_view import empty_node as _dict_like

# --- params trees: flat PyTorch names <-> nested dicts ----------------------------------------------


def named_parameters(params: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``("linear_relu_stack.0.weight", array)`` pairs in definition order, like PyTorch.

    Yields every leaf of the tree it is given; :meth:`Module.named_parameters`
    leaves out buffers (running statistics) as PyTorch does.

    Example:
        >>> import tapegrad.nn as nn
        >>> [name for name, _ in nn.named_parameters(nn.Sequential(nn.Linear(2, 2)).init(0))]
        ['0.weight', '0.bias']
    """
    for k, v in params.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            yield from named_parameters(v, name + ".")
        else:
            yield name, v


def state_dict(params: Mapping[str, Any]) -> dict[str, Any]:
    """The flat ``{name: array}`` dict, PyTorch's ``state_dict()`` layout (buffers included).

    Example:
        >>> import tapegrad.nn as nn
        >>> list(nn.state_dict({"fc": {"weight": 1.0}}))
        ['fc.weight']
    """
    return dict(named_parameters(params))


def _to_array(v: Any) -> Any:
    """A state-dict value as an array to check shapes on: JAX arrays and tracers as they are
    (immutable); anything else (NumPy arrays, torch tensors, even requiring grad) as a NumPy view,
    which ``load_state_dict`` copies once when it builds the new leaf."""
    if isinstance(v, (jax.Array, Tracer)):
        return v
    return foreign_numpy(v)


def _new_leaf(new: Any, old: Any) -> Any:
    """``new`` with the dtype of ``old``, in memory that no later change to the source can reach."""
    if isinstance(new, Tracer):
        return new.astype(old.dtype)
    if isinstance(new, jax.Array):
        return jnp.asarray(new, dtype=old.dtype)
    # jnp.asarray(x, dtype=...) may adopt x's buffer on CPU: a torch optimizer step on the source
    # model would then change these "immutable" params. owned_array copies (and casts) once.
    return owned_array(new, dtype=old.dtype)


def load_state_dict(params: Mapping[str, Any], state_dict: Mapping[str, Any],
                    strict: bool = True) -> dict[str, Any]:
    """New params with the values of ``state_dict`` (flat names, or a nested dict like params).

    Values are cast to the dtype of the leaf they replace, as PyTorch's
    ``copy_`` does, and always copied: a later in-place change to the source
    (a torch optimizer step, ``a[...] = 0``) never changes the returned params.
    ``nn.load_state_dict(model.init(0), tg.load(path))`` also restores the
    definition order that a plain loaded dict may have lost.
    Missing or unexpected names (with ``strict``) and shape mismatches raise
    one ``ValueError`` listing every offending key.

    Example:
        >>> import numpy as np, tapegrad.nn as nn
        >>> p = nn.load_state_dict(nn.Linear(2, 1).init(0), {"weight": np.ones((1, 2)), "bias": np.zeros(1)})
        >>> p["weight"].tolist()
        [[1.0, 1.0]]
    """
    expected = dict(named_parameters(params))
    given = {k: _to_array(v) for k, v in named_parameters(state_dict)}
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    wrong = [k for k in expected if k in given and tuple(np.shape(given[k])) != tuple(np.shape(expected[k]))]
    problems = [f"  shape mismatch for {k!r}: expected {tuple(np.shape(expected[k]))}, "
                f"got {tuple(np.shape(given[k]))}" for k in wrong]
    if strict:
        problems += [f"  missing key {k!r} (expected shape {tuple(np.shape(expected[k]))})" for k in missing]
        problems += [f"  unexpected key {k!r} (shape {tuple(np.shape(given[k]))})" for k in unexpected]
    if problems:
        raise ValueError("load_state_dict: the state dict does not match the params:\n" + "\n".join(problems))

    def rebuild(node: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        out = _dict_like(node)
        for k, v in node.items():
            name = f"{prefix}{k}"
            if isinstance(v, Mapping):
                out[k] = rebuild(v, name + ".")
            elif name in given:
                out[k] = _new_leaf(given[name], v)
            else:
                out[k] = v
        return out

    return rebuild(params, "")


def merge(*trees: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge nested dicts; later trees win. Rebuilds params from ``model.partition(params)``.

    Each node has the kind (``dict`` or ``OrderedDict``) of the first tree that has it.

    Example:
        >>> dict(merge({"bn": {"weight": 1}}, {"bn": {"running_mean": 0}})["bn"])
        {'weight': 1, 'running_mean': 0}
    """
    out = _dict_like(trees[0]) if trees else OrderedDict()
    for tree in trees:
        for k, v in tree.items():
            out[k] = merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else (
                merge(v) if isinstance(v, Mapping) else v)
    return out


_SIGNATURES: dict[type, frozenset[str]] = {}


def accepted_kwargs(module: Module) -> frozenset[str]:
    """Which of ``key``/``train`` ``module.forward`` accepts (both if it takes ``**kwargs``)."""
    cls = type(module)
    if cls not in _SIGNATURES:
        params = inspect.signature(cls.forward).parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            names = frozenset({"key", "train"})
        else:
            names = frozenset(p.name for p in params if p.name in ("key", "train")
                              and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        _SIGNATURES[cls] = names
    return _SIGNATURES[cls]


class ParamsError(KeyError):
    """The params handed to a module lack entries it needs: names each missing path, what was
    expected there and what the dict holds instead.

    A ``KeyError`` (what the failed lookup used to raise), raised before the module computes
    anything. Each enclosing module that passed the sub-dict on unchanged prefixes its key, so the
    message names the path from the outermost call, e.g. ``'2.weight'``.
    """

    def __init__(self, module: Module, node: Mapping[str, Any], problems: list[tuple[tuple[str, ...], str]],
                 given: Mapping[tuple[str, ...], list[str]],
                 found: Mapping[tuple[str, ...], tuple[int, ...]] | None = None) -> None:
        super().__init__(problems[0][0][-1] if problems and problems[0][0] else "")
        self.module = module
        self.node = node  # the params (a ParamsView) the paths below are relative to
        self.problems = problems  # (path, what was expected there)
        self.given = dict(given)  # path of a dict -> the keys it holds
        self.found = dict(found or {})  # path of a leaf present with a wrong shape -> that shape

    def within(self, module: Module, params: Mapping[str, Any]) -> None:
        """Re-root the paths at ``params``, the view ``module`` received, if ``self.node`` lies below it
        in the same call (a sub-dict passed on as ``params[name]``; one rebuilt in forward is not)."""
        prefix = self.node.relative_to(params) if isinstance(self.node, ParamsView) else None
        if prefix is None:
            return
        self.module, self.node = module, params
        self.problems = [(prefix + path, what) for path, what in self.problems]
        self.given = {prefix + path: keys for path, keys in self.given.items()}
        self.found = {prefix + path: shape for path, shape in self.found.items()}

    def __str__(self) -> str:
        lines = []
        for path, what in self.problems:
            if path in self.found:
                lines.append(f"  {'.'.join(path)!r} has shape {self.found[path]}: expected {what}")
                continue
            holder = "params" + "".join(f"[{k!r}]" for k in path[:-1])
            lines.append(f"  {'.'.join(path)!r} is missing: expected {what}; {holder} holds "
                         f"{self.given.get(path[:-1], [])}")
        return (f"{type(self.module).__name__}: the params tree does not match the model:\n" + "\n".join(lines)
                + "\nPass the tree that model.init(key) returns (nn.load_state_dict(model.init(0), state_dict) "
                "fills one from a state dict).")


class ParamsShapeError(ParamsError, ValueError):
    """A params leaf the module needs has a different shape from the one ``init`` builds (say, the
    params of another model, or a transposed weight); names each path, the shape found and the one
    expected. Also a ``ValueError``; raised before the module computes anything.
    """


def _describe(expected: Any) -> str:
    if isinstance(expected, Module):
        extra = expected.extra_repr()
        return f"the params of {type(expected).__name__}({extra.splitlines()[0] if extra else ''})"
    if isinstance(expected, Mapping):
        return f"a dict of {list(expected)}"
    return f"a {np.dtype(expected.dtype).name} array of shape {tuple(expected.shape)}"


def _leaf_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of a params leaf, or None for a sub-dict (whose module checks it)."""
    if isinstance(value, Mapping):
        return None
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else tuple(np.shape(value))


# Per module instance: its params dict's expected top-level entries (name -> array shape/dtype or child
# module), or None where init cannot be traced abstractly. Modules are immutable, so this never goes stale.
_EXPECTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _expected_entries(module: Module) -> dict[str, Any] | None:
    try:
        return _EXPECTED[module]
    except KeyError:
        pass
    except TypeError:  # an unhashable subclass (e.g. a dataclass with eq=True): no check
        return None
    try:
        if type(module).init is Module.init:  # own arrays plus one entry per child; children not traced
            own = jax.eval_shape(lambda: dict(module.init_params(jax.random.key(0))))
            entries: dict[str, Any] | None = {**own, **dict(module.named_children())}
        else:
            entries = dict(jax.eval_shape(lambda: module.init(0)))
    except Exception:  # init needs concrete values; the lookup in forward reports what is missing
        entries = None
    _EXPECTED[module] = entries
    return entries


def _missing(expected: Mapping[str, Any], given: Mapping[str, Any], path: tuple[str, ...],
             problems: list[tuple[tuple[str, ...], str]], holders: dict[tuple[str, ...], list[str]]) -> None:
    """Collect the paths present in ``expected`` (an abstract ``init`` tree) but absent from ``given``."""
    for k, v in expected.items():
        if k not in given:
            problems.append((path + (str(k),), _describe(v)))
            holders[path] = [str(g) for g in given]
        elif isinstance(v, Mapping) and isinstance(given[k], Mapping):
            _missing(v, given[k], path + (str(k),), problems, holders)


def _diagnose(module: Module, params: Mapping[str, Any]) -> ParamsError | None:
    """After a KeyError in ``forward``: a ParamsError if ``params`` lacks anything ``init`` builds."""
    try:
        expected = jax.eval_shape(lambda: module.init(0))
    except Exception:
        return None
    problems: list[tuple[tuple[str, ...], str]] = []
    holders: dict[tuple[str, ...], list[str]] = {}
    _missing(expected, params, (), problems, holders)
    return ParamsError(module, params, problems, holders) if problems else None


class _ModuleMeta(type):
    # Freezing after the outermost __init__ returns works whether or not the
    # user's __init__ calls super().__init__() (the API's own example does not).
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        module = super().__call__(*args, **kwargs)
        object.__setattr__(module, "_frozen", True)
        return module


class Module(metaclass=_ModuleMeta):
    """Base class of all layers and models; subclass it and define ``forward(self, params, x)``.

    Assign child modules and plain configuration in ``__init__``; after
    construction a module is immutable. Override :meth:`init_params` to give
    a module arrays of its own (and list buffer names in ``buffer_names``).

    Example:
        >>> import tapegrad.nn as nn
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         self.fc = nn.Linear(2, 1)
        ...     def forward(self, params, x):
        ...         return self.fc(params["fc"], x)
        >>> Net()
        Net(
          (fc): Linear(in_features=2, out_features=1, bias=True)
        )
    """

    #: Names of this module's own leaves that are state, not trainable parameters.
    buffer_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        pass

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable after construction (it is "
                                 f"configuration only); build a new module instead of setting {name!r}")
        if isinstance(value, (jax.Array, Tracer)):
            raise TypeError(f"{type(self).__name__}.{name}: a module holds no arrays; create them in "
                            "init_params(key) so that they live in params")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; cannot delete {name!r}")

    # --- structure -----------------------------------------------------------------------------

    def named_children(self) -> list[tuple[str, Module]]:
        """``(name, module)`` for each direct child, in definition order."""
        for k, v in vars(self).items():
            if isinstance(v, (list, tuple, dict)) and any(isinstance(m, Module) for m in
                                                          (v.values() if isinstance(v, dict) else v)):
                # PyTorch silently skips these too, which then surfaces as missing parameters.
                raise TypeError(f"{type(self).__name__}.{k} is a {type(v).__name__} of modules, which is not "
                                "registered as a child: use nn.ModuleList([...]) or nn.Sequential(...)")
        return [(k, v) for k, v in vars(self).items() if isinstance(v, Module)]

    def init_params(self, key: jax.Array) -> dict[str, Any]:
        """This module's own arrays (not its children's); ``{}`` unless overridden."""
        return {}

    def init(self, key: int | jax.Array) -> OrderedDict[str, Any]:
        """Build params: own arrays from ``fold_in(key, 0)``, child ``i`` from ``fold_in(key, i + 1)``.

        Example:
            >>> import tapegrad.nn as nn
            >>> sorted(nn.Linear(3, 2).init(0))
            ['bias', 'weight']
        """
        key = as_key(key)
        params = OrderedDict(self.init_params(jax.random.fold_in(key, 0)))
        for i, (name, child) in enumerate(self.named_children()):
            if name in params:
                raise ValueError(f"{type(self).__name__}: child {name!r} clashes with an own parameter name")
            params[name] = child.init(jax.random.fold_in(key, i + 1))
        return params

    # --- calling -------------------------------------------------------------------------------

    def forward(self, params: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        """The computation; ``params`` is this module's sub-dict of the params tree."""
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, params, x)")

    def __call__(self, params: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        if not isinstance(params, Mapping):
            raise TypeError(
                f"{type(self).__name__} is called as module(params, x, ...) with params = module.init(key) "
                f"(or its sub-dict for a child), got {type(params).__name__} as params")
        if not isinstance(params, ParamsView):
            # A call of its own (the outermost one, or a dict its parent rebuilt): this forward and
            # every child below it see views that know their path, so a stateful layer can say
            # where its new buffers go, and only an apply's views take them.
            params = ParamsView(params, (), Call(collect=False))
        expected = _expected_entries(self)
        # Checked before forward, because a layer may read an optional entry with .get (Linear's
        # bias): a missing one would silently give a wrong number rather than a KeyError.
        if expected is not None:
            if not params.keys() >= expected.keys():
                given = [str(k) for k in params]
                problems = [((str(k),), _describe(v)) for k, v in expected.items() if k not in params]
                raise ParamsError(self, params, problems, {(): given})
            # Own leaves only: each child checks its own when it is called. A wrong shape would otherwise
            # surface deep inside an op (or, broadcast, not at all), without the path.
            found = {(str(k),): shape for k, v in expected.items()
                     if isinstance(v, jax.ShapeDtypeStruct) and (shape := _leaf_shape(params[k])) is not None
                     and shape != tuple(v.shape)}
            if found:
                problems = [(path, _describe(expected[path[0]])) for path in found]
                raise ParamsShapeError(self, params, problems, {}, found)
        # The ops recorded below are this call's (core.scope): drawings name them "0 (Linear)".
        saved = scope.enter_module(self, params.path)
        try:
            return self.forward(params, *args, **kwargs)
        except ParamsError as e:
            e.within(self, params)  # in place, so the traceback still reaches the failing layer
            raise
        except KeyError as e:
            error = _diagnose(self, params)  # e.g. a ModuleList entry looked up by a custom forward
            if error is None:
                raise
            raise error from e
        finally:
            scope.restore(saved)

    def apply(self, params: Mapping[str, Any], *args: Any, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """``(module(params, *args, **kwargs), new_params)`` with running statistics updated.

        The way to run a model containing ``BatchNorm`` in training mode. ``new_params`` is a new
        tree with the structure, names, shapes and dtypes of ``params``, in which each buffer a
        stateful layer recorded (:meth:`record_state`) is replaced at that layer's path; ``params``
        is never changed. The state is in the arguments and the result only, so
        ``jax.jit(model.apply, static_argnames="train")``, ``jax.vmap`` over stacked params and
        ``tg.grad`` through ``apply`` all work, and a copied params tree gives the same result.
        A layer called twice in one ``apply`` updates twice, the second call starting from the
        first one's new statistics (as two PyTorch forward calls do).

        Example:
            >>> import tapegrad.nn as nn
            >>> bn = nn.BatchNorm2d(3)
            >>> y, params = bn.apply(bn.init(0), jnp.ones((2, 3, 4, 4)), train=True)
            >>> int(params["num_batches_tracked"])
            1
        """
        if not isinstance(params, Mapping):
            raise TypeError(f"{type(self).__name__}.apply(params, x, ...) takes params = module.init(key), "
                            f"got {type(params).__name__} as params")
        # A view (an apply inside a forward) starts a call of its own: its updates come back here.
        root = params.raw if isinstance(params, ParamsView) else params
        call = Call(collect=True)
        out = self(ParamsView(root, (), call), *args, **kwargs)
        call.collect = False  # a view kept past this apply has nowhere to put its updates: record_state raises
        return out, call.merged(root)

    def current_state(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """For stateful layers: this module's ``params`` with the updates already recorded for it.

        Within one :meth:`apply`, a layer called again sees its previous call's new buffers here;
        outside ``apply`` (and for a dict that is not the view ``forward`` received) nothing has been
        recorded, so the result is ``params`` itself, as a plain dict.
        """
        return params.current() if isinstance(params, ParamsView) else dict(params)

    def record_state(self, params: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """For stateful layers: record new values of buffers; ``apply`` puts them into ``new_params``.

        ``params`` is the view this module's ``forward`` received, which knows its path; ``new``
        maps names from :attr:`buffer_names` to values of the buffers' shapes and dtypes. Outside
        :meth:`apply` there is nowhere to return them, so this raises rather than drop them.

        Example:
            >>> import tapegrad.nn as nn
            >>> class Counter(nn.Module):
            ...     buffer_names = ("calls",)
            ...     def init_params(self, key):
            ...         return {"calls": jnp.zeros((), jnp.int32)}
            ...     def forward(self, params, x, *, train=True):
            ...         if train:
            ...             self.record_state(params, {"calls": self.current_state(params)["calls"] + 1})
            ...         return x
            >>> int(Counter().apply(Counter().init(0), 1.0)[1]["calls"])
            1
        """
        if not isinstance(params, ParamsView) or not params.call.collect:
            where = (f" (at {dotted(params.path)})" if isinstance(params, ParamsView)
                     else " (given a plain dict, not the params its forward received)")
            raise RuntimeError(
                f"{self!r}{where} in training mode updates its running statistics, which must be "
                "returned, and it is not running under Module.apply: run the model as "
                "`y, params = model.apply(params, x, train=True)`, or call it with train=False to use the "
                "running statistics. Inside apply, pass each stateful child `params[name]` as received: a "
                "params dict rebuilt in forward (or passed through a JAX transform) starts a call of its own")
        params.record(type(self).__name__, tuple(self.buffer_names), new)

    # --- params helpers ------------------------------------------------------------------------

    def partition(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split params into ``(trainable, buffers)``, both with the full nested structure.

        Example:
            >>> import tapegrad.nn as nn
            >>> trainable, buffers = nn.BatchNorm2d(2).partition(nn.BatchNorm2d(2).init(0))
            >>> list(trainable), list(buffers)
            (['weight', 'bias'], ['running_mean', 'running_var', 'num_batches_tracked'])
        """
        children = dict(self.named_children())
        trainable, buffers = _dict_like(params), _dict_like(params)
        for k, v in params.items():
            if k in children:
                trainable[k], buffers[k] = children[k].partition(v)
            elif k in self.buffer_names:
                buffers[k] = v
            else:
                trainable[k] = v
        return trainable, buffers

    def named_parameters(self, params: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
        """PyTorch's ``named_parameters()``: trainable leaves only (no buffers)."""
        return named_parameters(self.partition(params)[0])

    def named_buffers(self, params: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
        """PyTorch's ``named_buffers()``: running statistics and other state."""
        return named_parameters(self.partition(params)[1])

    def num_parameters(self) -> int:
        """Number of trainable scalars, computed from shapes alone (no arrays are built).

        Example:
            >>> import tapegrad.nn as nn
            >>> nn.Linear(784, 512).num_parameters()
            401920
        """
        return self._counts()[0]

    def _counts(self) -> tuple[int, int]:
        shapes = jax.eval_shape(lambda: self.init(0))
        trainable, buffers = self.partition(shapes)
        count = lambda tree: sum(int(np.prod(s.shape)) for _, s in named_parameters(tree))
        return count(trainable), count(buffers)

    # --- printing ------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The configuration shown inside ``Name(...)``, as PyTorch's ``extra_repr``."""
        return ""

    def __repr__(self) -> str:
        # PyTorch's Module.__repr__, line for line, so the trees print identically.
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_addindent(repr(child), 2)}" for name, child in self.named_children()]
        lines = extra_lines + child_lines
        main = type(self).__name__ + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __str__(self) -> str:
        """The PyTorch tree plus a footer with the parameter count (what ``print(model)`` shows)."""
        try:
            n, nb = self._counts()
        except Exception:  # printing must not fail because a custom init_params cannot be traced
            return repr(self)
        if not n and not nb:  # ReLU(), losses: a "0 parameters" line would be noise
            return repr(self)
        footer = f"# {n:,} parameters" + (f" (+ {nb:,} buffer elements)" if nb else "")
        return f"{self!r}\n{footer}"


def _addindent(s: str, spaces: int) -> str:
    first, *rest = s.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


class Sequential(Module):
    """Children applied in order; keyed ``"0"``, ``"1"``, … (or by an ``OrderedDict``'s names).

    ``forward(params, x, *, key=None, train=True)`` passes ``train`` to each
    child that accepts it and ``key=jax.random.fold_in(key, i)`` to child ``i``
    if it accepts a key.

    Example:
        >>> import tapegrad.nn as nn
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))
        >>> params = model.init(0)
        >>> model(params, jnp.ones((5, 4)), key=1).shape
        (5, 2)
        >>> model(params, jnp.ones((5, 4)), train=False).shape
        (5, 2)
    """

    def __init__(self, *modules: Module | OrderedDict) -> None:
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            items = [(str(k), m) for k, m in modules[0].items()]
        else:
            items = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in items:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: element {name} is {type(m).__name__}, not an nn.Module")
        self._children = tuple(items)

    def named_children(self) -> list[tuple[str, Module]]:
        return list(self._children)

    def __len__(self) -> int:
        return len(self._children)

    def __iter__(self) -> Iterator[Module]:
        return (m for _, m in self._children)

    def __getitem__(self, idx: int | slice) -> Module:
        if isinstance(idx, slice):  # keeps the names, so the matching params keys still apply
            return Sequential(OrderedDict(self._children[idx]))
        return self._children[idx][1]

    def forward(self, params: Mapping[str, Any], x: Any, *, key: Any = None, train: bool = True) -> Any:
        base = None if key is None else as_key(key)
        for i, (name, layer) in enumerate(self._children):
            accepts = accepted_kwargs(layer)
            kwargs: dict[str, Any] = {}
            if "train" in accepts:
                kwargs["train"] = train
            if "key" in accepts and base is not None:
                kwargs["key"] = jax.random.fold_in(base, i)
            x = layer(params[name], x, **kwargs)
        return x


class ModuleList(Sequential):
    """A list of modules keyed ``"0"``, ``"1"``, … with no ``forward``: iterate it in your own.

    Example:
        >>> import tapegrad.nn as nn
        >>> class Stack(nn.Module):
        ...     def __init__(self):
        ...         self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        ...     def forward(self, params, x):
        ...         for i, layer in enumerate(self.layers):
        ...             x = layer(params["layers"][str(i)], x)
        ...         return x
        >>> [name for name, _ in nn.named_parameters(Stack().init(0))][:2]
        ['layers.0.weight', 'layers.0.bias']
    """

    def __init__(self, modules: Sequence[Module] = ()) -> None:
        super().__init__(*modules)

    def forward(self, params: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward; iterate over it in the parent's forward")

    def __repr__(self) -> str:
        # PyTorch's ModuleList.__repr__: runs of identical children print once, as "(0-2): 3 x ...".
        reprs = [repr(m) for m in self]
        if not reprs:
            return "ModuleList()"
        runs: list[list[Any]] = []
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [_addindent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2)
                 for a, b, r in runs]
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """Modules keyed by name, in insertion order, with no ``forward``: look them up in your own.

    PyTorch's ``nn.ModuleDict``: ``md["name"]``, ``"name" in md``, ``len``, iteration over the keys,
    ``keys()``, ``values()``, ``items()``; each child's params sit under its key. Being configuration,
    it is immutable: build a new one (``nn.ModuleDict({**md, "new": layer})``) instead of assigning.

    Example:
        >>> import tapegrad.nn as nn
        >>> class Heads(nn.Module):
        ...     def __init__(self):
        ...         self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
        ...     def forward(self, params, x, head):
        ...         return self.heads[head](params["heads"][head], x)
        >>> model = Heads()
        >>> model(model.init(0), jnp.ones((2, 4)), "reg").shape
        (2, 1)
        >>> [name for name, _ in nn.named_parameters(model.init(0))][:2]
        ['heads.cls.weight', 'heads.cls.bias']
    """

    def __init__(self, modules: Mapping[str, Module] | Sequence[tuple[str, Module]] | None = None) -> None:
        items = list(modules.items()) if isinstance(modules, Mapping) else list(modules or ())
        seen: dict[str, Module] = {}
        for i, item in enumerate(items):
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise TypeError(f"ModuleDict: expected a mapping or (name, module) pairs; element {i} is "
                                f"{type(item).__name__}")
            name, m = item
            if not isinstance(name, str):
                raise TypeError(f"ModuleDict: keys must be strings, got {type(name).__name__} {name!r}")
            if not name or "." in name:
                raise KeyError(f"ModuleDict: module name can't be empty or contain \".\", got {name!r}")
            if not isinstance(m, Module):
                raise TypeError(f"ModuleDict: {name!r} is {type(m).__name__}, not an nn.Module")
            seen[name] = m  # a repeated key replaces the earlier module, in its place, as a dict does
        self._children = tuple(seen.items())

    def named_children(self) -> list[tuple[str, Module]]:
        return list(self._children)

    def __getitem__(self, key: str) -> Module:
        for name, m in self._children:
            if name == key:
                return m
        raise KeyError(f"ModuleDict has no module {key!r}; it holds {[n for n, _ in self._children]}")

    def __contains__(self, key: object) -> bool:
        return any(name == key for name, _ in self._children)

    def __len__(self) -> int:
        return len(self._children)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._children)

    def keys(self) -> list[str]:
        return [name for name, _ in self._children]

    def values(self) -> list[Module]:
        return [m for _, m in self._children]

    def items(self) -> list[tuple[str, Module]]:
        return list(self._children)

    def forward(self, params: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward; look its modules up in the parent's forward")


__all__ = ["Module", "ModuleDict", "ModuleList", "ParamsError", "ParamsShapeError", "Sequential", "as_key",
           "load_state_dict", "merge", "named_parameters", "state_dict"]
