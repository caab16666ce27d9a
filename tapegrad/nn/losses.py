"""PyTorch's other losses as ``F.`` functions (their modules: :mod:`tapegrad.nn.loss_layers`).

``l1_loss smooth_l1_loss huber_loss binary_cross_entropy kl_div cosine_embedding_loss
margin_ranking_loss triplet_margin_loss poisson_nll_loss gaussian_nll_loss ctc_loss`` and the
distances they use (``cosine_similarity``, ``pairwise_distance``), with PyTorch's arguments, defaults,
``reduction`` and the deprecated ``size_average``/``reduce``. Each is a composition of tapegrad ops,
written so that its gradient is PyTorch's, including at kinks (``|x|`` has gradient 0 at 0, a hinge
has gradient 0 at its corner) and where PyTorch clamps without gradient (``gaussian_nll_loss``'s
variance, ``cosine_similarity``'s norms).

``ctc_loss`` runs the CTC forward (alpha) recursion in log space as one ``tg.lax.scan`` over time,
so its gradient is tapegrad's own reverse scan.

Example:
    >>> import tapegrad.numpy as tnp
    >>> float(l1_loss(tnp.asarray([1.0, 3.0]), tnp.asarray([2.0, 1.0])))
    1.5
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.foreign import as_jax
from tapegrad.core.tracer import Tracer
from tapegrad.lax.scan import scan
from tapegrad.nn import functional_base as F
from tapegrad.nn.norm import _abs, vector_norm
from tapegrad.scipy.special import xlogy
from tapegrad.transforms import stop_gradient

Array = Any


def _shape(x: Array) -> tuple[int, ...]:
    return tuple(tnp.shape(x))


def _known(x: Any) -> np.ndarray | None:
    """``x``'s values for a check, or None where they are traced (under a transform or ``jax.jit``)."""
    if isinstance(x, (Tracer, jax.core.Tracer)):
        return None
    return np.asarray(x)


def _same_size_or_warn(input: Array, target: Array, op: str) -> None:
    """PyTorch warns (and broadcasts) when ``target`` differs in shape from ``input``."""
    if _shape(target) == _shape(input):
        return
    try:
        np.broadcast_shapes(_shape(target), _shape(input))
    except ValueError:
        raise ValueError(f"{op}: target {F._describe(target)} and input {F._describe(input)} have incompatible "
                         "shapes") from None
    # stacklevel 4: this check, the loss, its F wrapper (core.scope), the caller.
    warnings.warn(f"{op}: using a target size {_shape(target)} that is different to the input size "
                  f"{_shape(input)}; they are broadcast, which is likely not what you want", stacklevel=4)


def _weighted(loss: Array, weight: Array | None, input: Array, reduction: str, op: str,
              mean_by_weight: bool) -> Array:
    if weight is None:
        return F._reduce(loss, reduction)
    if _shape(weight) != _shape(input):
        raise ValueError(f"{op}: weights and input must have the same size, got weight {F._describe(weight)} and "
                         f"input {F._describe(input)}")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return tnp.sum(loss) / tnp.sum(weight)
    return F._reduce(loss, reduction)


# ---- regression --------------------------------------------------------------------------------------

def l1_loss(input: Array, target: Array, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean", weight: Array | None = None) -> Array:
    """Mean (or summed) absolute error; with ``weight``, ``sum(w * |err|) / sum(w)`` for 'mean'.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(l1_loss(tnp.asarray([1.0, 3.0]), tnp.asarray([2.0, 1.0]), reduction="sum"))
        3.0
    """
    reduction = F._reduction(size_average, reduce, reduction, "l1_loss")
    _same_size_or_warn(input, target, "l1_loss")
    return _weighted(_abs(input - target), weight, input, reduction, "l1_loss", mean_by_weight=True)


def smooth_l1_loss(input: Array, target: Array, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Array:
    """``0.5 * err**2 / beta`` where ``|err| < beta``, else ``|err| - 0.5 * beta`` (``l1_loss`` for ``beta=0``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> smooth_l1_loss(tnp.asarray([0.5, 3.0]), tnp.asarray([0.0, 0.0]), reduction="none").tolist()
        [0.125, 2.5]
    """
    reduction = F._reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    _same_size_or_warn(input, target, "smooth_l1_loss")
    d = input - target
    z = _abs(d)
    if beta == 0:
        return F._reduce(z, reduction)
    return F._reduce(tnp.where(z < beta, (0.5 / beta) * d * d, z - 0.5 * beta), reduction)


def huber_loss(input: Array, target: Array, reduction: str = "mean", delta: float = 1.0,
               weight: Array | None = None) -> Array:
    """``0.5 * err**2`` where ``|err| < delta``, else ``delta * (|err| - 0.5 * delta)``.

    With ``weight`` (the input's shape), 'mean' is ``mean(w * loss)``, as PyTorch's.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> huber_loss(tnp.asarray([0.5, 3.0]), tnp.asarray([0.0, 0.0]), reduction="none").tolist()
        [0.125, 2.5]
    """
    reduction = F._reduction(None, None, reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    _same_size_or_warn(input, target, "huber_loss")
    d = input - target
    z = _abs(d)
    loss = tnp.where(z < delta, 0.5 * d * d, delta * (z - 0.5 * delta))
    return _weighted(loss, weight, input, reduction, "huber_loss", mean_by_weight=False)


def poisson_nll_loss(input: Array, target: Array, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Array:
    """Poisson negative log-likelihood: ``exp(input) - target * input`` (``log_input``), else
    ``input - target * log(input + eps)``; ``full`` adds Stirling's term where ``target > 1``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(poisson_nll_loss(tnp.asarray([0.0]), tnp.asarray([2.0])))
        1.0
    """
    reduction = F._reduction(size_average, reduce, reduction, "poisson_nll_loss")
    loss = tnp.exp(input) - target * input if log_input else input - target * tnp.log(input + eps)
    if full:
        big = target > 1
        t = tnp.where(big, target, 2.0)  # any value > 1: the masked branch must stay finite
        stirling = t * tnp.log(t) - t + 0.5 * tnp.log(2 * math.pi * t)
        loss = loss + tnp.where(big, stirling, 0.0)
    return F._reduce(loss, reduction)


def gaussian_nll_loss(input: Array, target: Array, var: Array | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Array:
    """Gaussian negative log-likelihood ``0.5 * (log(var) + (input - target)**2 / var)`` (+ ``0.5 log 2pi``).

    ``var`` has the input's shape, or one dimension fewer / of size 1 (one variance shared over it),
    or is a float. It is clamped to ``eps`` without gradient, as PyTorch does.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(gaussian_nll_loss(tnp.asarray([1.0]), tnp.asarray([1.0]), tnp.asarray([1.0])))
        0.0
    """
    op = "gaussian_nll_loss"
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries")
        var = var * tnp.ones_like(input)
    else:
        v = _known(var)
        if v is not None and np.any(v < 0):
            raise ValueError(f"{op}: var has negative entry/entries")
    ins, vs = _shape(input), _shape(var)
    if vs != ins:
        if ins[:-1] == vs:
            var = tnp.expand_dims(var, -1)
        elif not (len(ins) == len(vs) and sum(y for x, y in zip(ins, vs, strict=True) if x != y) == 1):
            raise ValueError(f"{op}: var is of incorrect size: var {F._describe(var)} for input {F._describe(input)}")
    reduction = F._reduction(None, None, reduction, op)
    # PyTorch clamps a clone of var under no_grad: the value is clamped, the gradient passes unchanged.
    var = var + stop_gradient(tnp.maximum(var, eps) - var)
    d = input - target
    loss = 0.5 * (tnp.log(var) + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return F._reduce(loss, reduction)


# ---- probabilities ---------------------------------------------------------------------------------

def binary_cross_entropy(input: Array, target: Array, weight: Array | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Array:
    """``-w * (t * log(p) + (1 - t) * log(1 - p))`` for probabilities ``input``; each log clamped at -100.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> round(float(binary_cross_entropy(tnp.asarray([0.5]), tnp.asarray([1.0]))), 4)
        0.6931
    """
    op = "binary_cross_entropy"
    reduction = F._reduction(size_average, reduce, reduction, op)
    if _shape(target) != _shape(input):
        raise ValueError(f"{op}: using a target size {_shape(target)} that is different to the input size "
                         f"{_shape(input)} is deprecated; please ensure they have the same size")
    p = _known(input)
    if p is not None and p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1):
        raise ValueError(f"{op}: all elements of input should be between 0 and 1 (input {F._describe(input)})")

    def clamped_log(x: Array) -> Array:
        # log(0) = -inf would give the unused branch an infinite derivative (0 * inf = NaN).
        ok = x > math.exp(-100)
        return tnp.where(ok, tnp.log(tnp.where(ok, x, 1.0)), -100.0)

    loss = (target - 1) * clamped_log(1 - input) - target * clamped_log(input)
    if weight is not None:
        loss = loss * weight
    return F._reduce(loss, reduction)


def kl_div(input: Array, target: Array, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Array:
    """Pointwise KL divergence ``target * (log(target) - input)`` for log-probabilities ``input``.

    ``log_target`` takes ``target`` as log-probabilities too. ``reduction='batchmean'`` divides the
    sum by the batch size (the mathematical KL divergence); ``'mean'`` averages over every element,
    with PyTorch's warning.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(kl_div(tnp.log(tnp.asarray([[0.5, 0.5]])), tnp.asarray([[0.5, 0.5]]), reduction="batchmean"))
        0.0
    """
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = F._reduction(size_average, reduce, "mean", op)
    elif reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the support "
                      "size; 'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition", UserWarning, stacklevel=3)  # kl_div, its F wrapper (core.scope)
    elif reduction not in ("batchmean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    if log_target:
        loss = tnp.exp(target) * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        return tnp.sum(loss) / (_shape(input)[0] if _shape(input) else 1)
    return F._reduce(loss, reduction)


# ---- distances and embeddings ------------------------------------------------------------------------

def cosine_similarity(x1: Array, x2: Array, dim: int = 1, eps: float = 1e-8) -> Array:
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))`` along ``dim`` (broadcasting).

    The norms are clamped without gradient, as PyTorch's.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> round(float(cosine_similarity(tnp.asarray([[1.0, 0.0]]), tnp.asarray([[1.0, 1.0]]))[0]), 4)
        0.7071
    """
    try:
        shape = np.broadcast_shapes(_shape(x1), _shape(x2))
    except ValueError:
        raise ValueError(f"cosine_similarity: x1 {F._describe(x1)} and x2 {F._describe(x2)} do not "
                         "broadcast") from None
    if not -max(len(shape), 1) <= dim < max(len(shape), 1):
        raise IndexError(f"cosine_similarity: dim {dim} is out of range for shape {shape}")
    x1, x2 = tnp.broadcast_to(x1, shape), tnp.broadcast_to(x2, shape)

    def unit(x: Array) -> Array:
        n = vector_norm(x, 2, axis=dim, keepdims=True)
        return x / (n + stop_gradient(tnp.maximum(n, eps) - n))

    return tnp.sum(unit(x1) * unit(x2), axis=dim)


def pairwise_distance(x1: Array, x2: Array, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Array:
    """``||x1 - x2 + eps||_p`` over the last dimension (broadcasting).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> round(float(pairwise_distance(tnp.asarray([3.0, 0.0]), tnp.asarray([0.0, 4.0]), eps=0.0)), 4)
        5.0
    """
    nd = max(tnp.ndim(x1), tnp.ndim(x2))
    d = x1 - x2 + eps
    return vector_norm(d, p, axis=nd - 1 if nd else None, keepdims=keepdim)


def cosine_embedding_loss(input1: Array, input2: Array, target: Array, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Array:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where ``target == -1``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x = tnp.asarray([[1.0, 0.0], [1.0, 0.0]])
        >>> cosine_embedding_loss(x, x, tnp.asarray([1, -1]), reduction="none").round(4).tolist()
        [0.0, 1.0]
    """
    op = "cosine_embedding_loss"
    reduction = F._reduction(size_average, reduce, reduction, op)
    td = tnp.ndim(target)
    if td not in (0, 1) or tnp.ndim(input1) != td + 1 or _shape(input1) != _shape(input2):
        raise ValueError(f"{op}: expected a 1-d target with 2-d inputs or a 0-d target with 1-d inputs of one "
                         f"shape, got input1 {F._describe(input1)}, input2 {F._describe(input2)}, target "
                         f"{F._describe(target)}")
    eps = 1e-12  # PyTorch's EPSILON on the squared magnitudes
    prod = tnp.sum(input1 * input2, axis=td)
    cos = prod / tnp.sqrt((tnp.sum(input1 * input1, axis=td) + eps) * (tnp.sum(input2 * input2, axis=td) + eps))
    t = as_jax(target)
    loss = tnp.where(t == 1, 1 - cos, 0.0) + tnp.where(t == -1, F.relu(cos - margin), 0.0)
    return F._reduce(loss, reduction)


def margin_ranking_loss(input1: Array, input2: Array, target: Array, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Array:
    """``max(0, -target * (input1 - input2) + margin)``; the three arrays have one shape.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(margin_ranking_loss(tnp.asarray([1.0]), tnp.asarray([2.0]), tnp.asarray([1.0])))
        1.0
    """
    op = "margin_ranking_loss"
    reduction = F._reduction(size_average, reduce, reduction, op)
    if not _shape(input1) == _shape(input2) == _shape(target):
        raise ValueError(f"{op}: all input tensors should have same size but got sizes: input1: "
                         f"{_shape(input1)}, input2: {_shape(input2)}, target: {_shape(target)}")
    return F._reduce(F.relu(-target * (input1 - input2) + margin), reduction)


def triplet_margin_loss(anchor: Array, positive: Array, negative: Array, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Array:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d = pairwise_distance``; ``swap`` also tries ``d(p, n)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> a = tnp.asarray([[0.0, 0.0]])
        >>> round(float(triplet_margin_loss(a, a + 1.0, a + 3.0, eps=0.0)), 4)
        0.0
    """
    op = "triplet_margin_loss"
    reduction = F._reduction(size_average, reduce, reduction, op)
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if not tnp.ndim(anchor) == tnp.ndim(positive) == tnp.ndim(negative):
        raise ValueError(f"{op}: all inputs should have same dimension but got {tnp.ndim(anchor)}D, "
                         f"{tnp.ndim(positive)}D and {tnp.ndim(negative)}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = tnp.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return F._reduce(F.relu(margin + d_pos - d_neg), reduction)


# ---- CTC -------------------------------------------------------------------------------------------------

def _logsumexp0(x: Array) -> Array:
    """``log(sum(exp(x), axis=0))`` that is ``-inf`` (with zero gradient, not NaN) where every term is ``-inf``."""
    m = stop_gradient(tnp.max(x, axis=0))  # a constant shift: the result does not depend on it
    m = tnp.where(tnp.isfinite(m), m, 0.0)
    s = tnp.sum(tnp.exp(x - m), axis=0)
    pos = s > 0
    return tnp.where(pos, tnp.log(tnp.where(pos, s, 1.0)) + m, -np.inf)


def _int_array(x: Any, name: str) -> Any:
    arr = as_jax(x) if not isinstance(x, (list, tuple)) else jnp.asarray(x)
    if jnp.issubdtype(arr.dtype, jnp.inexact) or arr.dtype == jnp.bool_:
        raise TypeError(f"ctc_loss: {name} must hold integers, got {F._describe(arr)}")
    return arr.astype(jnp.int32)


def ctc_loss(log_probs: Array, targets: Array, input_lengths: Array | Sequence[int],
             target_lengths: Array | Sequence[int], blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> Array:
    """Connectionist temporal classification loss: ``-log p(target | log_probs)`` summed over alignments.

    ``log_probs`` ``(T, N, C)`` (or unbatched ``(T, C)``) are log-probabilities (``log_softmax`` over C);
    ``targets`` are ``(N, S)`` padded or the ``sum(target_lengths)`` targets concatenated (1-d); lengths
    are ``(N,)`` integers (``input_lengths <= T``). ``reduction='mean'`` divides each loss by its target
    length and averages over the batch; ``zero_infinity`` turns the infinite losses of impossible
    alignments (and their gradients) into zeros.

    The gradient is the derivative of this function. PyTorch's CTC backward returns that derivative plus
    ``exp(log_probs) * grad`` summed per time step, which vanishes once it passes back through the
    ``log_softmax`` that made ``log_probs``: gradients w.r.t. the logits agree, w.r.t. ``log_probs`` as a
    leaf they differ.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> lp = tnp.log(tnp.full((2, 1, 2), 0.5))                 # T=2, N=1, C=2 (blank 0)
        >>> round(float(ctc_loss(lp, tnp.asarray([[1]]), [2], [1], reduction="sum")), 4)  # -log(3/4)
        0.2877
    """
    op = "ctc_loss"
    reduction = F._reduction(None, None, reduction, op)
    nd = tnp.ndim(log_probs)
    if nd not in (2, 3) or not F._is_float(log_probs):
        raise ValueError(f"{op}: log_probs must be floating (T, N, C) or unbatched (T, C), got "
                         f"{F._describe(log_probs)}")
    tg_ = _int_array(targets, "targets")
    il, tl = _int_array(input_lengths, "input_lengths"), _int_array(target_lengths, "target_lengths")
    if nd == 2:
        log_probs = tnp.expand_dims(log_probs, 1)
        tg_, il, tl = tg_.reshape(1, -1), il.reshape(1), tl.reshape(1)
    T, N, C = _shape(log_probs)
    if il.shape != (N,) or tl.shape != (N,):
        raise ValueError(f"{op}: input_lengths and target_lengths must have one entry per batch element ({N}), got "
                         f"{F._describe(il)} and {F._describe(tl)}")
    if not 0 <= blank < C:
        raise ValueError(f"{op}: blank must be in label range [0, {C}), got {blank}")
    if tg_.ndim == 2:
        if tg_.shape[0] != N:
            raise ValueError(f"{op}: padded targets must be (N={N}, S), got {F._describe(tg_)}")
        padded = tg_
    elif tg_.ndim == 1:  # concatenated: row n holds targets[offset_n : offset_n + tl_n]
        total = tg_.shape[0]
        tl_c = _known(tl)
        s_max = int(tl_c.max()) if tl_c is not None and tl_c.size else total
        offsets = jnp.cumsum(tl) - tl
        idx = offsets[:, None] + jnp.arange(s_max)[None, :]
        padded = tg_[jnp.clip(idx, 0, max(total - 1, 0))] if total else jnp.zeros((N, s_max), jnp.int32)
    else:
        raise ValueError(f"{op}: targets must be (N, S) padded or 1-d concatenated, got {F._describe(tg_)}")
    S = padded.shape[1]
    il_c, tl_c = _known(il), _known(tl)
    if il_c is not None and (il_c.max(initial=0) > T or il_c.min(initial=0) < 0):
        raise ValueError(f"{op}: input_lengths must be in [0, T={T}], got {il_c.tolist()}")
    if tl_c is not None and (tl_c.max(initial=0) > S or tl_c.min(initial=0) < 0):
        raise ValueError(f"{op}: target_lengths must be in [0, S={S}] (the targets' length), got {tl_c.tolist()}")
    labels = _known(padded)
    if labels is not None and tl_c is not None:
        used = labels[np.arange(S)[None, :] < tl_c[:, None]]
        if used.size and (used.min() < 0 or used.max() >= C):
            raise ValueError(f"{op}: target labels must be in [0, C={C}), got {int(used.min())}..{int(used.max())}")

    # The extended label sequence: blank, l1, blank, l2, ..., blank (length 2S + 1).
    L = 2 * S + 1
    ext = jnp.full((N, L), blank, jnp.int32).at[:, 1::2].set(jnp.clip(padded, 0, C - 1))
    prev2 = jnp.concatenate([jnp.full((N, 2), -1, jnp.int32), ext[:, :-2]], axis=1)
    skip = (ext != blank) & (ext != prev2)  # alpha[s - 2] may jump over a blank between different labels
    emit = tnp.take_along_axis(log_probs, jnp.broadcast_to(ext[None], (T, N, L)), axis=2)  # (T, N, L)
    pos = jnp.arange(L)
    alpha0 = tnp.where(pos < 2, emit[0], -np.inf)
    neg = tnp.full((N, 2), -np.inf, dtype=tnp.result_type(log_probs))

    def step(alpha: Array, xs: tuple[Array, Array]) -> tuple[Array, None]:
        e, t = xs
        a1 = tnp.concatenate([neg[:, :1], alpha], axis=1)[:, :L]
        a2 = tnp.where(skip, tnp.concatenate([neg, alpha], axis=1)[:, :L], -np.inf)
        new = _logsumexp0(tnp.stack([alpha, a1, a2])) + e
        return tnp.where((t < il)[:, None], new, alpha), None  # frozen after the sequence's end

    alpha, _ = scan(step, alpha0, (emit[1:], jnp.arange(1, T)))
    last = tnp.take_along_axis(alpha, (2 * tl)[:, None], axis=1)[:, 0]
    before = tnp.take_along_axis(alpha, jnp.maximum(2 * tl - 1, 0)[:, None], axis=1)[:, 0]
    before = tnp.where(tl > 0, before, -np.inf)
    loss = -_logsumexp0(tnp.stack([last, before]))
    if zero_infinity:
        loss = tnp.where(tnp.isinf(loss), 0.0, loss)
    if nd == 2 and reduction == "none":
        return loss[0]
    if reduction == "mean":
        return tnp.mean(loss / jnp.maximum(tl, 1).astype(tnp.result_type(loss)))
    return F._reduce(loss, reduction)


__all__ = [
    "binary_cross_entropy", "cosine_embedding_loss", "cosine_similarity", "ctc_loss", "gaussian_nll_loss",
    "huber_loss", "kl_div", "l1_loss", "margin_ranking_loss", "pairwise_distance", "poisson_nll_loss",
    "smooth_l1_loss", "triplet_margin_loss",
]
