"""Elementwise functions with jax.numpy signatures, composed of tapegrad primitives.

The seam: ``tapegrad.rules`` defines primitives (impl + VJP rule); ``tapegrad.numpy`` defines the
signatures (argument checking, defaults, compositions). Nothing here needs a rule of its own: each
function is a composition, so its derivatives (of every order) come from the primitives it uses.
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer


def _inexact(x):
    """``x`` as an array of an inexact dtype (ints and bools promote to the default float, as jnp)."""
    x = tnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = tnp.astype(x, jnp.result_type(float))
    return x


def angle(z, deg: bool = False):
    """The argument of ``z`` (``arctan2(imag(z), real(z))``), in radians or degrees.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.angle(1j))
        1.5707963267948966
    """
    z = _inexact(z)
    out = tnp.arctan2(tnp.imag(z), tnp.real(z))
    return tnp.rad2deg(out) if deg else out


# Below |pi x| = 1e-2 the Taylor series to x**4 is exact to float64 rounding (the next term is
# (pi x)**6 / 5040 < 2e-16), and, unlike sin(pi x) / (pi x), its derivatives of every order are
# right at 0 (sinc'(0) = 0, sinc''(0) = -pi**2 / 3), as jax.numpy.sinc's.
_SINC_SMALL = 1e-2


def sinc(x):
    """The normalised sinc, ``sin(pi x) / (pi x)``, 1 at 0.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.sinc(0.0)), round(float(tnp.sinc(0.5)), 6)
        (1.0, 0.63662)
    """
    x = _inexact(x)
    px = x * jnp.pi
    small = tnp.abs(px) < _SINC_SMALL
    safe = tnp.where(small, tnp.ones_like(px), px)  # no 0/0 in the unused branch (its gradient would be nan)
    p2 = px * px
    series = 1 - p2 / 6 + p2 * p2 / 120
    return tnp.where(small, series, tnp.sin(safe) / safe)


def nan_to_num(x, copy: bool = True, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """``x`` with nan, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf``.

    Infinities default to the dtype's largest finite values; complex ``x`` is treated part by part.
    The gradient flows to the finite entries only.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.nan_to_num(tnp.array([1.0, tnp.nan, -tnp.inf]), neginf=-5.0).tolist()
        [1.0, 0.0, -5.0]
    """
    x = tnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return x  # integers and bools hold no nan or inf
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        re = nan_to_num(tnp.real(x), nan=nan, posinf=posinf, neginf=neginf)
        im = nan_to_num(tnp.imag(x), nan=nan, posinf=posinf, neginf=neginf)
        return re + 1j * im
    info = jnp.finfo(x.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    out = tnp.where(tnp.isnan(x), tnp.full_like(x, nan), x)
    out = tnp.where(tnp.isposinf(x), tnp.full_like(x, hi), out)
    return tnp.where(tnp.isneginf(x), tnp.full_like(x, lo), out)


def positive(x):
    """``+x`` (the same value).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.positive(tnp.array([-1.0])).tolist()
        [-1.0]
    """
    return tnp.asarray(x)


def float_power(x, y, /):
    """``x ** y`` computed in an inexact dtype (integers and bools promote to float first, as jnp).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.float_power(2, 3))
        8.0
    """
    dt = jnp.result_type(tnp.result_type(x, y), float)
    return tnp.power(tnp.astype(tnp.asarray(x), dt), tnp.astype(tnp.asarray(y), dt))


def heaviside(x1, x2, /):
    """The Heaviside step: 0 where ``x1 < 0``, 1 where ``x1 > 0``, ``x2`` where ``x1 == 0``.

    The gradient flows to ``x2`` at the zeros of ``x1`` only (none to ``x1``), as jax's.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.heaviside(tnp.array([-1.0, 0.0, 2.0]), 0.5).tolist()
        [0.0, 0.5, 1.0]
    """
    dt = jnp.result_type(tnp.result_type(x1, x2), float)
    x1, x2 = tnp.astype(tnp.asarray(x1), dt), tnp.astype(tnp.asarray(x2), dt)
    return tnp.where(x1 < 0, 0.0, tnp.where(x1 > 0, 1.0, x2))


def i0(x):
    """The modified Bessel function of the first kind of order 0, ``I0``; ``I0' = I1``.

    Computed as ``exp(|x|) * i0e(|x|)`` (i0e is even): its derivative ``exp(|x|) |x|' i1e(|x|)``
    is 0 at 0, as it should be.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> round(float(tnp.i0(1.0)), 6)
        1.266066
    """
    from tapegrad.rules.special import i0e

    x = _inexact(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"tnp.i0: complex input ({x.dtype}) is not supported (as in jax.numpy)")
    a = tnp.abs(x)
    return tnp.exp(a) * i0e(a)


def ldexp(x1, x2, /):
    """``x1 * 2 ** x2`` for integer ``x2``; the gradient to ``x1`` is ``2 ** x2`` (none to ``x2``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.ldexp(1.5, 3))
        12.0
    """
    x1 = _inexact(x1)
    if type(x2) is Tracer or not jnp.issubdtype(jnp.result_type(x2), jnp.integer):
        raise TypeError(f"tnp.ldexp: x2 must be integers, got {tnp.result_type(x2)}")
    if jnp.issubdtype(x1.dtype, jnp.complexfloating):
        raise TypeError(f"tnp.ldexp: complex x1 ({x1.dtype}) is not supported (as in jax.numpy)")
    # 2 ** x2 is exact in floating point (a power of two), so the product rounds once, as ldexp.
    return x1 * jnp.ldexp(jnp.ones((), x1.dtype), jnp.asarray(x2))
