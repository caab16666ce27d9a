"""PyTorch's ``F.pad``, ``F.interpolate``, ``F.unfold``/``F.fold`` and ``F.pixel_shuffle`` as compositions.

No new primitive. Each is linear in the input and built from ops whose rules exist:

* ``pad``: ``tnp.pad`` for ``constant``; the other modes concatenate slices of the edges
  (broadcast, reversed or wrapped), after a slice for negative pads.
* ``interpolate``: separable, one axis at a time; each output position reads a few input
  positions (1 for nearest, 2 for linear, 4 for bicubic) with constant weights from
  PyTorch's index formulas. When the pattern repeats with a short period (integer and
  simple rational scales: the common case) an axis is a few strided slices of the
  edge-replicated input, interleaved; otherwise a product with the (n_in, n_out) weight
  matrix (small axes) or ``take`` gathers. ``area`` is ``adaptive_avg_pool``.
* ``unfold``: one gather of every window's taps from the padded, flattened planes;
  ``fold`` is its transpose, one scatter-add (``.at[].add``) and a crop.
* ``pixel_shuffle``/``pixel_unshuffle``: a reshape, a transpose and a reshape.

Their modules (``Upsample``, ``PixelShuffle``, ``Fold``, ``ReflectionPad2d``, ...) are in
:mod:`tapegrad.nn.resample_layers`.

Example:
    >>> import jax.numpy as jnp
    >>> interpolate(jnp.array([[[0.0, 1.0]]]), scale_factor=2, mode="linear").tolist()
    [[[0.0, 0.25, 0.75, 1.0]]]
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import tapegrad.numpy as tnp
from tapegrad.nn import conv_functional as C
from tapegrad.nn import functional_base as F

Array = Any

__all__ = ["fold", "interpolate", "pad", "pixel_shuffle", "pixel_unshuffle", "unfold"]


# ---- pad ---------------------------------------------------------------------------------

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Array, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Array:
    """Pad the last ``len(pad) // 2`` dimensions; ``pad`` is ``(left, right, top, bottom, ...)``
    from the last dimension backwards, as in PyTorch. Negative entries crop.

    ``mode``: ``'constant'`` (with ``value``, default 0, any dimensions), ``'reflect'`` (the edge
    is not repeated), ``'replicate'`` or ``'circular'``; the last three pad the trailing 1, 2 or 3
    dimensions of a batched or unbatched input, as PyTorch allows.

    Example:
        >>> import jax.numpy as jnp
        >>> pad(jnp.array([[[1.0, 2.0, 3.0]]]), (2, 1), mode="reflect").tolist()
        [[[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]]
    """
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    pads = tuple(pad)
    if not all(isinstance(p, (int, np.integer)) for p in pads):
        raise TypeError(f"pad: pad must be a sequence of ints, got {pad!r}")
    nd = tnp.ndim(input)
    if len(pads) % 2:
        raise ValueError(f"pad: padding length must be divisible by 2, got pad={pads}")
    k = len(pads) // 2
    if k > nd:
        raise ValueError(f"pad: padding length should be at most twice the input dimension, got pad={pads} "
                         f"for input {F._describe(input)}")
    if mode != "constant":
        if value is not None:
            raise ValueError(f"pad: mode {mode!r} does not take a value")
        if k not in (1, 2, 3) or nd not in (k + 1, k + 2):
            raise NotImplementedError(
                f"pad: mode {mode!r} pads the last 1, 2 or 3 dimensions of a (C, *) or (N, C, *) input: padding "
                f"size {len(pads)} is not supported for input {F._describe(input)}")
    shape = tuple(tnp.shape(input))
    # pad[2i], pad[2i+1] belong to dimension nd - 1 - i.
    widths = [(0, 0)] * nd
    for i in range(k):
        widths[nd - 1 - i] = (int(pads[2 * i]), int(pads[2 * i + 1]))
    # Negative pads crop first (PyTorch pads what remains).
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(widths, shape))
    cropped = [n - max(-lo, 0) - max(-hi, 0) for (lo, hi), n in zip(widths, shape)]
    if min(cropped, default=1) < 0:
        raise ValueError(f"pad: the negative padding {pads} leaves a negative size {tuple(cropped)} of input "
                         f"{F._describe(input)}")
    x = input[crop] if any(lo < 0 or hi < 0 for lo, hi in widths) else input
    widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    for d, ((lo, hi), n) in enumerate(zip(widths, cropped)):
        if mode == "reflect" and (lo >= n or hi >= n) and (lo or hi):
            raise ValueError(f"pad: reflect padding {(lo, hi)} must be smaller than the size {n} of dimension "
                             f"{d} of input {F._describe(input)}")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"pad: circular padding {(lo, hi)} would wrap around dimension {d} (size {n}) more "
                             f"than once, input {F._describe(input)}")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise ValueError(f"pad: cannot replicate-pad the empty dimension {d} of input {F._describe(input)}")
    if not any(lo or hi for lo, hi in widths):
        return tnp.asarray(x)
    if mode == "constant":
        return tnp.pad(x, widths, mode="constant", constant_values=0.0 if value is None else value)
    for axis, (lo, hi) in enumerate(widths):
        if lo or hi:
            x = _pad_axis(x, axis, lo, hi, mode)
    return x


def _take_slice(x: Array, axis: int, start: int, stop: int, step: int = 1) -> Array:
    return x[(slice(None),) * axis + (slice(start, stop, step),)]


def _pad_axis(x: Array, axis: int, lo: int, hi: int, mode: str) -> Array:
    """One axis of a non-constant pad as a concatenation of slices (edge slices broadcast, or
    reversed): their rules are pads, sums and slices, which XLA fuses, where a general index map's
    rule would be a scatter-add (several times slower on CPU)."""
    n = tnp.shape(x)[axis]
    if mode == "replicate":
        def edge(i: int, count: int) -> Array:
            piece = _take_slice(x, axis, i, i + 1)
            shape = list(tnp.shape(piece))
            shape[axis] = count
            return tnp.broadcast_to(piece, tuple(shape))
        before, after = edge(0, lo), edge(n - 1, hi)
    elif mode == "reflect":
        before = tnp.flip(_take_slice(x, axis, 1, lo + 1), axis)
        after = tnp.flip(_take_slice(x, axis, n - 1 - hi, n - 1), axis)
    else:  # circular
        before, after = _take_slice(x, axis, n - lo, n), _take_slice(x, axis, 0, hi)
    return tnp.concatenate([p for p, w in ((before, lo), (x, 1), (after, hi)) if w], axis=axis)


# ---- interpolate --------------------------------------------------------------------------

_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _source(n_in: int, n_out: int, align_corners: bool, scale: float | None, cubic: bool) -> np.ndarray:
    """PyTorch's ``area_pixel_compute_source_index`` for every output position, in float64."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        return s * dst
    s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    src = s * (dst + 0.5) - 0.5
    return src if cubic else np.maximum(src, 0.0)


def _taps(mode: str, n_in: int, n_out: int, align_corners: bool, scale: float | None, dim: int
          ) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """``[(index, weight)]``: output ``j`` along one axis is ``sum_t w_t[j] * x[index_t[j]]``
    (``weight`` None: 1). Empty when the axis is left unchanged."""
    if mode == "nearest" and dim == 2 and n_out in (n_in, 2 * n_in):
        # PyTorch's 2-d nearest kernel (not its 1-d and 3-d ones) special-cases a kept size (a copy)
        # and a doubled one (index // 2), whatever the scale factor says.
        return [] if n_out == n_in else [(np.arange(n_out) // 2, None)]
    if mode in ("nearest", "nearest-exact"):
        # PyTorch computes these in float32 (``floorf(dst * scale)``), which decides the ties.
        s = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n_in) / np.float32(n_out)
        dst = np.arange(n_out, dtype=np.float32) + np.float32(0.5 if mode == "nearest-exact" else 0.0)
        index = np.minimum(np.floor(dst * s).astype(np.int64), n_in - 1)
        return [] if n_out == n_in and np.array_equal(index, np.arange(n_in)) else [(index, None)]
    cubic = mode == "bicubic"
    if n_out == n_in and not cubic:
        return []  # PyTorch's linear kernels copy an axis whose size is kept, whatever the scale factor
    src = _source(n_in, n_out, align_corners, scale, cubic)
    if n_out == n_in and np.array_equal(src, np.arange(n_in)):
        return []  # every output on its own input position
    # PyTorch floors the float32 rounding of the source position (``floorf``); so does this.
    i0 = np.floor(src.astype(np.float32)).astype(np.int64)
    if not cubic:
        i0 = np.minimum(i0, n_in - 1)
        lam = np.clip(src - i0, 0.0, 1.0)
        i1 = i0 + (i0 < n_in - 1)
        return [(i0, 1.0 - lam), (i1, lam)]
    weights = _cubic_weights(src - i0)
    return [(np.clip(i0 - 1 + j, 0, n_in - 1), w) for j, w in enumerate(weights)]


def _cubic_weights(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """PyTorch's cubic convolution weights (A = -0.75) of the taps at -1, 0, 1, 2 from ``floor(src)``."""
    a = -0.75

    def near(x: np.ndarray) -> np.ndarray:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: np.ndarray) -> np.ndarray:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


_MAX_PHASES = 16  # the longest output period read as strided slices (one slice per phase and tap)
_MAX_DENSE = 1 << 16  # n_in * n_out up to which a non-periodic axis is a matrix product


def _periodic(mode: str, n_in: int, n_out: int, align_corners: bool, scale: float | None,
              taps: list[tuple[np.ndarray, np.ndarray | None]]) -> tuple[int, int, list] | None:
    """``(p, q, phases)`` when output ``k*p + r`` reads inputs ``k*q + offset`` with phase ``r``'s
    weights: ``phases[r] = [(offset, weight), ...]``, offsets into the edge-replicated input.

    Nearest modes: read off the exact integer indices. Linear and cubic: the source position is
    affine in the output index, ``src = s*j + b``, so a period exists when ``s*p`` is an integer;
    the taps then come from the unclamped positions, and replicating the edges reproduces
    PyTorch's clamping (the same linear map, to rounding).
    """
    if mode in ("nearest", "nearest-exact"):
        idx = taps[0][0]
        for p in range(1, min(_MAX_PHASES, n_out) + 1):
            q = int(idx[p] - idx[0]) if p < n_out else 1
            if q >= 1 and np.all(idx[p:] - idx[:-p] == q):
                return p, q, [[(int(idx[r]), None)] for r in range(p)]
        return None
    if align_corners:
        s_, b = ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0), 0.0
    else:
        s_ = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        b = 0.5 * s_ - 0.5
    for p in range(1, min(_MAX_PHASES, n_out) + 1):
        q = round(s_ * p)
        if q >= 1 and abs(s_ * p - q) < 1e-9 * max(1.0, q):
            break
    else:
        return None
    phases = []
    for r in range(p):
        src = s_ * r + b
        i0 = math.floor(src)
        t = np.array([src - i0])
        if mode != "bicubic":
            phases.append([(i0, 1.0 - float(t[0])), (i0 + 1, float(t[0]))])
        else:
            ws = _cubic_weights(t)
            phases.append([(i0 - 1 + j, float(w[0])) for j, w in enumerate(ws)])
    return p, q, phases


def _apply_periodic(x: Array, axis: int, n_out: int, p: int, q: int, phases: list) -> Array:
    """Each phase as a sum of strided slices of the edge-replicated input, interleaved."""
    n = tnp.shape(x)[axis]
    k = -(-n_out // p)  # outputs per phase (the last period may be partial: cropped below)
    first = min(off for ph in phases for off, _ in ph)
    last = max(off for ph in phases for off, _ in ph) + (k - 1) * q
    lo, hi = max(0, -first), max(0, last - (n - 1))
    xp = _pad_axis(x, axis, lo, hi, "replicate") if lo or hi else x
    parts = []
    for ph in phases:
        acc = None
        for off, w in ph:
            if w is not None and w == 0.0:
                continue
            piece = _take_slice(xp, axis, off + lo, off + lo + (k - 1) * q + 1, q)
            if w is not None and w != 1.0:
                piece = piece * w
            acc = piece if acc is None else acc + piece
        parts.append(acc)
    if p == 1:
        out = parts[0]
    else:
        out = tnp.stack(parts, axis=axis + 1)
        shape = tuple(tnp.shape(out))
        out = tnp.reshape(out, shape[:axis] + (k * p,) + shape[axis + 2:])
    return out if k * p == n_out else _take_slice(out, axis, 0, n_out)


def _resample_axis(x: Array, axis: int, taps: list[tuple[np.ndarray, np.ndarray | None]], mode: str,
                   n_out: int, align_corners: bool, scale: float | None) -> Array:
    """One axis resampled by the cheapest exact form: strided slices when the map is periodic, else a
    product with the (n_in, n_out) matrix for small axes, else gathers (whose rule is a scatter-add)."""
    n_in = tnp.shape(x)[axis]
    periodic = _periodic(mode, n_in, n_out, align_corners, scale, taps)
    if periodic is not None:
        return _apply_periodic(x, axis, n_out, *periodic)
    dt = tnp.result_type(x)
    if n_in * n_out <= _MAX_DENSE:
        mat = np.zeros((n_in, n_out))
        for index, weight in taps:
            np.add.at(mat, (index, np.arange(n_out)), 1.0 if weight is None else weight)
        out = tnp.tensordot(x, tnp.asarray(mat, dtype=dt), axes=((axis,), (0,)))
        return tnp.moveaxis(out, -1, axis)
    bshape = (-1,) + (1,) * (tnp.ndim(x) - axis - 1)
    live = [(i, w) for i, w in taps if w is None or w.any()]  # skip taps no output reads
    out = None
    for index, weight in live or taps[:1]:
        part = tnp.take(x, index, axis=axis, mode="clip")
        if weight is not None and not np.all(weight == 1.0):
            part = part * tnp.asarray(weight.reshape(bshape), dtype=dt)
        out = part if out is None else out + part
    return out


def interpolate(input: Array, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Array:
    """Resize the spatial dimensions of an (N, C, *spatial) input to ``size`` or by ``scale_factor``.

    ``mode``: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-d input), ``'bilinear'`` and
    ``'bicubic'`` (4-d), ``'trilinear'`` (5-d), or ``'area'`` (adaptive average pooling), with
    PyTorch's index formulas, ``align_corners`` and ``scale_factor`` semantics (given scale
    factors set the sampling step unless ``recompute_scale_factor``). ``antialias`` is not
    supported.

    Example:
        >>> import jax.numpy as jnp
        >>> interpolate(jnp.arange(4.0).reshape(1, 1, 2, 2), size=(3, 3), mode="bilinear",
        ...             align_corners=True)[0, 0].tolist()
        [[0.0, 0.5, 1.0], [1.0, 1.5, 2.0], [2.0, 2.5, 3.0]]
    """
    modes = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
    if mode not in modes:
        raise ValueError(f"interpolate: mode must be one of {', '.join(modes)}, got {mode!r}")
    nd = tnp.ndim(input)
    if nd not in (3, 4, 5):
        raise ValueError(f"interpolate: expected a 3-d, 4-d or 5-d (N, C, *spatial) input for mode {mode!r}, "
                         f"got {F._describe(input)}")
    if not F._is_float(input):
        raise TypeError(f"interpolate: input must be floating point, got {F._describe(input)}")
    dim = nd - 2
    if mode in _DIMS and _DIMS[mode] != dim:
        raise ValueError(f"interpolate: mode {mode!r} needs a {_DIMS[mode] + 2}-d input, got {F._describe(input)}")
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError("interpolate: align_corners can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    else:
        align_corners = bool(align_corners)
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    spatial = tuple(tnp.shape(input)[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    scales: tuple[float, ...] | None = None
    if size is not None:
        out = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dim
        if len(out) != dim:
            raise ValueError(f"interpolate: input with spatial dimensions {list(spatial)} needs an output size "
                             f"of {dim} values, got size={size!r}")
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size")
        out = tuple(int(o) for o in out)
    elif scale_factor is not None:
        scales = tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (tuple, list)) \
            else (float(scale_factor),) * dim
        if len(scales) != dim:
            raise ValueError(f"interpolate: input with spatial dimensions {list(spatial)} needs {dim} scale "
                             f"factors, got scale_factor={scale_factor!r}")
        out = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
        if recompute_scale_factor or mode == "area":
            scales = None  # the step is then in/out, as for an explicit size
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if min(out) < 1 or min(spatial) < 1:
        raise ValueError(f"interpolate: input {F._describe(input)} and output sizes {out} must be positive")
    if mode == "area":
        return C._adaptive_avg("interpolate", input, out, dim)
    x = input
    for i in range(dim):
        sc = None if scales is None else scales[i]
        taps = _taps(mode, spatial[i], out[i], bool(align_corners), sc, dim)
        if taps:
            x = _resample_axis(x, 2 + i, taps, mode, out[i], bool(align_corners), sc)
    return tnp.asarray(x)


# ---- unfold / fold ------------------------------------------------------------------------

def _block_args(op: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple[tuple, ...]:
    k = F._ntuple(kernel_size, 2, "kernel_size", op)
    d = F._ntuple(dilation, 2, "dilation", op)
    p = F._ntuple(padding, 2, "padding", op)
    s = F._ntuple(stride, 2, "stride", op)
    if min(k) < 1 or min(d) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size, dilation and stride must be positive and padding non-negative, "
                         f"got kernel_size={k}, dilation={d}, padding={p}, stride={s}")
    return k, d, p, s


def _block_index(hw: tuple[int, int], k: tuple, d: tuple, p: tuple, s: tuple, op: str) -> np.ndarray:
    """(kh*kw, L) flat positions, in the padded plane, of every block's taps (PyTorch's order)."""
    hp, wp = hw[0] + 2 * p[0], hw[1] + 2 * p[1]
    blocks = [(n - d_ * (k_ - 1) - 1) // s_ + 1 for n, k_, d_, s_ in zip((hp, wp), k, d, s)]
    if min(blocks) < 1:
        raise ValueError(f"{op}: a spatial size {hw} padded by {p} is smaller than the dilated kernel "
                         f"(kernel_size={k}, dilation={d}): no sliding block fits")
    rows = (np.arange(k[0]) * d[0])[:, None, None, None] + (np.arange(blocks[0]) * s[0])[None, None, :, None]
    cols = (np.arange(k[1]) * d[1])[None, :, None, None] + (np.arange(blocks[1]) * s[1])[None, None, None, :]
    return (rows * wp + cols).reshape(k[0] * k[1], blocks[0] * blocks[1])


def unfold(input: Array, kernel_size: int | Sequence[int], dilation: int | Sequence[int] = 1,
           padding: int | Sequence[int] = 0, stride: int | Sequence[int] = 1) -> Array:
    """Sliding blocks of (N, C, H, W) as columns: (N, C*kh*kw, L), ``L`` the number of blocks.

    Example:
        >>> import jax.numpy as jnp
        >>> unfold(jnp.arange(9.0).reshape(1, 1, 3, 3), 2)[0].tolist()
        [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """
    op = "unfold"
    if tnp.ndim(input) not in (3, 4):
        raise ValueError(f"{op}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got {F._describe(input)}")
    k, d, p, s = _block_args(op, kernel_size, dilation, padding, stride)
    x = input if tnp.ndim(input) == 4 else tnp.expand_dims(input, 0)
    n, c, h, w = tnp.shape(x)
    index = _block_index((h, w), k, d, p, s, op)
    if max(p):
        x = tnp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    flat = tnp.reshape(x, (n, c, -1))
    cols = tnp.take(flat, index.reshape(-1), axis=2, mode="clip")
    cols = tnp.reshape(cols, (n, c * index.shape[0], index.shape[1]))
    return cols if tnp.ndim(input) == 4 else tnp.squeeze(cols, 0)


def fold(input: Array, output_size: int | Sequence[int], kernel_size: int | Sequence[int],
         dilation: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
         stride: int | Sequence[int] = 1) -> Array:
    """Sum columns (N, C*kh*kw, L) back into (N, C, *output_size): the transpose of ``unfold``.

    Overlapping blocks add up, so ``fold(unfold(x))`` is ``x`` times how many blocks cover each
    position.

    Example:
        >>> import jax.numpy as jnp
        >>> fold(jnp.ones((1, 4, 4)), (3, 3), 2)[0, 0].tolist()
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    op = "fold"
    if tnp.ndim(input) not in (2, 3):
        raise ValueError(f"{op}: expected a 2-d (C*kh*kw, L) or 3-d (N, C*kh*kw, L) input, "
                         f"got {F._describe(input)}")
    k, d, p, s = _block_args(op, kernel_size, dilation, padding, stride)
    hw = F._ntuple(output_size, 2, "output_size", op)
    y = input if tnp.ndim(input) == 3 else tnp.expand_dims(input, 0)
    n, ck, length = tnp.shape(y)
    if ck % (k[0] * k[1]):
        raise ValueError(f"{op}: input {F._describe(input)}'s dimension {tnp.ndim(input) - 2} ({ck}) must be "
                         f"divisible by the product of kernel_size={k}")
    index = _block_index(hw, k, d, p, s, op)
    if index.shape[1] != length:
        raise ValueError(f"{op}: output_size={hw}, kernel_size={k}, dilation={d}, padding={p}, stride={s} give "
                         f"{index.shape[1]} sliding blocks, but input {F._describe(input)} has {length}")
    c = ck // (k[0] * k[1])
    hp, wp = hw[0] + 2 * p[0], hw[1] + 2 * p[1]
    vals = tnp.reshape(y, (n, c, ck // c * length))
    plane = tnp.zeros((n, c, hp * wp), tnp.result_type(y)).at[:, :, index.reshape(-1)].add(vals)
    plane = tnp.reshape(plane, (n, c, hp, wp))[:, :, p[0]:p[0] + hw[0], p[1]:p[1] + hw[1]]
    return plane if tnp.ndim(input) == 3 else tnp.squeeze(plane, 0)


# ---- pixel shuffle ------------------------------------------------------------------------

def pixel_shuffle(input: Array, upscale_factor: int) -> Array:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): channel blocks become r x r pixel blocks.

    Example:
        >>> import jax.numpy as jnp
        >>> pixel_shuffle(jnp.arange(4.0).reshape(1, 4, 1, 1), 2)[0, 0].tolist()
        [[0.0, 1.0], [2.0, 3.0]]
    """
    r = int(upscale_factor)
    if tnp.ndim(input) < 3 or r < 1 or tnp.shape(input)[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: expected (*, C*r*r, H, W) with a positive upscale_factor r, got "
                         f"input {F._describe(input)} and upscale_factor={upscale_factor!r}")
    *lead, c, h, w = tnp.shape(input)
    x = tnp.reshape(input, (*lead, c // (r * r), r, r, h, w))
    m = len(lead)
    x = tnp.transpose(x, (*range(m), m, m + 3, m + 1, m + 4, m + 2))
    return tnp.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Array, downscale_factor: int) -> Array:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): the inverse of ``pixel_shuffle``.

    Example:
        >>> import jax.numpy as jnp
        >>> pixel_unshuffle(jnp.arange(4.0).reshape(1, 1, 2, 2), 2)[0, :, 0, 0].tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    r = int(downscale_factor)
    if tnp.ndim(input) < 3 or r < 1 or tnp.shape(input)[-2] % r or tnp.shape(input)[-1] % r:
        raise ValueError(f"pixel_unshuffle: expected (*, C, H*r, W*r) with a positive downscale_factor r, got "
                         f"input {F._describe(input)} and downscale_factor={downscale_factor!r}")
    *lead, c, h, w = tnp.shape(input)
    x = tnp.reshape(input, (*lead, c, h // r, r, w // r, r))
    m = len(lead)
    x = tnp.transpose(x, (*range(m), m, m + 2, m + 4, m + 1, m + 3))
    return tnp.reshape(x, (*lead, c * r * r, h // r, w // r))
