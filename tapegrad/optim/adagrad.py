"""Adagrad and Adadelta (torch.optim.Adagrad, torch.optim.Adadelta): per-coordinate accumulators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from tapegrad.optim import base
from tapegrad.optim.base import Groups, LearningRate, PyTree
from tapegrad.optim.groups import supports_groups


class AdagradState(NamedTuple):
    """``step``: int32 steps taken; ``sum``: running sum of squared gradients (pytree like params)."""

    step: jax.Array
    sum: PyTree


class AdadeltaState(NamedTuple):
    """``step``: int32 steps taken; ``square_avg``/``acc_delta``: running averages of g**2 and of update**2."""

    step: jax.Array
    square_avg: PyTree
    acc_delta: PyTree


@supports_groups
@dataclass(frozen=True)
class Adagrad:
    """PyTorch-exact Adagrad: ``p -= lr / (1 + (t-1) lr_decay) * g / (sqrt(sum g**2) + eps)``.

    torch's ``foreach``/``fused``/``differentiable`` switches choose its kernels, not its numbers;
    they are not accepted here (a pure jit-able step has a single implementation).

    Example:
        >>> import jax.numpy as jnp
        >>> opt = Adagrad(lr=0.1)
        >>> params = {"w": jnp.zeros(2)}
        >>> params, state = opt.step(params, {"w": jnp.array([2.0, -1.0])}, opt.init(params))
        >>> [round(x, 4) for x in params["w"].tolist()]
        [-0.1, 0.1]
    """

    lr: LearningRate = 1e-2
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10
    maximize: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        base.check_lr("Adagrad", self.lr)
        base.check_nonneg("Adagrad", "lr_decay value", self.lr_decay)
        base.check_nonneg("Adagrad", "weight_decay value", self.weight_decay)
        base.check_nonneg("Adagrad", "initial_accumulator_value value", self.initial_accumulator_value)
        base.check_nonneg("Adagrad", "epsilon value", self.eps)

    def init(self, params: PyTree) -> AdagradState:
        """Zero step count; the accumulator filled with ``initial_accumulator_value``."""
        acc = jax.tree_util.tree_map(lambda p: jnp.full_like(p, self.initial_accumulator_value), params)
        return AdagradState(base.init_step(), acc)

    def step(self, params: PyTree, grads: PyTree, state: AdagradState) -> tuple[PyTree, AdagradState]:
        """Apply one Adagrad update; pure and jit-able. Returns ``(params, state)``."""
        grads = base.prepare_grads("Adagrad", params, grads, self.maximize)
        lr = base.lr_at(self.lr, state.step)
        clr = lr / (1 + state.step.astype(base.scalar_dtype()) * self.lr_decay)

        def leaf(p, g, acc):
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            acc = acc + g * g
            return p + (-base.cast(clr, p)) * g / (jnp.sqrt(acc) + self.eps), acc

        new_p, acc = base.map_leaves(leaf, 2, params, grads, state.sum)
        return new_p, AdagradState(state.step + 1, acc)


@supports_groups
@dataclass(frozen=True)
class Adadelta:
    """PyTorch-exact Adadelta: ``delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g``, ``p -= lr * delta``.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = Adadelta(lr=1.0, rho=0.0, eps=1.0)
        >>> params = {"w": jnp.zeros(1)}
        >>> params, state = opt.step(params, {"w": jnp.array([0.0])}, opt.init(params))
        >>> params["w"].tolist()
        [0.0]
    """

    lr: LearningRate = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0.0
    maximize: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        base.check_lr("Adadelta", self.lr)
        if not 0.0 <= float(self.rho) <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value: {self.rho} (must be in [0, 1])")
        base.check_nonneg("Adadelta", "epsilon value", self.eps)
        base.check_nonneg("Adadelta", "weight_decay value", self.weight_decay)

    def init(self, params: PyTree) -> AdadeltaState:
        """Zero step count and zero running averages."""
        return AdadeltaState(base.init_step(), base.zeros_like(params), base.zeros_like(params))

    def step(self, params: PyTree, grads: PyTree, state: AdadeltaState) -> tuple[PyTree, AdadeltaState]:
        """Apply one Adadelta update; pure and jit-able. Returns ``(params, state)``."""
        grads = base.prepare_grads("Adadelta", params, grads, self.maximize)
        lr = base.lr_at(self.lr, state.step)
        rho = float(self.rho)

        def leaf(p, g, sq, acc):
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            sq = sq * rho + (1 - rho) * g * g
            delta = jnp.sqrt(acc + self.eps) / jnp.sqrt(sq + self.eps) * g
            acc = acc * rho + (1 - rho) * delta * delta
            return p + (-base.cast(lr, p)) * delta, sq, acc

        new_p, sq, acc = base.map_leaves(leaf, 3, params, grads, state.square_avg, state.acc_delta)
        return new_p, AdadeltaState(state.step + 1, sq, acc)
