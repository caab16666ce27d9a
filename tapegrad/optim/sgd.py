"""Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from tapegrad.optim import base
from tapegrad.optim.base import Groups, LearningRate, PyTree
from tapegrad.optim.groups import supports_groups


class SGDState(NamedTuple):
    """``step``: int32 count of steps taken; ``momentum_buffer``: pytree like params, or None
    when ``momentum == 0`` (torch keeps no buffer then either)."""

    step: jax.Array
    momentum_buffer: PyTree


@supports_groups
@dataclass(frozen=True)
class SGD:
    """PyTorch-exact SGD as a pure ``init``/``step`` pair.

    ``lr`` is a float or a schedule ``lr(step) -> scalar`` called with the 0-based index of
    the step being taken (0 on the first step), i.e. the lr torch uses after ``step``
    ``scheduler.step()`` calls.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = SGD(lr=0.1, momentum=0.9)
        >>> params = {"w": jnp.ones(2)}
        >>> state = opt.init(params)
        >>> params, state = opt.step(params, {"w": jnp.ones(2)}, state)
        >>> [round(x, 4) for x in params["w"].tolist()]
        [0.9, 0.9]
    """

    lr: LearningRate = 1e-3
    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False
    maximize: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        base.check_lr("SGD", self.lr)
        base.check_nonneg("SGD", "momentum value", self.momentum)
        base.check_nonneg("SGD", "weight_decay value", self.weight_decay)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got "
                f"momentum={self.momentum}, dampening={self.dampening}"
            )

    def init(self, params: PyTree) -> SGDState:
        """Zero step count; a zero momentum buffer (unused on step 0, as in torch) if momentum > 0."""
        buf = base.zeros_like(params) if self.momentum != 0 else None
        return SGDState(base.init_step(), buf)

    def step(self, params: PyTree, grads: PyTree, state: SGDState) -> tuple[PyTree, SGDState]:
        """Apply one SGD update; pure and jit-able. Returns ``(params, state)``."""
        grads = base.prepare_grads("SGD", params, grads, self.maximize)
        lr = base.lr_at(self.lr, state.step)
        first = state.step == 0

        def leaf(p, g, buf=None):
            d = g + self.weight_decay * p if self.weight_decay != 0 else g
            if self.momentum != 0:
                # torch seeds the buffer with the raw gradient on the first step (no dampening).
                buf = jnp.where(first, d, buf * self.momentum + (1 - self.dampening) * d)
                d = d + self.momentum * buf if self.nesterov else buf
            return p + (-base.cast(lr, p)) * d, buf

        if self.momentum == 0:
            (new_params,) = base.map_leaves(lambda p, g: leaf(p, g)[:1], 1, params, grads)
            return new_params, SGDState(state.step + 1, None)
        new_params, buf = base.map_leaves(leaf, 2, params, grads, state.momentum_buffer)
        return new_params, SGDState(state.step + 1, buf)
