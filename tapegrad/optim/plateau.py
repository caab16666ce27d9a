"""ReduceLROnPlateau (torch.optim.lr_scheduler.ReduceLROnPlateau) with explicit, jit-able state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from tapegrad.optim.base import scalar_dtype


class PlateauState(NamedTuple):
    """``lr``; ``best`` metric so far; ``num_bad_epochs``; ``cooldown_counter``; ``last_epoch`` (steps taken)."""

    lr: jax.Array
    best: jax.Array
    num_bad_epochs: jax.Array
    cooldown_counter: jax.Array
    last_epoch: jax.Array


@dataclass(frozen=True)
class ReduceLROnPlateau:
    """Multiply the lr by ``factor`` after ``patience`` steps without improvement, as torch.

    The lr depends on the metrics seen, not only on the step, so the state is explicit:
    ``state = sched.init()`` then ``lr, state = sched.step(metric, state)`` each epoch (pure, jit-able).
    Pass the lr to the optimizer as a schedule reading it, or rebuild the optimizer with it.

    Example:
        >>> sched = ReduceLROnPlateau(lr=1.0, patience=0, factor=0.5)
        >>> state = sched.init()
        >>> lr, state = sched.step(1.0, state)
        >>> lr, state = sched.step(2.0, state)  # worse: patience 0 is exceeded
        >>> float(lr)
        0.5
    """

    lr: float
    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {self.factor}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {self.mode!r} is unknown (expected 'min' or 'max')")
        if self.threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold mode {self.threshold_mode!r} is unknown")

    def init(self) -> PlateauState:
        """The state before the first ``step``: the initial lr and the worst possible best."""
        dt = scalar_dtype()
        worst = jnp.inf if self.mode == "min" else -jnp.inf
        zero = jnp.zeros((), jnp.int32)
        return PlateauState(jnp.asarray(self.lr, dt), jnp.asarray(worst, dt), zero, zero, zero)

    def _better(self, a, best):
        if self.mode == "min":
            bound = best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
            return a < bound
        bound = best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold
        return a > bound

    def step(self, metric: float | jax.Array, state: PlateauState) -> tuple[jax.Array, PlateauState]:
        """Record one epoch's ``metric``; return ``(lr, new_state)``."""
        if jnp.ndim(metric) != 0:
            raise ValueError(f"ReduceLROnPlateau.step: metric must be a scalar, got shape {jnp.shape(metric)}")
        a = jnp.asarray(metric, scalar_dtype())
        better = self._better(a, state.best)
        best = jnp.where(better, a, state.best)
        bad = jnp.where(better, 0, state.num_bad_epochs + 1)
        in_cooldown = state.cooldown_counter > 0
        cool = jnp.where(in_cooldown, state.cooldown_counter - 1, state.cooldown_counter)
        bad = jnp.where(in_cooldown, 0, bad)
        reduce = bad > self.patience
        new_lr = jnp.maximum(state.lr * self.factor, self.min_lr)
        lr = jnp.where(reduce & (state.lr - new_lr > self.eps), new_lr, state.lr)
        cool = jnp.where(reduce, self.cooldown, cool)
        bad = jnp.where(reduce, 0, bad)
        return lr, PlateauState(lr, best, bad.astype(jnp.int32), cool.astype(jnp.int32), state.last_epoch + 1)
