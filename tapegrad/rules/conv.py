"""Convolution and pooling primitives, with VJP rules written as convolutions and pools again.

* ``conv``: N-d ``lax.conv_general_dilated`` (PyTorch's NC..., OI... layouts by
  default), with strides, explicit (possibly negative) ``(lo, hi)`` padding, input
  (``lhs``) dilation, kernel (``rhs``) dilation, and feature or batch groups. The
  input gradient is a transposed convolution (``g`` dilated by the stride, the
  kernel flipped, its in/out roles swapped) and the kernel gradient a convolution
  of the input with ``g``; both are ``conv`` again, so the family is closed under
  differentiation (any order, and forward mode by transposition).
* ``max_pool2d``: returns the window maxima and the flat index (into each ``H*W``
  plane) of the element chosen, the first maximum in row-major window order as
  PyTorch's CPU kernel picks it (a NaN wins, the last one). Its rule scatters ``g``
  to those indices; the scatter's rule is a gather, and the gather's a scatter.
* ``avg_pool2d``: a window sum divided by PyTorch's divisor; its rule is the
  transposed window sum, whose rule is ``avg_pool2d`` again.
* ``adaptive_max_pool2d``: the maxima over PyTorch's adaptive (possibly overlapping,
  unequal) windows and their flat indices, chosen as PyTorch's CPU loop does; its rule
  is ``max_pool2d``'s scatter to those indices.

The user-facing wrappers, with argument checking and PyTorch's names, live in
``tapegrad.nn.functional``.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

import tapegrad.numpy as tnp
from tapegrad.accel import backend
from tapegrad.core.primitive import Primitive
from tapegrad.rules.sharding import explicit_sharding, spread_like


def dilated(n: int, d: int) -> int:
    """The extent of ``n`` taps spaced ``d`` apart (0 for no taps)."""
    return 0 if n == 0 else 1 + d * (n - 1)


# ---- conv -------------------------------------------------------------------------
# The primitive is lax.conv_general_dilated itself: dimension numbers
# ``(lhs_spec, rhs_spec, out_spec)`` say which axis of each operand plays which role
# (lhs: batch, feature, spatial...; rhs: out-feature, in-feature, spatial...). The
# derivatives only re-assign roles (the kernel gradient reads the input's channel axis
# as its batch), so they are single convolutions with no data shuffling, and the
# family is closed: feature groups in one direction become batch groups in the other.

Specs = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]


def _swap_roles(spec: tuple[int, ...]) -> tuple[int, ...]:
    return (spec[1], spec[0]) + spec[2:]


def _split_axis(x, axis: int, parts: int):
    """Axis ``axis`` of size ``parts * m`` as two axes ``(parts, m)``."""
    shape = tuple(x.shape)
    return tnp.reshape(x, shape[:axis] + (parts, shape[axis] // parts) + shape[axis + 1:])


def _merge_axis(x, src: int, dst: int):
    """Fold axis ``src`` into axis ``dst`` (numbered without ``src``) as its major part."""
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    shape = [s for i, s in enumerate(x.shape) if i != src]
    shape[dst] *= x.shape[src]
    return tnp.reshape(tnp.transpose(x, tuple(perm)), tuple(shape))


def _single_channel_conv(x, w, strides, padding, rhs_dilation):
    """A convolution with one input channel as a sum of shifted, scaled copies of the input.

    XLA's CPU convolution is slow for one input channel (an MNIST first layer: ~10x slower
    than this sum of ``prod(kernel)`` slices, which XLA fuses into one loop). Same layout as
    PyTorch: ``x`` (N, 1, *S), ``w`` (O, 1, *K), out (N, O, *S_out).
    """
    xp = lax.pad(x, np.array(0, x.dtype), ((0, 0, 0), (0, 0, 0)) + tuple((lo, hi, 0) for lo, hi in padding))
    sizes = xp.shape[2:]
    outs = [(n - dilated(k, d)) // s + 1 for n, k, d, s in zip(sizes, w.shape[2:], rhs_dilation, strides)]
    acc = None
    for tap in np.ndindex(*w.shape[2:]):
        start = (0, 0) + tuple(t * d for t, d in zip(tap, rhs_dilation))
        limit = xp.shape[:2] + tuple(b + (o - 1) * s + 1 for b, o, s in zip(start[2:], outs, strides))
        piece = lax.slice(xp, start, limit, (1, 1) + tuple(strides))  # (N, 1, *S_out)
        term = piece * w[(slice(None), 0) + tap].reshape((1, -1) + (1,) * len(outs))
        acc = term if acc is None else acc + term
    return acc


def _single_channel_applies(x, w, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                            feature_group_count, batch_group_count) -> bool:
    canonical = tuple(range(x.ndim))
    return (x.ndim > 2 and x.shape[1] == 1 and w.shape[1] == 1 and x.dtype == w.dtype and x.size > 0
            and w.size > 0 and dimension_numbers == (canonical,) * 3
            and feature_group_count == batch_group_count == 1
            and all(d == 1 for d in lhs_dilation) and int(np.prod(w.shape[2:])) <= 64
            and all(n + lo + hi >= dilated(k, d) for n, (lo, hi), k, d
                    in zip(x.shape[2:], padding, w.shape[2:], rhs_dilation)))


def _lax_conv(x, w, *, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
              feature_group_count, batch_group_count):
    return lax.conv_general_dilated(x, w, window_strides=strides, padding=padding,
                                    lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                                    dimension_numbers=lax.ConvDimensionNumbers(*dimension_numbers),
                                    feature_group_count=feature_group_count,
                                    batch_group_count=batch_group_count,
                                    out_sharding=_contracted_sharding(x, w, dimension_numbers))


def _contracted_sharding(x, w, dimension_numbers):
    """Under an explicit mesh, when the contracted input-feature axis of ``x`` is sharded (the
    kernel cotangent sums over a sharded batch, which the rule reads as features), the output's
    sharding, which JAX will not guess: batch as ``x``'s, out-features as ``w``'s, space whole
    (one all-reduce, as in JAX's own transpose rule). None otherwise."""
    xs, ws = explicit_sharding(x), explicit_sharding(w)
    (lhs_spec, rhs_spec, out_spec) = dimension_numbers
    if xs is None or ws is None or xs.spec[lhs_spec[1]] is None:
        return None
    spec = [None] * len(out_spec)
    spec[out_spec[0]], spec[out_spec[1]] = xs.spec[lhs_spec[0]], ws.spec[rhs_spec[0]]
    return xs.update(spec=xs.spec.update(partitions=tuple(spec)))


def _slices_conv(x, w, *, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                 feature_group_count, batch_group_count):
    return _single_channel_conv(x, w, strides, padding, rhs_dilation)


_CONV_PARAMS = ("strides", "padding", "lhs_dilation", "rhs_dilation", "dimension_numbers", "feature_group_count",
                "batch_group_count")
# Each jitted per shape: eagerly, the sum of slices would be one dispatch per tap.
_conv_general = jax.jit(_lax_conv, static_argnames=_CONV_PARAMS)
_conv_slices = jax.jit(_slices_conv, static_argnames=_CONV_PARAMS)


def _conv_impl(x, w, **params):
    """``lax.conv_general_dilated``, or, for one input channel on a backend where it was measured to
    win, the sum of shifted slices (chosen per call from the array's device)."""
    if backend.use("single_channel_conv", x) and _single_channel_applies(x, w, **params):
        return _conv_slices(x, w, **params)
    return _conv_general(x, w, **params)


def _sizes(a, spec):
    return [a.shape[i] for i in spec[2:]]


def _conv_lhs_rule(g, out, x, w, *, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                   feature_group_count, batch_group_count):
    """Input cotangent: ``g`` convolved with the flipped kernel, in/out roles swapped.

    The forward stride becomes an input dilation of ``g`` (a transposed convolution).
    """
    if tnp.size(g) == 0 or tnp.size(w) == 0:
        return tnp.zeros(x.shape, g.dtype)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    groups = max(feature_group_count, batch_group_count)
    if groups > 1:
        # Group i's out-features must produce group i's in-features: move the group
        # index from the kernel's out-feature axis to its in-feature axis.
        w = _merge_axis(_split_axis(w, rhs_spec[0], groups), rhs_spec[0], rhs_spec[1])
    w = tnp.flip(w, rhs_spec[2:])
    pads = []
    for n_in, k, n_out, lo, s, ld, rd in zip(_sizes(x, lhs_spec), _sizes(w, rhs_spec), _sizes(g, out_spec),
                                             (p[0] for p in padding), strides, lhs_dilation, rhs_dilation,
                                             strict=True):
        before = dilated(k, rd) - lo - 1
        pads.append((before, dilated(n_in, ld) + dilated(k, rd) - 1 - dilated(n_out, s) - before))
    dx = conv_p(g, w, strides=lhs_dilation, padding=tuple(pads), lhs_dilation=strides,
                rhs_dilation=rhs_dilation, dimension_numbers=(out_spec, _swap_roles(rhs_spec), lhs_spec),
                feature_group_count=groups, batch_group_count=1)
    if batch_group_count > 1:
        # The groups came out on the feature axis; they index the batch.
        dx = _merge_axis(_split_axis(dx, lhs_spec[1], batch_group_count), lhs_spec[1], lhs_spec[0])
    return dx


def _conv_rhs_rule(g, out, x, w, *, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                   feature_group_count, batch_group_count):
    """Kernel cotangent: the input convolved with ``g``, batch acting as the contracted features.

    The forward stride becomes the kernel dilation and vice versa; feature groups
    become batch groups (and back).
    """
    if tnp.size(g) == 0 or tnp.size(x) == 0:
        return tnp.zeros(w.shape, g.dtype)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    if max(lhs_dilation) > 1 and batch_group_count == 1:
        return _conv_rhs_rule_dilated(g, x, w, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
                                      feature_group_count)
    pads = []
    for n_in, k, n_out, lo, s, ld, rd in zip(_sizes(x, lhs_spec), _sizes(w, rhs_spec), _sizes(g, out_spec),
                                             (p[0] for p in padding), strides, lhs_dilation, rhs_dilation,
                                             strict=True):
        pads.append((lo, dilated(n_out, s) - dilated(n_in, ld) + dilated(k, rd) - lo - 1))
    return conv_p(x, g, strides=rhs_dilation, padding=tuple(pads), lhs_dilation=lhs_dilation,
                  rhs_dilation=strides,
                  dimension_numbers=(_swap_roles(lhs_spec), _swap_roles(out_spec), _swap_roles(rhs_spec)),
                  feature_group_count=batch_group_count, batch_group_count=feature_group_count)


_SPLIT_GROUPS = 8


def _conv_rhs_rule_dilated(g, x, w, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers, groups):
    """The kernel cotangent of an input-dilated convolution (a transposed convolution, or the input
    gradient of a strided one) without input dilation: ``g`` is read as the input and ``x`` as the
    kernel, dilated by the forward's input dilation, and the result flipped.

    Per spatial axis, ``dw[k] = sum_t x[t] * g~[lo + ld*t - d*k]`` (``g~``: ``g`` dilated by the
    forward stride): a convolution of ``g`` with ``x`` at window stride ``d`` over ``K - 1 - k``.
    The general rule would convolve with the input dilated instead, which XLA's CPU backend runs
    tens of times slower (a transposed convolution's weight gradient: ~30x; depthwise: ~1000x).
    With feature groups, group i of ``g``'s channels meets group i of ``x``'s: a few groups run as
    one such convolution each (XLA's CPU batch-grouped convolution is ~5x slower), many as one
    batch-grouped convolution whose groups come out on the in-feature axis and move to the
    out-feature axis.
    """
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    if 1 < groups <= _SPLIT_GROUPS:
        def part(a, axis, i):
            m = a.shape[axis] // groups
            return a[(slice(None),) * axis + (slice(i * m, (i + 1) * m),)]

        return tnp.concatenate([_conv_rhs_rule_dilated(part(g, out_spec[1], i), part(x, lhs_spec[1], i),
                                                       part(w, rhs_spec[0], i), strides, padding, lhs_dilation,
                                                       rhs_dilation, dimension_numbers, 1)
                                for i in range(groups)], axis=rhs_spec[0])
    pads = []
    for n_in, k, n_out, (lo, _), s, ld, rd in zip(_sizes(x, lhs_spec), _sizes(w, rhs_spec), _sizes(g, out_spec),
                                                  padding, strides, lhs_dilation, rhs_dilation, strict=True):
        before = rd * (k - 1) - lo
        pads.append((before, (k - 1) * rd + dilated(n_in, ld) - dilated(n_out, s) - before))
    dw = conv_p(g, x, strides=rhs_dilation, padding=tuple(pads), lhs_dilation=strides, rhs_dilation=lhs_dilation,
                dimension_numbers=(_swap_roles(out_spec), _swap_roles(lhs_spec), rhs_spec),
                feature_group_count=1, batch_group_count=groups)
    if groups > 1:
        dw = _merge_axis(_split_axis(dw, rhs_spec[1], groups), rhs_spec[1], rhs_spec[0])
    return tnp.flip(dw, rhs_spec[2:])


conv_p = Primitive("conv", _conv_impl).defvjp(_conv_lhs_rule, _conv_rhs_rule)


def conv(x, w, *, strides: tuple[int, ...], padding: tuple[tuple[int, int], ...],
         lhs_dilation: tuple[int, ...] | None = None, rhs_dilation: tuple[int, ...] | None = None,
         groups: int = 1, dimension_numbers: Specs | None = None, batch_group_count: int = 1):
    """N-d convolution (cross-correlation, as PyTorch), by default ``x`` NC..., ``w`` OI..., out NC... .

    ``padding`` is one ``(lo, hi)`` pair per spatial axis (negative crops);
    ``dimension_numbers`` are ``(lhs_spec, rhs_spec, out_spec)`` axis tuples as in
    ``lax.ConvDimensionNumbers``. All parameters are Python ints;
    ``tapegrad.nn.functional.conv2d`` is the checked, PyTorch-style entry point.

    Example:
        >>> import jax.numpy as jnp
        >>> conv(jnp.ones((1, 1, 5)), jnp.ones((1, 1, 3)), strides=(1,), padding=((0, 0),)).tolist()
        [[[3.0, 3.0, 3.0]]]
    """
    nsp = len(strides)
    one = (1,) * nsp
    if dimension_numbers is None:
        dimension_numbers = (tuple(range(nsp + 2)),) * 3
    return conv_p(x, w, strides=tuple(int(s) for s in strides),
                  padding=tuple((int(lo), int(hi)) for lo, hi in padding),
                  lhs_dilation=one if lhs_dilation is None else tuple(int(d) for d in lhs_dilation),
                  rhs_dilation=one if rhs_dilation is None else tuple(int(d) for d in rhs_dilation),
                  dimension_numbers=tuple(tuple(int(i) for i in spec) for spec in dimension_numbers),
                  feature_group_count=int(groups), batch_group_count=int(batch_group_count))


# ---- pooling geometry ------------------------------------------------------------------

def pool_output_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``: in ceil mode the last window must start inside
    the input or its left padding."""
    span = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_pads(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> tuple[int, int, int]:
    """``(out, lo, hi)``: ``hi`` pads (or, negative, crops) so the windows exactly tile."""
    out = pool_output_size(size, k, s, p, d, ceil_mode)
    return out, p, (out - 1) * s + dilated(k, d) - size - p


def _jit(fun, *static: str):
    """``fun`` compiled as one XLA computation per shape and params (eagerly, each jnp op
    inside it would be compiled on its own, which dominates small eager calls)."""
    return jax.jit(fun, static_argnames=static)


_MAX_PARAMS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
_AVG_PARAMS = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")


# ---- max_pool2d ------------------------------------------------------------------------

def _max_pool_taps(x, *, kernel_size, stride, padding, dilation, ceil_mode):
    """``(maxima, flat indices into each H*W plane)``, choosing the element PyTorch's CPU loop picks.

    That loop walks a window's valid taps in row-major order and takes a tap when it is
    greater than the best so far or is NaN (so ties go to the first maximum and the last
    NaN wins); the first valid tap is always taken. Here the loop runs over the taps of all
    windows at once: tap ``(i, j)`` of every window is one strided slice of the padded
    input, so the loop is ``kh * kw`` elementwise steps that XLA fuses. Padding never wins;
    a window made only of padding gives -inf and the index ``H*W`` (its gradient is dropped).
    No variadic reduce_window: it is slower on CPU and not implemented by XLA on CUDA.
    """
    n, c, h, w = x.shape
    geo = [_pool_pads(size, k, s, p, d, ceil_mode)
           for size, k, s, p, d in zip((h, w), kernel_size, stride, padding, dilation, strict=True)]
    (ho, lo_h, hi_h), (wo, lo_w, hi_w) = geo
    xp = lax.pad(x, np.array(-np.inf, x.dtype), ((0, 0, 0), (0, 0, 0), (lo_h, hi_h, 0), (lo_w, hi_w, 0)))
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    best = index = None  # made from the first tap (full_like), so they carry x's sharding under a mesh
    empty = None  # where no valid tap has been taken yet (None: everywhere)
    for i, j in np.ndindex(kh, kw):
        # Where this tap sits in the unpadded input, for every window: a constant.
        rows = np.arange(ho) * sh + i * dh - lo_h
        cols = np.arange(wo) * sw + j * dw - lo_w
        valid = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
        if not valid.any():
            continue
        here = (rows[:, None] * w + cols[None, :]).astype(np.int32)
        tap = lax.slice(xp, (0, 0, i * dh, j * dw),
                        (n, c, i * dh + (ho - 1) * sh + 1, j * dw + (wo - 1) * sw + 1), (1, 1, sh, sw))
        if best is None:
            best, index = jnp.full_like(tap, -jnp.inf), jnp.full_like(tap, h * w, dtype=jnp.int32)
        valid_, here_ = spread_like(valid, tap, (2, 3)), spread_like(here, tap, (2, 3))
        if empty is None:  # the first valid tap of every window is taken, whatever its value
            take = jnp.broadcast_to(valid_, best.shape)
        else:
            take = (tap > best) | jnp.isnan(tap) | spread_like(empty, tap, (2, 3))
            if not valid.all():
                take = take & valid_
        best, index = jnp.where(take, tap, best), jnp.where(take, here_, index)
        empty = ~valid if empty is None else empty & ~valid
    if best is None:  # no window has a valid tap (an empty output): every maximum is -inf
        best, index = jnp.full((n, c, ho, wo), -jnp.inf, x.dtype), jnp.full((n, c, ho, wo), h * w, jnp.int32)
    return best, index


def _max_pool_windows(x, *, kernel_size, stride, padding, dilation, ceil_mode):
    """The same choice as :func:`_max_pool_taps`, as a reduction over the stacked windows.

    The general implementation: the ``kh * kw`` taps of every window are stacked on a last axis
    and reduced at once (a maximum, then the first valid tap equal to it, or the last NaN), which
    XLA runs as a few large kernels on any backend instead of a chain of ``kh * kw`` steps.
    """
    n, c, h, w = x.shape
    geo = [_pool_pads(size, k, s, p, d, ceil_mode)
           for size, k, s, p, d in zip((h, w), kernel_size, stride, padding, dilation, strict=True)]
    (ho, lo_h, hi_h), (wo, lo_w, hi_w) = geo
    xp = lax.pad(x, np.array(-np.inf, x.dtype), ((0, 0, 0), (0, 0, 0), (lo_h, hi_h, 0), (lo_w, hi_w, 0)))
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    taps, valids, heres = [], [], []
    for i, j in np.ndindex(kh, kw):
        rows = np.arange(ho) * sh + i * dh - lo_h
        cols = np.arange(wo) * sw + j * dw - lo_w
        valids.append(((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :])
        heres.append((rows[:, None] * w + cols[None, :]).astype(np.int32))
        taps.append(lax.slice(xp, (0, 0, i * dh, j * dw),
                              (n, c, i * dh + (ho - 1) * sh + 1, j * dw + (wo - 1) * sw + 1), (1, 1, sh, sw)))
    tap = jnp.stack(taps, axis=-1)  # (N, C, Ho, Wo, K)
    valid = np.stack(valids, axis=-1)  # (Ho, Wo, K), a constant
    here = np.stack(heres, axis=-1)
    nan = jnp.isnan(tap) & valid
    masked = jnp.where(valid, tap, -jnp.inf)
    best = jnp.max(jnp.where(nan, -jnp.inf, masked), axis=-1, keepdims=True)
    hit = valid & (masked == best)
    k_last = tap.shape[-1] - 1
    first_hit = jnp.argmax(hit, axis=-1)  # the first valid maximum, as PyTorch's loop keeps it
    last_nan = k_last - jnp.argmax(nan[..., ::-1], axis=-1)  # a NaN wins, the last one
    k = jnp.where(jnp.any(nan, axis=-1), last_nan, first_hit)[..., None]
    # The chosen element itself: its sign (of a zero) and its NaN, not the maximum's.
    value = jnp.take_along_axis(tap, k, axis=-1)[..., 0]
    index = jnp.take_along_axis(jnp.broadcast_to(jnp.asarray(here), tap.shape), k, axis=-1)[..., 0]
    none_valid = ~valid.any(axis=-1)  # a window of padding only: -inf, and the index H*W (dropped)
    value = jnp.where(none_valid, -jnp.inf, value).astype(x.dtype)
    index = jnp.where(none_valid, h * w, index).astype(jnp.int32)
    return value, index


_max_pool_taps_jit = _jit(_max_pool_taps, *_MAX_PARAMS)
_max_pool_windows_jit = _jit(_max_pool_windows, *_MAX_PARAMS)


def _max_pool_impl(x, **params):
    """The tap loop where it was measured to win (the CPU), the stacked windows elsewhere."""
    return (_max_pool_taps_jit if backend.use("max_pool_taps", x) else _max_pool_windows_jit)(x, **params)


def _max_pool_rule(gs, out, x, **params):
    # out = (maxima, indices): g goes to the chosen element of each window (the index output
    # is an integer and has no cotangent).
    h, w = x.shape[2:]
    return (tnp.reshape(pool_scatter(gs[0], out[1], size=h * w), x.shape),)


max_pool2d_p = Primitive("max_pool2d", _max_pool_impl, save_args=False, save_out=True,
                         multiple_results=True).defvjp_all(_max_pool_rule)
# The window indices are computed when the op is recorded, which ends a lazy segment there. Measured
# (small CNN, 2-core CPU): the fused forward+backward program that pending indices allow ran 5%
# slower (12.2 ms) than the forward segments and the compiled sweep it replaces (11.7 ms).


def _flat_index(idx, size):
    """``idx`` into one flat buffer of all (n, c) planes, each with ``size + 1`` slots (the
    last absorbs the padding index ``size``); int64 where JAX allows, for large batches."""
    n, c = idx.shape[:2]
    dt = jax.dtypes.canonicalize_dtype(np.int64)
    return idx.astype(dt) + (jnp.arange(n * c, dtype=dt) * (size + 1)).reshape((n, c) + (1,) * (idx.ndim - 2))


def _scatter_impl(g, idx, *, size):
    n, c = g.shape[:2]
    if explicit_sharding(g) is not None:
        # A sharded batch cannot be flattened into one buffer: scatter each plane (a batched scatter,
        # whose batch axes keep their sharding).
        def plane(gp, ip):
            return jnp.zeros(size + 1, g.dtype).at[ip].add(gp)
        out = jax.vmap(jax.vmap(plane))(g.reshape(n, c, -1), idx.reshape(n, c, -1))
        return out[:, :, :size]
    flat = jnp.zeros(n * c * (size + 1), g.dtype).at[_flat_index(idx, size).ravel()].add(g.ravel())
    return flat.reshape(n, c, size + 1)[:, :, :size]


def _gather_impl(ct, idx):
    n, c, size = ct.shape
    ext = jnp.pad(ct, ((0, 0), (0, 0), (0, 1)))
    if explicit_sharding(ct) is not None:  # per plane, as in _scatter_impl
        return jax.vmap(jax.vmap(lambda e, i: e[i]))(ext, idx.reshape(n, c, -1)).reshape(idx.shape)
    return ext.ravel()[_flat_index(idx, size)]


# pool_scatter(g, idx): (N, C, size) with g added at the flat indices; pool_gather is its transpose.
pool_scatter = Primitive("pool_scatter", _jit(_scatter_impl, "size"), save_args=True)
pool_gather = Primitive("pool_gather", _jit(_gather_impl), save_args=True)
pool_scatter.defvjp(lambda g, out, gv, idx, size: pool_gather(g, idx), None)
pool_gather.defvjp(lambda g, out, ct, idx: pool_scatter(g, idx, size=ct.shape[2]), None)


def max_pool2d(x, *, kernel_size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
               dilation: tuple[int, int], ceil_mode: bool) -> tuple[Any, Any]:
    """``(maxima, flat indices)`` of 2-d max pooling on an ``(N, C, H, W)`` array (PyTorch semantics)."""
    return max_pool2d_p(x, kernel_size=tuple(kernel_size), stride=tuple(stride), padding=tuple(padding),
                        dilation=tuple(dilation), ceil_mode=bool(ceil_mode))


# ---- avg_pool2d ------------------------------------------------------------------------

def _avg_divisor(size, k, s, p, out, count_include_pad):
    """PyTorch's per-window divisor along one axis (the 2-d divisor is the outer product)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _avg_geometry(h, w, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    ho, _, hi_h = _pool_pads(h, kh, sh, ph, 1, ceil_mode)
    wo, _, hi_w = _pool_pads(w, kw, sw, pw, 1, ceil_mode)
    if divisor_override is not None:
        div = np.full((ho, wo), float(divisor_override))
    else:
        div = np.outer(_avg_divisor(h, kh, sh, ph, ho, count_include_pad),
                       _avg_divisor(w, kw, sw, pw, wo, count_include_pad)).astype(np.float64)
    return (ho, wo), ((ph, hi_h), (pw, hi_w)), div


def _window_sum(x, window, strides, pads):
    # reduce_window wants non-negative padding: a negative `hi` becomes a crop first.
    crop = tuple(slice(None, x.shape[2 + i] + min(hi, 0)) for i, (_, hi) in enumerate(pads))
    x = x[(slice(None), slice(None)) + crop]
    pad_cfg = ((0, 0), (0, 0)) + tuple((lo, max(hi, 0)) for lo, hi in pads)
    # A NumPy zero, not jnp.array(0): JAX recognises the sum (and can differentiate it, so that
    # jax.grad over a tapegrad function works) only when the init value is a concrete constant.
    return lax.reduce_window(x, np.array(0, x.dtype), lax.add, (1, 1) + tuple(window),
                             (1, 1) + tuple(strides), pad_cfg)


def _avg_pool_impl(x, *, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    _, pads, div = _avg_geometry(x.shape[2], x.shape[3], kernel_size, stride, padding, ceil_mode,
                                 count_include_pad, divisor_override)
    return _window_sum(x, kernel_size, stride, pads) / jnp.asarray(div, x.dtype)


def _avg_pool_t_impl(g, *, in_size, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override):
    """The transpose of ``_avg_pool_impl``: spread each ``g / divisor`` over its window."""
    h, w = in_size
    _, pads, div = _avg_geometry(h, w, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                 divisor_override)
    g = g / jnp.asarray(div, g.dtype)
    # Dilate g by the stride and pad it so a stride-1 window sum lands on every input
    # position (JAX's reduce_window_sum transpose; the all-ones window needs no flip).
    cfg = [(0, 0, 0), (0, 0, 0)]
    for i, (size, k, s) in enumerate(zip(in_size, kernel_size, stride, strict=True)):
        before = k - pads[i][0] - 1
        after = size + k - 1 - dilated(g.shape[2 + i], s) - before
        cfg.append((before, after, s - 1))
    gp = lax.pad(g, jnp.array(0, g.dtype), cfg)
    return lax.reduce_window(gp, np.array(0, g.dtype), lax.add, (1, 1) + tuple(kernel_size), (1, 1, 1, 1),
                             ((0, 0),) * 4)


avg_pool2d_p = Primitive("avg_pool2d", _jit(_avg_pool_impl, *_AVG_PARAMS), save_args=False)
avg_pool2d_t_p = Primitive("avg_pool2d_transpose", _jit(_avg_pool_t_impl, "in_size", *_AVG_PARAMS),
                           save_args=False)
avg_pool2d_p.defvjp(lambda g, out, x, **params: avg_pool2d_t_p(g, in_size=tuple(x.shape[2:]), **params))
avg_pool2d_t_p.defvjp(lambda g, out, gx, in_size, **params: avg_pool2d_p(g, **params))


def avg_pool2d(x, *, kernel_size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
               ceil_mode: bool, count_include_pad: bool, divisor_override: int | None):
    """2-d average pooling on an ``(N, C, H, W)`` array with PyTorch's divisor rules."""
    return avg_pool2d_p(x, kernel_size=tuple(kernel_size), stride=tuple(stride), padding=tuple(padding),
                        ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                        divisor_override=None if divisor_override is None else int(divisor_override))


# ---- adaptive_max_pool2d ---------------------------------------------------------------

def adaptive_windows(n_in: int, n_out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows along one axis: ``[floor(i*n_in/n_out), ceil((i+1)*n_in/n_out))``."""
    return [((i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)) for i in range(n_out)]


def _window_index(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """``(index, valid)`` of shape (n_out, longest window): each window's positions, the short ones
    padded by repeating their last position (``valid`` marks the real ones)."""
    wins = adaptive_windows(n_in, n_out)
    longest = max(b - a for a, b in wins)
    index = np.array([[min(a + t, b - 1) for t in range(longest)] for a, b in wins], np.int32)
    valid = np.array([[a + t < b for t in range(longest)] for a, b in wins])
    return index, valid


def _adaptive_max_impl(x, *, output_size):
    """``(maxima, flat indices into each H*W plane)`` over PyTorch's adaptive windows.

    The windows are separable, so one gather per axis stacks every window's taps on a last
    axis (N, C, Ho, Wo, kh*kw); the choice is PyTorch's CPU loop's: the first maximum in
    row-major order, or the last NaN.
    """
    n, c, h, w = x.shape
    (rows, vr), (cols, vc) = _window_index(h, output_size[0]), _window_index(w, output_size[1])
    ho, kh = rows.shape
    wo, kw = cols.shape
    tap = x[:, :, rows.ravel()][..., cols.ravel()].reshape(n, c, ho, kh, wo, kw)
    tap = tap.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, kh * kw)
    valid = (vr[:, None, :, None] & vc[None, :, None, :]).reshape(ho, wo, kh * kw)
    here = (rows[:, None, :, None] * w + cols[None, :, None, :]).reshape(ho, wo, kh * kw)
    nan = jnp.isnan(tap) & valid
    masked = jnp.where(valid & ~nan, tap, -jnp.inf)
    best = jnp.max(masked, axis=-1, keepdims=True)
    first_hit = jnp.argmax(valid & (masked == best), axis=-1)
    last_nan = kh * kw - 1 - jnp.argmax(nan[..., ::-1], axis=-1)
    k = jnp.where(jnp.any(nan, axis=-1), last_nan, first_hit)[..., None]
    value = jnp.take_along_axis(tap, k, axis=-1)[..., 0]
    index = jnp.take_along_axis(jnp.broadcast_to(jnp.asarray(here), tap.shape), k, axis=-1)[..., 0]
    return value, index.astype(jnp.int32)


def _adaptive_max_rule(gs, out, x, *, output_size):
    h, w = x.shape[2:]
    return (tnp.reshape(pool_scatter(gs[0], out[1], size=h * w), x.shape),)


adaptive_max_pool2d_p = Primitive("adaptive_max_pool2d", _jit(_adaptive_max_impl, "output_size"), save_args=False,
                                  save_out=True, multiple_results=True).defvjp_all(_adaptive_max_rule)


def adaptive_max_pool2d(x, *, output_size: tuple[int, int]) -> tuple[Any, Any]:
    """``(maxima, flat indices)`` of adaptive max pooling on an ``(N, C, H, W)`` array (PyTorch semantics).

    Example:
        >>> import jax.numpy as jnp
        >>> adaptive_max_pool2d(jnp.arange(9.0).reshape(1, 1, 3, 3), output_size=(2, 2))[1].tolist()
        [[[[4, 5], [7, 8]]]]
    """
    return adaptive_max_pool2d_p(x, output_size=(int(output_size[0]), int(output_size[1])))
