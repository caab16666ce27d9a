"""Argument handling shared by ``tapegrad.scipy.linalg``: arrays, dtypes and shapes as jax.scipy reads them."""
from __future__ import annotations

import warnings
from typing import Any

import jax.numpy as jnp

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer

Array = Any
PREFIX = "tapegrad.scipy.linalg"


def array(x: Any, who: str) -> Any:
    """``x`` as an array (tracers stay tracers; lists may hold tracers)."""
    if type(x) is Tracer:
        return x
    try:
        return tnp.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{PREFIX}.{who}: expected an array, got {type(x).__name__}: {e}") from e


def inexact(*xs: Any, who: str) -> tuple[Any, ...]:
    """``xs`` as arrays of one floating (or complex) dtype, as ``promote_dtypes_inexact`` makes them."""
    xs = tuple(array(x, who) for x in xs)
    dt = jnp.result_type(*(x.dtype for x in xs))
    if not jnp.issubdtype(dt, jnp.inexact):
        dt = jnp.result_type(dt, float)
    return tuple(x if x.dtype == dt else tnp.astype(x, dt) for x in xs)


def promote(*xs: Any, who: str) -> tuple[Any, ...]:
    """``xs`` as arrays of their common dtype (integers stay integers), as ``promote_dtypes``."""
    xs = tuple(array(x, who) for x in xs)
    dt = jnp.result_type(*(x.dtype for x in xs))
    return tuple(x if x.dtype == dt else tnp.astype(x, dt) for x in xs)


def is_complex(x: Any) -> bool:
    return bool(jnp.issubdtype(x.dtype, jnp.complexfloating))


def conj(x: Any) -> Any:
    """The conjugate, a no-op (no tape entry) for real arrays."""
    return tnp.conj(x) if is_complex(x) else x


def mT(x: Any) -> Any:
    return tnp.swapaxes(x, -1, -2)


def mH(x: Any) -> Any:
    return conj(mT(x))


def square(a: Any, who: str, name: str = "a") -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{PREFIX}.{who}: expected {name} to be a square matrix or a stack of them "
                         f"(shape (..., n, n)), got shape {tuple(a.shape)}")


def trans_code(trans: Any, who: str) -> int:
    """LAPACK's ``trans``: 0/'N' (a), 1/'T' (a^T), 2/'C' (a^H)."""
    codes = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}
    try:
        return codes[trans]
    except (KeyError, TypeError):
        raise ValueError(f"{PREFIX}.{who}: invalid trans value {trans!r}; expected 0, 1, 2, 'N', 'T' or 'C'") from None


def rhs(a: Any, b: Any, who: str) -> tuple[Any, bool]:
    """``b`` as a stack of matrices for a solve with ``a``, and whether the result drops the last axis.

    As jax.scipy: a 1-D ``b`` is one vector; ``b.ndim == a.ndim - 1`` with a matching last axis is a
    batch of vectors (deprecated there, with the same warning); anything else is ``(..., n, k)``.
    """
    n = a.shape[-1]
    if b.ndim == 1 or (a.ndim == b.ndim + 1 and b.shape[-1] == n):
        if b.ndim > 1:
            warnings.warn(f"{PREFIX}.{who}: batched 1D solves with b.ndim > 1 are deprecated (as in jax.scipy); "
                          f"use {who}(a, b[..., None]).squeeze(-1)", FutureWarning, stacklevel=3)
        if b.shape[-1] != n:
            raise ValueError(f"{PREFIX}.{who}: b of shape {tuple(b.shape)} does not match a of shape {tuple(a.shape)}")
        return b[..., None], True
    if b.ndim < 2 or b.shape[-2] != n:
        raise ValueError(f"{PREFIX}.{who}: b of shape {tuple(b.shape)} must be (n,) or (..., n, k) with n = {n} "
                         f"from a of shape {tuple(a.shape)}")
    return b, False
