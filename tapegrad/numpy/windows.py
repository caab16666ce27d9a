"""Window functions with jax.numpy signatures: bartlett, blackman, hamming, hanning, kaiser.

A window of length ``M`` (a concrete integer) is a constant, except Kaiser's, which JAX differentiates
in its shape parameter ``beta``: ``i0(beta * sqrt(1 - t**2)) / i0(beta)``. With a traced ``beta`` it is
composed of ``scipy.special.i0e`` (tapegrad's primitive with its own rule) as
``i0e(z) / i0e(beta) * exp(|z| - |beta|)``, the same ratio without the overflow of ``i0`` itself.
"""
from __future__ import annotations

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer
from tapegrad.numpy._values import static_int


def bartlett(M: int):
    """The Bartlett (triangular) window of ``M`` points (a constant).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.bartlett(5).tolist()
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    return jnp.bartlett(static_int(M, "bartlett", "M"))


def blackman(M: int):
    """The Blackman window of ``M`` points (a constant).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.blackman(3).round(6).tolist()
        [-0.0, 1.0, -0.0]
    """
    return jnp.blackman(static_int(M, "blackman", "M"))


def hamming(M: int):
    """The Hamming window of ``M`` points (a constant).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [round(v, 6) for v in tnp.hamming(3).tolist()]
        [0.08, 1.0, 0.08]
    """
    return jnp.hamming(static_int(M, "hamming", "M"))


def hanning(M: int):
    """The Hann window of ``M`` points (a constant).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.hanning(3).round(6).tolist()
        [0.0, 1.0, 0.0]
    """
    return jnp.hanning(static_int(M, "hanning", "M"))


def kaiser(M: int, beta):
    """The Kaiser window of ``M`` points, ``i0(beta * sqrt(1 - t**2)) / i0(beta)`` for ``t`` in ``[-1, 1]``.

    Differentiable in ``beta``, as JAX's.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tnp.kaiser(3, 0.0).tolist()
        [1.0, 1.0, 1.0]
        >>> round(float(tg.grad(lambda b: tnp.kaiser(3, b)[0])(2.0)), 6)
        -0.306097
    """
    M = static_int(M, "kaiser", "M")
    if type(beta) is not Tracer:
        return jnp.kaiser(M, beta)
    dtype = jnp.result_type(float)
    if M <= 1:
        return jnp.ones((M,), dtype)
    from tapegrad.rules.special import i0e  # not at import time: rules.special reads tnp (the seam)

    n = jnp.arange(M, dtype=dtype)
    alpha = 0.5 * (M - 1)
    s = jnp.sqrt(1 - ((n - alpha) / alpha) ** 2)
    z = beta * s
    return i0e(z) / i0e(beta) * tnp.exp(tnp.abs(z) - tnp.abs(beta))
