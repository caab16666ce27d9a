"""``tnp.fft``: jax.numpy.fft's functions, differentiable to every order.

Three primitives do the transforms (``tapegrad/rules/fft.py``); everything
here is argument checking, the zero-padding or cropping that ``n``/``s`` ask
for (``tnp.pad`` and slicing, whose rules crop and pad back) and compositions
(``fft2`` is ``fftn`` on two axes, ``hfft`` is an ``irfft`` of the conjugate,
``fftshift`` a ``roll``). ``fftfreq``/``rfftfreq`` are constants.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer
from tapegrad.rules.fft import SWAP, fftn_p, irfftn_p, rfftn_p

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn",
           "ifftn", "rfftn", "irfftn", "fftshift", "ifftshift", "fftfreq", "rfftfreq"]

_NORMS = ("backward", "ortho", "forward")


def _array(name: str, a: Any) -> Any:
    if type(a) is Tracer:
        return a
    try:
        return tnp.asarray(a)
    except (TypeError, ValueError) as e:
        raise TypeError(f"tnp.fft.{name}: expected an array, got {type(a).__name__}: {e}") from e


def _norm(name: str, norm: str | None) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f"tnp.fft.{name}: norm must be one of {_NORMS} or None, got {norm!r}")
    return norm


def _int(name: str, what: str, v: Any) -> int:
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"tnp.fft.{name}: {what} must be an integer, got {v!r}") from None


def _axes_and_sizes(name: str, x: Any, s: Sequence[int] | None, axes: Sequence[int] | None,
                    default_all: bool = True) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """jax.numpy's reading of ``s``/``axes``: normalised axes, and ``s`` as a tuple (or None)."""
    nd = len(tnp.shape(x))
    if s is not None:
        if isinstance(s, (int, np.integer)):
            raise TypeError(f"tnp.fft.{name}: s must be a sequence of integers, got {s!r}")
        s = tuple(_int(name, "each entry of s", v) for v in s)
        for v in s:
            if v < 1:
                raise ValueError(f"tnp.fft.{name}: every entry of s must be positive, got s={s}")
    if axes is None:
        k = nd if s is None else len(s)
        if k > nd:
            raise ValueError(f"tnp.fft.{name}: s={s} has {len(s)} entries but the input has shape "
                             f"{tuple(tnp.shape(x))}")
        axes = tuple(range(nd - k, nd)) if default_all or s is not None else ()
    else:
        if isinstance(axes, (int, np.integer)):
            raise TypeError(f"tnp.fft.{name}: axes must be a sequence of integers, got {axes!r}")
        axes = tuple(_int(name, "each axis", a) for a in axes)
        for a in axes:
            if not -nd <= a < nd:
                raise ValueError(f"tnp.fft.{name}: axis {a} is out of bounds for an input of shape "
                                 f"{tuple(tnp.shape(x))}")
        axes = tuple(a % nd for a in axes)
        if len(set(axes)) != len(axes):
            raise ValueError(f"tnp.fft.{name}: axes must be distinct, got {axes}")
        if s is not None and len(s) != len(axes):
            raise ValueError(f"tnp.fft.{name}: s={s} and axes={axes} must have the same length")
    return axes, s


def _resize(x: Any, axes: Sequence[int], sizes: Sequence[int]) -> Any:
    """``x`` cropped or zero-padded to ``sizes`` along ``axes``, as numpy.fft does for ``n``/``s``."""
    shape = tuple(tnp.shape(x))
    crop = [slice(None)] * len(shape)
    widths = [(0, 0)] * len(shape)
    for a, n in zip(axes, sizes, strict=True):
        if n < shape[a]:
            crop[a] = slice(0, n)
        elif n > shape[a]:
            widths[a] = (0, n - shape[a])
    if any(c != slice(None) for c in crop):
        x = x[tuple(crop)]
    if any(w != (0, 0) for w in widths):
        x = tnp.pad(x, widths)
    return x


def _complex(x: Any) -> Any:
    dt = tnp.result_type(x, 1j)  # float32 -> complex64, float64 -> complex128, ints -> default complex
    return x if x.dtype == dt else tnp.astype(x, dt)


def _real(name: str, x: Any) -> Any:
    if tnp.iscomplexobj(x):
        raise TypeError(f"tnp.fft.{name}: expects a real input, got dtype {np.dtype(x.dtype).name} "
                        f"of shape {tuple(tnp.shape(x))}; use fft/fftn for complex inputs")
    dt = tnp.result_type(x, 1.0)
    return x if x.dtype == dt else tnp.astype(x, dt)


def _check_nonempty(name: str, x: Any, axes: Sequence[int]) -> None:
    shape = tuple(tnp.shape(x))
    for a in axes:
        if shape[a] == 0:
            raise ValueError(f"tnp.fft.{name}: axis {a} of the input of shape {shape} is empty; "
                             "pass n or s to give it a length")


def _c2c(name: str, a: Any, s: Any, axes: Any, norm: str | None, inverse: bool, default_all: bool = True) -> Any:
    x = _array(name, a)
    axes, s = _axes_and_sizes(name, x, s, axes, default_all)
    norm = _norm(name, norm)
    x = _complex(x)
    if s is not None:
        x = _resize(x, axes, s)
    _check_nonempty(name, x, axes)
    if not axes:
        return x
    return fftn_p(x, axes=axes, norm=norm, inverse=inverse)


def _r2c(name: str, a: Any, s: Any, axes: Any, norm: str | None) -> Any:
    x = _real(name, _array(name, a))
    axes, s = _axes_and_sizes(name, x, s, axes)
    norm = _norm(name, norm)
    if not axes:
        raise ValueError(f"tnp.fft.{name}: needs at least one axis")
    if s is not None:
        x = _resize(x, axes, s)
    _check_nonempty(name, x, axes)
    return rfftn_p(x, axes=axes, norm=norm)


def _c2r(name: str, a: Any, s: Any, axes: Any, norm: str | None) -> Any:
    x = _complex(_array(name, a))
    axes, s = _axes_and_sizes(name, x, s, axes)
    norm = _norm(name, norm)
    if not axes:
        raise ValueError(f"tnp.fft.{name}: needs at least one axis")
    shape = tuple(tnp.shape(x))
    if s is None:
        # As numpy: the last axis holds n // 2 + 1 bins of an even-length signal.
        s = tuple(shape[a] for a in axes[:-1]) + (2 * (shape[axes[-1]] - 1),)
        if s[-1] < 1:
            raise ValueError(f"tnp.fft.{name}: the input of shape {shape} has {shape[axes[-1]]} bins along "
                             f"axis {axes[-1]}, which gives an output length of {s[-1]}; pass n or s")
    x = _resize(x, axes, s[:-1] + (s[-1] // 2 + 1,))
    _check_nonempty(name, x, axes)
    return irfftn_p(x, axes=axes, s=s, norm=norm)


def _one(name: str, n: int | None, axis: int) -> tuple[tuple[int] | None, tuple[int]]:
    axis = _int(name, "axis", axis)
    if n is None:
        return None, (axis,)
    n = _int(name, "n", n)
    if n < 1:
        raise ValueError(f"tnp.fft.{name}: n must be positive, got {n}")
    return (n,), (axis,)


def _one_axis_ok(name: str, a: Any, axis: int) -> None:
    nd = len(tnp.shape(_array(name, a)))
    if nd == 0:
        raise ValueError(f"tnp.fft.{name}: needs an input of at least one dimension, got a scalar")


def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The one-dimensional discrete Fourier transform along ``axis`` (``n``: crop or zero-pad first).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.fft(tnp.array([1.0, 0.0, 0.0, 0.0]))
        Array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j], dtype=complex64)
    """
    _one_axis_ok("fft", a, axis)
    s, axes = _one("fft", n, axis)
    return _c2c("fft", a, s, axes, norm, inverse=False)


def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The one-dimensional inverse discrete Fourier transform along ``axis``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.ifft(tnp.array([4.0, 0.0, 0.0, 0.0]))
        Array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j], dtype=complex64)
    """
    _one_axis_ok("ifft", a, axis)
    s, axes = _one("ifft", n, axis)
    return _c2c("ifft", a, s, axes, norm, inverse=True)


def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The DFT of a real input along ``axis``: its ``n // 2 + 1`` non-negative frequency bins.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.rfft(tnp.array([1.0, 2.0, 3.0, 4.0]))
        Array([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex64)
    """
    _one_axis_ok("rfft", a, axis)
    s, axes = _one("rfft", n, axis)
    return _r2c("rfft", a, s, axes, norm)


def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The inverse of :func:`rfft`: a real signal of length ``n`` (default ``2 * (bins - 1)``).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.irfft(tnp.array([10.0, -2 + 2j, -2.0]))
        Array([1., 2., 3., 4.], dtype=float32)
    """
    _one_axis_ok("irfft", a, axis)
    s, axes = _one("irfft", n, axis)
    return _c2r("irfft", a, s, axes, norm)


def hfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The DFT of a Hermitian-symmetric signal given by its first half: a real spectrum of length ``n``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.hfft(tnp.array([1.0, 0.0, 0.0]))
        Array([1., 1., 1., 1.], dtype=float32)
    """
    _one_axis_ok("hfft", a, axis)
    s, axes = _one("hfft", n, axis)
    x = _complex(_array("hfft", a))
    return _c2r("hfft", tnp.conj(x), s, axes, SWAP[_norm("hfft", norm)])


def ihfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """The inverse of :func:`hfft`: the first ``n // 2 + 1`` bins of the inverse DFT of a real input.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.ihfft(tnp.array([1.0, 1.0, 1.0, 1.0]))
        Array([1.-0.j, 0.-0.j, 0.-0.j], dtype=complex64)
    """
    _one_axis_ok("ihfft", a, axis)
    s, axes = _one("ihfft", n, axis)
    return tnp.conj(_r2c("ihfft", a, s, axes, SWAP[_norm("ihfft", norm)]))


def fftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None) -> Any:
    """The n-dimensional DFT over ``axes`` (default: all, or the last ``len(s)``), cropped/padded to ``s``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.fftn(tnp.ones((2, 2)))
        Array([[4.+0.j, 0.+0.j],
               [0.+0.j, 0.+0.j]], dtype=complex64)
    """
    return _c2c("fftn", a, s, axes, norm, inverse=False)


def ifftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Any:
    """The n-dimensional inverse DFT over ``axes``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.ifftn(tnp.array([[4.0, 0.0], [0.0, 0.0]]))
        Array([[1.+0.j, 1.+0.j],
               [1.+0.j, 1.+0.j]], dtype=complex64)
    """
    return _c2c("ifftn", a, s, axes, norm, inverse=True)


def rfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Any:
    """The n-dimensional DFT of a real input; the last of ``axes`` keeps its ``n // 2 + 1`` bins.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.rfftn(tnp.ones((2, 4))).shape
        (2, 3)
    """
    return _r2c("rfftn", a, s, axes, norm)


def irfftn(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None) -> Any:
    """The inverse of :func:`rfftn`: a real array of sizes ``s`` along ``axes``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.irfftn(tnp.fft.rfftn(tnp.ones((2, 4)))).shape
        (2, 4)
    """
    return _c2r("irfftn", a, s, axes, norm)


def _two(name: str, a: Any, axes: Sequence[int]) -> None:
    if len(tnp.shape(_array(name, a))) < 2:
        raise ValueError(f"tnp.fft.{name}: needs an input of at least two dimensions, got shape "
                         f"{tuple(tnp.shape(_array(name, a)))}")


def fft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None) -> Any:
    """The two-dimensional DFT over ``axes``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.fft2(tnp.ones((2, 2)))[0, 0]
        Array(4.+0.j, dtype=complex64)
    """
    _two("fft2", a, axes)
    return _c2c("fft2", a, s, axes, norm, inverse=False)


def ifft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None) -> Any:
    """The two-dimensional inverse DFT over ``axes``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.ifft2(tnp.ones((2, 2)))[0, 0]
        Array(1.+0.j, dtype=complex64)
    """
    _two("ifft2", a, axes)
    return _c2c("ifft2", a, s, axes, norm, inverse=True)


def rfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None) -> Any:
    """The two-dimensional DFT of a real input over ``axes``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.rfft2(tnp.ones((2, 4))).shape
        (2, 3)
    """
    _two("rfft2", a, axes)
    return _r2c("rfft2", a, s, axes, norm)


def irfft2(a: Any, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None) -> Any:
    """The inverse of :func:`rfft2`.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.irfft2(tnp.ones((2, 3))).shape
        (2, 4)
    """
    _two("irfft2", a, axes)
    return _c2r("irfft2", a, s, axes, norm)


def _shift_axes(name: str, x: Any, axes: int | Sequence[int] | None) -> tuple[int, ...]:
    nd = len(tnp.shape(x))
    if axes is None:
        return tuple(range(nd))
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    for a in axes:
        a = _int(name, "each axis", a)
        if not -nd <= a < nd:
            raise ValueError(f"tnp.fft.{name}: axis {a} is out of bounds for an input of shape "
                             f"{tuple(tnp.shape(x))}")
    return tuple(a % nd for a in axes)


def fftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """Move the zero-frequency bin to the centre: a roll by ``n // 2`` along each of ``axes``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.fftshift(tnp.arange(5.0))
        Array([3., 4., 0., 1., 2.], dtype=float32)
    """
    x = _array("fftshift", x)
    axes = _shift_axes("fftshift", x, axes)
    shape = tuple(tnp.shape(x))
    if not axes:
        return x
    return tnp.roll(x, tuple(shape[a] // 2 for a in axes), axes)


def ifftshift(x: Any, axes: int | Sequence[int] | None = None) -> Any:
    """The inverse of :func:`fftshift`: a roll by ``-(n // 2)`` along each of ``axes``.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.ifftshift(tnp.fft.fftshift(tnp.arange(5.0)))
        Array([0., 1., 2., 3., 4.], dtype=float32)
    """
    x = _array("ifftshift", x)
    axes = _shift_axes("ifftshift", x, axes)
    shape = tuple(tnp.shape(x))
    if not axes:
        return x
    return tnp.roll(x, tuple(-(shape[a] // 2) for a in axes), axes)


def _freq_args(name: str, n: Any, d: Any) -> int:
    if isinstance(n, Tracer) or isinstance(d, Tracer):
        raise TypeError(f"tnp.fft.{name}: n and d must be static numbers (the frequencies are constants)")
    n = _int(name, "n", n)
    if n < 1:
        raise ValueError(f"tnp.fft.{name}: n must be positive, got {n}")
    return n


def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None, device: Any = None) -> Any:
    """The sample frequencies of an ``n``-point DFT with sample spacing ``d`` (a constant array).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.fftfreq(4)
        Array([ 0.  ,  0.25, -0.5 , -0.25], dtype=float32)
    """
    n = _freq_args("fftfreq", n, d)
    return jnp.fft.fftfreq(n, d, dtype=dtype, device=device)


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None, device: Any = None) -> Any:
    """The sample frequencies of :func:`rfft`'s ``n // 2 + 1`` bins (a constant array).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.fft.rfftfreq(4)
        Array([0.  , 0.25, 0.5 ], dtype=float32)
    """
    n = _freq_args("rfftfreq", n, d)
    return jnp.fft.rfftfreq(n, d, dtype=dtype, device=device)
