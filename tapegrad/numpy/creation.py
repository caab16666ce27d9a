"""Array creation beyond :mod:`tapegrad.numpy.constructors`: ranges whose bounds may be traced
(``linspace``, ``logspace``, ``geomspace``), and ``empty``, ``empty_like``, ``identity``, ``tri``.

JAX differentiates ``linspace``/``logspace``/``geomspace`` in their bounds (and ``logspace`` in its
base): with traced bounds each is jax.numpy's own formula written in tapegrad ops, so the gradients
are JAX's; with constant bounds each is jax.numpy's function, a constant.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tapegrad.core.tracer import Tracer
from tapegrad.numpy._values import static_int
from tapegrad.numpy.constructors import _raw, _shape_of, asarray, result_type


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (arrays of bounds broadcast; the samples go
    along ``axis``). With ``retstep``, also the spacing.

    A constant for constant bounds; traced bounds are differentiable, as in JAX: sample ``i`` is
    ``start * (1 - i / div) + stop * (i / div)``, with ``div = num - 1`` (``num`` without ``endpoint``).

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tnp.linspace(0.0, 1.0, 5).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
        >>> float(tg.grad(lambda s: tnp.linspace(s, 1.0, 5)[1])(0.0))
        0.75
    """
    num = static_int(num, "linspace", "num")
    axis = static_int(axis, "linspace", "axis")
    if not (_traced(start) or _traced(stop)):
        return jnp.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)
    return _linspace_traced(start, stop, num, endpoint, retstep, dtype, axis)


def _traced(x: Any) -> bool:
    """Whether ``x`` holds a tapegrad Tracer (itself, or in nested lists and tuples)."""
    if type(x) is Tracer:
        return True
    return isinstance(x, (list, tuple)) and any(_traced(v) for v in x)


def _jax_dtype(fn: Any, *args: Any) -> Any:
    """The dtype ``fn`` (a jax.numpy constructor) gives for ``args``' raw values (weak types included)."""
    return jax.eval_shape(fn, *[_spec(_raw(a)) for a in args]).dtype


def _spec(v: Any) -> Any:
    """``v``'s abstract value: a Python scalar as it is, an array (concrete, traced or pending) as its
    shape, dtype and weak type."""
    if isinstance(v, (bool, int, float, complex)):
        return v
    weak = getattr(v, "weak_type", None)
    if weak is None:
        weak = getattr(getattr(v, "aval", None), "weak_type", False)
    return jax.ShapeDtypeStruct(tuple(v.shape), v.dtype, weak_type=bool(weak))


def _linspace_traced(start: Any, stop: Any, num: int, endpoint: bool, retstep: bool, dtype: Any,
                     axis: int) -> Any:
    """jax.numpy's linspace, formula for formula, in tapegrad ops (so traced bounds get gradients)."""
    import tapegrad.numpy as tnp

    if num < 0:
        raise ValueError(f"tnp.linspace: the number of samples must be non-negative, got {num}")
    start, stop = asarray(start), asarray(stop)
    if dtype is None:
        dtype = _jax_dtype(lambda a, b: jnp.linspace(a, b, 2), start, stop)
    dtype = jnp.dtype(dtype)
    cdt = _jax_dtype(lambda a, b: jnp.linspace(a, b, 2), jnp.zeros((), dtype), jnp.zeros((), dtype))
    start, stop = tnp.astype(start, cdt), tnp.astype(stop, cdt)
    bshape = list(np.broadcast_shapes(tuple(start.shape), tuple(stop.shape)))
    bstart, bstop = tnp.broadcast_to(start, tuple(bshape)), tnp.broadcast_to(stop, tuple(bshape))
    axis = len(bshape) + axis + 1 if axis < 0 else axis
    bounds_shape = list(bshape)
    bounds_shape.insert(axis, 1)
    div = num - 1 if endpoint else num
    if num > 1:
        delta = (stop - start) / jnp.asarray(div, cdt)
        iota_shape = [1] * len(bounds_shape)
        iota_shape[axis] = div
        real = jnp.finfo(cdt).dtype
        step = (jnp.arange(div, dtype=real).reshape(iota_shape) / jnp.asarray(div, real)).astype(cdt)
        out = tnp.reshape(bstart, tuple(bounds_shape)) * (1 - step) + tnp.reshape(bstop, tuple(bounds_shape)) * step
        if endpoint:
            out = tnp.concatenate([out, tnp.expand_dims(bstop, axis)], axis=axis)
    elif num == 1:
        delta = jnp.asarray(np.nan, cdt) if endpoint else tnp.astype(stop - start, cdt)
        out = tnp.reshape(bstart, tuple(bounds_shape))
    else:
        bounds_shape[axis] = 0
        delta = jnp.asarray(np.nan, cdt)
        out = jnp.zeros(tuple(bounds_shape), dtype)
    if jnp.issubdtype(dtype, jnp.integer) and not jnp.issubdtype(out.dtype, jnp.integer):
        out = tnp.floor(out)
    out = tnp.astype(out, dtype)
    return (out, delta) if retstep else out


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0, dtype: Any = None,
             axis: int = 0) -> Any:
    """``num`` values from ``base**start`` to ``base**stop``, evenly spaced in the exponent.

    Differentiable in ``start``, ``stop`` and ``base`` when they are traced, as in JAX (a constant otherwise).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.logspace(0.0, 2.0, 3).tolist()
        [1.0, 10.0, 100.0]
    """
    num = static_int(num, "logspace", "num")
    axis = static_int(axis, "logspace", "axis")
    if not (_traced(start) or _traced(stop) or _traced(base)):
        return jnp.logspace(start, stop, num, endpoint=endpoint, base=base, dtype=dtype, axis=axis)
    import tapegrad.numpy as tnp

    start, stop = asarray(start), asarray(stop)
    if dtype is None:
        dtype = _jax_dtype(lambda a, b: jnp.logspace(a, b, 2), start, stop)
    dtype = jnp.dtype(dtype)
    cdt = _jax_dtype(lambda a, b: jnp.linspace(a, b, 2), jnp.zeros((), dtype), jnp.zeros((), dtype))
    lin = linspace(tnp.astype(start, cdt), tnp.astype(stop, cdt), num, endpoint=endpoint, axis=axis)
    return tnp.astype(tnp.power(base, lin), dtype)


def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> Any:
    """``num`` values from ``start`` to ``stop`` in geometric progression (a constant ratio).

    Differentiable in ``start`` and ``stop`` when they are traced, as in JAX.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> [round(v, 3) for v in tnp.geomspace(1.0, 1000.0, 4).tolist()]
        [1.0, 10.0, 100.0, 1000.0]
    """
    num = static_int(num, "geomspace", "num")
    axis = static_int(axis, "geomspace", "axis")
    if not (_traced(start) or _traced(stop)):
        return jnp.geomspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis)
    import tapegrad.numpy as tnp

    start, stop = asarray(start), asarray(stop)
    if dtype is None:
        dtype = _jax_dtype(lambda a, b: jnp.geomspace(a, b, 2), start, stop)
    dtype = jnp.dtype(dtype)
    cdt = _jax_dtype(lambda a, b: jnp.linspace(a, b, 2), jnp.zeros((), dtype), jnp.zeros((), dtype))
    start, stop = tnp.astype(start, cdt), tnp.astype(stop, cdt)
    sign = tnp.sign(start)  # piecewise constant: no gradient, as in JAX
    res = sign * logspace(tnp.log10(start / sign), tnp.log10(stop / sign), num, endpoint=endpoint, base=10.0,
                          dtype=cdt, axis=0)
    axis = axis % res.ndim
    if axis != 0:
        res = tnp.transpose(res, (*range(1, axis + 1), 0, *range(axis + 1, res.ndim)))
    return tnp.astype(res, dtype)


def empty(shape: Any, dtype: Any = None) -> Any:
    """An array of ``shape`` (zeros: JAX arrays are never uninitialised).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.empty((2,)).tolist()
        [0.0, 0.0]
    """
    return jnp.empty(shape, dtype=dtype)


def empty_like(prototype: Any, dtype: Any = None, shape: Any = None) -> Any:
    """An array with the shape and dtype of ``prototype`` (zeros, a constant: no gradient flows).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.empty_like(tnp.ones((2, 3), dtype="int32")).dtype
        dtype('int32')
    """
    if isinstance(prototype, (list, tuple)):
        prototype = asarray(prototype)
    return jnp.zeros(_shape_of(prototype) if shape is None else shape, dtype=dtype or result_type(prototype))


def identity(n: int, dtype: Any = None) -> Any:
    """The ``n x n`` identity matrix (a constant).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.identity(2).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    return jnp.identity(n, dtype=dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    """An ``N x M`` array with ones on and below diagonal ``k``, zeros above (a constant).

    Example:
        >>> import tapegrad.numpy as tnp
        >>> tnp.tri(2, 3, k=1).tolist()
        [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    return jnp.tri(N, M, k, dtype=dtype)
