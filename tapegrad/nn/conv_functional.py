"""PyTorch's transposed convolutions, ``conv3d``, 1-d pools and adaptive pools over the conv and pool primitives.

A transposed convolution is the existing ``conv`` primitive with the input dilated by the
stride (``lhs_dilation``), the kernel flipped and its in/out roles swapped per group;
``conv``'s own rules (transposed convolutions again) give every order. The 1-d pools run
the 2-d pool primitives on an ``H = 1`` view. Adaptive averages are ``avg_pool2d`` where
the windows divide evenly, else a contraction with a constant matrix of window weights per
axis (separable). The adaptive maximum is the one new primitive
(``tapegrad.rules.conv.adaptive_max_pool2d``): it picks PyTorch's element per window and
returns its index, and its rule scatters to that index as ``max_pool2d``'s does.

Example:
    >>> import jax.numpy as jnp
    >>> conv_transpose1d(jnp.ones((1, 1, 3)), jnp.ones((1, 1, 2)), stride=2).tolist()
    [[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]]
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn import functional_base as F
from tapegrad.rules import conv as _conv

Array = Any


def _ntuple(value: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    return F._ntuple(value, n, name, op)


def _conv_transpose_nd(op: str, n: int, input: Array, weight: Array, bias: Array | None, stride: Any,
                       padding: Any, output_padding: Any, groups: int, dilation: Any) -> Array:
    nd_in = tnp.ndim(input)
    x = F._conv_batch(op, n, input, weight, groups, "in_channels, out_channels/groups, *kernel")
    cin, og = tnp.shape(weight)[:2]
    if tnp.shape(x)[1] != cin or cin % groups:
        raise ValueError(f"{op}: input has {tnp.shape(x)[1]} channels but weight {F._describe(weight)} expects "
                         f"{cin} (divisible by groups={groups})")
    s = _ntuple(stride, n, "stride", op)
    p = _ntuple(padding, n, "padding", op)
    op_ = _ntuple(output_padding, n, "output_padding", op)
    d = _ntuple(dilation, n, "dilation", op)
    if min(s) < 1 or min(d) < 1 or min(p) < 0 or min(op_) < 0:
        raise ValueError(f"{op}: stride and dilation must be positive, padding and output_padding non-negative, "
                         f"got stride={s}, padding={p}, output_padding={op_}, dilation={d}")
    if any(o >= max(si, di) for o, si, di in zip(op_, s, d)):
        raise ValueError(f"{op}: output_padding must be smaller than either stride or dilation, got "
                         f"output_padding={op_}, stride={s}, dilation={d}")
    ksp = tuple(tnp.shape(weight)[2:])
    sizes = [(i - 1) * si - 2 * pi + di * (k - 1) + oi + 1
             for i, si, pi, di, k, oi in zip(tnp.shape(x)[2:], s, p, d, ksp, op_)]
    if min(sizes) < 1:
        raise ValueError(f"{op}: output size {tuple(sizes)} is not positive: input {F._describe(input)}, "
                         f"weight {F._describe(weight)}, stride={s}, padding={p}, dilation={d}")
    # (in, out/g, k) -> per group (out/g, in/g) roles swapped -> (out, in/g, k), kernel flipped.
    w = tnp.reshape(weight, (groups, cin // groups, og) + ksp)
    w = tnp.swapaxes(w, 1, 2)
    w = tnp.reshape(w, (groups * og, cin // groups) + ksp)
    w = tnp.flip(w, tuple(range(2, n + 2)))
    pads = tuple((di * (k - 1) - pi, di * (k - 1) - pi + oi) for di, k, pi, oi in zip(d, ksp, p, op_))
    dt = tnp.result_type(x, weight)
    out = _conv.conv(tnp.astype(x, dt), tnp.astype(w, dt), strides=(1,) * n, padding=pads, lhs_dilation=s,
                     rhs_dilation=d, groups=int(groups))
    if bias is not None:
        if tuple(tnp.shape(bias)) != (groups * og,):
            raise ValueError(f"{op}: bias must have shape ({groups * og},), got {F._describe(bias)}")
        out = out + tnp.reshape(bias, (groups * og,) + (1,) * n)
    return out if nd_in == n + 2 else tnp.squeeze(out, 0)


def conv_transpose1d(input: Array, weight: Array, bias: Array | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Array:
    """1-d transposed convolution; ``weight`` (C_in, C_out/groups, k), PyTorch's argument order.

    ``L_out = (L - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1``.

    Example:
        >>> import jax.numpy as jnp
        >>> conv_transpose1d(jnp.ones((2, 4, 5)), jnp.ones((4, 3, 3)), stride=2).shape
        (2, 3, 11)
    """
    return _conv_transpose_nd("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                              groups, dilation)


def conv_transpose2d(input: Array, weight: Array, bias: Array | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Array:
    """2-d transposed convolution; ``weight`` (C_in, C_out/groups, kH, kW).

    Example:
        >>> import jax.numpy as jnp
        >>> conv_transpose2d(jnp.ones((1, 4, 5, 5)), jnp.ones((4, 2, 3, 3)), stride=2, padding=1,
        ...                  output_padding=1).shape
        (1, 2, 10, 10)
    """
    return _conv_transpose_nd("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                              groups, dilation)


def conv_transpose3d(input: Array, weight: Array, bias: Array | None = None, stride: int | Sequence[int] = 1,
                     padding: int | Sequence[int] = 0, output_padding: int | Sequence[int] = 0, groups: int = 1,
                     dilation: int | Sequence[int] = 1) -> Array:
    """3-d transposed convolution; ``weight`` (C_in, C_out/groups, kD, kH, kW).

    Example:
        >>> import jax.numpy as jnp
        >>> conv_transpose3d(jnp.ones((1, 2, 3, 3, 3)), jnp.ones((2, 1, 2, 2, 2)), stride=2).shape
        (1, 1, 6, 6, 6)
    """
    return _conv_transpose_nd("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding,
                              groups, dilation)


def conv3d(input: Array, weight: Array, bias: Array | None = None, stride: int | Sequence[int] = 1,
           padding: int | Sequence[int] | str = 0, dilation: int | Sequence[int] = 1, groups: int = 1) -> Array:
    """3-d cross-correlation: ``input`` (N, C_in, D, H, W), ``weight`` (C_out, C_in/groups, kD, kH, kW).

    Example:
        >>> import jax.numpy as jnp
        >>> conv3d(jnp.ones((1, 2, 5, 5, 5)), jnp.ones((3, 2, 3, 3, 3))).shape
        (1, 3, 3, 3, 3)
    """
    return F._conv_nd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


# ---- 1-d pools: the 2-d primitives on an H = 1 view ------------------------------------

def _pool1d_args(op: str, input: Array, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool) -> tuple[Array, tuple, tuple, tuple, tuple]:
    """Check a 1-d pool's arguments under its own name; return the (N, C, 1, L) view and 2-d params."""
    if tnp.ndim(input) not in (2, 3):
        raise ValueError(f"{op}: expected 2-d (C, L) or 3-d (N, C, L) input, got {F._describe(input)}")
    k = _ntuple(kernel_size, 1, "kernel_size", op)
    s = k if stride is None or (not isinstance(stride, (int, np.integer)) and len(stride) == 0) else \
        _ntuple(stride, 1, "stride", op)
    p = _ntuple(padding, 1, "padding", op)
    d = _ntuple(dilation, 1, "dilation", op)
    return F._pool_args(op, tnp.expand_dims(input, -2), (1,) + k, (1,) + s, (0,) + p, (1,) + d, ceil_mode)


def max_pool1d(input: Array, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Array | tuple[Array, Array]:
    """1-d max pooling over (N, C, L) or (C, L); ``return_indices`` gives indices into ``L``.

    Example:
        >>> import jax.numpy as jnp
        >>> max_pool1d(jnp.arange(6.0).reshape(1, 1, 6), 2).tolist()
        [[[1.0, 3.0, 5.0]]]
    """
    x, k, s, p, d = _pool1d_args("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode)
    out, idx = _conv.max_pool2d(x, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
    out, idx = tnp.squeeze(out, 2), idx[:, :, 0]  # with H = 1 the flat index is the index into L
    if tnp.ndim(input) == 2:
        out, idx = tnp.squeeze(out, 0), idx[0]
    return (out, idx) if return_indices else out


def avg_pool1d(input: Array, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None,
               padding: int | Sequence[int] = 0, ceil_mode: bool = False, count_include_pad: bool = True) -> Array:
    """1-d average pooling over (N, C, L) or (C, L) with PyTorch's divisors.

    Example:
        >>> import jax.numpy as jnp
        >>> avg_pool1d(jnp.arange(6.0).reshape(1, 1, 6), 2).tolist()
        [[[0.5, 2.5, 4.5]]]
    """
    x, k, s, p, _ = _pool1d_args("avg_pool1d", input, kernel_size, stride, padding, 1, ceil_mode)
    out = tnp.squeeze(_conv.avg_pool2d(x, kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode,
                                       count_include_pad=count_include_pad, divisor_override=None), 2)
    return tnp.squeeze(out, 0) if tnp.ndim(input) == 2 else out


# ---- adaptive pools ---------------------------------------------------------------------

def _adaptive_args(op: str, input: Array, output_size: Any, n: int) -> tuple[int, ...]:
    if tnp.ndim(input) not in (n + 1, n + 2):
        raise ValueError(f"{op}: expected {n + 1}-d or {n + 2}-d input, got {F._describe(input)}")
    if not F._is_float(input):
        raise TypeError(f"{op}: input must be floating point, got {F._describe(input)}")
    sizes = (output_size,) * n if isinstance(output_size, (int, np.integer)) or output_size is None \
        else tuple(output_size)
    if len(sizes) == 1:
        sizes = sizes * n
    if len(sizes) != n or not all(v is None or isinstance(v, (int, np.integer)) for v in sizes):
        raise ValueError(f"{op}: output_size must be an int or {n} ints (None keeps a size), got {output_size!r}")
    sp = tnp.shape(input)[-n:]
    out = tuple(int(sp[i]) if sizes[i] is None else int(sizes[i]) for i in range(n))
    if min(out) < 1 or min(sp) < 1:
        raise ValueError(f"{op}: output_size {out} and input sizes {tuple(sp)} must be positive "
                         f"(input {F._describe(input)})")
    return out


def _adaptive_avg(op: str, input: Array, output_size: Any, n: int) -> Array:
    out = _adaptive_args(op, input, output_size, n)
    x = input
    for ax, m in zip(range(-n, 0), out):
        size = tnp.shape(x)[ax]
        if size % m == 0 and n <= 2:
            continue  # equal, disjoint windows: left to one avg_pool2d below
        mat = np.zeros((size, m))
        for j, (a, b) in enumerate(_conv.adaptive_windows(size, m)):
            mat[a:b, j] = 1.0 / (b - a)
        # Overlapping or unequal windows along one axis: a contraction with a constant matrix of
        # window weights (the rectangle average is the product of the per-axis averages).
        x = tnp.moveaxis(tnp.tensordot(x, tnp.asarray(mat, dtype=tnp.result_type(x)), axes=((ax,), (0,))), -1, ax)
    sp = tuple(tnp.shape(x)[-n:])
    if sp != out:
        # The rest divides evenly: windows of size // m at stride size // m (PyTorch's divisor).
        k = (1,) * (2 - n) + tuple(s // m for s, m in zip(sp, out))
        lead = tuple(tnp.shape(x)[:-n])
        planes = tnp.reshape(x, (-1, 1) + (1,) * (2 - n) + sp)
        pooled = _conv.avg_pool2d(planes, kernel_size=k, stride=k, padding=(0, 0), ceil_mode=False,
                                  count_include_pad=True, divisor_override=None)
        x = tnp.reshape(pooled, lead + out)
    return x


def adaptive_avg_pool1d(input: Array, output_size: int | Sequence[int]) -> Array:
    """Average over PyTorch's adaptive windows along the last axis of (N, C, L) or (C, L).

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_avg_pool1d(jnp.arange(5.0).reshape(1, 1, 5), 2).tolist()
        [[[1.0, 3.0]]]
    """
    return _adaptive_avg("adaptive_avg_pool1d", input, output_size, 1)


def adaptive_avg_pool2d(input: Array, output_size: int | None | Sequence[int | None]) -> Array:
    """Average over PyTorch's adaptive windows on (N, C, H, W) or (C, H, W).

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_avg_pool2d(jnp.ones((1, 3, 7, 5)), (2, None)).shape
        (1, 3, 2, 5)
    """
    return _adaptive_avg("adaptive_avg_pool2d", input, output_size, 2)


def adaptive_avg_pool3d(input: Array, output_size: int | None | Sequence[int | None]) -> Array:
    """Average over PyTorch's adaptive windows on (N, C, D, H, W) or (C, D, H, W).

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_avg_pool3d(jnp.ones((1, 2, 4, 6, 5)), 2).shape
        (1, 2, 2, 2, 2)
    """
    return _adaptive_avg("adaptive_avg_pool3d", input, output_size, 3)


def _adaptive_max(op: str, input: Array, output_size: Any, n: int, return_indices: bool) -> Any:
    out = _adaptive_args(op, input, output_size, n)
    lead = tuple(tnp.shape(input)[:-n])
    view = input if n == 2 else tnp.expand_dims(input, -2)  # 1-d: an H = 1 plane
    x = tnp.reshape(view, (-1, 1) + tuple(tnp.shape(view)[-2:]))  # every plane its own channel
    val, idx = _conv.adaptive_max_pool2d(x, output_size=(1,) * (2 - n) + out)
    val, idx = tnp.reshape(val, lead + out), tnp.reshape(idx, lead + out)
    return (val, idx) if return_indices else val


def adaptive_max_pool1d(input: Array, output_size: int | Sequence[int],
                        return_indices: bool = False) -> Array | tuple[Array, Array]:
    """Maximum over PyTorch's adaptive windows along the last axis of (N, C, L) or (C, L).

    The gradient goes to the element chosen, the first maximum (or the last NaN) as in PyTorch;
    ``return_indices`` gives its index into ``L``.

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_max_pool1d(jnp.array([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), 2).tolist()
        [[[5.0, 3.0]]]
    """
    return _adaptive_max("adaptive_max_pool1d", input, output_size, 1, return_indices)


def adaptive_max_pool2d(input: Array, output_size: int | None | Sequence[int | None],
                        return_indices: bool = False) -> Array | tuple[Array, Array]:
    """Maximum over PyTorch's adaptive windows on (N, C, H, W) or (C, H, W).

    The gradient goes to the element chosen, the first maximum in row-major order (or the last
    NaN) as in PyTorch; ``return_indices`` gives its flat index into the ``H*W`` plane.

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_max_pool2d(jnp.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _adaptive_max("adaptive_max_pool2d", input, output_size, 2, return_indices)
