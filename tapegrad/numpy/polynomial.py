"""Polynomials with jax.numpy signatures: ``poly polyadd polysub polymul polydiv polyder polyint polyval
polyfit roots vander``. Coefficients run from the highest power down, as NumPy's.

Compositions of primitives (pads, products, convolutions, Horner's scheme, an SVD least-squares
solve for ``polyfit``), except ``roots``: the ``roots`` primitive (:mod:`tapegrad.rules.polynomial`),
whose rule is the closed-form derivative of a simple root.
"""
from __future__ import annotations

import operator

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer
from tapegrad.numpy._values import inexact as _inexact
from tapegrad.rules.indexing import IndexUpdateHelper


def _promote(*xs, inexact=False):
    xs = [tnp.asarray(x) for x in xs]
    dt = tnp.result_type(*xs)
    if inexact:
        dt = jnp.result_type(dt, float)
    return [tnp.astype(x, dt) for x in xs]


def _concrete(x, op, what):
    raw = x.primal() if type(x) is Tracer else x
    if isinstance(raw, jax.core.Tracer):
        raise TypeError(f"tnp.{op}: {what} must be concrete (known outside jax.jit)")
    return np.asarray(raw)


def _vec(x, op, name):
    if x.ndim != 1:
        raise ValueError(f"tnp.{op}: {name} must be 1-D coefficients, got shape {tuple(x.shape)}")
    return x


def vander(x, N: int | None = None, increasing: bool = False):
    """The Vandermonde matrix of 1-D ``x``: columns ``x ** (N-1), ..., x ** 0`` (reversed if ``increasing``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.vander(tnp.array([2.0, 3.0]), 3).tolist()
        [[4.0, 2.0, 1.0], [9.0, 3.0, 1.0]]
    """
    x = tnp.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"tnp.vander: x must be 1-D, got shape {tuple(x.shape)}")
    N = x.shape[0] if N is None else operator.index(N)
    if N < 0:
        raise ValueError(f"tnp.vander: N must be non-negative, got {N}")
    powers = np.arange(N) if increasing else np.arange(N - 1, -1, -1)
    return tnp.power(x[:, None], jnp.asarray(powers, tnp.result_type(x))[None, :])


def polyval(p, x, *, unroll: int = 16):
    """The polynomial with coefficients ``p`` (highest power first) at ``x``, by Horner's scheme.

    ``p`` may be 2-D or more: its trailing axes broadcast with ``x``. ``unroll`` is accepted for
    jax.numpy's signature.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> float(tnp.polyval(tnp.array([1.0, 0.0, -2.0]), 3.0))
        7.0
    """
    p, x = _promote(p, x)
    if p.ndim == 0:
        raise ValueError("tnp.polyval: p must have at least one dimension (the coefficients)")
    shape = tuple(np.broadcast_shapes(tuple(p.shape[1:]), tuple(x.shape)))
    y = tnp.zeros(shape, tnp.result_type(x))
    for k in range(p.shape[0]):
        y = y * x + p[k]
    return y


def polyadd(a1, a2):
    """The sum of two polynomials (the shorter one padded at the front).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.polyadd(tnp.array([1.0, 2.0]), tnp.array([1.0, 0.0, 3.0])).tolist()
        [1.0, 1.0, 5.0]
    """
    a1, a2 = _promote(a1, a2)
    n1, n2 = a1.shape[0], a2.shape[0]
    if n1 < n2:
        a1 = tnp.pad(a1, ((n2 - n1, 0),) + ((0, 0),) * (a1.ndim - 1))
    elif n2 < n1:
        a2 = tnp.pad(a2, ((n1 - n2, 0),) + ((0, 0),) * (a2.ndim - 1))
    return a1 + a2


def polysub(a1, a2):
    """The difference of two polynomials.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.polysub(tnp.array([1.0, 2.0]), tnp.array([1.0, 0.0, 3.0])).tolist()
        [-1.0, 1.0, -1.0]
    """
    a1, a2 = _promote(a1, a2)
    return polyadd(a1, -a2)


def _trim_front(a, op):
    raw = _concrete(a, op, "coefficients with trim_leading_zeros=True")
    nz = np.nonzero(raw)[0]
    return a[nz[0]:] if nz.size else a[:0]


def polymul(a1, a2, *, trim_leading_zeros: bool = False):
    """The product of two polynomials (a full convolution of the coefficients).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.polymul(tnp.array([1.0, 1.0]), tnp.array([1.0, -1.0])).tolist()
        [1.0, 0.0, -1.0]
    """
    a1, a2 = _promote(a1, a2, inexact=True)
    if trim_leading_zeros and (a1.shape[0] > 1 or a2.shape[0] > 1):
        a1, a2 = _trim_front(a1, "polymul"), _trim_front(a2, "polymul")
    if a1.shape[0] == 0:
        a1 = tnp.zeros((1,), tnp.result_type(a2))
    if a2.shape[0] == 0:
        a2 = tnp.zeros((1,), tnp.result_type(a1))
    return tnp.convolve(a1, a2, mode="full")


def polydiv(u, v, *, trim_leading_zeros: bool = False):
    """The quotient and remainder of polynomial division ``u / v`` (long division, as jax.numpy).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> q, r = tnp.polydiv(tnp.array([1.0, 0.0, -1.0]), tnp.array([1.0, 1.0]))
        >>> q.tolist(), r.tolist()
        ([1.0, -1.0], [0.0, 0.0, 0.0])
    """
    u, v = _promote(u, v, inexact=True)
    _vec(u, "polydiv", "u"), _vec(v, "polydiv", "v")
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = 1.0 / v[0]
    q = tnp.zeros((max(m - n + 1, 1),), tnp.result_type(u))
    for k in range(m - n + 1):
        d = scale * u[k]
        q = IndexUpdateHelper(q)[k].set(d)
        u = IndexUpdateHelper(u)[k:k + n + 1].add(-d * v)
    if trim_leading_zeros:
        raw = _concrete(u, "polydiv", "the remainder with trim_leading_zeros=True")
        big = np.nonzero(np.abs(raw) > np.sqrt(np.finfo(raw.dtype).eps))[0]
        u = u[big[0]:] if big.size else u[:0]
    return q, u


def polyder(p, m: int = 1):
    """The ``m``-th derivative of the polynomial ``p``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.polyder(tnp.array([1.0, 2.0, 3.0])).tolist()
        [2.0, 2.0]
    """
    p = _inexact(p)
    m = operator.index(m)
    if m < 0:
        raise ValueError(f"tnp.polyder: the order of the derivative must be non-negative, got {m}")
    if m == 0:
        return p
    n = p.shape[0]
    coeff = (np.arange(m, n)[None, :] - np.arange(m)[:, None]).prod(0)[::-1]
    return p[:-m] * jnp.asarray(coeff.copy(), tnp.result_type(p))


def polyint(p, m: int = 1, k=None):
    """The ``m``-th antiderivative of the polynomial ``p``, with integration constants ``k``
    (a scalar, or one per integration, the first integration's first).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.polyint(tnp.array([3.0, 2.0]), k=1.0).tolist()
        [1.5, 2.0, 1.0]
    """
    m = operator.index(m)
    p, k = _promote(p, 0 if k is None else k, inexact=True)
    if m < 0:
        raise ValueError(f"tnp.polyint: the order of the integral must be non-negative (see polyder), got {m}")
    k = tnp.atleast_1d(k)
    if k.shape[0] == 1:
        k = tnp.broadcast_to(k[0], (m,))
    if tuple(k.shape) != (m,):
        raise ValueError(f"tnp.polyint: k must be a scalar or a 1-D array of length 1 or m={m}, got shape "
                         f"{tuple(k.shape)}")
    if m == 0:
        return p
    n = p.shape[0]
    grid = np.arange(n + m)[None, :] - np.arange(m)[:, None]
    coeff = np.maximum(1, grid).prod(0)[::-1]
    return tnp.concatenate([p, k]) / jnp.asarray(coeff.copy(), tnp.result_type(p))


def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots (highest power first); for a square
    matrix, its characteristic polynomial (the roots are its eigenvalues, complex as jax.numpy's).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.poly(tnp.array([1.0, 2.0])).tolist()
        [1.0, -3.0, 2.0]
    """
    z = _inexact(seq_of_zeros)
    z = tnp.atleast_1d(z)
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] != 0:
        z = tnp.linalg.eigvals(z)
    if z.ndim != 1:
        raise ValueError(f"tnp.poly: input must be 1-D or a non-empty square 2-D array, got shape {tuple(z.shape)}")
    dt = tnp.result_type(z)
    if z.shape[0] == 0:
        return jnp.ones((), dt)
    a = jnp.ones((1,), dt)
    zero = jnp.zeros((1,), dt)
    # Multiply by (x - z_k) in turn: jnp.poly's convolution with [1, -z_k], term by term.
    for k in range(z.shape[0]):
        a = tnp.concatenate([a, zero]) - z[k] * tnp.concatenate([zero, a])
    return a


def roots(p, *, strip_zeros: bool = True):
    """The roots of the polynomial with coefficients ``p``: complex, as the eigenvalues of its companion
    matrix (jax.numpy's order). The gradient of a simple root is ``-r**(d-k) / p'(r)``.

    ``strip_zeros=True`` drops leading zero coefficients (they must be concrete); with ``False``
    each leading zero gives a NaN root instead, as jax.numpy.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> sorted(tnp.roots(tnp.array([1.0, -3.0, 2.0])).real.round(6).tolist())
        [1.0, 2.0]
    """
    from tapegrad.rules.polynomial import roots_p

    p = tnp.atleast_1d(_inexact(p))
    if p.ndim != 1:
        raise ValueError(f"tnp.roots: p must be 1-D, got shape {tuple(p.shape)}")
    cdt = jnp.result_type(tnp.result_type(p), jnp.complex64)
    if p.shape[0] < 2:
        return jnp.zeros((0,), cdt)
    if strip_zeros:
        raw = _concrete(p, "roots", "p with strip_zeros=True (pass strip_zeros=False under jit)")
        nz = np.nonzero(raw)[0]
        lead = int(nz[0]) if nz.size else p.shape[0]
        p = p[lead:]
        if p.shape[0] < 2:
            return jnp.zeros((0,), cdt)
        return roots_p(p)
    raw = p.primal() if type(p) is Tracer else p
    zero = raw == 0
    lead = jnp.where(jnp.all(zero), p.shape[0], jnp.argmin(zero))
    # jax.numpy's _roots_with_zeros: the coefficients rolled past the leading zeros, zero roots sorted
    # last and replaced by NaN, one per leading zero.
    safe = tnp.where(jnp.all(zero), 1.0, p)
    n = p.shape[0]
    rolled = safe[(jnp.arange(n) + lead) % n]
    r = roots_p(rolled)
    order = jnp.argsort(_concrete_or_raw(r) == 0, stable=True)
    r = r[order]
    return tnp.where(jnp.arange(n - 1) < n - 1 - lead, r, complex(np.nan, np.nan))


def _concrete_or_raw(x):
    return x.primal() if type(x) is Tracer else x


def _lstsq(a, b, rcond):
    """jax.numpy.linalg.lstsq by the SVD (solution, residuals, rank, singular values)."""
    u, s, vt = tnp.linalg.svd(a, full_matrices=False)
    s_raw = _concrete_or_raw(s)
    mask = (s_raw > 0) & (s_raw >= rcond * s_raw[0])
    rank = jnp.sum(mask)
    s_inv = tnp.where(mask, 1.0 / tnp.where(mask, s, 1.0), 0.0)[:, None]
    x = tnp.matmul(tnp.transpose(tnp.conj(vt)), s_inv * tnp.matmul(tnp.transpose(tnp.conj(u)), b))
    resid = tnp.sum(tnp.abs(b - tnp.matmul(a, x)) ** 2, axis=0)
    return x, resid, rank, s


def polyfit(x, y, deg: int, rcond: float | None = None, full: bool = False, w=None, cov: bool = False):
    """The least-squares polynomial of degree ``deg`` through ``(x, y)`` (``y`` 1-D, or 2-D for several
    fits), with optional weights ``w``; ``full`` adds residuals, rank, singular values and ``rcond``,
    ``cov`` the coefficients' covariance, as ``jnp.polyfit``. Differentiable in ``x``, ``y`` and ``w``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.polyfit(tnp.array([0.0, 1.0, 2.0]), tnp.array([1.0, 3.0, 5.0]), 1).round(6).tolist()
        [2.0, 1.0]
    """
    x, y = _promote(x, y, inexact=True)
    deg = operator.index(deg)
    order = deg + 1
    if deg < 0:
        raise ValueError(f"tnp.polyfit: deg must be non-negative, got {deg}")
    if x.ndim != 1 or x.shape[0] == 0:
        raise TypeError(f"tnp.polyfit: x must be a non-empty 1-D array, got shape {tuple(x.shape)}")
    if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise TypeError(f"tnp.polyfit: y must be 1-D or 2-D with x's length {x.shape[0]}, got shape {tuple(y.shape)}")
    if rcond is None:
        rcond = x.shape[0] * float(jnp.finfo(tnp.result_type(x)).eps)
    lhs, rhs = vander(x, order), y
    if w is not None:
        w = _inexact(w)
        if w.ndim != 1 or w.shape[0] != y.shape[0]:
            raise TypeError(f"tnp.polyfit: w must be 1-D with y's length {y.shape[0]}, got shape {tuple(w.shape)}")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if rhs.ndim == 2 else w)
    scale = tnp.sqrt(tnp.sum(lhs * lhs, axis=0))
    lhs = lhs / scale[None, :]
    c, resids, rank, s = _lstsq(lhs, rhs if rhs.ndim == 2 else rhs[:, None], rcond)
    c = c / scale[:, None]
    if rhs.ndim == 1:
        c, resids = c[:, 0], resids
    if full:
        return c, resids, rank, s, jnp.asarray(rcond)
    if cov:
        vbase = tnp.linalg.inv(tnp.dot(tnp.transpose(lhs), lhs)) / tnp.outer(scale, scale)
        if cov == "unscaled":
            fac = jnp.array([1.0])
        else:
            if x.shape[0] <= order:
                raise ValueError("tnp.polyfit: the number of data points must exceed order to scale the covariance")
            fac = resids / (x.shape[0] - order)
        if y.ndim == 1:
            return c, vbase * tnp.atleast_1d(fac)[None]
        return c, vbase[:, :, None] * tnp.atleast_1d(fac)[None, None, :]
    return c
