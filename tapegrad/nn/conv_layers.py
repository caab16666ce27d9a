"""Convolution and pooling layers over PyTorch's channels-first layouts (NCW, NCHW, NCDHW).

Output length per spatial axis, as in the seed tutorial:
``O = floor((I + 2P - D(K - 1) - 1) / S) + 1``.

Example:
    >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
    >>> conv = nn.Conv1d(in_channels=3, out_channels=6, kernel_size=5)
    >>> conv(conv.init(0), tnp.ones((10, 3, 50))).shape
    (10, 6, 46)
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax

import tapegrad.numpy as tnp
from tapegrad.nn import conv_functional as C
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


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared configuration, checks, init and ``repr`` of ``Conv1d``, ``Conv2d`` and ``Conv3d``."""

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
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, but got padding_mode={padding_mode!r}")
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

    def _reversed_padding_repeated_twice(self) -> tuple[int, ...]:
        """PyTorch's ``F.pad`` argument for a non-zero ``padding_mode``: last dimension first, and
        ``'same'`` split with the odd element on the high side."""
        if self.padding == "valid":
            return (0, 0) * self._nd
        if self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        else:
            pairs = [(p, p) for p in self.padding]
        return tuple(v for pair in reversed(pairs) for v in pair)

    def forward(self, params: Params, x: Any) -> Any:
        fn = (F.conv1d, F.conv2d, F.conv3d)[self._nd - 1]
        padding: Any = self.padding
        if self.padding_mode != "zeros":
            # As PyTorch: pad explicitly with the mode, then convolve without padding.
            x = F.pad(x, self._reversed_padding_repeated_twice(), mode=self.padding_mode)
            padding = 0
        return fn(x, params["weight"], params.get("bias"), stride=self.stride, padding=padding,
                  dilation=self.dilation, groups=self.groups)

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
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)``; weight ``(out_channels, in_channels // groups, k)``.

    ``padding_mode`` is ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Example:
        >>> Conv1d(3, 6, 5)
        Conv1d(3, 6, kernel_size=(5,), stride=(1,))
    """

    _nd = 1


class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C_in, H, W)``; weight ``(out_channels, in_channels // groups, kH, kW)``.

    ``padding_mode`` is ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Example:
        >>> Conv2d(4, 8, 3, groups=2).init(0)["weight"].shape
        (8, 2, 3, 3)
    """

    _nd = 2


class Conv3d(_ConvNd):
    """3-D convolution over ``(N, C_in, D, H, W)``; weight ``(out_channels, in_channels // groups, kD, kH, kW)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> conv = Conv3d(2, 4, 3, padding=1, padding_mode="circular")
        >>> conv(conv.init(0), tnp.ones((1, 2, 5, 6, 7))).shape
        (1, 4, 5, 6, 7)
    """

    _nd = 3


class _ConvTransposeNd(Module):
    """Shared configuration, init and ``repr`` of the transposed convolutions."""

    _nd = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                 padding: IntOrTuple = 0, output_padding: IntOrTuple = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrTuple = 1, padding_mode: str = "zeros", *, dtype: Any = None) -> None:
        n = self._nd
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {n} ints, "
                             f"got {padding!r}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.padding = _ntuple(padding, n, "padding")
        self.output_padding = _ntuple(output_padding, n, "output_padding")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.groups = int(groups)
        self.bias = bool(bias)
        self.padding_mode = padding_mode
        self.dtype = param_dtype(dtype)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """``(in_channels, out_channels // groups, *kernel_size)``, PyTorch's transposed layout."""
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        # PyTorch reads fan_in from the weight as stored: (out_channels // groups) * prod(kernel_size).
        kw, kb = jax.random.split(key)
        params = {"weight": init.default_weight(kw, self.weight_shape, self.dtype)}
        if self.bias:
            fan_in, _ = init.fan_in_and_fan_out(self.weight_shape)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            params["bias"] = init.uniform(kb, (self.out_channels,), -bound, bound, self.dtype)
        return params

    def _output_padding(self, x: Any, output_size: Sequence[int] | None) -> tuple[int, ...]:
        """PyTorch's ``_output_padding``: the output_padding that gives ``output_size``."""
        if output_size is None:
            return self.output_padding
        n = self._nd
        size = tuple(int(v) for v in output_size)
        spatial = tuple(tnp.shape(x)[-n:])
        if len(size) == tnp.ndim(x):
            size = size[-n:]
        if len(size) != n:
            raise ValueError(f"{type(self).__name__}: for {tnp.ndim(x)}D input, output_size must have {n} or "
                             f"{tnp.ndim(x)} elements (got {len(output_size)})")
        lo = [(i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k
              in zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        hi = [m + s - 1 for m, s in zip(lo, self.stride)]
        if any(not a <= v <= b for v, a, b in zip(size, lo, hi)):
            raise ValueError(f"{type(self).__name__}: requested an output size of {list(size)}, but valid sizes "
                             f"range from {lo} to {hi} (for an input of {list(spatial)})")
        return tuple(v - a for v, a in zip(size, lo))

    def forward(self, params: Params, x: Any, output_size: Sequence[int] | None = None) -> Any:
        fn = (C.conv_transpose1d, C.conv_transpose2d, C.conv_transpose3d)[self._nd - 1]
        return fn(x, params["weight"], params.get("bias"), stride=self.stride, padding=self.padding,
                  output_padding=self._output_padding(x, output_size), groups=self.groups, dilation=self.dilation)

    def extra_repr(self) -> str:
        n = self._nd
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if not self.bias:
            s += ", bias=False"
        return s


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over ``(N, C_in, L)``; weight ``(in_channels, out_channels // groups, k)``.

    ``L_out = (L - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1``; calling it with
    ``output_size=`` picks the ``output_padding`` that gives that size, as in PyTorch.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> up = ConvTranspose1d(4, 2, 3, stride=2)
        >>> up(up.init(0), tnp.ones((1, 4, 5)), output_size=[12]).shape
        (1, 2, 12)
    """

    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over ``(N, C_in, H, W)``; weight ``(in_channels, out_channels // groups, kH, kW)``.

    Example:
        >>> ConvTranspose2d(4, 6, 3, groups=2).init(0)["weight"].shape
        (4, 3, 3, 3)
    """

    _nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over ``(N, C_in, D, H, W)``; weight ``(in_channels, out_channels // groups, *k)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> up = ConvTranspose3d(2, 1, 2, stride=2)
        >>> up(up.init(0), tnp.ones((1, 2, 2, 3, 4))).shape
        (1, 1, 4, 6, 8)
    """

    _nd = 3


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


class MaxPool1d(Module):
    """Max over ``kernel_size`` windows of ``(N, C, L)``; ``stride`` defaults to ``kernel_size``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> MaxPool1d(3, stride=2)({}, tnp.ones((1, 2, 9))).shape
        (1, 2, 4)
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 dilation: IntOrTuple = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, params: Params, x: Any) -> Any:
        return C.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """Mean over ``kernel_size`` windows of ``(N, C, L)``; ``stride`` defaults to ``kernel_size``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> AvgPool1d(2)({}, tnp.arange(4.0).reshape(1, 1, 4)).tolist()
        [[[0.5, 2.5]]]
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        self.kernel_size = _ntuple(kernel_size, 1, "kernel_size")
        self.stride = self.kernel_size if stride is None else _ntuple(stride, 1, "stride")
        self.padding = _ntuple(padding, 1, "padding")
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, params: Params, x: Any) -> Any:
        return C.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    _fn: Any = None

    def __init__(self, output_size: Any) -> None:
        self.output_size = output_size

    def forward(self, params: Params, x: Any) -> Any:
        return type(self)._fn(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average over PyTorch's adaptive windows, to ``output_size`` along ``L`` of ``(N, C, L)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> AdaptiveAvgPool1d(2)({}, tnp.arange(5.0).reshape(1, 1, 5)).tolist()
        [[[1.0, 3.0]]]
    """

    _fn = staticmethod(C.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average over PyTorch's adaptive windows to ``output_size`` (an int, or (H, W) with None keeping one).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> AdaptiveAvgPool2d((1, 1))({}, tnp.ones((2, 8, 7, 7))).shape
        (2, 8, 1, 1)
    """

    _fn = staticmethod(C.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptivePool):
    """Average over PyTorch's adaptive windows to ``output_size`` (D, H, W) of ``(N, C, D, H, W)``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> AdaptiveAvgPool3d(1)({}, tnp.ones((2, 3, 4, 5, 6))).shape
        (2, 3, 1, 1, 1)
    """

    _fn = staticmethod(C.adaptive_avg_pool3d)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        self.output_size = output_size
        self.return_indices = bool(return_indices)

    def forward(self, params: Params, x: Any) -> Any:
        return type(self)._fn(x, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Maximum over PyTorch's adaptive windows along ``L``; ``return_indices`` also gives their indices.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> AdaptiveMaxPool1d(2)({}, tnp.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]])).tolist()
        [[[5.0, 3.0]]]
    """

    _fn = staticmethod(C.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Maximum over PyTorch's adaptive windows; ``return_indices`` gives flat indices into ``H*W``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> AdaptiveMaxPool2d(2)({}, tnp.arange(16.0).reshape(1, 1, 4, 4)).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
    """

    _fn = staticmethod(C.adaptive_max_pool2d)


__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
           "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "MaxPool1d", "MaxPool2d"]
