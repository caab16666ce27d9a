"""PyTorch's everyday activations: the ``F.`` functions and their modules, side by side.

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
    >>> A.leaky_relu(tnp.asarray([-1.0, 2.0])).tolist()
    [-0.01, 2.0]
"""
from __future__ import annotations

from typing import Any

import jax

import tapegrad.numpy as tnp
from tapegrad.nn import functional as F
from tapegrad.nn.module import Module

Array = Any
Params = Any

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _no_inplace(name: str, inplace: bool) -> None:
    if inplace:
        raise ValueError(f"{name}: inplace=True is impossible on immutable JAX arrays; use the return value")


def leaky_relu(input: Array, negative_slope: float = 0.01, inplace: bool = False) -> Array:
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    Example:
        >>> leaky_relu(tnp.asarray([-2.0]), 0.1).tolist()
        [-0.2]
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
        >>> hardswish(tnp.asarray([-4.0, 1.0, 4.0])).tolist()
        [0.0, 0.6666666666666666, 4.0]
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


# ---- modules -------------------------------------------------------------------------------

def _module(name: str, fn: Any, doc: str, **defaults: Any) -> type:
    names = tuple(defaults)

    def __init__(self: Any, *args: Any, inplace: bool = False, **kwargs: Any) -> None:
        if len(args) > len(names):
            raise TypeError(f"{name}() takes at most {len(names)} positional arguments ({', '.join(names)})")
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{name}() got unexpected keyword arguments {sorted(unknown)}; "
                            f"it takes {list(names) + ['inplace']}")
        values = dict(defaults, **dict(zip(names, args)), **kwargs)
        for k, v in values.items():
            setattr(self, k, v)
        self.inplace = bool(inplace)

    def forward(self: Any, params: Params, x: Any) -> Any:
        return fn(x, *(getattr(self, a) for a in names))

    def extra_repr(self: Any) -> str:
        return ", ".join(f"{a}={getattr(self, a)}" for a in names)

    cls = type(name, (Module,), {"__init__": __init__, "forward": forward, "extra_repr": extra_repr,
                                 "__doc__": doc, "__module__": __name__})
    cls.__init__.__qualname__ = f"{name}.__init__"
    return cls


LeakyReLU = _module("LeakyReLU", leaky_relu, "``F.leaky_relu`` as a module.\n\n    Example:\n"
                    "        >>> LeakyReLU(0.1)({}, tnp.asarray([-1.0])).tolist()\n        [-0.1]\n",
                    negative_slope=0.01)
ELU = _module("ELU", elu, "``F.elu`` as a module.\n\n    Example:\n"
              "        >>> ELU()({}, tnp.asarray([1.0])).tolist()\n        [1.0]\n", alpha=1.0)
CELU = _module("CELU", celu, "``F.celu`` as a module.\n\n    Example:\n"
               "        >>> CELU()({}, tnp.asarray([1.0])).tolist()\n        [1.0]\n", alpha=1.0)
SELU = _module("SELU", selu, "``F.selu`` as a module.\n\n    Example:\n"
               "        >>> SELU()({}, tnp.asarray([0.0])).tolist()\n        [0.0]\n")
SiLU = _module("SiLU", silu, "``F.silu`` as a module.\n\n    Example:\n"
               "        >>> SiLU()({}, tnp.asarray([0.0])).tolist()\n        [0.0]\n")
Mish = _module("Mish", mish, "``F.mish`` as a module.\n\n    Example:\n"
               "        >>> Mish()({}, tnp.asarray([0.0])).tolist()\n        [0.0]\n")
Hardtanh = _module("Hardtanh", hardtanh, "``F.hardtanh`` as a module.\n\n    Example:\n"
                   "        >>> Hardtanh()({}, tnp.asarray([2.0])).tolist()\n        [1.0]\n",
                   min_val=-1.0, max_val=1.0)
ReLU6 = _module("ReLU6", relu6, "``F.relu6`` as a module.\n\n    Example:\n"
                "        >>> ReLU6()({}, tnp.asarray([7.0])).tolist()\n        [6.0]\n")
Hardsigmoid = _module("Hardsigmoid", hardsigmoid, "``F.hardsigmoid`` as a module.\n\n    Example:\n"
                      "        >>> Hardsigmoid()({}, tnp.asarray([0.0])).tolist()\n        [0.5]\n")
Hardswish = _module("Hardswish", hardswish, "``F.hardswish`` as a module.\n\n    Example:\n"
                    "        >>> Hardswish()({}, tnp.asarray([4.0])).tolist()\n        [4.0]\n")
Threshold = _module("Threshold", threshold, "``F.threshold`` as a module.\n\n    Example:\n"
                    "        >>> Threshold(1.0, 0.0)({}, tnp.asarray([0.5])).tolist()\n        [0.0]\n",
                    threshold=0.0, value=0.0)


class Softplus(Module):
    """``F.softplus`` as a module.

    Example:
        >>> round(Softplus()({}, tnp.asarray(0.0)).item(), 4)
        0.6931
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, params: Params, x: Any) -> Any:
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class _NoArgs(Module):
    fn: Any = None

    def forward(self, params: Params, x: Any) -> Any:
        return type(self).fn(x)


class LogSigmoid(_NoArgs):
    """``F.logsigmoid`` as a module.

    Example:
        >>> round(LogSigmoid()({}, tnp.asarray(0.0)).item(), 4)
        -0.6931
    """

    fn = staticmethod(logsigmoid)


class Softsign(_NoArgs):
    """``F.softsign`` as a module.

    Example:
        >>> Softsign()({}, tnp.asarray([1.0])).tolist()
        [0.5]
    """

    fn = staticmethod(softsign)


class Tanhshrink(_NoArgs):
    """``F.tanhshrink`` as a module.

    Example:
        >>> Tanhshrink()({}, tnp.asarray([0.0])).tolist()
        [0.0]
    """

    fn = staticmethod(tanhshrink)


class GLU(Module):
    """``F.glu`` as a module.

    Example:
        >>> GLU()({}, tnp.asarray([2.0, 0.0])).tolist()
        [1.0]
    """

    def __init__(self, dim: int = -1) -> None:
        self.dim = int(dim)

    def forward(self, params: Params, x: Any) -> Any:
        return glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """``F.prelu`` with a learned ``weight`` of ``num_parameters`` entries, filled with ``init``.

    Example:
        >>> m = PReLU()
        >>> m(m.init(0), tnp.asarray([-1.0, 1.0])).tolist()
        [-0.25, 1.0]
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        if int(num_parameters) < 1:
            raise ValueError(f"PReLU: num_parameters must be at least 1, got {num_parameters}")
        self.num_parameters, self.init_value = int(num_parameters), float(init)

    def init_params(self, key: jax.Array) -> dict[str, Any]:
        return {"weight": tnp.full((self.num_parameters,), self.init_value, dtype=tnp.float32)}

    def forward(self, params: Params, x: Any) -> Any:
        return prelu(x, params["weight"])

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


__all__ = [
    "CELU", "ELU", "GLU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU", "LogSigmoid", "Mish", "PReLU",
    "ReLU6", "SELU", "SiLU", "Softplus", "Softsign", "Tanhshrink", "Threshold", "celu", "elu", "glu",
    "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "logsigmoid", "mish", "prelu", "relu6", "selu",
    "silu", "softplus", "softsign", "tanhshrink", "threshold",
]
