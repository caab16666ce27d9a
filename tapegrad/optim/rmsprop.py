"""RMSprop with optional centering and momentum (torch.optim.RMSprop)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from tapegrad.optim import base
from tapegrad.optim.base import Groups, LearningRate, PyTree
from tapegrad.optim.groups import supports_groups


class RMSpropState(NamedTuple):
    """``step``: int32 steps taken; ``square_avg``: running mean of g**2; ``momentum_buffer``
    (None unless momentum > 0) and ``grad_avg`` (None unless centered), pytrees like params."""

    step: jax.Array
    square_avg: PyTree
    momentum_buffer: PyTree
    grad_avg: PyTree


@supports_groups
@dataclass(frozen=True)
class RMSprop:
    """PyTorch-exact RMSprop as a pure ``init``/``step`` pair.

    ``lr`` is a float or a schedule called with the 0-based index of the step being taken.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = RMSprop(lr=0.01, alpha=0.99)
        >>> params = {"w": jnp.zeros(1)}
        >>> params, state = opt.step(params, {"w": jnp.ones(1)}, opt.init(params))
        >>> round(params["w"].item(), 6)  # -lr / sqrt(1 - alpha)
        -0.1
    """

    lr: LearningRate = 1e-2
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False
    maximize: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        base.check_lr("RMSprop", self.lr)
        base.check_nonneg("RMSprop", "epsilon value", self.eps)
        base.check_nonneg("RMSprop", "momentum value", self.momentum)
        base.check_nonneg("RMSprop", "weight_decay value", self.weight_decay)
        base.check_nonneg("RMSprop", "alpha value", self.alpha)

    def init(self, params: PyTree) -> RMSpropState:
        """Zero step count and zero running averages; unused buffers are None."""
        buf = base.zeros_like(params) if self.momentum > 0 else None
        grad_avg = base.zeros_like(params) if self.centered else None
        return RMSpropState(base.init_step(), base.zeros_like(params), buf, grad_avg)

    def step(self, params: PyTree, grads: PyTree, state: RMSpropState) -> tuple[PyTree, RMSpropState]:
        """Apply one RMSprop update; pure and jit-able. Returns ``(params, state)``."""
        grads = base.prepare_grads("RMSprop", params, grads, self.maximize)
        lr = base.lr_at(self.lr, state.step)
        use_buf, alpha = self.momentum > 0, float(self.alpha)
        # Leaves of absent buffers are passed as the param itself and ignored, to keep one leaf function.
        bufs = state.momentum_buffer if use_buf else params
        gavgs = state.grad_avg if self.centered else params

        def leaf(p, g, sq, buf, gavg):
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            sq = sq * alpha + (1 - alpha) * g * g
            if self.centered:
                gavg = base.lerp(gavg, g, 1 - alpha)
                avg = jnp.sqrt(sq + (-1.0) * gavg * gavg) + self.eps
            else:
                avg = jnp.sqrt(sq) + self.eps
            neg_lr = -base.cast(lr, p)
            if use_buf:
                buf = buf * self.momentum + g / avg
                return p + neg_lr * buf, sq, buf, gavg
            return p + neg_lr * g / avg, sq, buf, gavg

        new_p, sq, buf, gavg = base.map_leaves(leaf, 4, params, grads, state.square_avg, bufs, gavgs)
        return new_p, RMSpropState(
            state.step + 1, sq, buf if use_buf else None, gavg if self.centered else None
        )
