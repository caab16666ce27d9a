"""Per-sample transforms for datasets such as `MNIST(transform=...)`; they accept numpy or JAX arrays.

The usual MNIST pipeline:

    >>> t = Compose([Normalize((0.1307,), (0.3081,))])
    >>> t(np.zeros((1, 28, 28), np.float32)).dtype
    dtype('float32')
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Compose", "Normalize", "ToArray", "Lambda"]


class Compose:
    """Apply transforms in order.

    Example:
        >>> Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 2)])(1)
        4
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


class Normalize:
    """`(x - mean[c]) / std[c]` per channel `c` of a `(..., C, H, W)` image (or any array if the
    statistics are scalars). Floating inputs keep their dtype; others become float32.

    Example:
        >>> Normalize((0.5,), (0.5,))(np.ones((1, 2, 2), np.float32))[0, 0, 0]
        np.float32(1.0)
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"mean and std need the same length, got {self.mean.size} and {self.std.size}")
        if np.any(self.std == 0):
            raise ValueError("std must be nonzero")

    def __call__(self, x: Any) -> Any:
        xp = jnp if isinstance(x, jax.Array) else np
        x = xp.asarray(x)
        dtype = x.dtype if xp.issubdtype(x.dtype, xp.floating) else np.float32
        # Channel statistics broadcast along axis -3; a single statistic applies to everything.
        shape = (-1, 1, 1) if self.mean.size > 1 or x.ndim >= 3 else (-1,)
        mean = xp.asarray(self.mean.reshape(shape), dtype=dtype)
        std = xp.asarray(self.std.reshape(shape), dtype=dtype)
        return ((x.astype(dtype) - mean) / std).astype(dtype)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class ToArray:
    """Convert to a numpy array of `dtype` (float32 by default).

    Example:
        >>> ToArray()([[1, 2]]).dtype
        dtype('float32')
    """

    def __init__(self, dtype: Any = np.float32) -> None:
        self.dtype = dtype

    def __call__(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=self.dtype)


class Lambda:
    """Wrap any function as a transform.

    Example:
        >>> Lambda(lambda x: x * 2)(3)
        6
    """

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, x: Any) -> Any:
        return self.fn(x)
