"""Learning-rate schedules: pure functions ``step -> lr`` usable under ``jax.jit``.

Convention: a schedule is called with the 0-based index of the optimizer step being taken, so
``schedule(k)`` equals the lr torch's optimizer holds after ``k`` calls to ``scheduler.step()``
(``k = 0``: the first step). The value is a float scalar in the default float dtype.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from tapegrad.optim.base import Schedule, scalar_dtype


def _t(step: jax.Array | int) -> jax.Array:
    return jnp.asarray(step).astype(scalar_dtype())


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (step // step_size)``, like ``torch.optim.lr_scheduler.StepLR``.

    Example:
        >>> sched = step_decay(1.0, step_size=2, gamma=0.5)
        >>> [float(sched(k)) for k in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    if step_size <= 0:
        raise ValueError(f"step_decay: step_size must be a positive integer, got {step_size}")

    def schedule(step: jax.Array | int) -> jax.Array:
        return lr * jnp.asarray(gamma, scalar_dtype()) ** _t(jnp.asarray(step) // step_size)

    return schedule


def cosine_annealing(lr: float, t_max: int, eta_min: float = 0.0) -> Schedule:
    """``eta_min + (lr - eta_min) * (1 + cos(pi * step / t_max)) / 2``, like ``CosineAnnealingLR``.

    As in torch the curve is periodic past ``t_max`` (it rises again over the next ``t_max`` steps).

    Example:
        >>> sched = cosine_annealing(1.0, t_max=4)
        >>> [round(float(sched(k)), 4) for k in range(5)]
        [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    if t_max <= 0:
        raise ValueError(f"cosine_annealing: t_max must be a positive integer, got {t_max}")

    def schedule(step: jax.Array | int) -> jax.Array:
        return eta_min + (lr - eta_min) * (1 + jnp.cos(math.pi * _t(step) / t_max)) / 2

    return schedule


def linear_warmup(
    lr: float, warmup_steps: int, start_factor: float = 0.0, after: Schedule | None = None
) -> Schedule:
    """Ramp linearly from ``start_factor * lr`` at step 0 to ``lr`` at ``warmup_steps``, then hold.

    With ``start_factor > 0`` this is ``torch.optim.lr_scheduler.LinearLR(start_factor=...,
    total_iters=warmup_steps)``. If ``after`` is given, steps from ``warmup_steps`` on use
    ``after(step - warmup_steps)`` instead of ``lr``.

    Example:
        >>> sched = linear_warmup(1.0, warmup_steps=4)
        >>> [float(sched(k)) for k in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    if warmup_steps <= 0:
        raise ValueError(f"linear_warmup: warmup_steps must be a positive integer, got {warmup_steps}")

    def schedule(step: jax.Array | int) -> jax.Array:
        t = _t(step)
        frac = jnp.minimum(t, warmup_steps) / warmup_steps
        warm = lr * (start_factor + (1.0 - start_factor) * frac)
        if after is None:
            return warm
        # Both branches are computed; `where` picks one without a Python if on a traced value.
        rest = jnp.asarray(after(jnp.maximum(jnp.asarray(step) - warmup_steps, 0)), scalar_dtype())
        return jnp.where(t < warmup_steps, warm, rest)

    return schedule
