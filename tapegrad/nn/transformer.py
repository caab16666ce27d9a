"""PyTorch's transformer layers: ``TransformerEncoderLayer``, ``TransformerDecoderLayer``, their stacks
``TransformerEncoder`` / ``TransformerDecoder``, and ``Transformer``.

Compositions of :class:`~tapegrad.nn.MultiheadAttention`, ``Linear``, ``LayerNorm`` and ``Dropout``
with PyTorch's arguments, defaults, children and therefore ``state_dict`` keys
(``self_attn.in_proj_weight``, ``linear1.weight``, ``norm1.weight``, ``layers.0.…``), so a torch
state dict loads with ``nn.load_state_dict``. Masks follow ``MultiheadAttention``: a boolean mask
marks with ``True`` what is **masked out**, a float mask is added to the attention logits.

Randomness and mode as every tapegrad module: ``forward(..., *, key=None, train=True)``. In training
mode with ``dropout > 0`` a ``key`` (int seed or ``jax.random`` key) is required; each dropout site
(attention weights, the feed-forward's hidden layer, the residual branches) gets
``jax.random.fold_in(key, i)``, and layer ``i`` of a stack gets ``fold_in(key, i)``.

Two deliberate differences from PyTorch, both in what PyTorch refuses or leaves unspecified:

* ``is_causal=True`` with no mask applies the causal mask (PyTorch's documentation says so; its code
  raises there). With a mask, ``is_causal`` is a hint, as in PyTorch: the mask given is used.
* The layers of a stack are initialised from their own keys; PyTorch deep-copies one initialised
  layer, so its layers start equal. Both draw every layer from the same distribution.

Example:
    >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
    >>> layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
    >>> encoder = nn.TransformerEncoder(layer, num_layers=2)
    >>> params = encoder.init(0)
    >>> encoder(params, tnp.ones((3, 5, 16)), is_causal=True, train=False).shape
    (3, 5, 16)
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn import functional as F
from tapegrad.nn import init
from tapegrad.nn.attention_layers import MultiheadAttention
from tapegrad.nn.layers import Dropout, Linear, param_dtype
from tapegrad.nn.module import Module, ModuleList, as_key
from tapegrad.nn.norm_layers import LayerNorm

Array = Any
Params = Mapping[str, Any]

_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation: str | Callable, who: str) -> str | Callable:
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise RuntimeError(f"{who}: activation should be relu/gelu, not {activation}")
        return activation
    if not callable(activation):
        raise TypeError(f"{who}: activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def generate_square_subsequent_mask(sz: int, dtype: Any = None) -> Array:
    """The float causal mask ``(sz, sz)``: ``-inf`` above the diagonal, ``0`` elsewhere (float32 by default).

    As ``torch.nn.Transformer.generate_square_subsequent_mask`` (also reachable under that name).

    Example:
        >>> generate_square_subsequent_mask(3).tolist()
        [[0.0, -inf, -inf], [0.0, 0.0, -inf], [0.0, 0.0, 0.0]]
    """
    dt = param_dtype(dtype)
    return tnp.triu(tnp.full((sz, sz), -np.inf, dtype=dt), k=1)


def _seq_len(x: Array, batch_first: bool) -> int:
    shape = tuple(tnp.shape(x))
    return shape[0] if len(shape) == 2 or not batch_first else shape[1]


def _causal(mask: Array | None, is_causal: bool | None, size: int) -> tuple[Array | None, bool]:
    """``(mask, is_causal)`` for the attention call: a causal mask built where only the hint was given."""
    if is_causal and mask is None:
        return generate_square_subsequent_mask(size), True
    return mask, bool(is_causal)


class _Layer(Module):
    """What the encoder and decoder layers share: the feed-forward block, the activation, the keys."""

    _n_dropouts = 0

    def _setup(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float, layer_norm_eps: float,
               batch_first: bool, norm_first: bool, bias: bool, dtype: Any) -> None:
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be between 0 and 1, got {dropout}")
        self.d_model, self.nhead, self.dim_feedforward = int(d_model), int(nhead), int(dim_feedforward)
        self.dropout_p = float(dropout)
        self.layer_norm_eps = float(layer_norm_eps)
        self.batch_first, self.norm_first, self.use_bias = bool(batch_first), bool(norm_first), bool(bias)
        self.dtype = param_dtype(dtype)

    def _keys(self, key: Any, train: bool) -> list[Any]:
        """One key per dropout site (``None`` when nothing is random)."""
        if not train or self.dropout_p == 0.0:
            return [None] * self._n_dropouts
        if key is None:
            raise ValueError(f"{type(self).__name__} in training mode with dropout={self.dropout_p} needs a "
                             "random key: call it with key=<int seed or jax.random.key>, or with train=False "
                             "for evaluation (or build it with dropout=0.0)")
        base = as_key(key)
        return [jax.random.fold_in(base, i) for i in range(self._n_dropouts)]

    def _act(self, params: Params, x: Array) -> Array:
        act = self.activation
        if isinstance(act, str):
            return _ACTIVATIONS[act](x)
        if isinstance(act, Module):
            return act(params["activation"], x)
        return act(x)

    def _ff_block(self, params: Params, x: Array, k_hidden: Any, k_out: Any, train: bool) -> Array:
        h = self._act(params, self.linear1(params["linear1"], x))
        h = self._drop(h, k_hidden, train)  # the `dropout` child
        return self._drop(self.linear2(params["linear2"], h), k_out, train)

    def _drop(self, x: Array, key: Any, train: bool) -> Array:
        # The residual-branch dropouts: all have the layer's p (Dropout children hold no params).
        return x if key is None else F.dropout(x, self.dropout_p, train, key=key)

    def _attend(self, attn: MultiheadAttention, params: Params, q: Array, kv: Array, mask: Array | None,
                kpm: Array | None, is_causal: bool, key: Any, train: bool) -> Array:
        return attn(params, q, kv, kv, key_padding_mask=kpm, need_weights=False, attn_mask=mask,
                    is_causal=is_causal, dropout_key=key, train=train)[0]


class TransformerEncoderLayer(_Layer):
    """Self-attention and a feed-forward block, each with a residual connection and a LayerNorm.

    ``norm_first=False`` (post-norm, PyTorch's default): ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``;
    ``norm_first=True`` (pre-norm): ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``.
    ``forward(params, src, src_mask=None, src_key_padding_mask=None, is_causal=False, *, key=None,
    train=True)`` with ``src`` ``(S, N, E)`` (``(N, S, E)`` with ``batch_first``) or unbatched ``(S, E)``;
    ``src_mask`` ``(S, S)`` or ``(N * nhead, S, S)``, ``src_key_padding_mask`` ``(N, S)``.
    ``activation`` is ``'relu'``, ``'gelu'``, a function, or a module (then a child, as in PyTorch).

    Example:
        >>> import tapegrad.nn as nn
        >>> layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
        >>> [name for name, _ in nn.named_parameters(layer.init(0))][:4]
        ['self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias']
    """

    _n_dropouts = 4  # attention weights, hidden, dropout1, dropout2

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Array], Array] = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, *,
                 dtype: Any = None) -> None:
        self._setup(d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first, bias,
                    dtype)
        # Children in PyTorch's registration order, which is the state_dict's order.
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=self.dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=self.dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=self.dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=self.dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=self.dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerEncoderLayer")

    def forward(self, params: Params, src: Array, src_mask: Array | None = None,
                src_key_padding_mask: Array | None = None, is_causal: bool = False, *, key: Any = None,
                train: bool = True) -> Array:
        k_attn, k_hidden, k1, k2 = self._keys(key, train)
        mask, is_causal = _causal(src_mask, is_causal, _seq_len(src, self.batch_first))

        def sa(x: Array) -> Array:
            y = self._attend(self.self_attn, params["self_attn"], x, x, mask, src_key_padding_mask, is_causal,
                             k_attn, train)
            return self._drop(y, k1, train)

        x = src
        if self.norm_first:
            x = x + sa(self.norm1(params["norm1"], x))
            return x + self._ff_block(params, self.norm2(params["norm2"], x), k_hidden, k2, train)
        x = self.norm1(params["norm1"], x + sa(x))
        return self.norm2(params["norm2"], x + self._ff_block(params, x, k_hidden, k2, train))

    def extra_repr(self) -> str:
        return ""


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention over ``memory``, and a feed-forward block, each with a residual and a LayerNorm.

    ``forward(params, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False, *, key=None, train=True)``;
    ``norm_first`` as in :class:`TransformerEncoderLayer`.

    Example:
        >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
        >>> layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
        >>> layer(layer.init(0), tnp.ones((4, 2, 8)), tnp.ones((6, 2, 8)), tgt_is_causal=True).shape
        (4, 2, 8)
    """

    _n_dropouts = 6  # self-attention weights, cross-attention weights, hidden, dropout1..3

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Array], Array] = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, *,
                 dtype: Any = None) -> None:
        self._setup(d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first, norm_first, bias,
                    dtype)
        mha = dict(dropout=dropout, batch_first=batch_first, bias=bias, dtype=self.dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, **mha)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **mha)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=self.dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=self.dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=self.dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=self.dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=self.dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, "TransformerDecoderLayer")

    def forward(self, params: Params, tgt: Array, memory: Array, tgt_mask: Array | None = None,
                memory_mask: Array | None = None, tgt_key_padding_mask: Array | None = None,
                memory_key_padding_mask: Array | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False, *, key: Any = None, train: bool = True) -> Array:
        k_sa, k_mha, k_hidden, k1, k2, k3 = self._keys(key, train)
        t_mask, tgt_is_causal = _causal(tgt_mask, tgt_is_causal, _seq_len(tgt, self.batch_first))
        if memory_is_causal and memory_mask is None:
            memory_mask = generate_square_subsequent_mask(_seq_len(tgt, self.batch_first))

        def sa(x: Array) -> Array:
            y = self._attend(self.self_attn, params["self_attn"], x, x, t_mask, tgt_key_padding_mask,
                             tgt_is_causal, k_sa, train)
            return self._drop(y, k1, train)

        def mha(x: Array) -> Array:
            y = self._attend(self.multihead_attn, params["multihead_attn"], x, memory, memory_mask,
                             memory_key_padding_mask, False, k_mha, train)
            return self._drop(y, k2, train)

        x = tgt
        if self.norm_first:
            x = x + sa(self.norm1(params["norm1"], x))
            x = x + mha(self.norm2(params["norm2"], x))
            return x + self._ff_block(params, self.norm3(params["norm3"], x), k_hidden, k3, train)
        x = self.norm1(params["norm1"], x + sa(x))
        x = self.norm2(params["norm2"], x + mha(x))
        return self.norm3(params["norm3"], x + self._ff_block(params, x, k_hidden, k3, train))

    def extra_repr(self) -> str:
        return ""


def _stack_keys(key: Any, n: int, train: bool) -> list[Any]:
    if key is None or not train:
        return [None] * n
    base = as_key(key)
    return [jax.random.fold_in(base, i) for i in range(n)]


class TransformerEncoder(Module):
    """``num_layers`` encoder layers (children ``layers.0`` …), then ``norm`` if given.

    ``forward(params, src, mask=None, src_key_padding_mask=None, is_causal=None, *, key=None, train=True)``.
    ``enable_nested_tensor`` and ``mask_check`` are accepted for porting and change nothing (PyTorch's
    nested-tensor fast path is an inference optimisation with the same result, except that it zeroes
    the outputs at padded positions).

    Example:
        >>> import tapegrad.nn as nn
        >>> enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 3, norm=nn.LayerNorm(8))
        >>> sorted({name.split(".")[0] for name, _ in nn.named_parameters(enc.init(0))})
        ['layers', 'norm']
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be an nn.Module, got "
                            f"{type(encoder_layer).__name__}")
        self.layers = ModuleList([encoder_layer] * int(num_layers))  # immutable: sharing the config is safe
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor = bool(enable_nested_tensor)
        self.mask_check = bool(mask_check)

    def forward(self, params: Params, src: Array, mask: Array | None = None,
                src_key_padding_mask: Array | None = None, is_causal: bool | None = None, *, key: Any = None,
                train: bool = True) -> Array:
        x = src
        for i, (layer, k) in enumerate(zip(self.layers, _stack_keys(key, self.num_layers, train), strict=True)):
            x = layer(params["layers"][str(i)], x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal), key=k, train=train)
        return x if self.norm is None else self.norm(params["norm"], x)


class TransformerDecoder(Module):
    """``num_layers`` decoder layers (children ``layers.0`` …), then ``norm`` if given.

    ``forward(params, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False, *, key=None, train=True)``.

    Example:
        >>> import tapegrad.nn as nn
        >>> dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2)
        >>> len(dec.layers)
        2
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        if not isinstance(decoder_layer, Module):
            raise TypeError(f"TransformerDecoder: decoder_layer must be an nn.Module, got "
                            f"{type(decoder_layer).__name__}")
        self.layers = ModuleList([decoder_layer] * int(num_layers))
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(self, params: Params, tgt: Array, memory: Array, tgt_mask: Array | None = None,
                memory_mask: Array | None = None, tgt_key_padding_mask: Array | None = None,
                memory_key_padding_mask: Array | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False, *, key: Any = None, train: bool = True) -> Array:
        x = tgt
        for i, (layer, k) in enumerate(zip(self.layers, _stack_keys(key, self.num_layers, train), strict=True)):
            x = layer(params["layers"][str(i)], x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal, key=k, train=train)
        return x if self.norm is None else self.norm(params["norm"], x)


class Transformer(Module):
    """PyTorch's ``nn.Transformer``: an encoder and a decoder stack, each closed by a LayerNorm.

    Every parameter with more than one dimension is initialised ``xavier_uniform``, as PyTorch's
    ``_reset_parameters`` does. ``forward(params, src, tgt, src_mask=None, tgt_mask=None,
    memory_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None, memory_is_causal=False, *,
    key=None, train=True)``.

    Example:
        >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
        >>> model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
        ...                        dim_feedforward=16, dropout=0.0)
        >>> mask = nn.Transformer.generate_square_subsequent_mask(4)
        >>> model(model.init(0), tnp.ones((5, 2, 8)), tnp.ones((4, 2, 8)), tgt_mask=mask).shape
        (4, 2, 8)
    """

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Array], Array] = "relu", custom_encoder: Module | None = None,
                 custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, *, dtype: Any = None) -> None:
        layer = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                     layer_norm_eps=layer_norm_eps, batch_first=batch_first, norm_first=norm_first, bias=bias,
                     dtype=dtype)
        self.encoder = custom_encoder if custom_encoder is not None else TransformerEncoder(
            TransformerEncoderLayer(d_model, nhead, **layer), num_encoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self.decoder = custom_decoder if custom_decoder is not None else TransformerDecoder(
            TransformerDecoderLayer(d_model, nhead, **layer), num_decoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self.d_model, self.nhead, self.batch_first = int(d_model), int(nhead), bool(batch_first)

    def init(self, key: int | jax.Array) -> Any:
        params = super().init(key)
        base = jax.random.fold_in(as_key(key), 0x7A)  # apart from the children's fold_in(key, i + 1)
        count = iter(range(1 << 30))

        def reset(node: Any) -> Any:
            for k, v in list(node.items()):
                if isinstance(v, Mapping):
                    reset(v)
                elif np.ndim(v) > 1:  # leaf number n (definition order) draws from fold_in(base, n)
                    node[k] = init.xavier_uniform(jax.random.fold_in(base, next(count)), tuple(np.shape(v)),
                                                  dtype=v.dtype)
            return node

        return reset(params)

    def forward(self, params: Params, src: Array, tgt: Array, src_mask: Array | None = None,
                tgt_mask: Array | None = None, memory_mask: Array | None = None,
                src_key_padding_mask: Array | None = None, tgt_key_padding_mask: Array | None = None,
                memory_key_padding_mask: Array | None = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False, *, key: Any = None,
                train: bool = True) -> Array:
        ss, ts = tuple(tnp.shape(src)), tuple(tnp.shape(tgt))
        bdim = 0 if self.batch_first else 1
        if len(ss) != len(ts) or (len(ss) == 3 and ss[bdim] != ts[bdim]):
            raise RuntimeError(f"Transformer: the batch number of src and tgt must be equal, got src "
                               f"{F._describe(src)} and tgt {F._describe(tgt)} (batch_first={self.batch_first})")
        if ss[-1] != self.d_model or ts[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature number of src and tgt must be equal to d_model="
                               f"{self.d_model}, got src {F._describe(src)} and tgt {F._describe(tgt)}")
        k_enc, k_dec = _stack_keys(key, 2, train)
        memory = self.encoder(params["encoder"], src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal, key=k_enc, train=train)
        return self.decoder(params["decoder"], tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal, key=k_dec, train=train)


__all__ = ["Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerEncoderLayer", "generate_square_subsequent_mask"]
