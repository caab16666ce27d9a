"""Adam (L2 weight decay folded into the gradient) and AdamW (decoupled decay), as torch.optim."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from tapegrad.optim import base
from tapegrad.optim.base import Groups, LearningRate, PyTree
from tapegrad.optim.groups import supports_groups


class AdamState(NamedTuple):
    """``step``: int32 count of steps taken; ``exp_avg``/``exp_avg_sq``: first and second moments;
    ``max_exp_avg_sq``: running maximum of ``exp_avg_sq`` with ``amsgrad=True``, else None."""

    step: jax.Array
    exp_avg: PyTree
    exp_avg_sq: PyTree
    max_exp_avg_sq: PyTree = None


def _adam_step(opt, params: PyTree, grads: PyTree, state: AdamState, decoupled: bool):
    name = type(opt).__name__
    grads = base.prepare_grads(name, params, grads, opt.maximize)
    beta1, beta2 = (float(b) for b in opt.betas)
    lr = base.lr_at(opt.lr, state.step)
    # Scalars as torch forms them from Python floats: bias corrections from the 1-based step.
    t = (state.step + 1).astype(base.scalar_dtype())
    step_size = lr / (1 - beta1**t)
    bc2_sqrt = jnp.sqrt(1 - beta2**t)

    # Without amsgrad the max buffer's leaves are the params themselves, ignored, to keep one leaf function.
    vmaxes = state.max_exp_avg_sq if opt.amsgrad else params

    def leaf(p, g, m, v, vmax):
        if opt.weight_decay != 0:
            if decoupled:
                p = p * base.cast(1 - lr * opt.weight_decay, p)
            else:
                g = g + opt.weight_decay * p
        m = base.lerp(m, g, 1 - beta1)
        v = v * beta2 + (1 - beta2) * g * g
        if opt.amsgrad:
            vmax = jnp.maximum(vmax, v)
            denom = jnp.sqrt(vmax) / base.cast(bc2_sqrt, v) + opt.eps
        else:
            denom = jnp.sqrt(v) / base.cast(bc2_sqrt, v) + opt.eps
        return p + (-base.cast(step_size, p)) * m / denom, m, v, vmax

    new_p, new_m, new_v, new_max = base.map_leaves(
        leaf, 4, params, grads, state.exp_avg, state.exp_avg_sq, vmaxes
    )
    return new_p, AdamState(state.step + 1, new_m, new_v, new_max if opt.amsgrad else None)


def _check(name: str, lr: LearningRate, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    base.check_lr(name, lr)
    base.check_nonneg(name, "epsilon value", eps)
    if len(betas) != 2:
        raise ValueError(f"{name}: betas must be a pair, got {betas}")
    base.check_beta(name, 0, betas[0])
    base.check_beta(name, 1, betas[1])
    base.check_nonneg(name, "weight_decay value", weight_decay)


@supports_groups
@dataclass(frozen=True)
class Adam:
    """PyTorch-exact Adam (with ``amsgrad`` and ``maximize`` as torch); ``weight_decay`` is L2 added
    to the gradient (``decoupled_weight_decay=True``: AdamW's decay, as torch).

    ``lr`` is a float or a schedule called with the 0-based index of the step being taken.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = Adam(lr=0.1)
        >>> params = {"w": jnp.zeros(2)}
        >>> params, state = opt.step(params, {"w": jnp.array([1.0, -1.0])}, opt.init(params))
        >>> [round(x, 4) for x in params["w"].tolist()]
        [-0.1, 0.1]
    """

    lr: LearningRate = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    maximize: bool = False
    decoupled_weight_decay: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        _check("Adam", self.lr, self.betas, self.eps, self.weight_decay)

    def init(self, params: PyTree) -> AdamState:
        """Zero step count and zero moments shaped like ``params``."""
        vmax = base.zeros_like(params) if self.amsgrad else None
        return AdamState(base.init_step(), base.zeros_like(params), base.zeros_like(params), vmax)

    def step(self, params: PyTree, grads: PyTree, state: AdamState) -> tuple[PyTree, AdamState]:
        """Apply one Adam update; pure and jit-able. Returns ``(params, state)``."""
        return _adam_step(self, params, grads, state, decoupled=self.decoupled_weight_decay)


@supports_groups
@dataclass(frozen=True)
class AdamW:
    """PyTorch-exact AdamW: params are scaled by ``1 - lr * weight_decay`` before the Adam update.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = AdamW(lr=0.1, weight_decay=0.5)
        >>> params = {"w": jnp.ones(2)}
        >>> params, state = opt.step(params, {"w": jnp.array([1.0, -1.0])}, opt.init(params))
        >>> [round(x, 4) for x in params["w"].tolist()]
        [0.85, 1.05]
    """

    lr: LearningRate = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 1e-2
    amsgrad: bool = False
    maximize: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        _check("AdamW", self.lr, self.betas, self.eps, self.weight_decay)

    def init(self, params: PyTree) -> AdamState:
        """Zero step count and zero moments shaped like ``params``."""
        vmax = base.zeros_like(params) if self.amsgrad else None
        return AdamState(base.init_step(), base.zeros_like(params), base.zeros_like(params), vmax)

    def step(self, params: PyTree, grads: PyTree, state: AdamState) -> tuple[PyTree, AdamState]:
        """Apply one AdamW update; pure and jit-able. Returns ``(params, state)``."""
        return _adam_step(self, params, grads, state, decoupled=True)
