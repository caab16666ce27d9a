"""Attention: ``F.scaled_dot_product_attention``, PyTorch's semantics (``nn.MultiheadAttention``, built on
the helpers here, is in :mod:`tapegrad.nn.attention_layers`).

Both are compositions of tapegrad ops (einsum, where, the safe softmax of
``rules.activations``), so every transform differentiates them to any order.

Masks follow PyTorch exactly, and the two conventions differ there:

* ``scaled_dot_product_attention``'s boolean ``attn_mask``: ``True`` = the
  position **takes part**; a float mask is **added** to the logits.
* ``MultiheadAttention``'s boolean ``attn_mask`` and ``key_padding_mask``:
  ``True`` = the position is **masked out**; float masks are added.

Randomness: the argument PyTorch calls ``key`` is the keys tensor here, so the
dropout's ``jax.random`` key (or int seed) is passed as ``dropout_key=``.

Example:
    >>> import tapegrad.numpy as tnp
    >>> q = tnp.ones((2, 4, 5, 8))              # (N, heads, L, E)
    >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
    (2, 4, 5, 8)
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn import functional_base as F
from tapegrad.nn.keys import as_key
from tapegrad.rules import activations as _act

Array = Any


def _shape(x: Array) -> tuple[int, ...]:
    return tuple(tnp.shape(x))


def _is_bool(x: Array) -> bool:
    return np.dtype(tnp.result_type(x)) == np.dtype(bool)


def _safe_softmax(logits: Array) -> Array:
    """Softmax over the last axis where a row of only ``-inf`` gives zeros, not NaN (PyTorch's
    ``_safe_softmax``, used by its math backend since 2.5): one primitive with its rule
    (``rules.activations.safe_softmax_p``)."""
    return _act.safe_softmax_p(logits)


def _dropout(p: Array, dropout_p: float, dropout_key: Any, op: str) -> Array:
    if dropout_p == 0.0:
        return p
    if dropout_key is None:
        raise ValueError(f"{op}: dropout_p={dropout_p} > 0 needs randomness: pass dropout_key= (a jax.random "
                         "key or an int seed), or dropout_p=0.0")
    return F.dropout(p, dropout_p, True, key=as_key(dropout_key))


def scaled_dot_product_attention(query: Array, key: Array, value: Array, attn_mask: Array | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False, *, dropout_key: Any = None) -> Array:
    """``softmax(query @ key.T * scale + mask) @ value`` over ``(..., L, E)``, ``(..., S, E)``, ``(..., S, Ev)``.

    As ``torch.nn.functional.scaled_dot_product_attention``: ``scale`` defaults
    to ``1/sqrt(E)``; a boolean ``attn_mask`` keeps the positions that are
    ``True``, a float one is added to the logits, and it broadcasts to
    ``(..., L, S)``; ``is_causal`` keeps the lower triangle (top-left aligned)
    and excludes ``attn_mask``; ``enable_gqa`` lets ``query`` have a multiple of
    the key/value heads (axis -3). A row in which every position is masked gives
    zeros, as PyTorch's math backend. Dropout (``dropout_p > 0``, applied to the
    attention weights whenever it is asked for, as in PyTorch) needs
    ``dropout_key=``: PyTorch's name ``key`` is the keys tensor.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> q = tnp.ones((1, 3, 4))
        >>> scaled_dot_product_attention(q, q, tnp.ones((1, 3, 2)), attn_mask=tnp.tril(tnp.ones((3, 3), bool))).shape
        (1, 3, 2)
    """
    op = "scaled_dot_product_attention"
    qs, ks, vs = _shape(query), _shape(key), _shape(value)
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2 or qs[-1] != ks[-1] or ks[-2] != vs[-2]:
        raise ValueError(f"{op}: expected query (..., L, E), key (..., S, E), value (..., S, Ev); got "
                         f"query {F._describe(query)}, key {F._describe(key)}, value {F._describe(value)}")
    if not 0.0 <= float(dropout_p) <= 1.0:
        raise ValueError(f"{op}: dropout_p must be between 0 and 1, got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both (as PyTorch)")
    if enable_gqa and len(qs) >= 3 and len(ks) >= 3 and qs[-3] != ks[-3]:
        if qs[-3] % ks[-3] or ks[-3] != vs[-3]:
            raise ValueError(f"{op}: enable_gqa needs query heads (axis -3, {qs[-3]}) a multiple of the "
                             f"key/value heads ({ks[-3]}, {vs[-3]})")
        key = tnp.repeat(key, qs[-3] // ks[-3], axis=-3)
        value = tnp.repeat(value, qs[-3] // vs[-3], axis=-3)
    L, S = qs[-2], ks[-2]
    scale = 1.0 / math.sqrt(qs[-1]) if scale is None else float(scale)
    logits = tnp.matmul(query, tnp.swapaxes(key, -1, -2)) * scale
    if is_causal:
        logits = tnp.where(tnp.tril(tnp.ones((L, S), bool)), logits, -tnp.inf)
    elif attn_mask is not None:
        ms = _shape(attn_mask)
        try:
            np.broadcast_shapes(ms, _shape(logits))
        except ValueError:
            raise ValueError(f"{op}: attn_mask {F._describe(attn_mask)} does not broadcast to the attention "
                             f"logits' shape {_shape(logits)} (..., L, S)") from None
        logits = tnp.where(attn_mask, logits, -tnp.inf) if _is_bool(attn_mask) else logits + attn_mask
    weights = _dropout(_safe_softmax(logits), float(dropout_p), dropout_key, op)
    return tnp.matmul(weights, value)


__all__ = ["scaled_dot_product_attention"]
