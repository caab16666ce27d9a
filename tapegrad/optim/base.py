"""Shared pieces of the optimizers: the protocol, hyperparameter checks and pytree helpers.

Every optimizer is a pure ``init``/``step`` pair over pytrees. Scalar hyperparameter
arithmetic (schedules, bias corrections) is done in the widest enabled float dtype and
cast to each leaf's dtype at the end, because that is what torch does with its Python
float scalars; it keeps float32 params within rounding of torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from tapegrad.core.foreign import as_jax

PyTree = Any
Schedule = Callable[[jax.Array], jax.Array]
LearningRate = float | Schedule
# glob pattern over named_parameters paths -> the hyperparameters for those params (see optim.groups).
Groups = Mapping[str, Mapping[str, Any]] | None
S = TypeVar("S")


@runtime_checkable
class Optimizer(Protocol[S]):
    """What every optimizer offers: a pure ``init`` and a pure, jit-able ``step``.

    Example:
        >>> opt = SGD(lr=0.1)  # doctest: +SKIP
        >>> state = opt.init(params)  # doctest: +SKIP
        >>> params, state = opt.step(params, grads, state)  # doctest: +SKIP
    """

    def init(self, params: PyTree) -> S:
        """Return the initial optimizer state for ``params``."""
        ...

    def step(self, params: PyTree, grads: PyTree, state: S) -> tuple[PyTree, S]:
        """Return ``(new_params, new_state)``; inputs are not modified."""
        ...


def scalar_dtype() -> jnp.dtype:
    """float64 when jax x64 is on (as torch's Python floats), else float32."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def check_lr(opt: str, lr: LearningRate) -> None:
    """Schedules are checked lazily (by value they are traced); constant rates must be >= 0."""
    if not callable(lr):
        check_nonneg(opt, "learning rate", lr)


def check_nonneg(opt: str, what: str, value: float) -> None:
    # `not value >= 0` also rejects NaN, as torch's `not 0.0 <= value` does.
    if not float(value) >= 0.0:
        raise ValueError(f"{opt}: invalid {what}: {value} (must be >= 0)")


def check_beta(opt: str, index: int, value: float) -> None:
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{opt}: invalid beta parameter at index {index}: {value} (must be in [0, 1))")


def lr_at(lr: LearningRate, step: jax.Array) -> jax.Array:
    """The learning rate for the optimizer step whose 0-based index is ``step``."""
    value = lr(step) if callable(lr) else lr
    return jnp.asarray(value, dtype=scalar_dtype())


def init_step() -> jax.Array:
    return jnp.zeros((), dtype=jnp.int32)


def zeros_like(params: PyTree) -> PyTree:
    return jax.tree_util.tree_map(jnp.zeros_like, params)


def check_grads(opt: str, params: PyTree, grads: PyTree) -> PyTree:
    """``grads`` cast to the params' dtypes; ValueError unless it has their structure and leaf shapes.

    Structure and shapes are static, so this also works while tracing under ``jax.jit``. The cast
    keeps float32 params float32 when the gradients came out float64 (PyTorch refuses such a grad;
    silently promoting would change the type of a jit or scan carry).
    """
    p_def, g_def = jax.tree_util.tree_structure(params), jax.tree_util.tree_structure(grads)
    if p_def != g_def:
        raise ValueError(f"{opt}.step: grads structure {g_def} does not match params structure {p_def}")
    p_shapes = [np.shape(x) for x in jax.tree_util.tree_leaves(params)]
    g_shapes = [np.shape(x) for x in jax.tree_util.tree_leaves(grads)]
    if p_shapes != g_shapes:
        raise ValueError(f"{opt}.step: grads shapes {g_shapes} do not match params shapes {p_shapes}")

    def like(p, g):
        p_dtype = jnp.result_type(p)
        if jnp.issubdtype(p_dtype, jnp.inexact) and jnp.result_type(g) != p_dtype:
            return as_jax(g).astype(p_dtype)
        return g

    return jax.tree_util.tree_map(like, params, grads)


def prepare_grads(opt: str, params: PyTree, grads: PyTree, maximize: bool) -> PyTree:
    """``check_grads``, then negated when ``maximize`` (torch negates first, before weight decay)."""
    grads = check_grads(opt, params, grads)
    return jax.tree_util.tree_map(jnp.negative, grads) if maximize else grads


def cast(x: jax.Array, like: jax.Array) -> jax.Array:
    """Cast a scalar to the dtype of ``like`` so that float32 params stay float32."""
    return as_jax(x).astype(jnp.result_type(like))


def lerp(start: jax.Array, end: jax.Array, weight: float) -> jax.Array:
    """torch's ``lerp`` with a Python weight: its two-branch formula, for matching rounding."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def map_leaves(fn: Callable[..., tuple], n_out: int, params: PyTree, *trees: PyTree) -> tuple[PyTree, ...]:
    """Apply ``fn(param, *others) -> tuple`` leafwise; return ``n_out`` pytrees shaped like params.

    Unlike ``tree_map`` this lets one leaf function produce the new param and new state together.
    """
    treedef = jax.tree_util.tree_structure(params)
    cols = [treedef.flatten_up_to(t) for t in (params, *trees)]
    outs = [fn(*xs) for xs in zip(*cols, strict=True)]
    return tuple(treedef.unflatten([o[k] for o in outs]) for k in range(n_out))
