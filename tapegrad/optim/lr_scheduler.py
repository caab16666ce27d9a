"""PyTorch's learning-rate schedulers as pure functions of the step (``torch.optim.lr_scheduler``).

Each scheduler is built from the optimizer's initial ``lr`` followed by torch's own keyword
arguments (those after ``optimizer``), and ``sched(t)`` is the lr torch's ``get_last_lr()[0]``
reports after ``t`` calls of ``scheduler.step()``, so ``sched(k)`` is the lr of the optimizer's
step ``k`` (0-based); pass ``sched`` as an optimizer's ``lr``. torch computes most of these
recursively (chainable form: each lr from the previous one); here they are evaluated in closed
form, equal to torch's recursion to rounding (the tests compare 100 steps in float64), so ``t`` may
be a traced jnp integer inside ``jax.jit``. The exceptions: ``MultiplicativeLR`` has no closed form
(it multiplies ``lr_lambda(1) ... lr_lambda(t)``; a traced ``t`` runs a ``lax.fori_loop``, so its
``lr_lambda`` must then be jnp-traceable, as ``LambdaLR``'s), and ``ReduceLROnPlateau`` depends on
the metrics, so it keeps explicit state (``state = sched.init(); lr, state = sched.step(metric, state)``).

Example:
    >>> from tapegrad.optim import lr_scheduler
    >>> sched = lr_scheduler.StepLR(lr=0.1, step_size=2, gamma=0.5)
    >>> [round(float(sched(t)), 4) for t in range(5)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from tapegrad.core.foreign import as_jax
from tapegrad.optim.base import scalar_dtype
from tapegrad.optim.plateau import PlateauState, ReduceLROnPlateau

__all__ = [
    "LRSchedule",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "LinearLR",
    "ConstantLR",
    "OneCycleLR",
    "PolynomialLR",
    "SequentialLR",
    "ChainedScheduler",
    "LambdaLR",
    "MultiplicativeLR",
    "ReduceLROnPlateau",
    "PlateauState",
]


def _steps(name: str, t) -> jax.Array:
    """The step as a float scalar; a concrete negative step is an error (torch has no lr there)."""
    if isinstance(t, numbers.Integral) and not isinstance(t, bool):
        if t < 0:
            raise ValueError(f"{name}: step must be >= 0, got {t}")
        return jnp.asarray(t, scalar_dtype())
    t = as_jax(t)
    if jnp.ndim(t) != 0 or not jnp.issubdtype(t.dtype, jnp.integer):
        raise TypeError(f"{name}: step must be an integer scalar, got {jnp.result_type(t)} of shape {jnp.shape(t)}")
    return t.astype(scalar_dtype())


def _positive_int(name: str, what: str, value) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}")


class LRSchedule:
    """Base of the schedulers: ``lr`` (the optimizer's initial lr) and ``__call__(t) -> lr``.

    Example:
        >>> sched = ExponentialLR(lr=1.0, gamma=0.5)
        >>> float(sched(3))
        0.125
    """

    lr: float

    def __call__(self, t: int | jax.Array) -> jax.Array:
        """The lr after ``t`` scheduler steps (a float scalar in the widest enabled float dtype)."""
        return self._lr(_steps(type(self).__name__, t))

    def _lr(self, t: jax.Array) -> jax.Array:
        raise NotImplementedError


@dataclass(frozen=True)
class StepLR(LRSchedule):
    """``lr * gamma ** (t // step_size)`` (torch ``StepLR``).

    Example:
        >>> [round(float(StepLR(lr=1.0, step_size=2, gamma=0.5)(t)), 3) for t in range(4)]
        [1.0, 1.0, 0.5, 0.5]
    """

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive_int("StepLR", "step_size", self.step_size)

    def _lr(self, t):
        return self.lr * jnp.asarray(self.gamma, scalar_dtype()) ** jnp.floor(t / self.step_size)


@dataclass(frozen=True)
class MultiStepLR(LRSchedule):
    """``lr * gamma ** (number of milestones <= t)`` (torch ``MultiStepLR``; a repeated milestone counts twice).

    Example:
        >>> [round(float(MultiStepLR(lr=1.0, milestones=[1, 3], gamma=0.5)(t)), 3) for t in range(4)]
        [1.0, 0.5, 0.5, 0.25]
    """

    lr: float
    milestones: Sequence[int]
    gamma: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "milestones", tuple(sorted(int(m) for m in self.milestones)))

    def _lr(self, t):
        if not self.milestones:
            return jnp.asarray(self.lr, scalar_dtype()) + 0 * t
        n = jnp.sum(jnp.asarray(self.milestones, scalar_dtype()) <= t)
        return self.lr * jnp.asarray(self.gamma, scalar_dtype()) ** n.astype(scalar_dtype())


@dataclass(frozen=True)
class ExponentialLR(LRSchedule):
    """``lr * gamma ** t`` (torch ``ExponentialLR``).

    Example:
        >>> float(ExponentialLR(lr=1.0, gamma=0.5)(2))
        0.25
    """

    lr: float
    gamma: float

    def _lr(self, t):
        return self.lr * jnp.asarray(self.gamma, scalar_dtype()) ** t


def _cosine(base: float, eta_min: float, t_cur, t_i):
    return eta_min + (base - eta_min) * (1 + jnp.cos(math.pi * t_cur / t_i)) / 2


@dataclass(frozen=True)
class CosineAnnealingLR(LRSchedule):
    """``eta_min + (lr - eta_min) (1 + cos(pi t / T_max)) / 2`` (torch ``CosineAnnealingLR``).

    torch's recursive form (including its restart branch at ``t = T_max + 1 + 2k T_max``) equals this
    periodic curve: past ``T_max`` the lr rises again, as torch's does.

    Example:
        >>> [round(float(CosineAnnealingLR(lr=1.0, T_max=2)(t)), 3) for t in range(5)]
        [1.0, 0.5, 0.0, 0.5, 1.0]
    """

    lr: float
    T_max: int
    eta_min: float = 0.0

    def __post_init__(self) -> None:
        _positive_int("CosineAnnealingLR", "T_max", self.T_max)

    def _lr(self, t):
        return _cosine(self.lr, self.eta_min, t, self.T_max)


@dataclass(frozen=True)
class CosineAnnealingWarmRestarts(LRSchedule):
    """SGDR (torch ``CosineAnnealingWarmRestarts``): cosine over periods ``T_0, T_0 T_mult, ...``.

    Example:
        >>> [round(float(CosineAnnealingWarmRestarts(lr=1.0, T_0=2)(t)), 3) for t in range(4)]
        [1.0, 0.5, 1.0, 0.5]
    """

    lr: float
    T_0: int
    T_mult: int = 1
    eta_min: float = 0.0

    def __post_init__(self) -> None:
        _positive_int("CosineAnnealingWarmRestarts", "T_0", self.T_0)
        _positive_int("CosineAnnealingWarmRestarts", "T_mult", self.T_mult)

    def _lr(self, t):
        if self.T_mult == 1:
            t_cur, t_i = jnp.mod(t, self.T_0), self.T_0
        else:
            m = float(self.T_mult)
            start = lambda n: self.T_0 * (m**n - 1) / (m - 1)  # first step of period n
            n = jnp.floor(jnp.log(t / self.T_0 * (m - 1) + 1) / math.log(m))
            # The log may round across a period boundary; the starts are exact integers, so fix n by them.
            n = n + (start(n + 1) <= t) - (start(n) > t)
            t_cur, t_i = t - start(n), self.T_0 * m**n
        return _cosine(self.lr, self.eta_min, t_cur, t_i)


@dataclass(frozen=True)
class LinearLR(LRSchedule):
    """``lr * (start_factor + (end_factor - start_factor) min(t, total_iters) / total_iters)`` (torch ``LinearLR``).

    Example:
        >>> [round(float(LinearLR(lr=1.0, start_factor=0.5, total_iters=2)(t)), 3) for t in range(4)]
        [0.5, 0.75, 1.0, 1.0]
    """

    lr: float
    start_factor: float = 1.0 / 3
    end_factor: float = 1.0
    total_iters: int = 5

    def __post_init__(self) -> None:
        if not 0 < self.start_factor <= 1 or not 0 <= self.end_factor <= 1:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got "
                f"{self.start_factor}, {self.end_factor}"
            )

    def _lr(self, t):
        frac = jnp.minimum(t, self.total_iters) / self.total_iters
        return self.lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


@dataclass(frozen=True)
class ConstantLR(LRSchedule):
    """``lr * factor`` for ``t < total_iters``, then ``lr`` (torch ``ConstantLR``).

    Example:
        >>> [round(float(ConstantLR(lr=1.0, factor=0.5, total_iters=2)(t)), 3) for t in range(3)]
        [0.5, 0.5, 1.0]
    """

    lr: float
    factor: float = 1.0 / 3
    total_iters: int = 5

    def __post_init__(self) -> None:
        if not 0 <= self.factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {self.factor}")

    def _lr(self, t):
        return self.lr * jnp.where(t < self.total_iters, self.factor, 1.0)


@dataclass(frozen=True)
class PolynomialLR(LRSchedule):
    """``lr * (1 - min(t, total_iters) / total_iters) ** power`` (torch ``PolynomialLR``).

    Example:
        >>> [round(float(PolynomialLR(lr=1.0, total_iters=2, power=2.0)(t)), 3) for t in range(3)]
        [1.0, 0.25, 0.0]
    """

    lr: float
    total_iters: int = 5
    power: float = 1.0

    def _lr(self, t):
        return self.lr * (1.0 - jnp.minimum(t, self.total_iters) / self.total_iters) ** self.power


@dataclass(frozen=True)
class LambdaLR(LRSchedule):
    """``lr * lr_lambda(t)`` (torch ``LambdaLR``; under jit ``lr_lambda`` gets a traced float step).

    Example:
        >>> float(LambdaLR(lr=1.0, lr_lambda=lambda t: 0.5 ** t)(2))
        0.25
    """

    lr: float
    lr_lambda: Callable[[jax.Array], jax.Array]

    def _lr(self, t):
        return self.lr * jnp.asarray(self.lr_lambda(t), scalar_dtype())


@dataclass(frozen=True)
class MultiplicativeLR(LRSchedule):
    """``lr * lr_lambda(1) * ... * lr_lambda(t)`` (torch ``MultiplicativeLR``), multiplied in torch's order.

    A concrete ``t`` calls ``lr_lambda`` with Python ints (as torch); a traced one runs a
    ``lax.fori_loop`` and calls it with traced ints, so it must be jnp-traceable then.

    Example:
        >>> float(MultiplicativeLR(lr=1.0, lr_lambda=lambda k: 0.5)(3))
        0.125
    """

    lr: float
    lr_lambda: Callable[[int], float]

    def __call__(self, t: int | jax.Array) -> jax.Array:
        """The lr after ``t`` scheduler steps."""
        if isinstance(t, numbers.Integral) and not isinstance(t, bool):
            _steps("MultiplicativeLR", t)
            lr = float(self.lr)
            for k in range(1, t + 1):
                lr = lr * float(self.lr_lambda(k))
            return jnp.asarray(lr, scalar_dtype())
        _steps("MultiplicativeLR", t)
        body = lambda k, lr: lr * jnp.asarray(self.lr_lambda(k), scalar_dtype())
        return jax.lax.fori_loop(1, as_jax(t) + 1, body, jnp.asarray(self.lr, scalar_dtype()))


@dataclass(frozen=True)
class OneCycleLR(LRSchedule):
    """The 1cycle policy (torch ``OneCycleLR``): warm up from ``max_lr / div_factor`` to ``max_lr``, then
    anneal to ``max_lr / div_factor / final_div_factor`` (``three_phase``: back to the start lr first).

    torch overwrites the optimizer's lr with ``max_lr / div_factor``, so ``lr`` is accepted for the
    common signature and not used. Only the lr is scheduled: torch's ``cycle_momentum``,
    ``base_momentum`` and ``max_momentum`` change the optimizer's momentum/betas, which a schedule of
    the lr cannot, so they are not accepted. ``max_lr`` is one float (one lr for the schedule). A
    concrete ``t > total_steps`` raises as torch does; a traced one gives NaN.

    Example:
        >>> sched = OneCycleLR(max_lr=1.0, total_steps=10, anneal_strategy="linear")
        >>> round(float(sched(0)), 4), round(float(sched(2)), 4)
        (0.04, 1.0)
    """

    lr: float | None = None
    max_lr: float = field(default=None, kw_only=True)  # type: ignore[assignment]
    total_steps: int | None = field(default=None, kw_only=True)
    epochs: int | None = field(default=None, kw_only=True)
    steps_per_epoch: int | None = field(default=None, kw_only=True)
    pct_start: float = field(default=0.3, kw_only=True)
    anneal_strategy: str = field(default="cos", kw_only=True)
    div_factor: float = field(default=25.0, kw_only=True)
    final_div_factor: float = field(default=1e4, kw_only=True)
    three_phase: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        if self.max_lr is None:
            raise TypeError("OneCycleLR: max_lr is required")
        if self.total_steps is None:
            if self.epochs is None or self.steps_per_epoch is None:
                raise ValueError("OneCycleLR: you must define either total_steps OR (epochs AND steps_per_epoch)")
            _positive_int("OneCycleLR", "epochs", self.epochs)
            _positive_int("OneCycleLR", "steps_per_epoch", self.steps_per_epoch)
            object.__setattr__(self, "total_steps", self.epochs * self.steps_per_epoch)
        _positive_int("OneCycleLR", "total_steps", self.total_steps)
        if not 0 <= self.pct_start <= 1:
            raise ValueError(f"OneCycleLR: expected float between 0 and 1 pct_start, but got {self.pct_start}")
        if self.anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {self.anneal_strategy!r}")

    def __call__(self, t: int | jax.Array) -> jax.Array:
        """The lr after ``t`` scheduler steps (``0 <= t <= total_steps``)."""
        if isinstance(t, numbers.Integral) and t > self.total_steps:
            raise ValueError(
                f"OneCycleLR: tried to step {t} times; the total number of steps is {self.total_steps}"
            )
        return super().__call__(t)

    def _lr(self, t):
        initial = self.max_lr / self.div_factor
        min_lr = initial / self.final_div_factor
        n, pct = self.total_steps, self.pct_start
        if self.three_phase:
            phases = [
                (float(pct * n) - 1, initial, self.max_lr),
                (float(2 * pct * n) - 2, self.max_lr, initial),
                (n - 1, initial, min_lr),
            ]
        else:
            phases = [(float(pct * n) - 1, initial, self.max_lr), (n - 1, self.max_lr, min_lr)]
        # torch walks the phases and takes the first whose end_step >= t (else the last); here every
        # phase is evaluated and the choice made with where, from the last phase back to the first.
        out, start = None, 0.0
        values = []
        for end, lo, hi in phases:
            frac = (t - start) / (end - start)
            if self.anneal_strategy == "cos":
                values.append(hi + (lo - hi) / 2.0 * (jnp.cos(math.pi * frac) + 1))
            else:
                values.append((hi - lo) * frac + lo)
            start = end
        out = values[-1]
        for (end, _, _), v in zip(reversed(phases[:-1]), reversed(values[:-1]), strict=True):
            out = jnp.where(t <= end, v, out)
        return jnp.where(t <= n, out, jnp.nan)


def _same_lr(name: str, lr: float, schedulers: Sequence[LRSchedule]) -> tuple[LRSchedule, ...]:
    for i, s in enumerate(schedulers):
        if not isinstance(s, LRSchedule):
            raise TypeError(f"{name}: schedulers[{i}] must be a tapegrad lr_scheduler, got {type(s).__name__}")
        # torch's schedulers share one optimizer and so one initial lr.
        if getattr(s, "lr", lr) != lr and not isinstance(s, OneCycleLR):
            raise ValueError(f"{name}: schedulers[{i}] has lr={s.lr}, expected the common lr={lr}")
    if not schedulers:
        raise ValueError(f"{name}: expects at least one scheduler")
    return tuple(schedulers)


@dataclass(frozen=True)
class SequentialLR(LRSchedule):
    """``schedulers[i](t - milestones[i-1])`` between milestones (torch ``SequentialLR``).

    Example:
        >>> warm = LinearLR(lr=1.0, start_factor=0.5, total_iters=2)
        >>> sched = SequentialLR(lr=1.0, schedulers=[warm, ExponentialLR(lr=1.0, gamma=0.5)], milestones=[2])
        >>> [round(float(sched(t)), 3) for t in range(5)]
        [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    lr: float
    schedulers: Sequence[LRSchedule]
    milestones: Sequence[int]

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedulers", _same_lr("SequentialLR", self.lr, self.schedulers))
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))
        if len(self.milestones) != len(self.schedulers) - 1:
            raise ValueError(
                "SequentialLR: expects number of schedulers provided to be one more than the number of "
                f"milestone points, but got {len(self.schedulers)} schedulers and {len(self.milestones)} milestones"
            )

    def __call__(self, t: int | jax.Array) -> jax.Array:
        """The lr after ``t`` scheduler steps."""
        tf = _steps("SequentialLR", t)
        if isinstance(t, numbers.Integral):
            idx = sum(m <= t for m in self.milestones)
            return self.schedulers[idx](t - (self.milestones[idx - 1] if idx else 0))
        ti = as_jax(t)
        out = self.schedulers[0](ti)
        for m, s in zip(self.milestones, self.schedulers[1:], strict=True):
            out = jnp.where(tf >= m, s(jnp.maximum(ti - m, 0)), out)
        return out


# Schedulers whose torch recursion multiplies the current lr by a factor of the step, so chaining
# them multiplies their factors; the others (cosine, warm restarts, 1cycle, sequential) are affine or
# absolute in torch's recursion and cannot be chained as functions of the step.
_MULTIPLICATIVE = (StepLR, MultiStepLR, ExponentialLR, LinearLR, ConstantLR, PolynomialLR, MultiplicativeLR)


@dataclass(frozen=True)
class ChainedScheduler(LRSchedule):
    """All ``schedulers`` stepped together (torch ``ChainedScheduler``): ``lr * prod(s(t) / lr)``.

    Only schedulers whose torch recursion is multiplicative can be chained (StepLR, MultiStepLR,
    ExponentialLR, LinearLR, ConstantLR, PolynomialLR, MultiplicativeLR); others raise: torch's
    LambdaLR, CosineAnnealingLR, warm restarts and OneCycleLR set the lr from ``base_lr`` or
    affinely each step, so chained their result depends on the order of the steps, not only on ``t``.

    Example:
        >>> parts = [ConstantLR(lr=1.0, factor=0.5, total_iters=2), ExponentialLR(lr=1.0, gamma=0.5)]
        >>> [round(float(ChainedScheduler(lr=1.0, schedulers=parts)(t)), 4) for t in range(4)]
        [0.5, 0.25, 0.25, 0.125]
    """

    lr: float
    schedulers: Sequence[LRSchedule]

    def __post_init__(self) -> None:
        scheds = _same_lr("ChainedScheduler", self.lr, self.schedulers)
        for i, s in enumerate(scheds):
            if not isinstance(s, _MULTIPLICATIVE):
                raise ValueError(
                    f"ChainedScheduler: schedulers[{i}] is {type(s).__name__}, whose torch recursion is not "
                    "multiplicative (chain StepLR, MultiStepLR, ExponentialLR, LinearLR, ConstantLR, PolynomialLR, "
                    "MultiplicativeLR)"
                )
        object.__setattr__(self, "schedulers", scheds)

    def __call__(self, t: int | jax.Array) -> jax.Array:
        """The lr after ``t`` scheduler steps."""
        _steps("ChainedScheduler", t)
        out = jnp.asarray(self.lr, scalar_dtype())
        for s in self.schedulers:
            out = out * (s(t) / self.lr)
        return out
