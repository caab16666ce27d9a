"""``jax.nn``'s functions under their JAX names and signatures, differentiable by tapegrad.

``import jax.nn as jnn`` ports as ``import tapegrad.nn as jnn``. The formulas are JAX's (so values
and gradients match ``jax.nn`` to float rounding, including JAX's choices at kinks: ``relu``'s
gradient is 0 at 0, ``hard_tanh`` passes the gradient at the edges), composed from tapegrad ops;
PyTorch's spellings of the same functions are in ``nn.functional``.

Example:
    >>> import tapegrad as tg
    >>> import tapegrad.nn as jnn
    >>> float(tg.grad(lambda x: jnn.softplus(x))(0.0))
    0.5
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn import activations as A
from tapegrad.nn import functional as F
from tapegrad.rules import special as _special

Array = Any


def relu(x: Array) -> Array:
    """``max(x, 0)``; the gradient at 0 is 0 (as ``jax.nn.relu``).

    Example:
        >>> relu(tnp.asarray([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    return F.relu(x)


def relu6(x: Array) -> Array:
    """``min(max(x, 0), 6)``; the gradient is 1 strictly inside ``(0, 6)``.

    Example:
        >>> relu6(tnp.asarray([7.0])).tolist()
        [6.0]
    """
    return A.relu6(x)


def sigmoid(x: Array) -> Array:
    """``1 / (1 + exp(-x))``.

    Example:
        >>> float(sigmoid(0.0))
        0.5
    """
    return F.sigmoid(x)


def log_sigmoid(x: Array) -> Array:
    """``-softplus(-x)``, stable at both tails.

    Example:
        >>> round(float(log_sigmoid(0.0)), 4)
        -0.6931
    """
    return A.logsigmoid(x)


def softplus(x: Array) -> Array:
    """``log(1 + exp(x))``, as ``logaddexp(x, 0)``.

    Example:
        >>> round(float(softplus(0.0)), 4)
        0.6931
    """
    return tnp.logaddexp(x, 0.0)


def silu(x: Array) -> Array:
    """``x * sigmoid(x)``.

    Example:
        >>> round(float(silu(1.0)), 4)
        0.7311
    """
    return x * F.sigmoid(x)


swish = silu


def gelu(x: Array, approximate: bool = True) -> Array:
    """Gaussian error linear unit; JAX's default is the tanh approximation.

    Example:
        >>> round(float(gelu(1.0)), 4)
        0.8412
    """
    return F.gelu(x, approximate="tanh" if approximate else "none")


def elu(x: Array, alpha: float = 1.0) -> Array:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Example:
        >>> round(float(elu(-1.0)), 4)
        -0.6321
    """
    return A.elu(x, alpha)


def celu(x: Array, alpha: float = 1.0) -> Array:
    """``max(0, x) + alpha * min(0, exp(x / alpha) - 1)``.

    Example:
        >>> float(celu(1.0))
        1.0
    """
    return A.celu(x, alpha)


def selu(x: Array) -> Array:
    """Scaled ELU with the self-normalising constants.

    Example:
        >>> float(selu(0.0))
        0.0
    """
    return A.selu(x)


def leaky_relu(x: Array, negative_slope: float = 1e-2) -> Array:
    """``x`` where ``x >= 0``, else ``negative_slope * x`` (JAX's: the gradient at 0 is 1).

    Example:
        >>> leaky_relu(tnp.asarray([-1.0])).tolist()
        [-0.01]
    """
    return tnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x: Array) -> Array:
    """``x`` clamped to ``[-1, 1]``; the gradient is 1 on the closed interval (JAX's).

    Example:
        >>> hard_tanh(tnp.asarray([-2.0, 0.5])).tolist()
        [-1.0, 0.5]
    """
    return tnp.where(x > 1, 1.0, tnp.where(x < -1, -1.0, x))


def hard_sigmoid(x: Array) -> Array:
    """``relu6(x + 3) / 6``.

    Example:
        >>> float(hard_sigmoid(0.0))
        0.5
    """
    return relu6(x + 3.0) / 6.0


def hard_silu(x: Array) -> Array:
    """``x * hard_sigmoid(x)``.

    Example:
        >>> float(hard_silu(4.0))
        4.0
    """
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def mish(x: Array) -> Array:
    """``x * tanh(softplus(x))``.

    Example:
        >>> round(float(mish(1.0)), 4)
        0.8651
    """
    return x * tnp.tanh(softplus(x))


def soft_sign(x: Array) -> Array:
    """``x / (|x| + 1)``.

    Example:
        >>> float(soft_sign(1.0))
        0.5
    """
    return A.softsign(x)


def squareplus(x: Array, b: float = 4) -> Array:
    """``(x + sqrt(x**2 + b)) / 2``.

    Example:
        >>> float(squareplus(0.0))
        1.0
    """
    return (x + tnp.sqrt(x * x + b)) / 2


def glu(x: Array, axis: int = -1) -> Array:
    """Gated linear unit: halves ``a, b`` of ``x`` along ``axis``, ``a * sigmoid(b)``.

    Example:
        >>> glu(tnp.asarray([2.0, 0.0])).tolist()
        [1.0]
    """
    return A.glu(x, axis)


def identity(x: Array) -> Array:
    """The identity activation: ``x`` itself (as an array).

    Example:
        >>> identity(tnp.asarray([-1.0, 2.0])).tolist()
        [-1.0, 2.0]
    """
    return tnp.asarray(x)


def tanh(x: Array) -> Array:
    """The hyperbolic tangent (``jax.nn.tanh``, i.e. ``tnp.tanh``).

    Example:
        >>> float(tanh(0.0))
        0.0
    """
    return tnp.tanh(x)


def sparse_plus(x: Array) -> Array:
    """``0`` for ``x <= -1``, ``(x + 1)^2 / 4`` on ``(-1, 1)``, ``x`` for ``x >= 1``: smooth, convex, with
    :func:`sparse_sigmoid` as its derivative.

    Example:
        >>> sparse_plus(tnp.asarray([-2.0, 0.0, 2.0])).tolist()
        [0.0, 0.25, 2.0]
    """
    return tnp.where(x <= -1.0, 0.0, tnp.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def sparse_sigmoid(x: Array) -> Array:
    """``0.5 * clip(x + 1, 0, 2)``: 0 below -1, 1 above 1, linear between (JAX's gradient at the edges: 1/4).

    Example:
        >>> sparse_sigmoid(tnp.asarray([-2.0, 0.0, 2.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    return 0.5 * tnp.clip(x + 1.0, 0.0, 2.0)


def log1mexp(x: Array) -> Array:
    """``log(1 - exp(-x))`` for ``x > 0``, stably at both ends; its derivative is ``1 / expm1(x)``.

    Example:
        >>> round(float(log1mexp(1.0)), 4)
        -0.4587
    """
    return _special.log1mexp(x)


def logmeanexp(x: Array, axis: int | tuple[int, ...] | None = None, where: Array | None = None,
               keepdims: bool = False) -> Array:
    """``log(mean(exp(x)))`` along ``axis``: ``logsumexp(x) - log(n)``, ``n`` the number of (``where``-selected)
    entries reduced.

    Example:
        >>> round(float(logmeanexp(tnp.asarray([0.0, 0.0]))), 4)
        0.0
    """
    lse = tnp.logsumexp(x, axis=axis, keepdims=keepdims, where=where)
    if where is None:
        shape = tnp.shape(x)
        axes = range(len(shape)) if axis is None else (axis,) if isinstance(axis, int) else axis
        count = math.prod(shape[a] for a in axes)
    else:
        mask = tnp.broadcast_to(tnp.asarray(where), tnp.shape(x))
        return lse - tnp.log(tnp.sum(tnp.astype(mask, lse.dtype), axis=axis, keepdims=keepdims))
    return lse - (math.log(count) if count else -math.inf)


def _masked(x: Array, where: Array | None, fill: float) -> Array:
    return x if where is None else tnp.where(where, x, fill)


def softmax(x: Array, axis: int | tuple[int, ...] | None = -1, where: Array | None = None) -> Array:
    """``exp(x) / sum(exp(x))`` along ``axis``; entries outside ``where`` are 0.

    Example:
        >>> softmax(tnp.asarray([0.0, 0.0])).tolist()
        [0.5, 0.5]
    """
    shifted = x - _stop_max(x, axis, where)
    e = _masked(tnp.exp(shifted), where, 0.0)
    return e / tnp.sum(e, axis=axis, keepdims=True)


def log_softmax(x: Array, axis: int | tuple[int, ...] | None = -1, where: Array | None = None) -> Array:
    """``x - logsumexp(x)`` along ``axis``; entries outside ``where`` are ``-inf``.

    Example:
        >>> round(log_softmax(tnp.asarray([0.0, 0.0])).tolist()[0], 4)
        -0.6931
    """
    shifted = x - _stop_max(x, axis, where)
    total = tnp.sum(_masked(tnp.exp(shifted), where, 0.0), axis=axis, keepdims=True)
    return _masked(shifted - tnp.log(total), where, -np.inf)


def _stop_max(x: Array, axis: Any, where: Array | None) -> Array:
    """The maximum along ``axis``, as a constant: softmax is shift-invariant, so its gradient is 0."""
    from tapegrad.core.tracer import Tracer

    raw = x.primal() if type(x) is Tracer else x
    m = tnp.max(_masked(tnp.asarray(raw), where, -np.inf), axis=axis, keepdims=True)
    return tnp.where(tnp.isfinite(m), m, 0.0)


def logsumexp(a: Array, axis: int | tuple[int, ...] | None = None, b: Array | None = None,
              keepdims: bool = False, return_sign: bool = False, where: Array | None = None) -> Any:
    """``log(sum(b * exp(a)))`` along ``axis`` (``jax.nn.logsumexp``, i.e. ``tnp.logsumexp``).

    Example:
        >>> round(float(logsumexp(tnp.asarray([0.0, 0.0]))), 4)
        0.6931
    """
    return tnp.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign, where=where)


def one_hot(x: Array, num_classes: int, *, dtype: Any = None, axis: int = -1) -> Array:
    """``x``'s entries as one-hot vectors of length ``num_classes`` along ``axis`` (no gradient).

    Example:
        >>> one_hot(tnp.asarray([0, 2]), 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    n = int(num_classes)
    if n < 0:
        raise ValueError(f"one_hot: num_classes must be non-negative, got {num_classes}")
    nd = tnp.ndim(x) + 1
    if not -nd <= axis < nd:
        raise ValueError(f"one_hot: axis {axis} is out of range for an input of {nd - 1} dims")
    axis = axis % nd
    classes = tnp.reshape(tnp.arange(n), (n,) + (1,) * (nd - 1 - axis))
    hot = tnp.equal(tnp.expand_dims(x, axis), classes)
    return tnp.astype(hot, dtype if dtype is not None else tnp.float32 if _x32() else tnp.float64)


def _x32() -> bool:
    import jax

    return not jax.config.read("jax_enable_x64")


def standardize(x: Array, axis: int | tuple[int, ...] | None = -1, mean: Array | None = None,
                variance: Array | None = None, epsilon: float = 1e-5, where: Array | None = None) -> Array:
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis`` (JAX's ``E[x²] - E[x]²`` variance).

    Example:
        >>> standardize(tnp.asarray([1.0, 3.0])).round(3).tolist()
        [-1.0, 1.0]
    """
    def mean_of(v: Array) -> Array:
        if where is None:
            return tnp.mean(v, axis=axis, keepdims=True)
        w = tnp.astype(tnp.broadcast_to(where, tnp.shape(v)), v.dtype)
        return tnp.sum(v * w, axis=axis, keepdims=True) / tnp.sum(w, axis=axis, keepdims=True)

    if mean is None:
        mean = mean_of(x)
    if variance is None:
        variance = mean_of(x * x) - mean * mean
    return (x - mean) / tnp.sqrt(variance + epsilon)


def dot_product_attention(query: Array, key: Array, value: Array, bias: Array | None = None,
                          mask: Array | None = None, *, scale: float | None = None, is_causal: bool = False,
                          query_seq_lengths: Array | None = None, key_value_seq_lengths: Array | None = None,
                          local_window_size: int | tuple[int, int] | None = None,
                          implementation: str | None = None) -> Array:
    """Scaled dot-product attention in JAX's layout: ``query (B, T, N, H)``, ``key/value (B, S, K, H)``.

    ``N`` a multiple of ``K`` is grouped-query attention; ``mask`` (bool, True = attend) and ``bias``
    broadcast to ``(B, N, T, S)``; the inputs may drop the batch dimension. As ``jax.nn``'s XLA path:
    masked logits become a large negative number, the softmax runs in at least float32, and padded
    queries (``query_seq_lengths``) give zeros. Unlike there, float64 stays float64 in the softmax
    (jax.nn casts it to float32), so the values agree with jax.nn's to float32 rounding.

    Example:
        >>> q = tnp.ones((1, 2, 1, 4))
        >>> dot_product_attention(q, q, q).shape
        (1, 2, 1, 4)
    """
    if implementation not in (None, "xla"):
        raise ValueError(f"dot_product_attention: implementation {implementation!r} is not available in "
                         "tapegrad; use None or 'xla'")
    unbatched = tnp.ndim(query) == 3
    if unbatched:
        query, key, value = (tnp.expand_dims(t, 0) for t in (query, key, value))
    shapes = [tuple(tnp.shape(t)) for t in (query, key, value)]
    if any(len(s) != 4 for s in shapes) or shapes[1] != shapes[2] or shapes[0][0] != shapes[1][0] \
            or shapes[0][3] != shapes[1][3] or shapes[0][2] % shapes[1][2]:
        raise ValueError(f"dot_product_attention: query, key, value must be (B, T, N, H), (B, S, K, H), "
                         f"(B, S, K, H) with N a multiple of K; got shapes {shapes}")
    B, T, N, H = shapes[0]
    S, K = shapes[1][1], shapes[1][2]
    if N != K:  # grouped-query: query head n reads key/value head n // (N // K)
        key, value = tnp.repeat(key, N // K, axis=2), tnp.repeat(value, N // K, axis=2)
    scale = 1.0 / math.sqrt(H) if scale is None else scale
    logits_dtype = tnp.result_type(query.dtype, tnp.float32)
    logits = tnp.astype(tnp.einsum("BTNH,BSNH->BNTS", query, key), logits_dtype) * scale
    if bias is not None:
        logits = logits + bias
    keep = None if mask is None else tnp.asarray(mask)
    if keep is not None and keep.dtype != np.dtype(bool):
        raise TypeError(f"dot_product_attention: mask must be boolean (True = attend), got {keep.dtype}")
    positions_q, positions_k = tnp.arange(T)[:, None], tnp.arange(S)[None, :]

    def both(m: Array) -> Array:
        return m if keep is None else tnp.logical_and(keep, m)

    if is_causal:
        keep = both(positions_q >= positions_k)
    if local_window_size is not None:
        left, right = (local_window_size, local_window_size) if isinstance(local_window_size, int) \
            else local_window_size
        keep = both(tnp.logical_and(positions_q <= positions_k + left, positions_q >= positions_k - right))
    if query_seq_lengths is not None:
        keep = both(tnp.arange(T)[None, None, :, None] < tnp.asarray(query_seq_lengths)[:, None, None, None])
    if key_value_seq_lengths is not None:
        keep = both(tnp.arange(S)[None, None, None, :] < tnp.asarray(key_value_seq_lengths)[:, None, None, None])
    if keep is not None:
        big = -0.7 * float(min(np.finfo(np.dtype(logits_dtype)).max, np.finfo(np.float32).max))
        logits = tnp.where(keep, logits, big)
    # At least float32 (jax.nn's XLA path casts float64 down to float32 here; we keep float64 exact).
    probs = tnp.astype(softmax(tnp.astype(logits, tnp.result_type(logits.dtype, tnp.float32)), axis=-1),
                       key.dtype)
    out = tnp.einsum("BNTS,BSNH->BTNH", probs, value)
    if query_seq_lengths is not None:
        valid = tnp.arange(T)[None, :, None, None] < tnp.asarray(query_seq_lengths)[:, None, None, None]
        out = out * tnp.astype(valid, out.dtype)
    return out[0] if unbatched else out


__all__ = [
    "celu", "dot_product_attention", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "identity", "leaky_relu", "log1mexp", "log_sigmoid", "log_softmax", "logmeanexp", "logsumexp",
    "mish", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "soft_sign", "softmax", "softplus",
    "sparse_plus", "sparse_sigmoid", "squareplus", "standardize", "swish", "tanh",
]
