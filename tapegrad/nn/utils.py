"""``nn.utils``: PyTorch's ``torch.nn.utils`` conveniences, as pure functions over params and grads trees.

PyTorch's versions change tensors in place (``clip_grad_value_``, ``vector_to_parameters``); these
return new trees of the same structure and key order instead, and are differentiable where that
makes sense (``parameters_to_vector`` / ``vector_to_parameters`` are compositions of tapegrad ops).

Example:
    >>> import tapegrad.nn as nn
    >>> params = nn.Linear(3, 2).init(0)
    >>> nn.utils.count_parameters(params)
    8
    >>> nn.utils.parameters_to_vector(params).shape
    (8,)
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn.module import named_parameters
from tapegrad.nn.params_view import empty_node
from tapegrad.optim.clip import clip_grad_norm as _clip_grad_norm_2

Array = Any
PyTree = Any


def _leaves(parameters: Mapping[str, Any] | Iterable[Array] | Array) -> list[Array]:
    if isinstance(parameters, Mapping):
        return [v for _, v in named_parameters(parameters)]
    if hasattr(parameters, "shape"):  # one array, as torch accepts one tensor
        return [parameters]
    return list(parameters)


def count_parameters(params: Mapping[str, Any] | Iterable[Array]) -> int:
    """The number of scalars in a params tree (or a list of arrays): PyTorch's
    ``sum(p.numel() for p in model.parameters())``.

    It counts every leaf it is given, buffers included; for the trainable parameters only, pass
    ``model.partition(params)[0]``, or use ``model.num_parameters()``, which needs no arrays.

    Example:
        >>> import tapegrad.nn as nn
        >>> bn = nn.BatchNorm1d(4)
        >>> count_parameters(bn.init(0)), count_parameters(bn.partition(bn.init(0))[0])
        (17, 8)
    """
    return sum(int(np.prod(np.shape(v))) for v in _leaves(params))


def parameters_to_vector(parameters: Mapping[str, Any] | Iterable[Array]) -> Array:
    """All leaves raveled and concatenated, in ``named_parameters`` order (PyTorch's order).

    Example:
        >>> import jax.numpy as jnp
        >>> parameters_to_vector({"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}).tolist()
        [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    """
    leaves = _leaves(parameters)
    if not leaves:
        raise ValueError("parameters_to_vector: no parameters were given")
    return tnp.concatenate([tnp.ravel(p) for p in leaves])


def vector_to_parameters(vec: Array, parameters: Mapping[str, Any] | Iterable[Array]) -> Any:
    """A new tree shaped like ``parameters`` whose leaves are consecutive slices of ``vec``.

    The inverse of :func:`parameters_to_vector`; each slice takes its leaf's shape and dtype. PyTorch
    copies into the parameters in place; here the new tree (or list, for a list) is returned.

    Example:
        >>> import jax.numpy as jnp
        >>> p = vector_to_parameters(jnp.arange(6.0), {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)})
        >>> p["w"].tolist(), p["b"].tolist()
        ([[0.0, 1.0], [2.0, 3.0]], [4.0, 5.0])
    """
    leaves = _leaves(parameters)
    total = sum(int(np.prod(np.shape(v))) for v in leaves)
    if tnp.ndim(vec) != 1 or tnp.shape(vec)[0] != total:
        raise ValueError(f"vector_to_parameters: expected a 1-d vector of {total} elements (the parameters' "
                         f"total size), got shape {tuple(tnp.shape(vec))}")
    pieces, start = [], 0
    for v in leaves:
        shape = tuple(np.shape(v))
        n = int(np.prod(shape))
        pieces.append(tnp.reshape(vec[start:start + n], shape).astype(v.dtype))
        start += n
    if not isinstance(parameters, Mapping):
        return pieces[0] if hasattr(parameters, "shape") else pieces
    it = iter(pieces)

    def rebuild(node: Mapping[str, Any]) -> Any:
        out = empty_node(node)
        for k, v in node.items():
            out[k] = rebuild(v) if isinstance(v, Mapping) else next(it)
        return out

    return rebuild(parameters)


def clip_grad_value(grads: PyTree, clip_value: float) -> PyTree:
    """Each gradient clamped to ``[-clip_value, clip_value]``: PyTorch's ``clip_grad_value_``, returning
    new grads (same structure) instead of changing them in place.

    Example:
        >>> import jax.numpy as jnp
        >>> clip_grad_value({"w": jnp.array([-3.0, 0.5, 2.0])}, 1.0)["w"].tolist()
        [-1.0, 0.5, 1.0]
    """
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value: clip_value must be non-negative, got {clip_value}")
    return jax.tree_util.tree_map(lambda g: tnp.clip(g, -clip_value, clip_value), grads)


def clip_grad_norm(grads: PyTree, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> tuple[PyTree, Array]:
    """PyTorch's ``clip_grad_norm_`` as a pure function: ``(clipped_grads, total_norm)``.

    The total norm is the ``norm_type``-norm of all gradients together (``inf`` for the largest
    magnitude); the grads are scaled by ``min(max_norm / (total_norm + 1e-6), 1)``. ``norm_type=2``
    is :func:`tapegrad.optim.clip_grad_norm`. ``error_if_nonfinite`` raises on a NaN or infinite
    total norm (checked only outside ``jax.jit``, where the value is known).

    Example:
        >>> import jax.numpy as jnp
        >>> clipped, norm = clip_grad_norm({"w": jnp.array([3.0, 4.0])}, 1.0)
        >>> float(norm), [round(x, 4) for x in clipped["w"].tolist()]
        (5.0, [0.6, 0.8])
    """
    norm_type = float(norm_type)
    leaves = jax.tree_util.tree_leaves(grads)
    if norm_type == 2.0:
        clipped, total = _clip_grad_norm_2(grads, max_norm)
    else:
        if not leaves:
            return grads, jnp.zeros(())
        if norm_type == math.inf:
            total = jnp.max(jnp.stack([jnp.max(jnp.abs(g)) for g in leaves]))
        else:
            total = jnp.linalg.norm(jnp.stack([jnp.linalg.norm(jnp.ravel(g), norm_type) for g in leaves]),
                                    norm_type)
        coef = jnp.minimum(float(max_norm) / (total + 1e-6), 1.0)
        clipped = jax.tree_util.tree_map(lambda g: g * coef.astype(jnp.result_type(g)), grads)
    if error_if_nonfinite and not isinstance(total, jax.core.Tracer) and not bool(jnp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm: the total norm of order {norm_type} of the gradients is non-finite "
                           f"({float(total)}), so it cannot be clipped; pass error_if_nonfinite=False to clip anyway")
    return clipped, total


__all__ = ["clip_grad_norm", "clip_grad_value", "count_parameters", "parameters_to_vector",
           "vector_to_parameters"]
