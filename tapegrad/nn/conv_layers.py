"""Convolution and pooling layers over PyTorch's channels-first layouts (NCW, NCHW).

Output length per spatial axis, as in the seed tutorial:
``O = floor((I + 2P - D(K - 1) - 1) / S) + 1``.

Example:
    >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
    >>> conv = nn.Conv1d(in_channels=3, out_channels=6, kernel_size=5)
    >>> conv(conv.init(0), tnp.ones((10, 3, 50))).shape
    (10, 6, 46)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax

from tapegrad.nn import functional as F
from tapegrad.nn import init
from tapegrad.nn.layers import param_dtype
from tapegrad.nn.module import Module

Params = Mapping[str, Any]
IntOrTuple = int | Sequence[int]


def _ntuple(value: IntOrTuple, n: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    out = tuple(int(v) for v in value)
    if len(out) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return out


class _ConvNd(Module):
    """Shared configuration, checks, init and ``repr`` of ``Conv1d`` and ``Conv2d``."""

    _nd = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: str | IntOrTuple = 0, dilation: IntOrTuple = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", *, dtype: Any = None) -> None:
        n = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            # Only zero padding has a functional counterpart (F.conv*d pads with zeros).
            raise NotImplementedError(f"padding_mode={padding_mode!r} is not supported; only 'zeros'")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding: str | tuple[int, ...] = padding
        else:
            self.padding = _ntuple(padding, n, "padding")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.groups = int(groups)
        self.bias = bool(bias)
        self.padding_mode = padding_mode
        self.dtype = param_dtype(dtype)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """``(out_channels, in_channels // groups, *kernel_size)``, PyTorch's layout."""
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        kw, kb = jax.random.split(key)
        params = {"weight": init.default_weight(kw, self.weight_shape, self.dtype)}
        if self.bias:
            params["bias"] = init.default_bias(kb, self.weight_shape, self.dtype)
        return params

    def _conv_kwargs(self) -> dict[str, Any]:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation,
                "groups": self.groups}

    def extra_repr(self) -> str:
        # PyTorch's _ConvNd.extra_repr: non-default settings only.
        n = self._nd
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if not self.bias:
            s += ", bias=False"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)``; weight ``(out_channels, in_channels // groups, k)``.

    Example:
        >>> Conv1d(3, 6, 5)
        Conv1d(3, 6, kernel_size=(5,), stride=(1,))
    """

    _nd = 1

    def forward(self, params: Params, x: Any) -> Any:
        return F.conv1d(x, params["weight"], params.get("bias"), **self._conv_kwargs())


class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C_in, H, W)``; weight ``(out_channels, in_channels // groups, kH, kW)``.

    Example:
        >>> Conv2d(4, 8, 3, groups=2).init(0)["weight"].shape
        (8, 2, 3, 3)
    """

    _nd = 2

    def forward(self, params: Params, x: Any) -> Any:
        return F.conv2d(x, params["weight"], params.get("bias"), **self._conv_kwargs())


class MaxPool2d(Module):
    """Max over ``kernel_size`` windows; ``stride`` defaults to ``kernel_size``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> MaxPool2d(2)({}, tnp.ones((1, 1, 4, 4))).shape
        (1, 1, 2, 2)
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 dilation: IntOrTuple = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        # Kept as given (int or tuple): PyTorch's repr prints them unnormalised.
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, params: Params, x: Any) -> Any:
        kwargs: dict[str, Any] = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation,
                                  "ceil_mode": self.ceil_mode}
        if self.return_indices:  # only passed when asked, so F need not know the option otherwise
            kwargs["return_indices"] = True
        return F.max_pool2d(x, self.kernel_size, **kwargs)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows; ``stride`` defaults to ``kernel_size``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> AvgPool2d(2)({}, tnp.ones((1, 1, 4, 4))).shape
        (1, 1, 2, 2)
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, params: Params, x: Any) -> Any:
        kwargs: dict[str, Any] = {"stride": self.stride, "padding": self.padding}
        # Non-default options only, so a functional without them still serves the common case.
        if self.ceil_mode:
            kwargs["ceil_mode"] = True
        if not self.count_include_pad:
            kwargs["count_include_pad"] = False
        if self.divisor_override is not None:
            kwargs["divisor_override"] = self.divisor_override
        return F.avg_pool2d(x, self.kernel_size, **kwargs)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


__all__ = ["AvgPool2d", "Conv1d", "Conv2d", "MaxPool2d"]
