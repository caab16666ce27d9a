"""Loss modules over the ``F.`` losses of :mod:`tapegrad.nn.losses`: ``L1Loss``, ``SmoothL1Loss``,
``HuberLoss``, ``BCELoss``, ``KLDivLoss``, ``CosineEmbeddingLoss``, ``MarginRankingLoss``,
``TripletMarginLoss``, ``CTCLoss``, ``PoissonNLLLoss`` and ``GaussianNLLLoss``, with PyTorch's
constructor arguments (the deprecated ``size_average``/``reduce`` mapped onto ``reduction``).

Example:
    >>> import tapegrad.numpy as tnp
    >>> float(L1Loss()(tnp.asarray([1.0, 3.0]), tnp.asarray([2.0, 1.0])))
    1.5
"""
from __future__ import annotations

from typing import Any

from tapegrad.nn import functional as F
from tapegrad.nn.layers import _REDUCTIONS, _constant, _Loss

Array = Any


class _FLoss(_Loss):
    """A loss module over an ``F.`` function: ``loss_fn(*inputs)``, PyTorch's legacy arguments mapped."""

    _reductions = _REDUCTIONS

    def _set_reduction(self, size_average: bool | None, reduce: bool | None, reduction: str) -> None:
        if size_average is not None or reduce is not None:
            reduction = F._reduction(size_average, reduce, reduction, type(self).__name__)
        if reduction not in self._reductions:
            raise ValueError(f"{reduction} is not a valid value for reduction (use "
                             f"{', '.join(repr(r) for r in self._reductions)})")
        self.reduction = reduction

    def __call__(self, *inputs: Any) -> Any:
        return self.forward(*inputs)


class L1Loss(_FLoss):
    """``F.l1_loss``: mean absolute error.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(L1Loss()(tnp.asarray([1.0, 3.0]), tnp.asarray([2.0, 1.0])))
        1.5
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        self._set_reduction(size_average, reduce, reduction)

    def forward(self, input: Array, target: Array) -> Array:  # noqa: A002
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_FLoss):
    """``F.smooth_l1_loss``: quadratic below ``beta``, linear above.

    Example:
        >>> SmoothL1Loss(beta=0.5).beta
        0.5
    """

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        self._set_reduction(size_average, reduce, reduction)
        self.beta = float(beta)

    def forward(self, input: Array, target: Array) -> Array:  # noqa: A002
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_FLoss):
    """``F.huber_loss``: quadratic below ``delta``, ``delta``-scaled linear above.

    Example:
        >>> HuberLoss(delta=2.0).delta
        2.0
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        self._set_reduction(None, None, reduction)
        self.delta = float(delta)

    def forward(self, input: Array, target: Array) -> Array:  # noqa: A002
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_FLoss):
    """``F.binary_cross_entropy`` on probabilities (``BCEWithLogitsLoss`` is the stable one on logits).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> round(float(BCELoss()(tnp.asarray([0.5]), tnp.asarray([1.0]))), 4)
        0.6931
    """

    def __init__(self, weight: Any = None, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        self._set_reduction(size_average, reduce, reduction)
        self.weight = _constant("BCELoss weight", weight)

    def forward(self, input: Array, target: Array) -> Array:  # noqa: A002
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class KLDivLoss(_FLoss):
    """``F.kl_div`` on log-probabilities ``input``; ``log_target`` for log-probability targets.

    Example:
        >>> KLDivLoss(reduction="batchmean", log_target=True).log_target
        True
    """

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        self._set_reduction(size_average, reduce, reduction)
        self.log_target = bool(log_target)

    def forward(self, input: Array, target: Array) -> Array:  # noqa: A002
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineEmbeddingLoss(_FLoss):
    """``F.cosine_embedding_loss``: called as ``loss_fn(input1, input2, target)``.

    Example:
        >>> CosineEmbeddingLoss(margin=0.5).margin
        0.5
    """

    def __init__(self, margin: float = 0.0, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        self._set_reduction(size_average, reduce, reduction)
        self.margin = float(margin)

    def forward(self, input1: Array, input2: Array, target: Array) -> Array:
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class MarginRankingLoss(_FLoss):
    """``F.margin_ranking_loss``: called as ``loss_fn(input1, input2, target)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(MarginRankingLoss()(tnp.asarray([1.0]), tnp.asarray([2.0]), tnp.asarray([1.0])))
        1.0
    """

    def __init__(self, margin: float = 0.0, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        self._set_reduction(size_average, reduce, reduction)
        self.margin = float(margin)

    def forward(self, input1: Array, input2: Array, target: Array) -> Array:
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class TripletMarginLoss(_FLoss):
    """``F.triplet_margin_loss``: called as ``loss_fn(anchor, positive, negative)``.

    Example:
        >>> TripletMarginLoss(margin=0.5, p=1).p
        1.0
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self._set_reduction(size_average, reduce, reduction)
        self.margin, self.p, self.eps, self.swap = float(margin), float(p), float(eps), bool(swap)

    def forward(self, anchor: Array, positive: Array, negative: Array) -> Array:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p, eps=self.eps,
                                   swap=self.swap, reduction=self.reduction)


class CTCLoss(_FLoss):
    """``F.ctc_loss``: called as ``loss_fn(log_probs, targets, input_lengths, target_lengths)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> lp = tnp.log(tnp.full((2, 1, 2), 0.5))
        >>> round(float(CTCLoss(reduction="sum")(lp, tnp.asarray([[1]]), [2], [1])), 4)
        0.2877
    """

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        self._set_reduction(None, None, reduction)
        self.blank, self.zero_infinity = int(blank), bool(zero_infinity)

    def forward(self, log_probs: Array, targets: Array, input_lengths: Array, target_lengths: Array) -> Array:
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=self.blank,
                        reduction=self.reduction, zero_infinity=self.zero_infinity)


class PoissonNLLLoss(_FLoss):
    """``F.poisson_nll_loss``: Poisson negative log-likelihood.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(PoissonNLLLoss()(tnp.asarray([0.0]), tnp.asarray([2.0])))
        1.0
    """

    def __init__(self, log_input: bool = True, full: bool = False, size_average: bool | None = None,
                 eps: float = 1e-8, reduce: bool | None = None, reduction: str = "mean") -> None:
        self._set_reduction(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = bool(log_input), bool(full), float(eps)

    def forward(self, log_input: Array, target: Array) -> Array:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full, eps=self.eps,
                                reduction=self.reduction)


class GaussianNLLLoss(_FLoss):
    """``F.gaussian_nll_loss``: called as ``loss_fn(input, target, var)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(GaussianNLLLoss()(tnp.asarray([1.0]), tnp.asarray([1.0]), tnp.asarray([1.0])))
        0.0
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        self._set_reduction(None, None, reduction)
        self.full, self.eps = bool(full), float(eps)

    def forward(self, input: Array, target: Array, var: Array | float) -> Array:  # noqa: A002
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)


__all__ = [
    "BCELoss", "CTCLoss", "CosineEmbeddingLoss", "GaussianNLLLoss", "HuberLoss", "KLDivLoss", "L1Loss",
    "MarginRankingLoss", "PoissonNLLLoss", "SmoothL1Loss", "TripletMarginLoss",
]
