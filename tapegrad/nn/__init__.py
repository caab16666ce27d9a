"""``tapegrad.nn``: stateless PyTorch-style modules over explicit, state_dict-shaped params.

A module is immutable configuration; ``params = model.init(key)`` is a nested
dict named like PyTorch's ``state_dict``; ``model(params, x)`` is pure.
``nn.functional`` (alias ``nn.F``) holds the pure ops. See
:mod:`tapegrad.nn.module` for key splitting, ``key=``/``train=`` and the
BatchNorm state pattern (``y, params = model.apply(params, x, train=True)``).

Example:
    >>> import tapegrad.nn as nn, tapegrad.numpy as tnp
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    >>> params = model.init(0)
    >>> model(params, tnp.ones((2, 1, 28, 28))).shape
    (2, 10)
"""
# ruff: noqa: I001  (functional first: the layers are built on it)
from tapegrad.nn import functional
from tapegrad.nn import init
from tapegrad.nn.module import (
    Module, ModuleDict, ModuleList, Sequential, as_key, load_state_dict, merge, named_parameters, state_dict,
)
from tapegrad.nn.layers import (
    BCEWithLogitsLoss, CrossEntropyLoss, Dropout, Embedding, Flatten, GELU, Identity, Linear, LogSoftmax,
    MSELoss, NLLLoss, ReLU, Sigmoid, Softmax, Tanh,
)
from tapegrad.nn.conv_layers import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
    AvgPool2d, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, MaxPool1d, MaxPool2d,
)
from tapegrad.nn.resample_layers import (
    CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d, Fold, PixelShuffle,
    PixelUnshuffle, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d,
    ReplicationPad3d, Unfold, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d, ZeroPad1d, ZeroPad2d, ZeroPad3d,
)
from tapegrad.nn.norm_layers import (
    BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, LayerNorm, RMSNorm,
)
from tapegrad.nn.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from tapegrad.nn.attention_layers import MultiheadAttention
from tapegrad.nn.transformer import (
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer,
)
from tapegrad.nn.loss_layers import (
    BCELoss, CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss, HuberLoss, KLDivLoss, L1Loss, MarginRankingLoss,
    PoissonNLLLoss, SmoothL1Loss, TripletMarginLoss,
)
from tapegrad.nn.activation_layers import (
    CELU, ELU, GLU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, Mish, PReLU, ReLU6, SELU, SiLU,
    Softplus, Softsign, Tanhshrink, Threshold,
)
# jax.nn's functions under their JAX names (`import tapegrad.nn as jnn`).
from tapegrad.nn.jax_nn import (
    celu, dot_product_attention, elu, gelu, glu, hard_sigmoid, hard_silu, hard_swish, hard_tanh, leaky_relu,
    log_sigmoid, log_softmax, logsumexp, mish, one_hot, relu, relu6, selu, sigmoid, silu, soft_sign, softmax,
    softplus, squareplus, standardize, swish,
    identity, log1mexp, logmeanexp, sparse_plus, sparse_sigmoid, tanh,
)

from tapegrad.nn import utils
from tapegrad.nn.utils import count_parameters

F = functional

__all__ = [
    "AvgPool2d", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "CrossEntropyLoss",
    "Dropout", "Embedding", "F", "Flatten", "GELU", "Identity", "LayerNorm", "Linear", "LogSoftmax",
    "MSELoss", "MaxPool2d", "Module", "ModuleList", "NLLLoss", "ReLU", "Sequential", "Sigmoid", "Softmax",
    "Tanh", "as_key", "functional", "init", "load_state_dict", "merge", "named_parameters", "state_dict",
    "CELU", "ELU", "GLU", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU", "LogSigmoid", "Mish", "PReLU",
    "ReLU6", "SELU", "SiLU", "Softplus", "Softsign", "Tanhshrink", "Threshold",
    "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AvgPool1d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "MaxPool1d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "Fold",
    "PixelShuffle", "PixelUnshuffle", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "Unfold", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ModuleDict", "count_parameters", "utils",
    "MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
    "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm",
    "BCELoss", "CTCLoss", "CosineEmbeddingLoss", "GaussianNLLLoss", "HuberLoss", "KLDivLoss", "L1Loss",
    "MarginRankingLoss", "PoissonNLLLoss", "SmoothL1Loss", "TripletMarginLoss",
    "celu", "dot_product_attention", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "log_sigmoid", "log_softmax", "logsumexp", "mish", "one_hot", "relu", "relu6",
    "selu", "sigmoid", "silu", "soft_sign", "softmax", "softplus", "squareplus", "standardize", "swish",
    "identity", "log1mexp", "logmeanexp", "sparse_plus", "sparse_sigmoid", "tanh",
]
