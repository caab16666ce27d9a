"""Bitwise and integer functions with jax.numpy signatures: and/or/xor/not, shifts, population count,
gcd/lcm, bit packing.

They take integer (or boolean) arrays, so nothing here has a derivative: each is a non-differentiable
primitive (:func:`tapegrad.core.primitive.nondifferentiable`), whose result is a plain array at every
level of ``grad``. A float input raises jax.numpy's TypeError, naming the op.
"""
from __future__ import annotations

import jax.numpy as jnp

from tapegrad.core.primitive import nondifferentiable
from tapegrad.numpy._values import arraylike

# The primitives behind the operators too (tracer_methods: &, |, ^, ~ on pending comparisons).
and_p = nondifferentiable("bitwise_and", jnp.bitwise_and)
or_p = nondifferentiable("bitwise_or", jnp.bitwise_or)
xor_p = nondifferentiable("bitwise_xor", jnp.bitwise_xor)
not_p = nondifferentiable("bitwise_not", jnp.bitwise_not)
_count = nondifferentiable("bitwise_count", jnp.bitwise_count)
_left = nondifferentiable("left_shift", jnp.left_shift)
_right = nondifferentiable("right_shift", jnp.right_shift)
_gcd = nondifferentiable("gcd", jnp.gcd)
_lcm = nondifferentiable("lcm", jnp.lcm)
_packbits = nondifferentiable("packbits", lambda a, axis, bitorder: jnp.packbits(a, axis=axis, bitorder=bitorder))
_unpackbits = nondifferentiable("unpackbits", lambda a, axis, count, bitorder: jnp.unpackbits(
    a, axis=axis, count=count, bitorder=bitorder))


def bitwise_and(x, y, /):
    """Elementwise bitwise AND of integers (logical AND of booleans).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bitwise_and(tnp.array([12, 10]), 6).tolist()
        [4, 2]
    """
    return and_p(arraylike(x), arraylike(y))


def bitwise_or(x, y, /):
    """Elementwise bitwise OR.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bitwise_or(tnp.array([12, 10]), 6).tolist()
        [14, 14]
    """
    return or_p(arraylike(x), arraylike(y))


def bitwise_xor(x, y, /):
    """Elementwise bitwise exclusive OR.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bitwise_xor(tnp.array([12, 10]), 6).tolist()
        [10, 12]
    """
    return xor_p(arraylike(x), arraylike(y))


def bitwise_not(x, /):
    """Elementwise bitwise NOT (two's complement: ``~x == -x - 1``; logical NOT of booleans).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bitwise_not(tnp.array([0, 5])).tolist()
        [-1, -6]
    """
    return not_p(arraylike(x))


def invert(x, /):
    """Elementwise bitwise NOT, NumPy's name (see :func:`bitwise_not`).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.invert(tnp.array([True, False])).tolist()
        [False, True]
    """
    return not_p(arraylike(x))


def bitwise_invert(x, /):
    """Elementwise bitwise NOT, the array API's name (see :func:`bitwise_not`).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bitwise_invert(tnp.array([0, 5])).tolist()
        [-1, -6]
    """
    return not_p(arraylike(x))


def bitwise_count(x, /):
    """The number of 1 bits in ``|x|``, as ``uint8``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bitwise_count(tnp.array([7, -4])).tolist()
        [3, 1]
    """
    return _count(arraylike(x))


def left_shift(x, y, /):
    """``x`` shifted left by ``y`` bits (``x * 2**y``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.left_shift(tnp.array([1, 3]), 2).tolist()
        [4, 12]
    """
    return _left(arraylike(x), arraylike(y))


def bitwise_left_shift(x, y, /):
    """``x`` shifted left by ``y`` bits, the array API's name (see :func:`left_shift`).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bitwise_left_shift(tnp.array([1, 3]), 1).tolist()
        [2, 6]
    """
    return _left(arraylike(x), arraylike(y))


def right_shift(x1, x2, /):
    """``x1`` shifted right by ``x2`` bits (arithmetic for signed, logical for unsigned integers).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.right_shift(tnp.array([16, -16]), 2).tolist()
        [4, -4]
    """
    return _right(arraylike(x1), arraylike(x2))


def bitwise_right_shift(x1, x2, /):
    """``x1`` shifted right by ``x2`` bits, the array API's name (see :func:`right_shift`).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bitwise_right_shift(tnp.array([16, 5]), 1).tolist()
        [8, 2]
    """
    return _right(arraylike(x1), arraylike(x2))


def gcd(x1, x2):
    """The elementwise greatest common divisor of integers (``gcd(0, 0) == 0``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.gcd(tnp.array([12, -18, 0]), 8).tolist()
        [4, 2, 8]
    """
    return _gcd(arraylike(x1), arraylike(x2))


def lcm(x1, x2):
    """The elementwise least common multiple of integers (0 where either is 0).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.lcm(tnp.array([4, 6, 0]), 6).tolist()
        [12, 6, 0]
    """
    return _lcm(arraylike(x1), arraylike(x2))


def packbits(a, axis: int | None = None, bitorder: str = "big"):
    """Booleans (nonzero integers) packed 8 to a ``uint8``, along ``axis`` (flattened when None).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.packbits(tnp.array([1, 0, 1])).tolist()
        [160]
    """
    return _packbits(arraylike(a), axis=None if axis is None else int(axis), bitorder=bitorder)


def unpackbits(a, axis: int | None = None, count: int | None = None, bitorder: str = "big"):
    """The bits of ``uint8`` values, each as a ``uint8`` 0 or 1, along ``axis`` (flattened when None).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.unpackbits(tnp.array([160], dtype="uint8"), count=3).tolist()
        [1, 0, 1]
    """
    return _unpackbits(arraylike(a), axis=None if axis is None else int(axis),
                       count=None if count is None else int(count), bitorder=bitorder)
