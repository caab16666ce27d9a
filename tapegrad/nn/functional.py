"""``tapegrad.nn.functional``: PyTorch's ``torch.nn.functional`` names on tapegrad arrays.

Pure functions with PyTorch's argument names, defaults and layouts (NCW, NCHW,
class axis 1), differentiable by every tapegrad transform. Convolution and
pooling are primitives with their own VJP rules (``tapegrad.rules.conv``);
everything else is composed from ``tnp`` ops in numerically stable forms.

Two deliberate differences from PyTorch, both forced by pure functions:
``dropout`` takes its randomness as ``key=`` (a ``jax.random`` key or an int
seed), and ``batch_norm(training=True)`` returns ``(out, new_running_mean,
new_running_var)`` instead of updating buffers in place.

This module is the public face: the functions live in
:mod:`tapegrad.nn.functional_base` (the core ones and the shared checks) and in the families built
on it (``activations``, ``attention``, ``conv_functional``, ``losses``, ``norm``, ``resample``);
the layers sit above, calling the functions through this module.

Example:
    >>> import jax.numpy as jnp
    >>> import tapegrad.nn.functional as F
    >>> F.conv1d(jnp.ones((10, 3, 50)), jnp.ones((6, 3, 5))).shape
    (10, 6, 46)
"""
from __future__ import annotations

from tapegrad.core import scope as _scope
from tapegrad.nn.activations import (
    celu,
    elu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    logsigmoid,
    mish,
    prelu,
    relu6,
    selu,
    silu,
    softplus,
    softsign,
    tanhshrink,
    threshold,
)
from tapegrad.nn.attention import scaled_dot_product_attention
from tapegrad.nn.conv_functional import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    max_pool1d,
)
from tapegrad.nn.functional_base import (
    _describe,  # noqa: F401  (the layers' error messages: F._describe)
    _is_float,  # noqa: F401
    _reduction,  # noqa: F401  (the loss modules' legacy size_average/reduce)
    avg_pool2d,
    batch_norm,
    binary_cross_entropy_with_logits,
    conv1d,
    conv2d,
    cross_entropy,
    dropout,
    embedding,
    gelu,
    layer_norm,
    linear,
    log_softmax,
    max_pool2d,
    mse_loss,
    nll_loss,
    one_hot,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from tapegrad.nn.losses import (
    binary_cross_entropy,
    cosine_embedding_loss,
    cosine_similarity,
    ctc_loss,
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    pairwise_distance,
    poisson_nll_loss,
    smooth_l1_loss,
    triplet_margin_loss,
)
from tapegrad.nn.norm import group_norm, instance_norm, normalize, rms_norm
from tapegrad.nn.resample import fold, interpolate, pad, pixel_shuffle, pixel_unshuffle, unfold

__all__ = [
    "avg_pool2d", "batch_norm", "binary_cross_entropy_with_logits", "conv1d", "conv2d", "cross_entropy",
    "dropout", "embedding", "gelu", "layer_norm", "linear", "log_softmax", "max_pool2d", "mse_loss",
    "nll_loss", "one_hot", "relu", "sigmoid", "softmax", "tanh",
    "celu", "elu", "glu", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu", "logsigmoid", "mish", "prelu",
    "relu6", "selu", "silu", "softplus", "softsign", "tanhshrink", "threshold",
    "scaled_dot_product_attention",
    "group_norm", "instance_norm", "normalize", "rms_norm",
    "binary_cross_entropy", "cosine_embedding_loss", "cosine_similarity", "ctc_loss", "gaussian_nll_loss",
    "huber_loss", "kl_div", "l1_loss", "margin_ranking_loss", "pairwise_distance", "poisson_nll_loss",
    "smooth_l1_loss", "triplet_margin_loss",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "avg_pool1d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "max_pool1d", "fold", "interpolate", "pad", "pixel_shuffle", "pixel_unshuffle", "unfold",
]

# Every F function names the primitives it records (core.scope): drawings and print(tape) then say `relu`,
# `linear`, `cross_entropy`, not their primitives. Rebinding the names here covers every call made through F,
# the layers' included (they call F.linear), at one tuple push per call. functional_base scoped its own functions
# already (so its internal calls nest): this wraps the families' functions and leaves those as they are.
_scope.scope_functions(globals(), __all__)
