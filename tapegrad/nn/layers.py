"""Dense, shape, activation, dropout and embedding layers, and the loss modules.

Each layer has PyTorch's name, arguments, defaults, parameter names/shapes and
``repr``; ``layer(params, x)`` is a pure call into :mod:`tapegrad.nn.functional`.

Example:
    >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
    >>> linear = nn.Linear(20, 30)
    >>> params = linear.init(0)
    >>> linear(params, tnp.ones((128, 20))).shape
    (128, 30)
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn import functional as F
from tapegrad.nn import init
from tapegrad.nn.module import Module, as_key

Params = Mapping[str, Any]


def param_dtype(dtype: Any) -> np.dtype:
    """The parameter dtype: float32 by default, as PyTorch's (independent of ``jax_enable_x64``)."""
    return np.dtype(init.DEFAULT_DTYPE if dtype is None else dtype)


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` ``(out_features, in_features)``.

    Example:
        >>> Linear(20, 30).init(0)["weight"].shape
        (30, 20)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, dtype: Any = None) -> None:
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.bias = bool(bias)
        self.dtype = param_dtype(dtype)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        kw, kb = jax.random.split(key)
        shape = (self.out_features, self.in_features)
        params = {"weight": init.default_weight(kw, shape, self.dtype)}
        if self.bias:
            params["bias"] = init.default_bias(kb, shape, self.dtype)
        return params

    def forward(self, params: Params, x: Any) -> Any:
        return F.linear(x, params["weight"], params.get("bias"))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias}"


class Identity(Module):
    """Returns its input unchanged (a placeholder, as ``torch.nn.Identity``).

    Example:
        >>> Identity()({}, 3)
        3
    """

    def forward(self, params: Params, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flattens dimensions ``start_dim`` … ``end_dim`` into one.

    Example:
        >>> Flatten()({}, tnp.ones((2, 1, 28, 28))).shape
        (2, 784)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, params: Params, x: Any) -> Any:
        shape = tuple(x.shape)
        nd = max(len(shape), 1)  # a 0-d input flattens to shape (1,), as torch.flatten
        start = self.start_dim + nd if self.start_dim < 0 else self.start_dim
        end = self.end_dim + nd if self.end_dim < 0 else self.end_dim
        if not (0 <= start < nd and 0 <= end < nd):
            raise IndexError(f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) is out of range "
                             f"for an input of shape {shape}")
        if start > end:
            raise ValueError("flatten() has invalid args: start_dim cannot come after end_dim")
        if not shape:
            return tnp.reshape(x, (1,))
        return tnp.reshape(x, shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class ReLU(Module):
    """``max(x, 0)``. ``inplace`` is accepted for porting and changes nothing (arrays are immutable).

    Example:
        >>> ReLU()({}, tnp.asarray([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = bool(inplace)

    def forward(self, params: Params, x: Any) -> Any:
        return F.relu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``.

    Example:
        >>> float(Sigmoid()({}, 0.0))
        0.5
    """

    def forward(self, params: Params, x: Any) -> Any:
        return F.sigmoid(x)


class Tanh(Module):
    """``tanh(x)``.

    Example:
        >>> float(Tanh()({}, 0.0))
        0.0
    """

    def forward(self, params: Params, x: Any) -> Any:
        return F.tanh(x)


class GELU(Module):
    """Gaussian error linear unit; ``approximate="tanh"`` for the tanh approximation.

    Example:
        >>> GELU()
        GELU(approximate='none')
    """

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, params: Params, x: Any) -> Any:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


def _legacy_softmax_dim(name: str, ndim: int) -> int:
    # PyTorch's implicit choice for dim=None (deprecated there too, with the same warning).
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", UserWarning, stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """``exp(x) / sum(exp(x), dim)``.

    Example:
        >>> Softmax(dim=1)({}, tnp.zeros((1, 2))).tolist()
        [[0.5, 0.5]]
    """

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def forward(self, params: Params, x: Any) -> Any:
        dim = _legacy_softmax_dim("softmax", x.ndim) if self.dim is None else self.dim
        return F.softmax(x, dim=dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``log(softmax(x, dim))``, computed stably.

    Example:
        >>> LogSoftmax(dim=1)
        LogSoftmax(dim=1)
    """

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def forward(self, params: Params, x: Any) -> Any:
        dim = _legacy_softmax_dim("log_softmax", x.ndim) if self.dim is None else self.dim
        return F.log_softmax(x, dim=dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Dropout(Module):
    """Zeroes each element with probability ``p`` and scales the rest by ``1 / (1 - p)``.

    ``forward(params, x, *, key=None, train=True)``: training mode needs a
    ``key`` (an int seed or a ``jax.random`` key); ``train=False`` is the identity.

    Example:
        >>> drop = Dropout(0.5)
        >>> drop({}, tnp.ones(4), train=False).tolist()
        [1.0, 1.0, 1.0, 1.0]
        >>> drop({}, tnp.ones(4), key=0).shape
        (4,)
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)
        self.inplace = bool(inplace)

    def forward(self, params: Params, x: Any, *, key: Any = None, train: bool = True) -> Any:
        if not train or self.p == 0.0:
            return tnp.asarray(x)  # a JAX array (or the tracer itself), as in training mode
        if key is None:
            raise ValueError(f"{self!r} in training mode needs a random key: call it with key=<int seed or "
                             "jax.random.key> (a custom forward must pass key= on), or with train=False "
                             "for evaluation")
        return F.dropout(x, self.p, True, key=as_key(key))

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table ``weight[indices]``, ``weight`` ``(num_embeddings, embedding_dim)`` ~ N(0, 1).

    The ``padding_idx`` row is initialised to zero and gets no gradient.

    Example:
        >>> emb = Embedding(10, 3, padding_idx=0)
        >>> emb(emb.init(0), tnp.asarray([[0, 2]])).shape
        (1, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *,
                 dtype: Any = None) -> None:
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError("Padding_idx must be within num_embeddings")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        self.dtype = param_dtype(dtype)

    def init_params(self, key: jax.Array) -> dict[str, jax.Array]:
        weight = init.normal(key, (self.num_embeddings, self.embedding_dim), dtype=self.dtype)
        if self.padding_idx is not None:
            weight = weight.at[self.padding_idx].set(0)
        return {"weight": weight}

    def forward(self, params: Params, x: Any) -> Any:
        return F.embedding(x, params["weight"], padding_idx=self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


# --- losses: called as loss_fn(input, target), no params ----------------------------------------


_REDUCTIONS = ("mean", "sum", "none")


def _constant(name: str, value: Any) -> np.ndarray | None:
    # Class weights are configuration: kept as a read-only NumPy copy, never a traced array.
    if value is None:
        return None
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.array(value)
    except Exception as e:  # e.g. a tapegrad Tracer: a loss weight cannot be a differentiated input
        raise TypeError(f"{name} must be a constant array, got {type(value).__name__}: {e}") from None
    arr.flags.writeable = False
    return arr


class _Loss(Module):
    """Base of the loss modules: ``loss_fn(input, target)`` (no params argument)."""

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{reduction} is not a valid value for reduction (use 'mean', 'sum' or 'none')")
        self.reduction = reduction

    def __call__(self, input: Any, target: Any) -> Any:  # noqa: A002 (PyTorch's argument name)
        return self.forward(input, target)

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} has no params or state; call it as loss_fn(input, target)")


class CrossEntropyLoss(_Loss):
    """``F.cross_entropy`` over logits ``(N, C, ...)`` and class indices or probabilities.

    Example:
        >>> loss_fn = CrossEntropyLoss()
        >>> round(float(loss_fn(tnp.zeros((2, 4)), tnp.asarray([1, 3]))), 4)  # log(4)
        1.3863
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.weight = _constant("CrossEntropyLoss weight", weight)
        self.ignore_index = int(ignore_index)
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """``F.nll_loss`` over log-probabilities ``(N, C, ...)`` and class indices.

    Example:
        >>> float(NLLLoss()(tnp.asarray([[-1.0, -2.0]]), tnp.asarray([1])))
        2.0
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = _constant("NLLLoss weight", weight)
        self.ignore_index = int(ignore_index)

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(_Loss):
    """Mean (or summed) squared error.

    Example:
        >>> float(MSELoss()(tnp.asarray([1.0, 3.0]), tnp.asarray([1.0, 1.0])))
        2.0
    """

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.mse_loss(input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, computed stably; optional ``weight`` and ``pos_weight``.

    Example:
        >>> round(float(BCEWithLogitsLoss()(tnp.zeros(2), tnp.ones(2))), 4)
        0.6931
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.weight = _constant("BCEWithLogitsLoss weight", weight)
        self.pos_weight = _constant("BCEWithLogitsLoss pos_weight", pos_weight)

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "GELU", "Identity",
           "Linear", "LogSoftmax", "MSELoss", "NLLLoss", "ReLU", "Sigmoid", "Softmax", "Tanh"]
