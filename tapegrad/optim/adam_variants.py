"""Adamax, NAdam and RAdam (torch.optim of those names): Adam's moments with other denominators and corrections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from tapegrad.optim import base
from tapegrad.optim.adam import AdamState, _check
from tapegrad.optim.base import Groups, LearningRate, PyTree
from tapegrad.optim.groups import supports_groups


class AdamaxState(NamedTuple):
    """``step``: int32 steps taken; ``exp_avg``: first moment; ``exp_inf``: decayed max of ``|g|``."""

    step: jax.Array
    exp_avg: PyTree
    exp_inf: PyTree


class NAdamState(NamedTuple):
    """``step``, the two moments, and ``mu_product``: the product of the momentum schedule so far (a scalar;
    torch keeps one per param, all equal)."""

    step: jax.Array
    exp_avg: PyTree
    exp_avg_sq: PyTree
    mu_product: jax.Array


def _decay(opt, p, g, lr):
    """L2 decay folded into the gradient, or (``decoupled_weight_decay``) the param scaled first."""
    if opt.weight_decay == 0:
        return p, g
    if getattr(opt, "decoupled_weight_decay", False):
        return p * base.cast(1 - lr * opt.weight_decay, p), g
    return p, g + opt.weight_decay * p


@supports_groups
@dataclass(frozen=True)
class Adamax:
    """PyTorch-exact Adamax: ``u = max(beta2 u, |g| + eps)``, ``p -= lr / (1 - beta1**t) * m / u``.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = Adamax(lr=0.1)
        >>> params = {"w": jnp.zeros(2)}
        >>> params, state = opt.step(params, {"w": jnp.array([1.0, -1.0])}, opt.init(params))
        >>> [round(x, 4) for x in params["w"].tolist()]
        [-0.1, 0.1]
    """

    lr: LearningRate = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    maximize: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        _check("Adamax", self.lr, self.betas, self.eps, self.weight_decay)

    def init(self, params: PyTree) -> AdamaxState:
        """Zero step count, zero first moment and zero infinity norm."""
        return AdamaxState(base.init_step(), base.zeros_like(params), base.zeros_like(params))

    def step(self, params: PyTree, grads: PyTree, state: AdamaxState) -> tuple[PyTree, AdamaxState]:
        """Apply one Adamax update; pure and jit-able. Returns ``(params, state)``."""
        grads = base.prepare_grads("Adamax", params, grads, self.maximize)
        beta1, beta2 = (float(b) for b in self.betas)
        lr = base.lr_at(self.lr, state.step)
        t = (state.step + 1).astype(base.scalar_dtype())
        clr = lr / (1 - beta1**t)

        def leaf(p, g, m, u):
            p, g = _decay(self, p, g, lr)
            m = base.lerp(m, g, 1 - beta1)
            u = jnp.maximum(u * beta2, jnp.abs(g) + self.eps)
            return p + (-base.cast(clr, p)) * m / u, m, u

        new_p, m, u = base.map_leaves(leaf, 3, params, grads, state.exp_avg, state.exp_inf)
        return new_p, AdamaxState(state.step + 1, m, u)


@supports_groups
@dataclass(frozen=True)
class NAdam:
    """PyTorch-exact NAdam (Dozat's Nesterov Adam with torch's ``momentum_decay`` schedule).

    ``mu_t = beta1 (1 - 0.5 * 0.96 ** (t * momentum_decay))``; the update adds
    ``-lr (1 - mu_t) / (1 - prod mu) * g / d`` and ``-lr mu_{t+1} / (1 - prod mu * mu_{t+1}) * m / d``
    with ``d = sqrt(v / (1 - beta2**t)) + eps``. ``decoupled_weight_decay=True`` is torch's NAdamW.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = NAdam(lr=0.1)
        >>> params = {"w": jnp.zeros(1)}
        >>> params, state = opt.step(params, {"w": jnp.array([1.0])}, opt.init(params))
        >>> round(params["w"].item(), 4)
        -0.1056
    """

    lr: LearningRate = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum_decay: float = 4e-3
    decoupled_weight_decay: bool = False
    maximize: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        _check("NAdam", self.lr, self.betas, self.eps, self.weight_decay)
        base.check_nonneg("NAdam", "momentum_decay value", self.momentum_decay)

    def init(self, params: PyTree) -> NAdamState:
        """Zero step count and moments; ``mu_product`` 1."""
        one = jnp.ones((), base.scalar_dtype())
        return NAdamState(base.init_step(), base.zeros_like(params), base.zeros_like(params), one)

    def step(self, params: PyTree, grads: PyTree, state: NAdamState) -> tuple[PyTree, NAdamState]:
        """Apply one NAdam update; pure and jit-able. Returns ``(params, state)``."""
        grads = base.prepare_grads("NAdam", params, grads, self.maximize)
        beta1, beta2 = (float(b) for b in self.betas)
        lr = base.lr_at(self.lr, state.step)
        t = (state.step + 1).astype(base.scalar_dtype())
        bc2 = 1 - beta2**t
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * self.momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * self.momentum_decay)))
        mu_product = state.mu_product * mu
        coef_g = -lr * (1.0 - mu) / (1.0 - mu_product)
        coef_m = -lr * mu_next / (1.0 - mu_product * mu_next)

        def leaf(p, g, m, v):
            p, g = _decay(self, p, g, lr)
            m = base.lerp(m, g, 1 - beta1)
            v = v * beta2 + (1 - beta2) * g * g
            denom = jnp.sqrt(v / base.cast(bc2, v)) + self.eps
            p = p + base.cast(coef_g, p) * g / denom
            return p + base.cast(coef_m, p) * m / denom, m, v

        new_p, m, v = base.map_leaves(leaf, 3, params, grads, state.exp_avg, state.exp_avg_sq)
        return new_p, NAdamState(state.step + 1, m, v, mu_product)


@supports_groups
@dataclass(frozen=True)
class RAdam:
    """PyTorch-exact RAdam: Adam with the variance rectification term while ``rho_t > 5``, plain
    bias-corrected momentum SGD before. ``decoupled_weight_decay=True`` is torch's RAdamW.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = RAdam(lr=0.1)
        >>> params = {"w": jnp.zeros(1)}
        >>> params, state = opt.step(params, {"w": jnp.array([2.0])}, opt.init(params))
        >>> round(params["w"].item(), 4)  # rho_1 <= 5: -lr * m / (1 - beta1)
        -0.2
    """

    lr: LearningRate = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    maximize: bool = False
    groups: Groups = None

    def __post_init__(self) -> None:
        _check("RAdam", self.lr, self.betas, self.eps, self.weight_decay)

    def init(self, params: PyTree) -> AdamState:
        """Zero step count and zero moments (an ``AdamState`` without the amsgrad buffer)."""
        return AdamState(base.init_step(), base.zeros_like(params), base.zeros_like(params))

    def step(self, params: PyTree, grads: PyTree, state: AdamState) -> tuple[PyTree, AdamState]:
        """Apply one RAdam update; pure and jit-able. Returns ``(params, state)``."""
        grads = base.prepare_grads("RAdam", params, grads, self.maximize)
        beta1, beta2 = (float(b) for b in self.betas)
        lr = base.lr_at(self.lr, state.step)
        t = (state.step + 1).astype(base.scalar_dtype())
        bc1, bc2 = 1 - beta1**t, 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2**t) / bc2
        # Clamped so that the branch jnp.where discards (rho_t <= 5) stays finite.
        rect = jnp.sqrt(
            jnp.maximum((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t), 0.0)
        )
        rectified = rho_t > 5.0

        def leaf(p, g, m, v):
            p, g = _decay(self, p, g, lr)
            m = base.lerp(m, g, 1 - beta1)
            v = v * beta2 + (1 - beta2) * g * g
            m_hat = m / base.cast(bc1, m)
            adaptive = base.cast(jnp.sqrt(bc2), v) / (jnp.sqrt(v) + self.eps)
            plain = m_hat * base.cast(lr, p)
            upd = jnp.where(rectified, plain * adaptive * base.cast(rect, p), plain)
            return p + (-1.0) * upd, m, v

        new_p, m, v = base.map_leaves(leaf, 3, params, grads, state.exp_avg, state.exp_avg_sq)
        return new_p, AdamState(state.step + 1, m, v)
