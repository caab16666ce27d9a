"""Predicates with jax.numpy signatures: iscomplex, isreal, array_equiv, iterable.

Boolean results, so no derivative: non-differentiable primitives (``iterable`` is a plain Python test).
"""
from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from tapegrad.core.primitive import nondifferentiable
from tapegrad.numpy._values import arraylike

_iscomplex = nondifferentiable("iscomplex", jnp.iscomplex)
_isreal = nondifferentiable("isreal", jnp.isreal)
_array_equiv = nondifferentiable("array_equiv", jnp.array_equiv)


def iscomplex(x):
    """Elementwise: whether the imaginary part is nonzero (false everywhere for real dtypes).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.iscomplex(tnp.array([1 + 1j, 2 + 0j])).tolist()
        [True, False]
    """
    return _iscomplex(arraylike(x))


def isreal(x):
    """Elementwise: whether the imaginary part is zero (true everywhere for real dtypes).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.isreal(tnp.array([1 + 1j, 2 + 0j])).tolist()
        [False, True]
    """
    return _isreal(arraylike(x))


def array_equiv(a1, a2):
    """Whether the arrays are equal after broadcasting (False, not an error, when they cannot broadcast).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> bool(tnp.array_equiv(tnp.array([1.0, 1.0]), 1.0)), bool(tnp.array_equiv(tnp.ones(2), tnp.ones(3)))
        (True, False)
    """
    a1, a2 = arraylike(a1), arraylike(a2)
    try:
        np.broadcast_shapes(tuple(a1.shape), tuple(a2.shape))
    except ValueError:
        return jnp.array(False)
    return _array_equiv(a1, a2)


def iterable(y: Any) -> bool:
    """Whether ``iter(y)`` works (a 0-d array is not iterable).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.iterable([1, 2]), tnp.iterable(tnp.array(3.0))
        (True, False)
    """
    if getattr(y, "ndim", None) == 0:
        return False
    try:
        iter(y)
    except TypeError:
        return False
    return True
