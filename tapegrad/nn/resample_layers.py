"""PyTorch's parameterless resampling layers: ``Upsample``, ``PixelShuffle``/``PixelUnshuffle``,
``Fold``/``Unfold`` and the padding layers (``ReflectionPad2d``, ``ZeroPad2d``, ...).

Each is its ``F.`` function (:mod:`tapegrad.nn.resample`) with PyTorch's constructor
arguments and ``repr``; ``params`` is ``{}``.

Example:
    >>> import tapegrad.numpy as tnp
    >>> up = Upsample(scale_factor=2)
    >>> up
    Upsample(scale_factor=2.0, mode='nearest')
    >>> up(up.init(0), tnp.ones((1, 3, 4))).shape
    (1, 3, 8)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tapegrad.nn.module import Module
from tapegrad.nn.resample import fold, interpolate, pad, pixel_shuffle, pixel_unshuffle, unfold

Array = Any

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "Fold", "PixelShuffle", "PixelUnshuffle", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "Unfold", "Upsample", "UpsamplingBilinear2d",
           "UpsamplingNearest2d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"]


class Upsample(Module):
    """``F.interpolate`` as a module: ``size`` or ``scale_factor``, ``mode``, ``align_corners``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> Upsample(scale_factor=2, mode="bilinear")({}, tnp.ones((1, 3, 4, 5))).shape
        (1, 3, 8, 10)
    """

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None,
                 mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        self.size = size
        # Stored as floats, as PyTorch does (its repr shows 2.0).
        self.scale_factor = tuple(float(f) for f in scale_factor) if isinstance(scale_factor, (tuple, list)) \
            else (float(scale_factor) if scale_factor is not None else None)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, params: Mapping[str, Any], input: Array) -> Array:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')`` for 4-d input.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> UpsamplingNearest2d(scale_factor=2)({}, tnp.ones((1, 1, 2, 2))).shape
        (1, 1, 4, 4)
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` for 4-d input.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> UpsamplingBilinear2d(size=3)({}, tnp.arange(4.0).reshape(1, 1, 2, 2))[0, 0, 1].tolist()
        [1.0, 1.5, 2.0]
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r) with ``r = upscale_factor``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> PixelShuffle(3)({}, tnp.ones((1, 9, 4, 4))).shape
        (1, 1, 12, 12)
    """

    def __init__(self, upscale_factor: int) -> None:
        self.upscale_factor = upscale_factor

    def forward(self, params: Mapping[str, Any], input: Array) -> Array:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W) with ``r = downscale_factor``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> PixelUnshuffle(2)({}, tnp.ones((1, 1, 4, 6))).shape
        (1, 4, 2, 3)
    """

    def __init__(self, downscale_factor: int) -> None:
        self.downscale_factor = downscale_factor

    def forward(self, params: Mapping[str, Any], input: Array) -> Array:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class Unfold(Module):
    """``F.unfold`` as a module: sliding blocks of (N, C, H, W) as columns (N, C*kh*kw, L).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> Unfold(kernel_size=(2, 3))({}, tnp.ones((2, 5, 3, 4))).shape
        (2, 30, 4)
    """

    def __init__(self, kernel_size: int | Sequence[int], dilation: int | Sequence[int] = 1,
                 padding: int | Sequence[int] = 0, stride: int | Sequence[int] = 1) -> None:
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, params: Mapping[str, Any], input: Array) -> Array:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """``F.fold`` as a module: columns (N, C*kh*kw, L) summed back into (N, C, *output_size).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> Fold(output_size=(4, 5), kernel_size=(2, 2))({}, tnp.ones((1, 12, 12))).shape
        (1, 3, 4, 5)
    """

    def __init__(self, output_size: int | Sequence[int], kernel_size: int | Sequence[int],
                 dilation: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                 stride: int | Sequence[int] = 1) -> None:
        self.output_size = output_size
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, params: Mapping[str, Any], input: Array) -> Array:
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class _PadNd(Module):
    """``F.pad`` with a fixed ``padding`` (an int for every side, or 2n ints from the last dimension)."""

    _nd = 0
    _mode = "constant"

    def __init__(self, padding: int | Sequence[int]) -> None:
        n = 2 * self._nd
        pads = (int(padding),) * n if isinstance(padding, (int, np.integer)) else tuple(int(p) for p in padding)
        if len(pads) != n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {n} ints, got {padding!r}")
        self.padding = pads

    def forward(self, params: Mapping[str, Any], input: Array) -> Array:
        return pad(input, self.padding, mode=self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, params: Mapping[str, Any], input: Array) -> Array:
        return pad(input, self.padding, mode="constant", value=self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


# PyTorch's padding layers: each is F.pad with one mode over the last 1, 2 or 3 dimensions.

class ReflectionPad1d(_PadNd):
    """Pads the last dimension by reflection about the edge (the edge is not repeated).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ReflectionPad1d(1)({}, tnp.ones((1, 2, 3))).shape
        (1, 2, 5)
    """

    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pads the last 2 dimensions by reflection about the edge (the edge is not repeated).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ReflectionPad2d(1)({}, tnp.ones((1, 2, 3, 3))).shape
        (1, 2, 5, 5)
    """

    _nd, _mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Pads the last 3 dimensions by reflection about the edge (the edge is not repeated).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ReflectionPad3d(1)({}, tnp.ones((1, 2, 3, 3, 3))).shape
        (1, 2, 5, 5, 5)
    """

    _nd, _mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Pads the last dimension by repeating the edge values.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ReplicationPad1d(1)({}, tnp.ones((1, 2, 3))).shape
        (1, 2, 5)
    """

    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pads the last 2 dimensions by repeating the edge values.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ReplicationPad2d(1)({}, tnp.ones((1, 2, 3, 3))).shape
        (1, 2, 5, 5)
    """

    _nd, _mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Pads the last 3 dimensions by repeating the edge values.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ReplicationPad3d(1)({}, tnp.ones((1, 2, 3, 3, 3))).shape
        (1, 2, 5, 5, 5)
    """

    _nd, _mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Pads the last dimension periodically, wrapping around.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> CircularPad1d(1)({}, tnp.ones((1, 2, 3))).shape
        (1, 2, 5)
    """

    _nd, _mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Pads the last 2 dimensions periodically, wrapping around.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> CircularPad2d(1)({}, tnp.ones((1, 2, 3, 3))).shape
        (1, 2, 5, 5)
    """

    _nd, _mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Pads the last 3 dimensions periodically, wrapping around.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> CircularPad3d(1)({}, tnp.ones((1, 2, 3, 3, 3))).shape
        (1, 2, 5, 5, 5)
    """

    _nd, _mode = 3, "circular"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dimension with a constant ``value``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ConstantPad1d(1, 0.5)({}, tnp.ones((1, 2, 3))).shape
        (1, 2, 5)
    """

    _nd, _mode = 1, "constant"


class ConstantPad2d(_ConstantPadNd):
    """Pads the last 2 dimensions with a constant ``value``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ConstantPad2d(1, 0.5)({}, tnp.ones((1, 2, 3, 3))).shape
        (1, 2, 5, 5)
    """

    _nd, _mode = 2, "constant"


class ConstantPad3d(_ConstantPadNd):
    """Pads the last 3 dimensions with a constant ``value``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ConstantPad3d(1, 0.5)({}, tnp.ones((1, 2, 3, 3, 3))).shape
        (1, 2, 5, 5, 5)
    """

    _nd, _mode = 3, "constant"


class ZeroPad1d(_ZeroPadNd):
    """Pads the last dimension with zeros.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ZeroPad1d(1)({}, tnp.ones((1, 2, 3))).shape
        (1, 2, 5)
    """

    _nd, _mode = 1, "constant"


class ZeroPad2d(_ZeroPadNd):
    """Pads the last 2 dimensions with zeros.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ZeroPad2d(1)({}, tnp.ones((1, 2, 3, 3))).shape
        (1, 2, 5, 5)
    """

    _nd, _mode = 2, "constant"


class ZeroPad3d(_ZeroPadNd):
    """Pads the last 3 dimensions with zeros.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> ZeroPad3d(1)({}, tnp.ones((1, 2, 3, 3, 3))).shape
        (1, 2, 5, 5, 5)
    """

    _nd, _mode = 3, "constant"
