"""PyTorch's everyday activation modules: each calls its ``F.`` function (:mod:`tapegrad.nn.activations`).

``LeakyReLU``, ``ELU``, ``CELU``, ``SELU``, ``SiLU``, ``Mish``, ``Hardtanh``, ``ReLU6``, ``Hardsigmoid``,
``Hardswish``, ``Threshold`` (made by one factory: the arguments become attributes), ``Softplus``,
``LogSigmoid``, ``Softsign``, ``Tanhshrink``, ``GLU`` and ``PReLU`` (a learned slope).

Example:
    >>> import tapegrad.numpy as tnp
    >>> Hardtanh(-1.0, 0.5)({}, tnp.asarray([-2.0, 0.25, 2.0])).tolist()
    [-1.0, 0.25, 0.5]
"""
from __future__ import annotations

from typing import Any

import jax

import tapegrad.numpy as tnp
from tapegrad.nn import functional as F
from tapegrad.nn.module import Module

Params = Any


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


LeakyReLU = _module("LeakyReLU", F.leaky_relu, "``F.leaky_relu`` as a module.\n\n    Example:\n"
                    "        >>> LeakyReLU(0.25)({}, tnp.asarray([-1.0])).tolist()\n        [-0.25]\n",
                    negative_slope=0.01)
ELU = _module("ELU", F.elu, "``F.elu`` as a module.\n\n    Example:\n"
              "        >>> ELU()({}, tnp.asarray([1.0])).tolist()\n        [1.0]\n", alpha=1.0)
CELU = _module("CELU", F.celu, "``F.celu`` as a module.\n\n    Example:\n"
               "        >>> CELU()({}, tnp.asarray([1.0])).tolist()\n        [1.0]\n", alpha=1.0)
SELU = _module("SELU", F.selu, "``F.selu`` as a module.\n\n    Example:\n"
               "        >>> SELU()({}, tnp.asarray([0.0])).tolist()\n        [0.0]\n")
SiLU = _module("SiLU", F.silu, "``F.silu`` as a module.\n\n    Example:\n"
               "        >>> SiLU()({}, tnp.asarray([0.0])).tolist()\n        [0.0]\n")
Mish = _module("Mish", F.mish, "``F.mish`` as a module.\n\n    Example:\n"
               "        >>> Mish()({}, tnp.asarray([0.0])).tolist()\n        [0.0]\n")
Hardtanh = _module("Hardtanh", F.hardtanh, "``F.hardtanh`` as a module.\n\n    Example:\n"
                   "        >>> Hardtanh()({}, tnp.asarray([2.0])).tolist()\n        [1.0]\n",
                   min_val=-1.0, max_val=1.0)
ReLU6 = _module("ReLU6", F.relu6, "``F.relu6`` as a module.\n\n    Example:\n"
                "        >>> ReLU6()({}, tnp.asarray([7.0])).tolist()\n        [6.0]\n")
Hardsigmoid = _module("Hardsigmoid", F.hardsigmoid, "``F.hardsigmoid`` as a module.\n\n    Example:\n"
                      "        >>> Hardsigmoid()({}, tnp.asarray([0.0])).tolist()\n        [0.5]\n")
Hardswish = _module("Hardswish", F.hardswish, "``F.hardswish`` as a module.\n\n    Example:\n"
                    "        >>> Hardswish()({}, tnp.asarray([4.0])).tolist()\n        [4.0]\n")
Threshold = _module("Threshold", F.threshold, "``F.threshold`` as a module.\n\n    Example:\n"
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
        return F.softplus(x, self.beta, self.threshold)

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

    fn = staticmethod(F.logsigmoid)


class Softsign(_NoArgs):
    """``F.softsign`` as a module.

    Example:
        >>> Softsign()({}, tnp.asarray([1.0])).tolist()
        [0.5]
    """

    fn = staticmethod(F.softsign)


class Tanhshrink(_NoArgs):
    """``F.tanhshrink`` as a module.

    Example:
        >>> Tanhshrink()({}, tnp.asarray([0.0])).tolist()
        [0.0]
    """

    fn = staticmethod(F.tanhshrink)


class GLU(Module):
    """``F.glu`` as a module.

    Example:
        >>> GLU()({}, tnp.asarray([2.0, 0.0])).tolist()
        [1.0]
    """

    def __init__(self, dim: int = -1) -> None:
        self.dim = int(dim)

    def forward(self, params: Params, x: Any) -> Any:
        return F.glu(x, self.dim)

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
        return F.prelu(x, params["weight"])

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


__all__ = [
    "CELU", "ELU", "GLU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU", "LogSigmoid", "Mish", "PReLU",
    "ReLU6", "SELU", "SiLU", "Softplus", "Softsign", "Tanhshrink", "Threshold",
]
