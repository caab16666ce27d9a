"""Parameter initialisers with PyTorch's distributions (``torch.nn.init``), as pure functions.

PyTorch's initialisers fill a tensor in place (``kaiming_uniform_(w)``); here
each one takes a ``jax.random`` key (or int seed) and a shape and returns a new
array. The values differ from PyTorch's (another random generator) but the
distributions are the same:

- ``Linear`` / ``Conv`` weight: ``kaiming_uniform(a=sqrt(5))`` = U(-1/sqrt(fan_in), 1/sqrt(fan_in));
  bias: the same bound (:func:`default_bias`);
- ``Embedding``: N(0, 1); ``LayerNorm`` / ``BatchNorm``: weight ones, bias zeros.

Example:
    >>> import tapegrad.nn.init as init
    >>> w = init.kaiming_uniform(0, (512, 784), a=5 ** 0.5)
    >>> bool(abs(w).max() <= 1 / 784 ** 0.5)
    True
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tapegrad.nn.module import as_key

Shape = Sequence[int]
DType = Any
DEFAULT_DTYPE = "float32"  # PyTorch's default parameter dtype, whatever jax_enable_x64 says


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity (``torch.nn.init.calculate_gain``).

    Example:
        >>> calculate_gain("relu") == 2 ** 0.5
        True
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def fan_in_and_fan_out(shape: Shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shaped ``(out, in, *kernel)``, as PyTorch computes them.

    Example:
        >>> fan_in_and_fan_out((6, 3, 5))
        (15, 30)
    """
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def uniform(key: Any, shape: Shape, a: float = 0.0, b: float = 1.0,
            dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """U(a, b) (``torch.nn.init.uniform_``).

    Example:
        >>> uniform(0, (2,), -1.0, 1.0).shape
        (2,)
    """
    return jax.random.uniform(as_key(key), tuple(shape), dtype, minval=a, maxval=b)


def normal(key: Any, shape: Shape, mean: float = 0.0, std: float = 1.0,
           dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """N(mean, std²) (``torch.nn.init.normal_``).

    Example:
        >>> normal(0, (3,)).dtype
        dtype('float32')
    """
    return mean + std * jax.random.normal(as_key(key), tuple(shape), dtype)


def trunc_normal(key: Any, shape: Shape, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                 dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """N(mean, std²) truncated to ``[a, b]`` (absolute bounds, as ``torch.nn.init.trunc_normal_``).

    Example:
        >>> bool((abs(trunc_normal(0, (1000,))) <= 2).all())
        True
    """
    lo, hi = (a - mean) / std, (b - mean) / std
    return mean + std * jax.random.truncated_normal(as_key(key), lo, hi, tuple(shape), dtype)


def constant(shape: Shape, val: float, dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """An array filled with ``val`` (``torch.nn.init.constant_``).

    Example:
        >>> constant((2,), 3.0).tolist()
        [3.0, 3.0]
    """
    return jnp.full(tuple(shape), val, dtype)


def zeros(shape: Shape, dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """Zeros (``torch.nn.init.zeros_``).

    Example:
        >>> zeros((2,)).tolist()
        [0.0, 0.0]
    """
    return jnp.zeros(tuple(shape), dtype)


def ones(shape: Shape, dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """Ones (``torch.nn.init.ones_``).

    Example:
        >>> ones((2,)).tolist()
        [1.0, 1.0]
    """
    return jnp.ones(tuple(shape), dtype)


def _fan(shape: Shape, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform(key: Any, shape: Shape, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """U(-b, b) with b = gain * sqrt(3 / fan) (``torch.nn.init.kaiming_uniform_``).

    With ``a=sqrt(5)`` (PyTorch's Linear/Conv default) b = 1 / sqrt(fan_in).

    Example:
        >>> kaiming_uniform(0, (4, 3)).shape
        (4, 3)
    """
    if int(np.prod(shape)) == 0:  # PyTorch: initialising a zero-element tensor is a no-op
        return jnp.zeros(tuple(shape), dtype)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))
    return uniform(key, shape, -bound, bound, dtype)


def kaiming_normal(key: Any, shape: Shape, a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu", dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """N(0, std²) with std = gain / sqrt(fan) (``torch.nn.init.kaiming_normal_``).

    Example:
        >>> kaiming_normal(0, (4, 3), nonlinearity="relu").shape
        (4, 3)
    """
    if int(np.prod(shape)) == 0:
        return jnp.zeros(tuple(shape), dtype)
    return normal(key, shape, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode)), dtype)


def xavier_uniform(key: Any, shape: Shape, gain: float = 1.0, dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (``torch.nn.init.xavier_uniform_``).

    Example:
        >>> xavier_uniform(0, (4, 3)).shape
        (4, 3)
    """
    fan_in, fan_out = fan_in_and_fan_out(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(key, shape, -bound, bound, dtype)


def xavier_normal(key: Any, shape: Shape, gain: float = 1.0, dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """N(0, std²) with std = gain * sqrt(2 / (fan_in + fan_out)) (``torch.nn.init.xavier_normal_``).

    Example:
        >>> xavier_normal(0, (4, 3)).shape
        (4, 3)
    """
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return normal(key, shape, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), dtype)


def default_weight(key: Any, shape: Shape, dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """PyTorch's ``Linear``/``Conv`` weight init: ``kaiming_uniform(a=sqrt(5))``.

    Example:
        >>> default_weight(0, (30, 20)).shape
        (30, 20)
    """
    return kaiming_uniform(key, shape, a=math.sqrt(5), dtype=dtype)


def default_bias(key: Any, weight_shape: Shape, dtype: DType = DEFAULT_DTYPE) -> jax.Array:
    """PyTorch's ``Linear``/``Conv`` bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), shape ``(out,)``.

    Example:
        >>> default_bias(0, (30, 20)).shape
        (30,)
    """
    fan_in, _ = fan_in_and_fan_out(weight_shape)
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform(key, (weight_shape[0],), -bound, bound, dtype)


__all__ = ["calculate_gain", "constant", "default_bias", "default_weight", "fan_in_and_fan_out",
           "kaiming_normal", "kaiming_uniform", "normal", "ones", "trunc_normal", "uniform", "xavier_normal",
           "xavier_uniform", "zeros"]
