"""PyTorch's other normalisations as functions: ``F.group_norm``, ``F.instance_norm``, ``F.rms_norm`` and
``F.normalize`` (with ``vector_norm``, the p-norm with PyTorch's gradient at zero that the distances use).
Their modules (``GroupNorm``, ``InstanceNorm*``, ``RMSNorm``, with ``LayerNorm`` and ``BatchNorm*``) are
in :mod:`tapegrad.nn.norm_layers`.

Example:
    >>> import tapegrad.numpy as tnp
    >>> group_norm(tnp.asarray([[1.0, 3.0, 0.0, 4.0]]), 2).round(3).tolist()
    [[-1.0, 1.0, -1.0, 1.0]]
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn import functional_base as F
from tapegrad.transforms import stop_gradient


def _shape_of(x: Any) -> tuple[int, ...]:
    return tuple(tnp.shape(x))


def _channel_shape(c: int, nd: int) -> tuple[int, ...]:
    return (1, c) + (1,) * (nd - 2)


def _affine(out: Any, weight: Any, bias: Any, c: int, op: str, x: Any) -> Any:
    """``out * weight + bias`` with per-channel (axis 1) ``weight``/``bias`` of shape ``(c,)``."""
    shape = _channel_shape(c, tnp.ndim(out))
    for name, v in (("weight", weight), ("bias", bias)):
        if v is not None and _shape_of(v) != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},) for input {F._describe(x)}, got {F._describe(v)}")
    if weight is not None:
        out = out * tnp.reshape(weight, shape)
    return out if bias is None else out + tnp.reshape(bias, shape)


def _normalize_over(x: Any, axes: tuple[int, ...], eps: float) -> tuple[Any, Any, Any]:
    """``((x - mean) / sqrt(var + eps), mean, var)`` over ``axes`` (biased variance, kept dims)."""
    mean = tnp.mean(x, axis=axes, keepdims=True)
    xc = x - mean
    var = tnp.mean(xc * xc, axis=axes, keepdims=True)
    return xc / tnp.sqrt(var + eps), mean, var


def group_norm(input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Any:
    """Normalise ``(N, C, *)`` over each group of ``C // num_groups`` channels (and all positions).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> group_norm(tnp.asarray([[1.0, 3.0, 0.0, 4.0]]), 2).round(3).tolist()
        [[-1.0, 1.0, -1.0, 1.0]]
    """
    shape = _shape_of(input)
    if len(shape) < 2:
        raise ValueError(f"group_norm: expected input (N, C, *) with at least 2 dims, got {F._describe(input)}")
    n, c = shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ValueError(f"group_norm: the number of channels ({c}) of input {F._describe(input)} must be "
                         f"divisible by num_groups ({num_groups})")
    g = tnp.reshape(input, (n, num_groups, -1))
    out = tnp.reshape(_normalize_over(g, (2,), eps)[0], shape)
    return _affine(out, weight, bias, c, "group_norm", input)


def instance_norm(input: Any, running_mean: Any = None, running_var: Any = None, weight: Any = None,
                  bias: Any = None, use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Any:
    """Normalise each channel of each sample of ``(N, C, *spatial)`` over its positions.

    ``use_input_stats=False`` normalises with ``running_mean``/``running_var`` instead. Being
    functional, a call that would update running statistics (``use_input_stats`` with them given)
    returns ``(out, new_running_mean, new_running_var)``, as ``batch_norm(training=True)`` does:
    ``new = (1 - momentum) * old + momentum * stat``, the statistics averaged over the batch and the
    variance unbiased (PyTorch's update; no gradient flows into them). Otherwise it returns ``out``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> instance_norm(tnp.asarray([[[1.0, 3.0]]])).round(3).tolist()
        [[[-1.0, 1.0]]]
    """
    shape = _shape_of(input)
    if len(shape) < 3:
        raise ValueError(f"instance_norm: expected input (N, C, *spatial) with at least 3 dims, got "
                         f"{F._describe(input)}")
    c = shape[1]
    for name, v in (("running_mean", running_mean), ("running_var", running_var)):
        if v is not None and _shape_of(v) != (c,):
            raise ValueError(f"instance_norm: {name} must have shape ({c},) for input {F._describe(input)}, "
                             f"got {F._describe(v)}")
    axes = tuple(range(2, len(shape)))
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        cs = _channel_shape(c, len(shape))
        out = (input - tnp.reshape(running_mean, cs)) / tnp.sqrt(tnp.reshape(running_var, cs) + eps)
        return _affine(out, weight, bias, c, "instance_norm", input)
    count = int(np.prod(shape[2:]))
    if count <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when training, got input "
                         f"{F._describe(input)}")
    out, mean, var = _normalize_over(input, axes, eps)
    out = _affine(out, weight, bias, c, "instance_norm", input)
    if running_mean is None and running_var is None:
        return out
    mean, var = stop_gradient(mean), stop_gradient(var)
    new_mean = None if running_mean is None else \
        (1 - momentum) * running_mean + momentum * tnp.mean(tnp.reshape(mean, shape[:2]), axis=0)
    new_var = None if running_var is None else \
        (1 - momentum) * running_var + momentum * tnp.mean(tnp.reshape(var, shape[:2]), axis=0) * (count / (count - 1))
    return out, new_mean, new_var


def rms_norm(input: Any, normalized_shape: int | Sequence[int], weight: Any = None, eps: float | None = None) -> Any:
    """``input / sqrt(mean(input**2) + eps) * weight`` over the trailing ``normalized_shape`` dims.

    ``eps=None`` is the machine epsilon of the input's dtype, as PyTorch.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [round(v, 3) for v in rms_norm(tnp.asarray([[3.0, 4.0]]), (2,))[0].tolist()]
        [0.849, 1.131]
    """
    ns = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(int(s) for s in normalized_shape)
    shape = _shape_of(input)
    if not ns or len(ns) > len(shape) or shape[len(shape) - len(ns):] != ns:
        raise ValueError(f"rms_norm: given normalized_shape={list(ns)}, expected input with shape "
                         f"[*, {', '.join(map(str, ns))}], but got input {F._describe(input)}")
    if weight is not None and _shape_of(weight) != ns:
        raise ValueError(f"rms_norm: weight must have shape {ns}, got {F._describe(weight)}")
    if eps is None:
        eps = float(jnp.finfo(tnp.result_type(input)).eps) if F._is_float(input) else float(jnp.finfo(float).eps)
    axes = tuple(range(len(shape) - len(ns), len(shape)))
    out = input / tnp.sqrt(tnp.mean(input * input, axis=axes, keepdims=True) + eps)
    return out if weight is None else out * weight


def _abs(x: Any) -> Any:
    """``|x|`` with PyTorch's gradient ``sign(x)`` (0 at 0, where JAX's ``abs`` gives 1)."""
    return x * stop_gradient(tnp.sign(x))


def vector_norm(x: Any, p: float = 2.0, axis: int = -1, keepdims: bool = False) -> Any:
    """The ``p``-norm over ``axis`` with PyTorch's gradient at zero vectors (0, not NaN); ``p`` may be ``inf``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(vector_norm(tnp.asarray([3.0, 4.0])))
        5.0
    """
    if p == 2:
        ss = tnp.sum(x * x, axis=axis, keepdims=keepdims)
        nz = ss > 0
        return tnp.where(nz, tnp.sqrt(tnp.where(nz, ss, 1.0)), 0.0)
    a = _abs(x)
    if p == float("inf"):
        return tnp.max(a, axis=axis, keepdims=keepdims)
    if p == 1:
        return tnp.sum(a, axis=axis, keepdims=keepdims)
    if p <= 0:
        raise ValueError(f"vector_norm: p must be positive (or inf), got {p}")
    s = tnp.sum(tnp.where(a > 0, a, 1.0) ** p * (a > 0), axis=axis, keepdims=keepdims)
    nz = s > 0
    return tnp.where(nz, tnp.where(nz, s, 1.0) ** (1.0 / p), 0.0)


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None) -> Any:
    """``input / max(||input||_p, eps)`` along ``dim``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [round(v, 4) for v in normalize(tnp.asarray([[3.0, 4.0]]))[0].tolist()]
        [0.6, 0.8]
    """
    if out is not None:
        raise ValueError("normalize: out= is impossible on immutable JAX arrays; use the return value")
    nd = tnp.ndim(input)
    if not -max(nd, 1) <= dim < max(nd, 1):
        raise IndexError(f"normalize: dim {dim} is out of range for input {F._describe(input)}")
    norm = vector_norm(input, p, axis=dim % max(nd, 1) if nd else None, keepdims=True)
    return input / tnp.where(norm >= eps, norm, eps)


__all__ = ["group_norm", "instance_norm", "normalize", "rms_norm", "vector_norm"]
