"""PyTorch's everyday activations: the ``F.`` functions (their modules: ``activation_layers``).

Each function is a composition of tapegrad ops written so its gradient equals PyTorch's everywhere,
including where the formula has a kink or overflows:

* the exponential branches (``elu``, ``celu``, ``selu``, ``softplus``) evaluate the exponential on
  an input clamped to the branch where it is used, so the unused branch never produces ``inf``
  (whose zero cotangent would turn into NaN: ``0 * inf``);
* the clamps (``hardtanh``, ``relu6``, ``hardsigmoid``, ``hardswish``) pass the gradient strictly
  inside the interval, as ``torch``'s ``hardtanh_backward`` does (0 at the edges).

Example:
    >>> import tapegrad.numpy as tnp
    >>> from tapegrad.nn import activations as A
    >>> A.leaky_relu(tnp.asarray([-1.0, 2.0]), 0.25).tolist()
    [-0.25, 2.0]
"""
from __future__ import annotations

from typing import Any

import tapegrad.numpy as tnp
from tapegrad.nn import functional_base as F

Array = Any

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _no_inplace(name: str, inplace: bool) -> None:
    if inplace:
        raise ValueError(f"{name}: inplace=True is impossible on immutable JAX arrays; use the return value")


def leaky_relu(input: Array, negative_slope: float = 0.01, inplace: bool = False) -> Array:
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    Example:
        >>> leaky_relu(tnp.asarray([-2.0]), 0.25).tolist()
        [-0.5]
    """
    _no_inplace("leaky_relu", inplace)
    return tnp.where(input > 0, input, input * negative_slope)


def elu(input: Array, alpha: float = 1.0, inplace: bool = False) -> Array:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Example:
        >>> round(elu(tnp.asarray(-1.0)).item(), 4)
        -0.6321
    """
    _no_inplace("elu", inplace)
    pos = input > 0
    return tnp.where(pos, input, alpha * tnp.expm1(tnp.where(pos, 0.0, input)))


def selu(input: Array, inplace: bool = False) -> Array:
    """``scale * elu(x, alpha)`` with the self-normalising constants.

    Example:
        >>> round(selu(tnp.asarray(1.0)).item(), 4)
        1.0507
    """
    _no_inplace("selu", inplace)
    return _SELU_SCALE * elu(input, _SELU_ALPHA)


def celu(input: Array, alpha: float = 1.0, inplace: bool = False) -> Array:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``.

    Example:
        >>> round(celu(tnp.asarray(-1.0), 2.0).item(), 4)
        -0.7869
    """
    _no_inplace("celu", inplace)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides the input)")
    pos = input > 0
    return tnp.where(pos, input, alpha * tnp.expm1(tnp.where(pos, 0.0, input) / alpha))


def silu(input: Array, inplace: bool = False) -> Array:
    """``x * sigmoid(x)`` (swish).

    Example:
        >>> round(silu(tnp.asarray(1.0)).item(), 4)
        0.7311
    """
    _no_inplace("silu", inplace)
    return input * F.sigmoid(input)


def softplus(input: Array, beta: float = 1.0, threshold: float = 20.0) -> Array:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold`` (PyTorch's).

    Example:
        >>> round(softplus(tnp.asarray(0.0)).item(), 4)
        0.6931
    """
    z = input * beta
    linear = z > threshold
    return tnp.where(linear, input, tnp.log1p(tnp.exp(tnp.where(linear, 0.0, z))) / beta)


def mish(input: Array, inplace: bool = False) -> Array:
    """``x * tanh(softplus(x))``.

    Example:
        >>> round(mish(tnp.asarray(1.0)).item(), 4)
        0.8651
    """
    _no_inplace("mish", inplace)
    return input * tnp.tanh(softplus(input))


def hardtanh(input: Array, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Array:
    """``x`` clamped to ``[min_val, max_val]``; the gradient is 1 strictly inside, else 0.

    Example:
        >>> hardtanh(tnp.asarray([-3.0, 0.5, 3.0])).tolist()
        [-1.0, 0.5, 1.0]
    """
    _no_inplace("hardtanh", inplace)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    inside = (input > min_val) & (input < max_val)
    edge = tnp.where(input <= min_val, min_val, max_val)
    return tnp.where(inside, input, edge * tnp.ones_like(input))


def relu6(input: Array, inplace: bool = False) -> Array:
    """``min(max(x, 0), 6)``.

    Example:
        >>> relu6(tnp.asarray([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Array, inplace: bool = False) -> Array:
    """``relu6(x + 3) / 6``.

    Example:
        >>> hardsigmoid(tnp.asarray([-4.0, 0.0, 4.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    _no_inplace("hardsigmoid", inplace)
    return relu6(input + 3.0) / 6.0


def hardswish(input: Array, inplace: bool = False) -> Array:
    """``x * relu6(x + 3) / 6``; PyTorch's gradient is ``x / 3 + 0.5`` on ``(-3, 3)``, 0 and 1 outside.

    Example:
        >>> hardswish(tnp.asarray([-4.0, -1.5, 4.0])).tolist()
        [0.0, -0.375, 4.0]
    """
    _no_inplace("hardswish", inplace)
    # torch's hardswish_backward: 0 up to -3, x/3 + 0.5 strictly between, 1 from 3 on. The product rule on
    # x * hardsigmoid(x) would drop the hardsigmoid slope at the edges, so the middle piece is its own.
    middle = input * (input + 3.0) / 6.0
    return tnp.where(input <= -3.0, 0.0, tnp.where(input >= 3.0, input, middle))


def logsigmoid(input: Array) -> Array:
    """``log(sigmoid(x))``, stable at both tails.

    Example:
        >>> round(logsigmoid(tnp.asarray(0.0)).item(), 4)
        -0.6931
    """
    return F._logsigmoid(input)


def softsign(input: Array) -> Array:
    """``x / (1 + |x|)``.

    Example:
        >>> softsign(tnp.asarray([1.0])).tolist()
        [0.5]
    """
    return input / (1 + tnp.abs(input))


def tanhshrink(input: Array) -> Array:
    """``x - tanh(x)``.

    Example:
        >>> tanhshrink(tnp.asarray([0.0])).tolist()
        [0.0]
    """
    return input - tnp.tanh(input)


def glu(input: Array, dim: int = -1) -> Array:
    """The gated linear unit: halves ``a, b`` of ``input`` along ``dim``, ``a * sigmoid(b)``.

    Example:
        >>> glu(tnp.asarray([2.0, 0.0])).tolist()
        [1.0]
    """
    shape = tuple(tnp.shape(input))
    if not shape:
        raise ValueError("glu: the input must have at least one dimension, got a 0-d array")
    d = dim % len(shape) if -len(shape) <= dim < len(shape) else None
    if d is None or shape[d] % 2:
        raise ValueError(f"glu: dim {dim} of an input of shape {shape} must exist and have an even size")
    a, b = tnp.split(input, 2, axis=d)
    return a * F.sigmoid(b)


def prelu(input: Array, weight: Array) -> Array:
    """``x`` where ``x > 0``, else ``weight * x``; ``weight`` has 1 or C (``input.shape[1]``) entries.

    Example:
        >>> prelu(tnp.asarray([[-1.0, 1.0]]), tnp.asarray([0.5])).tolist()
        [[-0.5, 1.0]]
    """
    shape, wshape = tuple(tnp.shape(input)), tuple(tnp.shape(weight))
    if len(wshape) != 1:
        raise ValueError(f"prelu: weight must be 1-D (1 or C entries), got shape {wshape}")
    channels = shape[1] if len(shape) >= 2 else 1
    if wshape[0] not in (1, channels):
        raise ValueError(f"prelu: weight has {wshape[0]} entries but the input of shape {shape} has "
                         f"{channels} channels (dim 1); use 1 or {channels}")
    w = weight if len(shape) < 2 else tnp.reshape(weight, (-1,) + (1,) * (len(shape) - 2))
    return tnp.where(input > 0, input, w * input)


def threshold(input: Array, threshold: float, value: float, inplace: bool = False) -> Array:
    """``x`` where ``x > threshold``, else ``value``.

    Example:
        >>> threshold(tnp.asarray([0.5, 2.0]), 1.0, -1.0).tolist()
        [-1.0, 2.0]
    """
    _no_inplace("threshold", inplace)
    return tnp.where(input > threshold, input, value * tnp.ones_like(input))


__all__ = [
    "celu", "elu", "glu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "logsigmoid", "mish", "prelu",
    "relu6", "selu", "silu", "softplus", "softsign", "tanhshrink", "threshold",
]
