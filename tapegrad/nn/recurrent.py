"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` and their cells, as PyTorch has them, on ``tg.lax.scan``.

Arguments, parameter names and shapes (``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0``, ``weight_hr_l0``, ``..._reverse``), the gate
order (LSTM ``i f g o``, GRU ``r z n``) and the initialisation
(U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) for every array) are PyTorch's,
so a torch ``state_dict`` loads with ``nn.load_state_dict``.

The time loop is one ``tg.lax.scan`` per layer and direction: the tape holds
one entry per loop, not one per step. As cuDNN does, the input projections of
all steps are one matmul before the loop, so the loop body is only the
recurrent matmul and the gate arithmetic.

Example:
    >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
    >>> lstm = nn.LSTM(10, 20, num_layers=2)
    >>> out, (h, c) = lstm(lstm.init(0), tnp.ones((5, 3, 10)))
    >>> out.shape, h.shape, c.shape
    ((5, 3, 20), (2, 3, 20), (2, 3, 20))
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.lax.scan import scan
from tapegrad.nn import functional as F
from tapegrad.nn import init
from tapegrad.nn.layers import param_dtype
from tapegrad.nn.module import Module, as_key
from tapegrad.rules.sharding import explicit_sharding

Params = Mapping[str, Any]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _uniform_params(key: jax.Array, shapes: dict[str, tuple[int, ...]], hidden_size: int,
                    dtype: Any) -> dict[str, jax.Array]:
    # PyTorch's reset_parameters: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)).
    k = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    return {name: init.uniform(jax.random.fold_in(key, i), shape, -k, k, dtype)
            for i, (name, shape) in enumerate(shapes.items())}


def _step(mode: str, xp: Any, h: Any, c: Any, w_hh: Any, b_hh: Any, w_hr: Any) -> tuple[Any, Any]:
    """One time step given the precomputed input projection ``xp``; returns ``(h, c)``.

    For RNN and LSTM ``b_hh`` is already folded into ``xp`` (``None`` here); GRU keeps
    its ``b_hn`` inside ``r * (W_hn h + b_hn)``, so its hidden projection carries it.
    """
    hp = F.linear(h, w_hh, b_hh)
    if mode == "RNN_TANH":
        return tnp.tanh(xp + hp), c
    if mode == "RNN_RELU":
        return F.relu(xp + hp), c
    hs = w_hh.shape[0] // _GATES[mode]
    if mode == "LSTM":
        g = xp + hp
        i, f = F.sigmoid(g[..., :hs]), F.sigmoid(g[..., hs:2 * hs])
        cand, o = tnp.tanh(g[..., 2 * hs:3 * hs]), F.sigmoid(g[..., 3 * hs:])
        c = f * c + i * cand
        h = o * tnp.tanh(c)
        return (h if w_hr is None else F.linear(h, w_hr)), c
    r = F.sigmoid(xp[..., :hs] + hp[..., :hs])
    z = F.sigmoid(xp[..., hs:2 * hs] + hp[..., hs:2 * hs])
    n = tnp.tanh(xp[..., 2 * hs:] + r * hp[..., 2 * hs:])
    return (1 - z) * n + z * h, c


def _input_projection(mode: str, x: Any, w_ih: Any, b_ih: Any, b_hh: Any) -> tuple[Any, Any]:
    """``x @ w_ih.T`` with the biases that can be folded in, for all steps at once; the bias left for the loop."""
    b = b_ih
    if b_hh is not None and mode != "GRU":
        b, b_hh = b_ih + b_hh, None
    return F.linear(x, w_ih, b), b_hh


def _check_input(who: str, x: Any, input_size: int, ndims: tuple[int, ...]) -> None:
    if x.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{who}: expected {want} input, got {x.ndim}-D input of shape {tuple(x.shape)}")
    if x.shape[-1] != input_size:
        raise ValueError(f"{who}: input.size(-1) must be equal to input_size. Expected {input_size}, "
                         f"got {x.shape[-1]} (input of shape {tuple(x.shape)})")


def _zero_state(shape: tuple[int, ...], x: Any, batch_axis: int) -> Any:
    """The default initial state: zeros, batch-sharded as ``x`` under an explicit mesh (a scan's
    carry must keep its type, and the step makes it sharded as the batch is)."""
    sharding = explicit_sharding(x)
    if sharding is None:
        return tnp.zeros(shape, dtype=x.dtype)
    spec = [None] * len(shape)
    spec[-2] = sharding.spec[batch_axis]
    return jnp.zeros(shape, x.dtype, out_sharding=sharding.update(spec=sharding.spec.update(partitions=tuple(spec))))


def _check_state(who: str, what: str, h: Any, expected: tuple[int, ...]) -> None:
    if tuple(h.shape) != expected:
        raise ValueError(f"{who}: expected {what} of shape {expected}, got {tuple(h.shape)}")


class _RNNBase(Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, *, dtype: Any = None) -> None:
        who = type(self).__name__
        if int(hidden_size) <= 0 or int(num_layers) <= 0:
            raise ValueError(f"{who}: hidden_size and num_layers must be positive, got hidden_size={hidden_size}, "
                             f"num_layers={num_layers}")
        if not 0.0 <= float(dropout) <= 1.0 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             f"element being zeroed, got {dropout}")
        if int(proj_size) < 0 or (proj_size and int(proj_size) >= int(hidden_size)):
            raise ValueError(f"{who}: proj_size must be in [0, hidden_size) = [0, {hidden_size}), got {proj_size}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{who}: proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), int(proj_size)
        self.dtype = param_dtype(dtype)

    @property
    def _dirs(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _out(self) -> int:
        return self.proj_size or self.hidden_size

    def _names(self, layer: int, suffix: str) -> dict[str, tuple[int, ...]]:
        g, hs = _GATES[self.mode] * self.hidden_size, self.hidden_size
        ins = self.input_size if layer == 0 else self._out * self._dirs
        shapes = {f"weight_ih_l{layer}{suffix}": (g, ins), f"weight_hh_l{layer}{suffix}": (g, self._out)}
        if self.bias:
            shapes[f"bias_ih_l{layer}{suffix}"] = (g,)
            shapes[f"bias_hh_l{layer}{suffix}"] = (g,)
        if self.proj_size:
            shapes[f"weight_hr_l{layer}{suffix}"] = (self.proj_size, hs)
        return shapes

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[:self._dirs]:
                shapes.update(self._names(layer, suffix))
        return _uniform_params(key, shapes, self.hidden_size, self.dtype)

    def _run(self, params: Params, x: Any, hx: Any, key: Any, train: bool) -> tuple[Any, Any, Any]:
        who = type(self).__name__
        x = tnp.asarray(x)
        _check_input(who, x, self.input_size, (2, 3))
        batched = x.ndim == 3
        if not batched:
            x = x[:, None]
        elif self.batch_first:
            x = tnp.swapaxes(x, 0, 1)
        batch = x.shape[1]
        lstm = self.mode == "LSTM"
        h0, c0 = (hx if lstm else (hx, None)) if hx is not None else (None, None)
        states = []
        for what, s, size in (("hx" if not lstm else "h_0", h0, self._out), ("c_0", c0, self.hidden_size)):
            if what == "c_0" and not lstm:
                continue
            full = (self.num_layers * self._dirs, batch, size)
            if s is None:
                s = _zero_state(full, x, 1)
            else:
                s = tnp.asarray(s)
                if not batched:
                    _check_state(who, what, s, full[:1] + full[2:])
                    s = s[:, None]
                _check_state(who, what, s, full)
            states.append(s)
        h0 = states[0]
        c0 = states[1] if lstm else None
        drop = self.dropout > 0.0 and train and self.num_layers > 1
        if drop and key is None:
            raise ValueError(f"{self!r} in training mode with dropout={self.dropout} needs a random key for the "
                             "dropout between layers: call it with key=<int seed or jax.random.key>, or with "
                             "train=False for evaluation")
        key = as_key(key) if drop else None
        hs_out, cs_out = [], []
        for layer in range(self.num_layers):
            if layer > 0 and drop:
                x = F.dropout(x, self.dropout, True, key=jax.random.fold_in(key, layer))
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:self._dirs]):
                idx = layer * self._dirs + d
                p = {n: params.get(n) for n in (f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}",
                                                f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}",
                                                f"weight_hr_l{layer}{suffix}")}
                w_ih, w_hh, b_ih, b_hh, w_hr = p.values()
                xp, b_loop = _input_projection(self.mode, x, w_ih, b_ih, b_hh)
                mode = self.mode

                def body(carry: Any, xt: Any, w_hh: Any = w_hh, b_loop: Any = b_loop, w_hr: Any = w_hr,
                         mode: str = mode) -> tuple[Any, Any]:
                    h, c = carry
                    h, c = _step(mode, xt, h, c, w_hh, b_loop, w_hr)
                    return (h, c), h

                c_init = c0[idx] if lstm else tnp.zeros((), dtype=x.dtype)
                (h, c), ys = scan(body, (h0[idx], c_init), xp, reverse=d == 1)
                outs.append(ys)
                hs_out.append(h)
                cs_out.append(c)
            x = outs[0] if len(outs) == 1 else tnp.concatenate(outs, axis=-1)
        h_n = tnp.stack(hs_out)
        c_n = tnp.stack(cs_out) if lstm else None
        if not batched:
            x = x[:, 0]
            h_n = h_n[:, 0]
            c_n = c_n[:, 0] if lstm else None
        elif self.batch_first:
            x = tnp.swapaxes(x, 0, 1)
        return x, h_n, c_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_RNNBase):
    """Elman RNN ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ``relu``), stacked.

    ``forward(params, x, hx=None, *, key=None, train=True) -> (output, h_n)``;
    ``x`` is ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``) or unbatched ``(L, H_in)``.
    Inter-layer ``dropout`` in training mode needs ``key=``.

    Example:
        >>> rnn = RNN(10, 20, 2)
        >>> out, h = rnn(rnn.init(0), tnp.ones((5, 3, 10)))
        >>> out.shape, h.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 *, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, dtype=dtype)

    def forward(self, params: Params, x: Any, hx: Any = None, *, key: Any = None,
                train: bool = True) -> tuple[Any, Any]:
        out, h, _ = self._run(params, x, hx, key, train)
        return out, h

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(_RNNBase):
    """Long short-term memory, stacked; ``proj_size > 0`` adds PyTorch's output projection ``weight_hr``.

    ``forward(params, x, hx=None, *, key=None, train=True) -> (output, (h_n, c_n))`` with
    ``hx = (h_0, c_0)`` optional. Gates ``i, f, g, o`` in that order, as PyTorch.

    Example:
        >>> lstm = LSTM(10, 20, batch_first=True)
        >>> out, (h, c) = lstm(lstm.init(0), tnp.ones((3, 5, 10)))
        >>> out.shape, h.shape
        ((3, 5, 20), (1, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 *, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype=dtype)

    def forward(self, params: Params, x: Any, hx: Any = None, *, key: Any = None,
                train: bool = True) -> tuple[Any, tuple[Any, Any]]:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"LSTM: hx must be a pair (h_0, c_0), got {type(hx).__name__}")
        out, h, c = self._run(params, x, hx, key, train)
        return out, (h, c)


class GRU(_RNNBase):
    """Gated recurrent unit, stacked: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1-z) n + z h``.

    ``forward(params, x, hx=None, *, key=None, train=True) -> (output, h_n)``; gates ``r, z, n``.

    Example:
        >>> gru = GRU(10, 20, bidirectional=True)
        >>> out, h = gru(gru.init(0), tnp.ones((5, 10)))
        >>> out.shape, h.shape
        ((5, 40), (2, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 *, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)

    def forward(self, params: Params, x: Any, hx: Any = None, *, key: Any = None,
                train: bool = True) -> tuple[Any, Any]:
        out, h, _ = self._run(params, x, hx, key, train)
        return out, h


class _CellBase(Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, dtype: Any) -> None:
        self.mode = mode
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        self.dtype = param_dtype(dtype)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        g = _GATES[self.mode] * self.hidden_size
        shapes = {"weight_ih": (g, self.input_size), "weight_hh": (g, self.hidden_size)}
        if self.bias:
            shapes.update(bias_ih=(g,), bias_hh=(g,))
        return _uniform_params(key, shapes, self.hidden_size, self.dtype)

    def _cell(self, params: Params, x: Any, h: Any, c: Any) -> tuple[Any, Any, bool]:
        who = type(self).__name__
        x = tnp.asarray(x)
        _check_input(who, x, self.input_size, (1, 2))
        batched = x.ndim == 2
        x = x if batched else x[None]
        full = (x.shape[0], self.hidden_size)
        states = []
        for what, s in (("hx", h), ("cx", c)):
            if what == "cx" and self.mode != "LSTM":
                states.append(None)
                continue
            if s is None:
                s = _zero_state(full, x, 0)
            else:
                s = tnp.asarray(s)
                _check_state(who, what, s, full if batched else full[1:])
                s = s if batched else s[None]
            states.append(s)
        xp, b_loop = _input_projection(self.mode, x, params["weight_ih"], params.get("bias_ih"),
                                       params.get("bias_hh"))
        h, c = _step(self.mode, xp, states[0], states[1], params["weight_hh"], b_loop, None)
        if not batched:
            h = h[0]
            c = c[0] if c is not None else None
        return h, c, batched

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """One Elman step ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ``relu``).

    Example:
        >>> cell = RNNCell(10, 20)
        >>> cell(cell.init(0), tnp.ones((3, 10))).shape
        (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 *, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias,
                         dtype)

    def forward(self, params: Params, x: Any, hx: Any = None) -> Any:
        return self._cell(params, x, hx, None)[0]


class LSTMCell(_CellBase):
    """One LSTM step: ``(h', c') = cell(params, x, (h, c))``; ``hx`` defaults to zeros.

    Example:
        >>> cell = LSTMCell(10, 20)
        >>> h, c = cell(cell.init(0), tnp.ones(10))
        >>> h.shape, c.shape
        ((20,), (20,))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, dtype)

    def forward(self, params: Params, x: Any, hx: Any = None) -> tuple[Any, Any]:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise TypeError(f"LSTMCell: hx must be a pair (h_0, c_0), got {type(hx).__name__}")
        h, c = (None, None) if hx is None else hx
        h, c, _ = self._cell(params, x, h, c)
        return h, c


class GRUCell(_CellBase):
    """One GRU step ``h' = (1 - z) * n + z * h`` (gates ``r, z, n``, PyTorch's order).

    Example:
        >>> cell = GRUCell(10, 20)
        >>> cell(cell.init(0), tnp.ones((3, 10))).shape
        (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, dtype)

    def forward(self, params: Params, x: Any, hx: Any = None) -> Any:
        return self._cell(params, x, hx, None)[0]
