"""``nn.MultiheadAttention``: PyTorch's module over the attention helpers of :mod:`tapegrad.nn.attention`.

Its boolean ``attn_mask`` and ``key_padding_mask`` follow PyTorch's module convention: ``True`` = the
position is **masked out** (``F.scaled_dot_product_attention``'s boolean mask is the opposite: ``True``
takes part); float masks are added to the logits. The dropout's randomness is ``dropout_key=`` in
``forward`` (``key`` is the keys tensor).

Example:
    >>> import tapegrad.numpy as tnp
    >>> mha = MultiheadAttention(8, 2)
    >>> out, w = mha(mha.init(0), tnp.ones((5, 3, 8)), tnp.ones((5, 3, 8)), tnp.ones((5, 3, 8)))
    >>> out.shape, w.shape
    ((5, 3, 8), (3, 5, 5))
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax

import tapegrad.numpy as tnp
from tapegrad.nn import functional as F
from tapegrad.nn import init
from tapegrad.nn.attention import _dropout, _is_bool, _safe_softmax, _shape
from tapegrad.nn.layers import Linear, param_dtype
from tapegrad.nn.module import Module

Array = Any
Params = Mapping[str, Any]


def _additive(mask: Array | None, name: str, dtype: Any) -> Array | None:
    """MultiheadAttention's masks as float additive masks: bool ``True`` (masked out) -> ``-inf``."""
    if mask is None:
        return None
    if _is_bool(mask):
        return tnp.where(mask, -tnp.inf, 0.0).astype(dtype)
    if not F._is_float(mask):
        raise TypeError(f"MultiheadAttention: only bool and floating types of {name} are supported, "
                        f"got {F._describe(mask)}")
    return tnp.asarray(mask).astype(dtype)


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention``: ``(attn_output, attn_weights)`` from query, key, value.

    Params as PyTorch's state_dict: ``in_proj_weight (3E, E)`` (or
    ``q_proj_weight``, ``k_proj_weight (E, kdim)``, ``v_proj_weight (E, vdim)``
    when ``kdim``/``vdim`` differ from ``embed_dim``), ``in_proj_bias (3E)``,
    ``bias_k``/``bias_v (1, 1, E)`` with ``add_bias_kv``, ``out_proj.weight``,
    ``out_proj.bias``. Inputs are ``(L, N, E)`` (``(N, L, E)`` with
    ``batch_first``) or unbatched ``(L, E)``. Boolean masks mark with ``True``
    what is **masked out**; float masks are added. ``attn_mask`` is ``(L, S)``
    or ``(N * num_heads, L, S)``, ``key_padding_mask`` ``(N, S)``.
    ``attn_weights`` (after dropout, as PyTorch's) are averaged over heads
    unless ``average_attn_weights=False``; ``None`` if not ``need_weights``.
    ``is_causal`` is PyTorch's hint: it still needs the causal ``attn_mask``.
    Dropout in training mode takes ``dropout_key=`` (``key`` is the keys tensor).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> mha = MultiheadAttention(8, 2, batch_first=True)
        >>> out, w = mha(mha.init(0), tnp.ones((3, 5, 8)), tnp.ones((3, 6, 8)), tnp.ones((3, 6, 8)))
        >>> out.shape, w.shape
        ((3, 5, 8), (3, 5, 6))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, *, dtype: Any = None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be between 0 and 1, got {dropout}")
        self.embed_dim = int(embed_dim)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self.qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.head_dim = self.embed_dim // self.num_heads
        self.use_bias = bool(bias)
        self.add_bias_kv = bool(add_bias_kv)
        self.add_zero_attn = bool(add_zero_attn)
        self.dtype = param_dtype(dtype)
        self.out_proj = Linear(self.embed_dim, self.embed_dim, bias=bias, dtype=self.dtype)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        # PyTorch's _reset_parameters: xavier_uniform projections, zero biases, xavier_normal bias_k/v
        # (out_proj.weight keeps Linear's default init; its bias is zeroed in init below).
        E, dt = self.embed_dim, self.dtype
        keys = jax.random.split(key, 5)
        params: dict[str, jax.Array] = {}
        if self.qkv_same_embed_dim:
            params["in_proj_weight"] = init.xavier_uniform(keys[0], (3 * E, E), dtype=dt)
        else:
            params["q_proj_weight"] = init.xavier_uniform(keys[0], (E, E), dtype=dt)
            params["k_proj_weight"] = init.xavier_uniform(keys[1], (E, self.kdim), dtype=dt)
            params["v_proj_weight"] = init.xavier_uniform(keys[2], (E, self.vdim), dtype=dt)
        if self.use_bias:
            params["in_proj_bias"] = init.zeros((3 * E,), dt)
        if self.add_bias_kv:
            params["bias_k"] = init.xavier_normal(keys[3], (1, 1, E), dtype=dt)
            params["bias_v"] = init.xavier_normal(keys[4], (1, 1, E), dtype=dt)
        return params

    def init(self, key: int | jax.Array) -> Any:
        params = super().init(key)
        if self.use_bias:
            params["out_proj"]["bias"] = init.zeros((self.embed_dim,), self.dtype)
        return params

    def _project(self, params: Params, query: Array, key: Array, value: Array) -> tuple[Array, Array, Array]:
        E = self.embed_dim
        b = params.get("in_proj_bias")
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self.qkv_same_embed_dim:
            w = params["in_proj_weight"]
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = params["q_proj_weight"], params["k_proj_weight"], params["v_proj_weight"]
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _check(self, query: Array, key: Array, value: Array) -> bool:
        qs, ks, vs = _shape(query), _shape(key), _shape(value)
        batched = len(qs) == 3
        ok = len(qs) in (2, 3) and len(ks) == len(vs) == len(qs) and qs[-1] == self.embed_dim \
            and ks[-1] == self.kdim and vs[-1] == self.vdim and ks[:-1] == vs[:-1]
        if ok and batched:
            bdim = 0 if self.batch_first else 1
            ok = qs[bdim] == ks[bdim]
        if not ok:
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ValueError(f"MultiheadAttention: expected query {layout} or (L, E) with E={self.embed_dim}, "
                             f"key and value of the same rank and sequence length with last dims kdim="
                             f"{self.kdim}, vdim={self.vdim}; got query {F._describe(query)}, key "
                             f"{F._describe(key)}, value {F._describe(value)}")
        return batched

    def forward(self, params: Params, query: Array, key: Array, value: Array, key_padding_mask: Array | None = None,
                need_weights: bool = True, attn_mask: Array | None = None, average_attn_weights: bool = True,
                is_causal: bool = False, *, dropout_key: Any = None, train: bool = True) -> tuple[Array, Any]:
        batched = self._check(query, key, value)
        if not batched:  # unbatched: a batch of one, dropped again at the end
            query, key, value = (tnp.expand_dims(t, 1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = tnp.expand_dims(key_padding_mask, 0)
        elif self.batch_first:  # internally (L, N, E), PyTorch's layout
            query, key, value = (tnp.swapaxes(t, 0, 1) for t in (query, key, value))
        L, N, E = _shape(query)
        S, H, D = _shape(key)[0], self.num_heads, self.head_dim
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: is_causal=True is a hint and needs the causal attn_mask "
                               "too (as PyTorch): pass attn_mask=nn.Transformer.generate_square_subsequent_mask(L)")
        q, k, v = self._project(params, query, key, value)
        dtype = tnp.result_type(q)
        mask = _additive(attn_mask, "attn_mask", dtype)
        if mask is not None:
            want = {(L, S), (N * H, L, S)}
            if _shape(mask) not in want:
                raise ValueError(f"MultiheadAttention: attn_mask must be (L, S) = {(L, S)} or (N * num_heads, L, "
                                 f"S) = {(N * H, L, S)}, got {F._describe(attn_mask)}")
            mask = tnp.reshape(mask, (1, L, S)) if tnp.ndim(mask) == 2 else mask
            if is_causal and key_padding_mask is None and not need_weights:
                # PyTorch then trusts the hint and runs SDPA with is_causal: the causal mask itself.
                mask = tnp.where(tnp.tril(tnp.ones((L, S), bool)), 0.0, -tnp.inf).astype(dtype)[None]
        kpm = _additive(key_padding_mask, "key_padding_mask", dtype)
        if kpm is not None and _shape(kpm) != (N, S):
            raise ValueError(f"MultiheadAttention: key_padding_mask must be (N, S) = {(N, S)}, got "
                             f"{F._describe(key_padding_mask)}")
        if self.add_bias_kv:  # one learned key/value appended to the sequence; the masks get a column
            k = tnp.concatenate([k, tnp.broadcast_to(params["bias_k"], (1, N, E))], axis=0)
            v = tnp.concatenate([v, tnp.broadcast_to(params["bias_v"], (1, N, E))], axis=0)
            mask = None if mask is None else tnp.pad(mask, ((0, 0), (0, 0), (0, 1)))
            kpm = None if kpm is None else tnp.pad(kpm, ((0, 0), (0, 1)))
            S += 1
        # (L, N, E) -> (N, H, L, D): head h reads features h*D ... (h+1)*D - 1, as PyTorch's view.
        q = tnp.transpose(tnp.reshape(q, (L, N, H, D)), (1, 2, 0, 3))
        k = tnp.transpose(tnp.reshape(k, (S, N, H, D)), (1, 2, 0, 3))
        v = tnp.transpose(tnp.reshape(v, (S, N, H, D)), (1, 2, 0, 3))
        if self.add_zero_attn:  # a zero key/value appended after the heads are split
            k = tnp.pad(k, ((0, 0), (0, 0), (0, 1), (0, 0)))
            v = tnp.pad(v, ((0, 0), (0, 0), (0, 1), (0, 0)))
            mask = None if mask is None else tnp.pad(mask, ((0, 0), (0, 0), (0, 1)))
            kpm = None if kpm is None else tnp.pad(kpm, ((0, 0), (0, 1)))
            S += 1
        total = None
        if mask is not None:
            total = tnp.reshape(mask, (N, H, L, S)) if _shape(mask)[0] == N * H else mask[None]
        if kpm is not None:
            total = kpm[:, None, None, :] if total is None else total + kpm[:, None, None, :]
        logits = tnp.matmul(q, tnp.swapaxes(k, -1, -2)) * (1.0 / math.sqrt(D))
        if total is not None:
            logits = logits + total
        weights = _safe_softmax(logits)
        if train and self.dropout > 0.0:
            weights = _dropout(weights, self.dropout, dropout_key, repr(self) + " in training mode")
        out = tnp.matmul(weights, v)                                           # (N, H, L, D)
        out = tnp.reshape(tnp.transpose(out, (2, 0, 1, 3)), (L, N, E))
        out = self.out_proj(params["out_proj"], out)
        if not batched:
            out = out[:, 0]
        elif self.batch_first:
            out = tnp.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = tnp.mean(weights, axis=1)
        return out, (weights[0] if not batched else weights)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        # PyTorch prints the out_proj child only (its extra_repr is empty).
        return (f"MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features={self.embed_dim}, "
                f"out_features={self.embed_dim}, bias={self.use_bias})\n)")


__all__ = ["MultiheadAttention"]
