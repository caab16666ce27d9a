"""Normalisation layers: ``LayerNorm``, ``RMSNorm``, ``GroupNorm``, ``BatchNorm1d`` / ``BatchNorm2d`` and
``InstanceNorm1d`` / ``2d`` / ``3d`` (running state explicit), over ``F.layer_norm``, ``F.batch_norm``,
``F.group_norm``, ``F.instance_norm`` and ``F.rms_norm`` (:mod:`tapegrad.nn.norm`).

BatchNorm's running statistics are buffers stored in params under PyTorch's
names. In training mode the layer records their new values (computed without
gradient) at its path in the params tree (``Module.record_state``), and
:meth:`Module.apply` returns them in ``new_params``; calling it in training mode
any other way raises, so the update cannot be lost. A layer called twice in one
``apply`` updates twice, each call starting from the statistics the previous one
left, as in PyTorch::

    >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
    >>> bn = nn.BatchNorm2d(3)
    >>> params = bn.init(0)
    >>> y, params = bn.apply(params, tnp.ones((2, 3, 4, 4)), train=True)
    >>> int(params["num_batches_tracked"])
    1
    >>> bn(params, tnp.ones((2, 3, 4, 4)), train=False).shape
    (2, 3, 4, 4)
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn import functional as F
from tapegrad.nn import init
from tapegrad.nn.layers import param_dtype
from tapegrad.nn.module import Module
from tapegrad.nn.norm import _shape_of
from tapegrad.transforms import stop_gradient

Params = Mapping[str, Any]


class LayerNorm(Module):
    """Normalises over the trailing ``normalized_shape`` dims; weight ones, bias zeros.

    Example:
        >>> LayerNorm(10)
        LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, *, dtype: Any = None) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps = eps
        self.elementwise_affine = bool(elementwise_affine)
        self.use_bias = bool(elementwise_affine and bias)
        self.dtype = param_dtype(dtype)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        params = {}
        if self.elementwise_affine:
            params["weight"] = init.ones(self.normalized_shape, self.dtype)
        if self.use_bias:
            params["bias"] = init.zeros(self.normalized_shape, self.dtype)
        return params

    def forward(self, params: Params, x: Any) -> Any:
        return F.layer_norm(x, self.normalized_shape, params.get("weight"), params.get("bias"), self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.use_bias}")


class _BatchNorm(Module):
    """Batch normalisation over the channel axis 1; see the module docstring for the state pattern."""

    buffer_names = ("running_mean", "running_var", "num_batches_tracked")
    _dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True,
                 dtype: Any = None) -> None:
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = bool(affine)
        self.use_bias = bool(affine and bias)
        self.track_running_stats = bool(track_running_stats)
        self.dtype = param_dtype(dtype)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        n = (self.num_features,)
        params = {}
        if self.affine:
            params["weight"] = init.ones(n, self.dtype)
        if self.use_bias:
            params["bias"] = init.zeros(n, self.dtype)
        if self.track_running_stats:
            params["running_mean"] = init.zeros(n, self.dtype)
            params["running_var"] = init.ones(n, self.dtype)
            # torch.long; int32 when jax_enable_x64 is off (canonicalised, so JAX does not warn).
            params["num_batches_tracked"] = jnp.zeros((), jax.dtypes.canonicalize_dtype(jnp.int64))
        return params

    def forward(self, params: Params, x: Any, *, train: bool = True) -> Any:
        if x.ndim not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{type(self).__name__}: expected {want} input (got {x.ndim}D input)")
        weight, bias = params.get("weight"), params.get("bias")
        if not self.track_running_stats:  # batch statistics in both modes, nothing to update
            return _first(F.batch_norm(x, None, None, weight, bias, training=True,
                                       momentum=_float_momentum(self.momentum), eps=self.eps))
        # The buffers as already updated in this apply: a layer called twice updates twice, and an
        # evaluation-mode call after a training-mode one uses the new statistics, as in PyTorch.
        state = self.current_state(params)
        if not train:
            return F.batch_norm(x, state["running_mean"], state["running_var"], weight, bias,
                                training=False, momentum=_float_momentum(self.momentum), eps=self.eps)
        mean, var = state["running_mean"], state["running_var"]
        count = state["num_batches_tracked"] + 1
        if self.momentum is None:
            # Cumulative average, factor 1 / num_batches_tracked: F with momentum 1 gives the batch
            # statistics themselves, averaged here (the factor is an array, F's momentum a number).
            out, batch_mean, batch_var = F.batch_norm(x, mean, var, weight, bias, training=True,
                                                      momentum=1.0, eps=self.eps)
            factor = 1.0 / count.astype(mean.dtype)
            new_mean = (1 - factor) * mean + factor * stop_gradient(batch_mean).astype(mean.dtype)
            new_var = (1 - factor) * var + factor * stop_gradient(batch_var).astype(var.dtype)
        else:
            out, new_mean, new_var = F.batch_norm(x, mean, var, weight, bias, training=True,
                                                  momentum=self.momentum, eps=self.eps)
        # Detached and kept in the buffers' dtype, so that a jit/scan carry keeps its type.
        self.record_state(params, {"running_mean": stop_gradient(new_mean).astype(mean.dtype),
                                   "running_var": stop_gradient(new_var).astype(var.dtype),
                                   "num_batches_tracked": count})
        return out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.use_bias}, track_running_stats={self.track_running_stats}")


def _float_momentum(momentum: float | None) -> float:
    return 0.0 if momentum is None else momentum


def _first(result: Any) -> Any:
    return result[0] if isinstance(result, tuple) else result


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs.

    Example:
        >>> BatchNorm1d(4)
        BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of ``(N, C, H, W)`` inputs, per channel.

    ``forward(params, x, *, train=True)``; training mode runs under
    ``model.apply`` (returns ``(y, new_params)``), ``train=False`` uses the
    running statistics.

    Example:
        >>> list(BatchNorm2d(8).init(0))
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    _dims = (4,)


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dims; weight ones.

    Example:
        >>> RMSNorm(8)
        RMSNorm((8,), eps=None, elementwise_affine=True)
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, *, dtype: Any = None) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps = eps
        self.elementwise_affine = bool(elementwise_affine)
        self.dtype = param_dtype(dtype)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        return {"weight": init.ones(self.normalized_shape, self.dtype)} if self.elementwise_affine else {}

    def forward(self, params: Params, x: Any) -> Any:
        return F.rms_norm(x, self.normalized_shape, params.get("weight"), self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Normalises ``(N, C, *)`` over groups of channels; per-channel weight ones, bias zeros.

    Example:
        >>> GroupNorm(2, 4)
        GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, *,
                 bias: bool = True, dtype: Any = None) -> None:
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps = eps
        self.affine = bool(affine)
        self.use_bias = bool(affine and bias)
        self.dtype = param_dtype(dtype)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        params = {}
        if self.affine:
            params["weight"] = init.ones((self.num_channels,), self.dtype)
        if self.use_bias:
            params["bias"] = init.zeros((self.num_channels,), self.dtype)
        return params

    def forward(self, params: Params, x: Any) -> Any:
        if tnp.ndim(x) < 2 or _shape_of(x)[1] != self.num_channels:
            raise ValueError(f"{self!r}: expected input (N, {self.num_channels}, *), got {F._describe(x)}")
        return F.group_norm(x, self.num_groups, params.get("weight"), params.get("bias"), self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.use_bias}"


class _InstanceNorm(_BatchNorm):
    """Instance normalisation over the positions of each channel of each sample.

    Buffers and the state pattern are BatchNorm's (``Module.apply`` in training mode when
    ``track_running_stats``). As in PyTorch, ``num_batches_tracked`` is kept but never advanced,
    and ``momentum=None`` leaves the running statistics unchanged (PyTorch passes momentum 0).
    """

    _spatial = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, *, bias: bool = True, dtype: Any = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias, dtype=dtype)

    def forward(self, params: Params, x: Any, *, train: bool = True) -> Any:
        nd = tnp.ndim(x)
        if nd not in (self._spatial + 1, self._spatial + 2):
            raise ValueError(f"{type(self).__name__}: expected {self._spatial + 1}D (unbatched) or "
                             f"{self._spatial + 2}D (batched) input, got {F._describe(x)}")
        c = _shape_of(x)[nd - self._spatial - 1]
        if c != self.num_features:
            message = (f"{type(self).__name__}: expected input's size at dim={nd - self._spatial - 1} to match "
                       f"num_features ({self.num_features}), but got: {c}.")
            if self.affine or self.track_running_stats:
                raise ValueError(message)
            warnings.warn(message, stacklevel=2)
        unbatched = nd == self._spatial + 1
        if unbatched:
            x = tnp.expand_dims(x, 0)
        weight, bias = params.get("weight"), params.get("bias")
        momentum = 0.0 if self.momentum is None else float(self.momentum)
        if not self.track_running_stats:
            out = F.instance_norm(x, None, None, weight, bias, True, momentum, self.eps)
        else:
            state = self.current_state(params)
            mean, var = state["running_mean"], state["running_var"]
            if not train:
                out = F.instance_norm(x, mean, var, weight, bias, False, momentum, self.eps)
            else:
                out, new_mean, new_var = F.instance_norm(x, mean, var, weight, bias, True, momentum, self.eps)
                self.record_state(params, {"running_mean": new_mean.astype(mean.dtype),
                                           "running_var": new_var.astype(var.dtype),
                                           "num_batches_tracked": state["num_batches_tracked"]})
        return out[0] if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of ``(N, C, L)`` or unbatched ``(C, L)`` inputs.

    Example:
        >>> InstanceNorm1d(4)
        InstanceNorm1d(4, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)
    """

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of ``(N, C, H, W)`` or unbatched ``(C, H, W)`` inputs.

    ``forward(params, x, *, train=True)``; with ``track_running_stats=True`` training mode runs under
    ``model.apply`` and ``train=False`` uses the running statistics, as ``BatchNorm2d``. As in PyTorch,
    ``num_batches_tracked`` is kept but never advanced, and ``momentum=None`` leaves the running
    statistics unchanged (PyTorch passes momentum 0 then).

    Example:
        >>> list(InstanceNorm2d(3, affine=True, track_running_stats=True).init(0))
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)`` inputs.

    Example:
        >>> InstanceNorm3d(2, affine=True).init(0)["weight"].shape
        (2,)
    """

    _spatial = 3


__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "LayerNorm", "RMSNorm"]
