"""Signals and sampled functions with jax.numpy signatures: ``convolve``, ``correlate``, ``interp``,
``gradient``, ``trapezoid``, ``unwrap``, ``ediff1d``.

Compositions. ``convolve``/``correlate`` are one call of the ``conv`` primitive (whose rules are
convolutions again, so every order works); complex inputs are split into real and imaginary parts
(four real convolutions), because the ``conv`` rules, written for real kernels, take no conjugate.
``interp`` finds the interval of each point with ``searchsorted`` (integers, no gradient) and
interpolates with gathers, so its gradient to ``x``, ``xp`` and ``fp`` is jax's.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.axes import canon_axes, canon_axis
from tapegrad.numpy._values import inexact as _inexact
from tapegrad.numpy._values import raw_array as _raw


def _correlate_real(x, y, padding):
    """The cross-correlation of real 1-D ``x`` and ``y`` (y slides over x) with ``(lo, hi)`` padding."""
    from tapegrad.rules.conv import conv

    out = conv(tnp.reshape(x, (1, 1, -1)), tnp.reshape(y, (1, 1, -1)), strides=(1,), padding=(padding,))
    return out[0, 0]


def _conv(op, a, v, mode, preferred_element_type):
    a, v = tnp.asarray(a), tnp.asarray(v)
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"tnp.{op}: only 1-D inputs are supported, got shapes {tuple(a.shape)} and {tuple(v.shape)}")
    dt = jnp.result_type(tnp.result_type(a, v), float) if preferred_element_type is None \
        else tnp.result_type(a, v)
    x, y = tnp.astype(a, dt), tnp.astype(v, dt)
    if x.shape[0] == 0 or y.shape[0] == 0:
        raise ValueError(f"tnp.{op}: inputs cannot be empty, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    reverse = False
    if op == "correlate":
        y = tnp.conj(y) if jnp.issubdtype(dt, jnp.complexfloating) else y
        if x.shape[0] < y.shape[0]:
            x, y, reverse = y, x, True
    else:
        if x.shape[0] < y.shape[0]:
            x, y = y, x
        y = tnp.flip(y)
    k = y.shape[0]
    if mode == "valid":
        pad = (0, 0)
    elif mode == "same":
        pad = (k // 2, k - k // 2 - 1)
    elif mode == "full":
        pad = (k - 1, k - 1)
    else:
        raise ValueError(f"tnp.{op}: mode must be one of 'full', 'same', 'valid', got {mode!r}")
    if jnp.issubdtype(dt, jnp.complexfloating):
        xr, xi, yr, yi = tnp.real(x), tnp.imag(x), tnp.real(y), tnp.imag(y)
        out = (_correlate_real(xr, yr, pad) - _correlate_real(xi, yi, pad)) \
            + 1j * (_correlate_real(xr, yi, pad) + _correlate_real(xi, yr, pad))
    else:
        out = _correlate_real(x, y, pad)
    out = tnp.flip(out) if reverse else out
    return out if preferred_element_type is None else tnp.astype(out, preferred_element_type)


def convolve(a, v, mode: str = "full", *, precision=None, preferred_element_type=None):
    """The discrete linear convolution of 1-D ``a`` and ``v`` (``mode``: ``'full'``, ``'same'``, ``'valid'``).

    Real or complex; ``precision`` is accepted for jax.numpy's signature (the computation is exact
    float arithmetic on the CPU).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.convolve(tnp.array([1.0, 2.0, 3.0]), tnp.array([0.0, 1.0, 0.5])).tolist()
        [0.0, 1.0, 2.5, 4.0, 1.5]
    """
    return _conv("convolve", a, v, mode, preferred_element_type)


def correlate(a, v, mode: str = "valid", *, precision=None, preferred_element_type=None):
    """The cross-correlation ``c[k] = sum_n a[n + k] * conj(v[n])`` of 1-D ``a`` and ``v``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.correlate(tnp.array([1.0, 2.0, 3.0]), tnp.array([0.0, 1.0, 0.5]), mode="full").tolist()
        [0.5, 2.0, 3.5, 3.0, 0.0]
    """
    return _conv("correlate", a, v, mode, preferred_element_type)


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of the points ``(xp, fp)`` (``xp`` increasing) at ``x``.

    Outside ``[xp[0], xp[-1]]`` the value is ``left``/``right`` (default ``fp[0]``/``fp[-1]``), or the
    end segment continued with ``'extrapolate'``; with ``period`` the points are periodic. The
    gradient flows to ``x``, ``xp``, ``fp`` (and ``left``/``right``), as jax.grad's.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.interp(tnp.array([0.5, 2.5]), tnp.array([0.0, 1.0, 3.0]), tnp.array([0.0, 2.0, 4.0])).tolist()
        [1.0, 3.5]
    """
    x, xp, fp = tnp.asarray(x), tnp.asarray(xp), tnp.asarray(fp)
    if tuple(xp.shape) != tuple(fp.shape) or xp.ndim != 1:
        raise ValueError(f"tnp.interp: xp and fp must be 1-D arrays of equal size, got shapes {tuple(xp.shape)} "
                         f"and {tuple(fp.shape)}")
    dt = jnp.result_type(tnp.result_type(x, xp), float)
    if jnp.issubdtype(dt, jnp.complexfloating):
        raise ValueError("tnp.interp: complex x values are not supported")
    x, xp, fp = tnp.astype(x, dt), tnp.astype(xp, dt), _inexact(fp)
    extrapolate = {}
    for name, val in (("left", left), ("right", right)):
        if isinstance(val, str) and val != "extrapolate":
            raise ValueError(f"tnp.interp: the only valid string value of {name} is 'extrapolate', got {val!r}")
        extrapolate[name] = isinstance(val, str)
    if period is not None:
        if np.ndim(period) != 0:
            raise ValueError(f"tnp.interp: period must be a scalar, got shape {np.shape(period)}")
        period = tnp.abs(period)
        x, xp = tnp.mod(x, period), tnp.mod(xp, period)
        order = jnp.argsort(_raw(xp))
        xp, fp = xp[order], fp[order]
        xp = tnp.concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = tnp.concatenate([fp[-1:], fp, fp[:1]])
    n = xp.shape[0]
    # Comparing every point with every knot is one fused op; jnp's default (a scan) is a loop that
    # eager JAX compiles per call. Both give the same indices.
    method = "compare_all" if n * max(int(np.prod(tnp.shape(x))), 1) <= 1 << 20 else "scan"
    i = jnp.clip(jnp.searchsorted(_raw(xp), _raw(x), side="right", method=method), 1, n - 1)
    f_lo, f_hi, x_lo, x_hi = fp[i - 1], fp[i], xp[i - 1], xp[i]
    dx = x_hi - x_lo
    # As jax: a zero-width interval takes its left value, with no 0/0 in the gradient.
    dx0 = tnp.abs(dx) <= np.spacing(np.finfo(dt).eps)
    f = tnp.where(dx0, f_lo, f_lo + ((x - x_lo) / tnp.where(dx0, 1.0, dx)) * (f_hi - f_lo))
    if period is None:
        if not extrapolate["left"]:
            f = tnp.where(x < xp[0], fp[0] if left is None else left, f)
        if not extrapolate["right"]:
            f = tnp.where(x > xp[-1], fp[-1] if right is None else right, f)
    return f


def _slice(a, axis, start, stop):
    return a[(slice(None),) * axis + (slice(start, stop),)]


def _gradient_along(a, h, axis):
    upper = _slice(a, axis, 1, 2) - _slice(a, axis, 0, 1)
    lower = _slice(a, axis, -1, None) - _slice(a, axis, -2, -1)
    if tnp.ndim(h) == 0:
        inner = (_slice(a, axis, 2, None) - _slice(a, axis, None, -2)) * 0.5 / h
        return tnp.concatenate([upper / h, inner, lower / h], axis=axis)
    if tnp.ndim(h) != 1:
        raise ValueError(f"tnp.gradient: spacing must be scalars or 1-D coordinates, got shape {tnp.shape(h)}")
    if tnp.shape(h)[0] != a.shape[axis]:
        raise ValueError(f"tnp.gradient: coordinates of length {tnp.shape(h)[0]} do not match axis {axis} of "
                         f"size {a.shape[axis]}")
    h = tnp.reshape(h, tuple(-1 if d == axis else 1 for d in range(a.ndim)))
    upper = upper / (_slice(h, axis, 1, 2) - _slice(h, axis, 0, 1))
    lower = lower / (_slice(h, axis, -1, None) - _slice(h, axis, -2, -1))
    dx1 = _slice(h, axis, 1, -1) - _slice(h, axis, 0, -2)
    dx2 = _slice(h, axis, 2, None) - _slice(h, axis, 1, -1)
    # Second-order accurate central differences on an uneven grid (NumPy's formula).
    wa = -dx2 / (dx1 * (dx1 + dx2))
    wb = (dx2 - dx1) / (dx1 * dx2)
    wc = dx1 / (dx2 * (dx1 + dx2))
    inner = wa * _slice(a, axis, 0, -2) + wb * _slice(a, axis, 1, -1) + wc * _slice(a, axis, 2, None)
    return tnp.concatenate([upper, inner, lower], axis=axis)


def gradient(f, *varargs, axis=None, edge_order: int | None = None):
    """The numerical gradient of sampled ``f``: central differences inside, one-sided at the edges.

    ``varargs`` are the spacings (one scalar for all axes, or one scalar or 1-D coordinate array per
    axis). One axis gives an array, several a list. ``edge_order`` is not supported (as in jax.numpy).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.gradient(tnp.array([1.0, 2.0, 4.0, 7.0])).tolist()
        [1.0, 1.5, 2.5, 3.0]
    """
    if edge_order is not None:
        raise NotImplementedError("tnp.gradient: the edge_order argument is not supported (as in jax.numpy)")
    a = _inexact(f)
    spacing = [_inexact(h) for h in varargs]
    axes = tuple(range(a.ndim)) if axis is None else canon_axes(axis, a.ndim, "gradient")
    if not axes:
        return []
    if min(a.shape[d] for d in axes) < 2:
        raise ValueError(f"tnp.gradient: each axis needs at least 2 samples, got shape {tuple(a.shape)}")
    if not spacing:
        dx = [1.0] * len(axes)
    elif len(spacing) == 1:
        dx = spacing * len(axes)
    elif len(spacing) == len(axes):
        dx = spacing
    else:
        raise TypeError(f"tnp.gradient: {len(spacing)} spacing arguments for {len(axes)} axes")
    out = [_gradient_along(a, h, d) for d, h in zip(axes, dx)]
    return out[0] if len(axes) == 1 else out


def trapezoid(y, x=None, dx=1.0, axis: int = -1):
    """The integral of sampled ``y`` along ``axis`` by the trapezoidal rule, at points ``x`` or spacing ``dx``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.trapezoid(tnp.array([1.0, 2.0, 3.0]), dx=0.5))
        2.0
    """
    y = _inexact(y)
    if y.ndim == 0:
        raise ValueError("tnp.trapezoid: y must have at least 1 dimension")
    axis = canon_axis(axis, y.ndim, "trapezoid")
    if x is None:
        d = tnp.asarray(dx)
        if d.ndim > 0:
            d = tnp.moveaxis(tnp.reshape(d, (1,) * (y.ndim - d.ndim) + tuple(d.shape)), axis, -1)
    else:
        x = _inexact(x)
        d = tnp.diff(x) if x.ndim == 1 else tnp.moveaxis(tnp.diff(x, axis=axis), axis, -1)
    y = tnp.moveaxis(y, axis, -1)
    if d.ndim == 0 or d.shape[-1] == 1:
        # A constant spacing: the sum less half the two ends, times dx.
        d = d if d.ndim == 0 else d[..., 0]
        return d * (tnp.sum(y, axis=-1) - 0.5 * (y[..., 0] + y[..., -1]))
    return 0.5 * tnp.sum(d * (y[..., 1:] + y[..., :-1]), axis=-1)


def unwrap(p, discont=None, axis: int = -1, period=2 * np.pi):
    """``p`` with jumps larger than ``discont`` (default ``period / 2``) along ``axis`` replaced by their
    complement modulo ``period``; the gradient is the identity's, as jax's.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [round(v, 6) for v in tnp.unwrap(tnp.array([0.0, 3.0, 6.5])).tolist()]
        [0.0, 3.0, 0.216815]
    """
    p = tnp.asarray(p)
    if jnp.issubdtype(p.dtype, jnp.complexfloating):
        raise ValueError("tnp.unwrap: complex input is not supported (as in jax.numpy)")
    dt = tnp.result_type(p, period)
    p, period = tnp.astype(p, dt), tnp.astype(tnp.asarray(period), dt)
    axis = canon_axis(axis, p.ndim, "unwrap")
    if p.shape[axis] == 0:
        return p
    interval = period // 2 if jnp.issubdtype(dt, jnp.integer) else period / 2
    if discont is None:
        discont = period / 2
    dd = tnp.diff(p, axis=axis)
    ddmod = tnp.mod(dd + interval, period) - interval
    ddmod = tnp.where((ddmod == -interval) & (dd > 0), interval, ddmod)
    correct = tnp.where(tnp.abs(dd) < discont, 0.0, ddmod - dd)
    return tnp.concatenate([_slice(p, axis, 0, 1), _slice(p, axis, 1, None) + tnp.cumsum(correct, axis=axis)],
                           axis=axis)


def ediff1d(ary, to_end=None, to_begin=None):
    """The differences of consecutive elements of the flattened ``ary``, with ``to_begin``/``to_end``
    joined at the ends.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.ediff1d(tnp.array([1.0, 4.0, 9.0]), to_begin=0.0).tolist()
        [0.0, 3.0, 5.0]
    """
    arr = tnp.ravel(ary)
    out = arr[1:] - arr[:-1]
    dt = tnp.result_type(arr)
    if to_begin is not None:
        out = tnp.concatenate([tnp.ravel(tnp.astype(tnp.asarray(to_begin), dt)), out])
    if to_end is not None:
        out = tnp.concatenate([out, tnp.ravel(tnp.astype(tnp.asarray(to_end), dt))])
    return out
