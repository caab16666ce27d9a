"""The base of ``tapegrad.nn.functional``: its core functions and the helpers the families build on.

``linear``, the basic activations, ``softmax``/``log_softmax``, the class losses (``cross_entropy``,
``nll_loss``, ``mse_loss``, ``binary_cross_entropy_with_logits``), ``conv1d``/``conv2d``, the 2-d pools,
``dropout``, ``layer_norm``/``batch_norm``, ``embedding`` and ``one_hot``, with the checks shared by the
function families beside it (``_describe``, ``_reduction``, ``_reduce``, ``_ntuple``, ``_conv_nd``,
``_pool_args``, ...). The families (``activations``, ``attention``, ``conv_functional``, ``losses``,
``norm``, ``resample``) import this module as ``F``; users import the public face
:mod:`tapegrad.nn.functional`, which gathers every family and names each call (``core.scope``).

Its public functions are scoped here already (``core.scope``, the last line), so that a call between
them (``softmax`` calling ``log_softmax``) or from a family (``glu`` calling ``F.sigmoid``) nests its name
under the caller's, and every call of them goes through one wrapper frame, which the warnings' stack
levels count; the face then wraps the families' functions (it leaves these as they are).

Example:
    >>> import jax.numpy as jnp
    >>> from tapegrad.nn import functional_base as F
    >>> F.conv1d(jnp.ones((10, 3, 50)), jnp.ones((6, 3, 5))).shape
    (10, 6, 46)
"""
from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core import scope as _scope
from tapegrad.core.foreign import as_jax
from tapegrad.core.tracer import Tracer
from tapegrad.rules import activations as _act
from tapegrad.rules import conv as _conv
from tapegrad.rules.special import erf as _erf  # tnp has no erf (not a jax.numpy name)
from tapegrad.rules.special import expit as _expit
from tapegrad.transforms import stop_gradient

Array = Any  # a jax.Array, NumPy array, Python number or tapegrad Tracer

__all__ = [
    "avg_pool2d", "batch_norm", "binary_cross_entropy_with_logits", "conv1d", "conv2d", "cross_entropy",
    "dropout", "embedding", "gelu", "layer_norm", "linear", "log_softmax", "max_pool2d", "mse_loss",
    "nll_loss", "one_hot", "relu", "sigmoid", "softmax", "tanh",
]

_SHORT = {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64", "int8": "i8",
          "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8", "uint32": "u32", "bool": "bool"}


def _describe(x: Array) -> str:
    """``f32[2,3,8,8]``: the dtype and shape of an operand, for error messages."""
    dt = np.dtype(tnp.result_type(x)).name
    return f"{_SHORT.get(dt, dt)}[{','.join(str(s) for s in tnp.shape(x))}]"


def _is_float(x: Array) -> bool:
    return jnp.issubdtype(tnp.result_type(x), jnp.inexact)


def _concrete(x: Array) -> np.ndarray | None:
    """``x`` as a NumPy array, or None under ``jax.jit``/``vmap`` (value checks are then skipped)."""
    if isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x)


def _ntuple(value: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    vals = tuple(value)
    if len(vals) == 1:
        vals = vals * n
    if len(vals) != n or not all(isinstance(v, (int, np.integer)) for v in vals):
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(v) for v in vals)


def _reduction(size_average: bool | None, reduce: bool | None, reduction: str, op: str) -> str:
    """Validate ``reduction``; map PyTorch's deprecated ``size_average``/``reduce`` onto it."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(f"{op}: size_average and reduce are deprecated, use reduction='{reduction}' instead",
                      DeprecationWarning, stacklevel=4)  # _reduction, the loss, its F wrapper (core.scope)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _reduce(loss: Array, reduction: str) -> Array:
    if reduction == "mean":
        return tnp.mean(loss)
    if reduction == "sum":
        return tnp.sum(loss)
    return loss


# ---- activations ----------------------------------------------------------------------

def linear(input: Array, weight: Array, bias: Array | None = None) -> Array:
    """``input @ weight.T + bias`` with ``weight`` of shape ``(out_features, in_features)``.

    Example:
        >>> linear(jnp.ones((2, 3)), jnp.ones((4, 3))).shape
        (2, 4)
    """
    in_w = tnp.shape(weight)[-1]
    if tnp.ndim(weight) not in (1, 2) or tnp.shape(input)[-1:] != (in_w,):
        raise ValueError(f"linear: input has {tnp.shape(input)[-1:] or 'no'} features in its last "
                         f"dimension but weight expects {in_w}: input {_describe(input)}, "
                         f"weight {_describe(weight)} (weight is (out_features, in_features))")
    if tnp.ndim(weight) == 2:
        # Contract with weight's in_features axis directly: no transposed copy of the
        # weight forward, and none of the gradient backward.
        out = tnp.dot_general(input, weight, (((tnp.ndim(input) - 1,), (1,)), ((), ())))
    else:
        out = tnp.matmul(input, weight)
    return out if bias is None else out + bias


def relu(input: Array, inplace: bool = False) -> Array:
    """``max(input, 0)`` with PyTorch's gradient 0 at 0 (NaN stays NaN).

    Example:
        >>> relu(jnp.array([-1.0, 0.0, 2.0])).tolist()
        [0.0, 0.0, 2.0]
    """
    if inplace:
        raise ValueError("relu: inplace=True is impossible on immutable JAX arrays; use the return value")
    return _act.relu_p(input)


def sigmoid(input: Array) -> Array:
    """``1 / (1 + exp(-input))``, computed without overflow at either tail.

    Example:
        >>> float(sigmoid(0.0))
        0.5
    """
    # One primitive (XLA's logistic), whose rule reads only its output: g * s * (1 - s). A recurrent
    # loop saves that one array per step, where the two-branch composition saved four.
    return _expit(input)


def _logsigmoid(x: Array) -> Array:
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))``, branch-consistent like ``sigmoid``."""
    pos = x >= 0
    return tnp.where(pos, 0, x) - tnp.log1p(tnp.exp(tnp.where(pos, -x, x)))


def tanh(input: Array) -> Array:
    """Hyperbolic tangent, elementwise.

    Example:
        >>> float(tanh(0.0))
        0.0
    """
    return tnp.tanh(input)


def gelu(input: Array, approximate: str = "none") -> Array:
    """``x * Phi(x)`` with the exact normal CDF, or its tanh approximation (``approximate='tanh'``).

    Example:
        >>> round(float(gelu(1.0)), 4)
        0.8413
    """
    if approximate == "none":
        return 0.5 * input * (1 + _erf(input * (1 / math.sqrt(2.0))))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1 + tnp.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _softmax_dim(name: str, input: Array, dim: int | None, stacklevel: int) -> int:
    nd = tnp.ndim(input)
    if dim is None:
        # PyTorch's legacy implicit choice, with its deprecation warning.
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                      "include dim=X as an argument.", stacklevel=stacklevel + 1)  # + F's scope wrapper
        return 0 if nd in (0, 1, 3) else 1
    if not -max(nd, 1) <= dim < max(nd, 1):
        raise IndexError(f"{name}: dim {dim} is out of range for input {_describe(input)}")
    return int(dim) % max(nd, 1)


def log_softmax(input: Array, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Array:
    """``input - logsumexp(input, dim)``, computed on ``input - max`` so large logits lose no digits.

    Example:
        >>> log_softmax(jnp.array([1000.0, 1000.0]), dim=0).tolist()
        [-0.6931471824645996, -0.6931471824645996]
    """
    if dtype is not None:
        input = tnp.asarray(input).astype(dtype)
    d = _softmax_dim("log_softmax", input, dim, _stacklevel)
    if tnp.ndim(input) == 0:
        return input - input
    if _is_float(input):
        return _act.log_softmax_p(input, axis=d)
    # The shift is a constant (the result does not depend on it), so it carries no gradient.
    shifted = input - tnp.max(stop_gradient(input), axis=d, keepdims=True)
    return shifted - tnp.logsumexp(shifted, axis=d, keepdims=True)


def softmax(input: Array, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Array:
    """``exp(input) / sum(exp(input), dim)``, computed as ``exp(log_softmax)``.

    Example:
        >>> softmax(jnp.array([0.0, 0.0]), dim=0).tolist()
        [0.5, 0.5]
    """
    return tnp.exp(log_softmax(input, dim, _stacklevel + 2, dtype))  # this frame and its F wrapper


# ---- losses ----------------------------------------------------------------------------

def _class_targets(input: Array, target: Array, ignore_index: int, op: str) -> int:
    """Check integer class targets against ``input`` ((C,), (N, C) or (N, C, d...)); return C."""
    nd = tnp.ndim(input)
    if nd == 0:
        raise ValueError(f"{op}: input must have a class dimension, got {_describe(input)}")
    if jnp.issubdtype(tnp.result_type(target), jnp.inexact):
        raise TypeError(f"{op}: class-index targets must be integers, got target {_describe(target)} for "
                        f"input {_describe(input)} (probability targets must have the input's shape)")
    c = tnp.shape(input)[1 if nd >= 2 else 0]
    want = tuple(tnp.shape(input)[:1]) + tuple(tnp.shape(input)[2:]) if nd >= 2 else ()
    if tuple(tnp.shape(target)) != want:
        raise ValueError(f"{op}: expected target of shape {want} for input {_describe(input)}, "
                         f"got target {_describe(target)}")
    t = _concrete(target)
    if t is not None:
        bad = t[(t != ignore_index) & ((t < 0) | (t >= c))]
        if bad.size:
            raise IndexError(f"{op}: target {int(bad.flat[0])} is out of bounds for {c} classes "
                             f"(input {_describe(input)})")
    return c


def _class_mask(target: Array, c: int, nd: int) -> Array:
    """Boolean one-hot of ``target`` with the class axis where the input has it."""
    return _one_hot_mask(as_jax(target), c=c, nd=nd)


@functools.partial(jax.jit, static_argnames=("c", "nd"))
def _one_hot_mask(target: Array, c: int, nd: int) -> Array:
    # Jitted: one dispatch per loss call instead of four eager ones.
    hit = target[..., None] == jnp.arange(c)
    return hit if nd == 1 else jnp.moveaxis(hit, -1, 1)


def _per_class(weight: Array | None, nd: int, c: int, op: str) -> Array | None:
    """``weight`` (C,) shaped to broadcast against the input's class axis."""
    if weight is None:
        return None
    if tuple(tnp.shape(weight)) != (c,):
        raise ValueError(f"{op}: weight must have shape ({c},), one entry per class, got {_describe(weight)}")
    return weight if nd == 1 else tnp.reshape(weight, (1, c) + (1,) * (nd - 2))


def _nll(logp: Array, target: Array, weight: Array | None, ignore_index: int, reduction: str,
         label_smoothing: float, op: str) -> Array:
    nd = tnp.ndim(logp)
    c = _class_targets(logp, target, ignore_index, op)
    cax = 1 if nd >= 2 else 0
    wc = _per_class(weight, nd, c, op)  # checks the shape before the gather, which would clamp
    if type(weight) is not Tracer and _is_float(logp):
        # The loss is linear in logp: one coefficient array and one weighted sum (two dispatches).
        # On a tape, the coefficients may stay pending in a lazy segment (they feed weighted_sum only).
        coefficients = _act.class_coefficients_p if type(logp) is Tracer else _act.class_coefficients
        coef = coefficients(as_jax(target), None if weight is None else as_jax(weight), c=c, nd=nd,
                            ignore_index=ignore_index, reduction=reduction,
                            label_smoothing=float(label_smoothing), dtype=np.dtype(tnp.result_type(logp)))
        return _act.weighted_sum_p(logp, coef, axis=None if reduction != "none" else (cax,))
    # A differentiated weight: the same loss composed from tnp ops, so the gradient reaches the weight.
    valid = as_jax(target) != ignore_index  # an array even for a Python int target
    # `where`, not a one-hot product: -inf log-probabilities of other classes must not become NaN.
    picked = tnp.sum(tnp.where(_class_mask(target, c, nd), logp, 0), axis=cax)
    if weight is None:
        w_t = valid.astype(tnp.result_type(logp))
    else:
        w_t = tnp.where(valid, tnp.asarray(weight)[jnp.where(valid, as_jax(target), 0)], 0)
    loss = -picked * w_t
    if label_smoothing > 0:
        smooth = -tnp.sum(logp if wc is None else logp * wc, axis=cax)
        loss = (1 - label_smoothing) * loss + (label_smoothing / c) * tnp.where(valid, smooth, 0)
    if reduction == "mean":
        # PyTorch divides by the total weight of the non-ignored targets (NaN if there are none).
        return tnp.sum(loss) / tnp.sum(w_t)
    return _reduce(loss, reduction)


def nll_loss(input: Array, target: Array, weight: Array | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Array:
    """Negative log-likelihood of integer ``target`` under log-probabilities ``input`` (class axis 1).

    Example:
        >>> float(nll_loss(jnp.log(jnp.array([[0.5, 0.5]])), jnp.array([0])))
        0.6931471824645996
    """
    reduction = _reduction(size_average, reduce, reduction, "nll_loss")
    return _nll(input, target, weight, ignore_index, reduction, 0.0, "nll_loss")


def cross_entropy(input: Array, target: Array, weight: Array | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Array:
    """Cross entropy of logits ``input`` ((C,), (N, C) or (N, C, d...)) against ``target``.

    ``target`` holds class indices (shape of ``input`` without the class axis) or class
    probabilities (the shape of ``input``), exactly as in PyTorch.

    Example:
        >>> float(cross_entropy(jnp.zeros((2, 4)), jnp.array([1, 3])))  # log(4)
        1.3862943649291992
    """
    op = "cross_entropy"
    reduction = _reduction(size_average, reduce, reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    nd = tnp.ndim(input)
    logp = log_softmax(input, 1 if nd >= 2 else 0)
    if nd == 0 or tuple(tnp.shape(target)) != tuple(tnp.shape(input)):
        return _nll(logp, target, weight, ignore_index, reduction, label_smoothing, op)
    if not _is_float(target):
        raise TypeError(f"{op}: a target with the input's shape holds class probabilities and must be "
                        f"floating point, got target {_describe(target)}")
    c = tnp.shape(input)[1 if nd >= 2 else 0]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    wc = _per_class(weight, nd, c, op)
    prod = logp * target if wc is None else logp * target * wc
    loss = -tnp.sum(prod, axis=1 if nd >= 2 else 0)
    return _reduce(loss, reduction)  # "mean" averages over samples (and positions), not weights


def mse_loss(input: Array, target: Array, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: Array | None = None) -> Array:
    """Mean squared error; with ``weight`` (input's shape), ``sum(w * err**2) / sum(w)`` for 'mean'.

    Example:
        >>> float(mse_loss(jnp.array([1.0, 3.0]), jnp.array([0.0, 0.0])))
        5.0
    """
    reduction = _reduction(size_average, reduce, reduction, "mse_loss")
    if tuple(tnp.shape(target)) != tuple(tnp.shape(input)):
        try:
            np.broadcast_shapes(tuple(tnp.shape(target)), tuple(tnp.shape(input)))
        except ValueError:
            raise ValueError(f"mse_loss: target {_describe(target)} and input {_describe(input)} have "
                             "incompatible shapes") from None
        warnings.warn(f"mse_loss: target {_describe(target)} differs in shape from input {_describe(input)}; "
                      "they are broadcast, which is likely not what you want", stacklevel=3)  # + F wrapper
    diff = input - target
    sq = diff * diff
    if weight is None:
        return _reduce(sq, reduction)
    if tuple(tnp.shape(weight)) != tuple(tnp.shape(input)):
        raise ValueError(f"mse_loss: weight {_describe(weight)} must have the input's shape "
                         f"{_describe(input)}")
    sq = sq * weight
    return tnp.sum(sq) / tnp.sum(weight) if reduction == "mean" else _reduce(sq, reduction)


def binary_cross_entropy_with_logits(input: Array, target: Array, weight: Array | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Array | None = None) -> Array:
    """``-[pos_weight * t * log(sigmoid(x)) + (1 - t) * log(1 - sigmoid(x))]``, stable for any logit.

    Example:
        >>> round(float(binary_cross_entropy_with_logits(jnp.array([0.0]), jnp.array([1.0]))), 4)
        0.6931
    """
    reduction = _reduction(size_average, reduce, reduction, "binary_cross_entropy_with_logits")
    if tuple(tnp.shape(target)) != tuple(tnp.shape(input)):
        raise ValueError(f"binary_cross_entropy_with_logits: target size {tuple(tnp.shape(target))} must be "
                         f"the same as input size {tuple(tnp.shape(input))}")
    # log(1 - sigmoid(x)) = log(sigmoid(x)) - x, so the loss is (1 - t) x - l log(sigmoid(x)).
    log_w = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input - log_w * _logsigmoid(input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---- convolution and pooling -----------------------------------------------------------

def _conv_batch(op: str, n: int, input: Array, weight: Array, groups: int, weight_layout: str) -> Array:
    """Check a convolution's operands (shared by the plain and transposed ones, whose kernel layouts
    ``weight_layout`` differ) and return the input with its batch axis."""
    nd_in = tnp.ndim(input)
    if tnp.ndim(weight) != n + 2:
        raise ValueError(f"{op}: weight must be {n + 2}-d ({weight_layout}), got weight {_describe(weight)}")
    if nd_in not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected {n + 1}-d (unbatched) or {n + 2}-d (batched) input, "
                         f"got input {_describe(input)}")
    if not (_is_float(input) and _is_float(weight)):
        raise TypeError(f"{op}: input and weight must be floating point, got input {_describe(input)}, "
                        f"weight {_describe(weight)}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return input if nd_in == n + 2 else tnp.expand_dims(input, 0)


def _conv_nd(op: str, n: int, input: Array, weight: Array, bias: Array | None, stride: Any, padding: Any,
             dilation: Any, groups: int) -> Array:
    nd_in = tnp.ndim(input)
    x = _conv_batch(op, n, input, weight, groups,
                    f"out_channels, in_channels/groups, {('kernel', 'kH, kW', 'kD, kH, kW')[n - 1]}")
    o, cg = tnp.shape(weight)[:2]
    c = tnp.shape(x)[1]
    if c != cg * groups:
        raise ValueError(f"{op}: input has {c} channels but weight expects {cg * groups} (groups={groups}): "
                         f"input {_describe(input)}, weight {_describe(weight)}")
    if o % groups:
        raise ValueError(f"{op}: out_channels={o} of weight {_describe(weight)} is not divisible by "
                         f"groups={groups}")
    strides = _ntuple(stride, n, "stride", op)
    dil = _ntuple(dilation, n, "dilation", op)
    if min(strides) < 1 or min(dil) < 1:
        raise ValueError(f"{op}: stride and dilation must be positive, got stride={stride!r}, "
                         f"dilation={dilation!r}")
    ksp = tuple(tnp.shape(weight)[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * n
        elif padding == "same":
            if max(strides) > 1:
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(stride={strides})")
            # PyTorch puts the odd extra element of the total padding on the high side.
            totals = [d * (k - 1) for d, k in zip(dil, ksp, strict=True)]
            pads = tuple((t // 2, t - t // 2) for t in totals)
        else:
            raise ValueError(f"{op}: padding must be 'same', 'valid', an int or a tuple of {n} ints, "
                             f"got {padding!r}")
    else:
        p = _ntuple(padding, n, "padding", op)
        if min(p) < 0:
            raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
        pads = tuple((q, q) for q in p)
    sp = tnp.shape(x)[2:]
    padded = [s + lo + hi for s, (lo, hi) in zip(sp, pads, strict=True)]
    ext = [_conv.dilated(k, d) for k, d in zip(ksp, dil, strict=True)]
    if any(pi < e for pi, e in zip(padded, ext, strict=True)):
        raise ValueError(f"{op}: padded input size per channel {tuple(padded)} is smaller than the dilated "
                         f"kernel size {tuple(ext)}: input {_describe(input)}, weight {_describe(weight)}, "
                         f"padding={padding!r}, dilation={dil}")
    dt = tnp.result_type(x, weight)
    out = _conv.conv(tnp.astype(x, dt), tnp.astype(weight, dt), strides=strides, padding=pads,
                     rhs_dilation=dil, groups=int(groups))
    if bias is not None:
        if tuple(tnp.shape(bias)) != (o,):
            raise ValueError(f"{op}: bias must have shape ({o},), got {_describe(bias)}")
        out = out + tnp.reshape(bias, (o,) + (1,) * n)
    return out if nd_in == n + 2 else tnp.squeeze(out, 0)


def conv1d(input: Array, weight: Array, bias: Array | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1,
           groups: int = 1) -> Array:
    """1-d cross-correlation: ``input`` (N, C_in, L), ``weight`` (C_out, C_in/groups, k) -> (N, C_out, L_out).

    ``L_out = floor((L + 2*padding - dilation*(k-1) - 1) / stride) + 1``; ``padding`` may
    also be ``'same'`` (stride 1 only) or ``'valid'``.

    Example:
        >>> conv1d(jnp.ones((10, 3, 50)), jnp.ones((6, 3, 5))).shape
        (10, 6, 46)
    """
    return _conv_nd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Array, weight: Array, bias: Array | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1,
           groups: int = 1) -> Array:
    """2-d cross-correlation: ``input`` (N, C_in, H, W), ``weight`` (C_out, C_in/groups, kH, kW).

    Example:
        >>> conv2d(jnp.ones((1, 3, 8, 8)), jnp.ones((4, 3, 3, 3)), padding="same").shape
        (1, 4, 8, 8)
    """
    return _conv_nd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _pool_args(op: str, input: Array, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> tuple[Array, tuple, tuple, tuple, tuple]:
    if tnp.ndim(input) not in (3, 4):
        raise ValueError(f"{op}: expected 3-d (C, H, W) or 4-d (N, C, H, W) input, got {_describe(input)}")
    if not _is_float(input):
        raise TypeError(f"{op}: input must be floating point, got {_describe(input)}")
    k = _ntuple(kernel_size, 2, "kernel_size", op)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _ntuple(stride, 2, "stride", op)
    p = _ntuple(padding, 2, "padding", op)
    d = _ntuple(dilation, 2, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding non-negative, "
                         f"got kernel_size={k}, stride={s}, padding={p}, dilation={d}")
    for ki, pi in zip(k, p, strict=True):
        if pi > ki // 2:  # PyTorch's CPU kernels check the undilated size
            raise ValueError(f"{op}: pad should be at most half of kernel size, but got pad={pi} and "
                             f"kernel_size={ki}")
    hw = tnp.shape(input)[-2:]
    out = tuple(_conv.pool_output_size(hw[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    if min(out) < 1:
        raise ValueError(f"{op}: input {_describe(input)} is too small: kernel_size={k}, stride={s}, "
                         f"padding={p}, dilation={d} give output size {out}")
    x = input if tnp.ndim(input) == 4 else tnp.expand_dims(input, 0)
    return x, k, s, p, d


def max_pool2d(input: Array, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Array | tuple[Array, Array]:
    """2-d max pooling over (N, C, H, W) (or (C, H, W)); padding counts as ``-inf``.

    The gradient goes to one element per window, the first maximum in row-major
    order (PyTorch's choice). ``return_indices`` also returns each maximum's flat
    index into its ``H*W`` plane (int32; ``H*W`` for a window lying wholly in the
    padding, whose maximum is ``-inf``).

    Example:
        >>> max_pool2d(jnp.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    x, k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    out, idx = _conv.max_pool2d(x, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    if tnp.ndim(input) == 3:
        out, idx = tnp.squeeze(out, 0), idx[0]
    return (out, idx) if return_indices else out


def avg_pool2d(input: Array, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Array:
    """2-d average pooling over (N, C, H, W) (or (C, H, W)) with PyTorch's divisors.

    Example:
        >>> avg_pool2d(jnp.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x, k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, (int, np.integer))
                                         or divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a non-zero int, got {divisor_override!r}")
    out = _conv.avg_pool2d(x, kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode,
                           count_include_pad=count_include_pad, divisor_override=divisor_override)
    return tnp.squeeze(out, 0) if tnp.ndim(input) == 3 else out


# ---- regularisation and normalisation ----------------------------------------------------

def dropout(input: Array, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            key: Any = None) -> Array:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)`` (training only).

    ``key`` (a ``jax.random`` key or an int seed) is required when ``training`` and ``p > 0``.

    Example:
        >>> dropout(jnp.ones(4), 0.5, training=False).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if inplace:
        raise ValueError("dropout: inplace=True is impossible on immutable JAX arrays; use the return value")
    if not training or p == 0:
        return tnp.asarray(input)
    if key is None:
        raise ValueError("dropout: training=True with p > 0 needs randomness: pass key= (a jax.random key "
                         "or an int seed), or training=False")
    if p == 1:
        return input * 0
    if isinstance(key, (int, np.integer)):
        key = jax.random.PRNGKey(int(key))
    keep = jax.random.bernoulli(key, 1.0 - p, tnp.shape(input))
    return tnp.where(keep, input * (1.0 / (1.0 - p)), 0)


def layer_norm(input: Array, normalized_shape: int | Sequence[int], weight: Array | None = None,
               bias: Array | None = None, eps: float = 1e-5) -> Array:
    """Normalise over the trailing ``normalized_shape`` dims (biased variance), then scale and shift.

    Example:
        >>> layer_norm(jnp.array([[1.0, 3.0]]), (2,)).round(3).tolist()
        [[-1.0, 1.0]]
    """
    ns = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(int(s) for s in normalized_shape)
    shape = tuple(tnp.shape(input))
    if len(ns) == 0 or shape[len(shape) - len(ns):] != ns or len(ns) > len(shape):
        raise ValueError(f"layer_norm: given normalized_shape={list(ns)}, expected input with shape "
                         f"[*, {', '.join(map(str, ns))}], but got input {_describe(input)}")
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None and tuple(tnp.shape(v)) != ns:
            raise ValueError(f"layer_norm: {name} must have shape {ns}, got {_describe(v)}")
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    xc = input - tnp.mean(input, axis=axes, keepdims=True)
    var = tnp.mean(xc * xc, axis=axes, keepdims=True)
    out = xc / tnp.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def batch_norm(input: Array, running_mean: Array | None, running_var: Array | None,
               weight: Array | None = None, bias: Array | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Array | tuple[Array, Array | None, Array | None]:
    """Batch normalisation over all axes but the channel axis 1.

    Eval mode (``training=False``) normalises with the running statistics and returns
    ``out``. Training mode normalises with the batch statistics (biased variance) and,
    being functional, returns ``(out, new_running_mean, new_running_var)`` with
    PyTorch's update ``new = (1 - momentum) * old + momentum * batch_stat``, using the
    *unbiased* batch variance for ``running_var`` (the new statistics carry no
    gradient; they are ``None`` where the running statistics were ``None``).

    Example:
        >>> x = jnp.array([[1.0], [3.0]])
        >>> out, m, v = batch_norm(x, jnp.zeros(1), jnp.ones(1), training=True)
        >>> out.round(3).tolist(), [round(float(t), 4) for t in (m[0], v[0])]
        ([[-1.0], [1.0]], [0.2, 1.1])
    """
    shape = tuple(tnp.shape(input))
    if len(shape) < 2:
        raise ValueError(f"batch_norm: expected input (N, C, ...) with at least 2 dims, "
                         f"got {_describe(input)}")
    c = shape[1]
    for name, v in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if v is not None and tuple(tnp.shape(v)) != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for input {_describe(input)}, "
                             f"got {_describe(v)}")
    bshape = (1, c) + (1,) * (len(shape) - 2)
    axes = (0,) + tuple(range(2, len(shape)))
    if training:
        n = int(np.prod([shape[a] for a in axes]))
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input "
                             f"{_describe(input)}")
        mean = tnp.mean(input, axis=axes)
        xc = input - tnp.reshape(mean, bshape)
        var = tnp.mean(xc * xc, axis=axes)
        out = xc / tnp.sqrt(tnp.reshape(var, bshape) + eps)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var must be given in evaluation mode "
                             "(training=False)")
        out = (input - tnp.reshape(running_mean, bshape)) / tnp.sqrt(tnp.reshape(running_var, bshape) + eps)
    if weight is not None:
        out = out * tnp.reshape(weight, bshape)
    if bias is not None:
        out = out + tnp.reshape(bias, bshape)
    if not training:
        return out
    new_mean = None if running_mean is None else \
        (1 - momentum) * running_mean + momentum * stop_gradient(mean)
    new_var = None if running_var is None else \
        (1 - momentum) * running_var + momentum * stop_gradient(var) * (n / (n - 1))
    return out, new_mean, new_var


# ---- lookup ------------------------------------------------------------------------------

def embedding(input: Array, weight: Array, padding_idx: int | None = None) -> Array:
    """Rows of ``weight`` (num_embeddings, embedding_dim) at integer ``input``: ``input.shape + (dim,)``.

    The row ``padding_idx`` receives no gradient (as in PyTorch).

    Example:
        >>> embedding(jnp.array([[0, 2]]), jnp.eye(3)).shape
        (1, 2, 3)
    """
    if tnp.ndim(weight) != 2:
        raise ValueError(f"embedding: weight must be 2-d (num_embeddings, embedding_dim), "
                         f"got {_describe(weight)}")
    if _is_float(input):
        raise TypeError(f"embedding: input must hold integer indices, got {_describe(input)}")
    num = tnp.shape(weight)[0]
    idx = _concrete(input)
    if idx is not None and idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError(f"embedding: index out of range: input holds values in [{idx.min()}, {idx.max()}] "
                         f"but weight {_describe(weight)} has {num} rows")
    rows = tnp.asarray(weight)[as_jax(input)]
    if padding_idx is None:
        return rows
    if not -num <= padding_idx < num:
        raise ValueError(f"embedding: padding_idx must be within num_embeddings={num}, got {padding_idx}")
    pad = (as_jax(input) == padding_idx % num)[..., None]
    return tnp.where(pad, stop_gradient(rows), rows)


def one_hot(tensor: Array, num_classes: int = -1) -> jax.Array:
    """Integer one-hot encoding: shape ``tensor.shape + (num_classes,)``, 1 at each class index.

    ``num_classes=-1`` takes ``max(tensor) + 1`` (needs a concrete array, not one under ``jax.jit``).

    Example:
        >>> one_hot(jnp.array([0, 2])).tolist()
        [[1, 0, 0], [0, 0, 1]]
    """
    if _is_float(tensor) or tnp.result_type(tensor) == np.dtype(bool):
        raise TypeError(f"one_hot: expected an integer index array, got {_describe(tensor)}")
    t = _concrete(tensor)
    if num_classes == -1:
        if t is None:
            raise ValueError("one_hot: num_classes=-1 needs a concrete array; pass num_classes under jax.jit")
        num_classes = int(t.max()) + 1 if t.size else 0
    if num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or non-negative, got {num_classes}")
    if t is not None and t.size:
        if t.min() < 0:
            raise ValueError(f"one_hot: class values must be non-negative, got {int(t.min())}")
        if t.max() >= num_classes:
            raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, "
                             f"got {int(t.max())}")
    # int64 as PyTorch, or int32 when JAX's x64 mode is off.
    return (as_jax(tensor)[..., None] == jnp.arange(num_classes)).astype(
        jax.dtypes.canonicalize_dtype(np.int64))


# Scoped here, not only in the face: the calls between these functions and the families' calls of them
# (`F.` below is this module) nest their names (softmax > log_softmax), and each is one wrapper frame deep.
_scope.scope_functions(globals(), __all__)
