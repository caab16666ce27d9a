"""Floating-point decomposition with jax.numpy signatures: frexp, modf, divmod, nextafter, spacing.

``frexp``'s mantissa, ``modf``'s fractional part and ``divmod``'s remainder are differentiable in JAX
(slope ``2**-exponent``, 1, and the remainder's); the exponent, the integral part and the quotient
are piecewise constant, plain arrays with no gradient, as JAX's. ``modf`` and ``divmod`` are
compositions; the mantissa is a primitive, because ``x * 2**-e`` is not jnp.frexp's value where XLA
flushes subnormals to zero, and the forward value must be JAX's. ``nextafter`` and ``spacing`` have
no JAX derivative at all: they are non-differentiable primitives.
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive, nondifferentiable
from tapegrad.numpy._values import arraylike

_frexp_exponent = nondifferentiable("frexp_exponent", lambda x: jnp.frexp(x)[1])


def _mantissa_vjp(g, out, x):
    # d mantissa / dx = 2**-e, piecewise constant (JAX's JVP rule): its own derivative is zero.
    return g * jnp.exp2(-_frexp_exponent(x).astype(x.dtype))


_frexp_mantissa = Primitive("frexp_mantissa", lambda x: jnp.frexp(x)[0]).defvjp(_mantissa_vjp)
_nextafter = nondifferentiable("nextafter", jnp.nextafter)
_spacing = nondifferentiable("spacing", jnp.spacing)


def _inexact(x, who):
    x = arraylike(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = tnp.astype(x, jnp.result_type(float))
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"tnp.{who} does not support complex inputs, got dtype {x.dtype}")
    return x


def frexp(x, /):
    """``x`` split as ``mantissa * 2**exponent`` with ``0.5 <= |mantissa| < 1`` (and 0, inf, nan kept).

    The mantissa is differentiable, with slope ``2**-exponent`` (as JAX's); the exponent (int32) is not.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> m, e = tnp.frexp(tnp.array([8.0, -3.0]))
        >>> m.tolist(), e.tolist()
        ([0.5, -0.75], [4, 2])
    """
    x = _inexact(x, "frexp")
    return _frexp_mantissa(x), _frexp_exponent(x)


def modf(x, /, out=None):
    """The fractional and integral parts of ``x``, both with ``x``'s sign.

    The fractional part has slope 1 (the gradient flows through it); the integral part has none.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> frac, whole = tnp.modf(tnp.array([2.5, -1.25]))
        >>> frac.tolist(), whole.tolist()
        ([0.5, -0.25], [2.0, -1.0])
    """
    if out is not None:
        raise NotImplementedError("tnp.modf: the 'out' argument is not supported (arrays are immutable)")
    x = _inexact(x, "modf")
    whole = tnp.where(tnp.greater_equal(x, 0), tnp.floor(x), tnp.ceil(x))
    return x - whole, whole


def divmod(x1, x2, /):
    """``(floor_divide(x1, x2), remainder(x1, x2))``: the quotient has no gradient, the remainder does.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> q, r = tnp.divmod(tnp.array([7.0, -7.0]), 2.0)
        >>> q.tolist(), r.tolist()
        ([3.0, -4.0], [1.0, 1.0])
    """
    x1, x2 = arraylike(x1), arraylike(x2)
    return tnp.floor_divide(x1, x2), tnp.remainder(x1, x2)


def nextafter(x, y, /):
    """The next representable floating-point value after ``x`` towards ``y`` (no derivative, as in JAX).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> x = tnp.array(1.0, dtype="float32")
        >>> bool(tnp.nextafter(x, 2.0) - x == tnp.finfo("float32").eps)
        True
    """
    return _nextafter(arraylike(x), arraylike(y))


def spacing(x, /):
    """The distance from ``x`` to the next representable value away from zero (no derivative).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> bool(tnp.spacing(tnp.array(1.0, dtype="float32")) == tnp.finfo("float32").eps)
        True
    """
    return _spacing(arraylike(x))
