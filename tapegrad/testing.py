"""Property-based gradient tests for your own primitives, ``custom_vjp`` rules and layers.

Hypothesis strategies that draw JAX-ready inputs, and :func:`assert_vjp`, the
gradient oracle behind ``tg.check_grads`` with a test-friendly name::

    from hypothesis import given
    from tapegrad.testing import arrays, shapes, broadcastable_shapes, assert_vjp

    @given(arrays(shape=shapes(max_dims=3), dtype="float64", elements=(-3, 3)))
    def test_my_softplus(x):
        assert_vjp(my_softplus, (x,), order=2)

``assert_vjp`` checks, for each floating-point argument separately, the VJP
against central finite differences, the JVP against them too, that the two are
transposes of each other (``<J v, u> == <v, J^T u>``), and with ``reference``
both against ``jax.vjp``/``jax.jvp`` of a ``jax.numpy`` function; then it does it
all again on the derivative itself, up to ``order``. A failure is an
``AssertionError`` naming the argument, the order, the mode and the largest error.

Needs hypothesis: ``pip install hypothesis`` or ``pip install "tapegrad[testing]"``.
``import tapegrad`` never imports it.
"""
from __future__ import annotations

try:
    import hypothesis.extra.numpy as hnp
    from hypothesis import strategies as st
except ImportError as _e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "tapegrad.testing needs hypothesis, which is not installed: pip install hypothesis "
        '(or pip install "tapegrad[testing]")') from _e

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from tapegrad.checking import GradientCheckError, check_vjp

__all__ = ["GradientCheckError", "arrays", "assert_vjp", "broadcastable_shapes", "shapes"]

Shape = tuple[int, ...]
_FLOAT_BOUNDS = (-5.0, 5.0)  # default elements of a float array: finite, moderate
_INT_BOUNDS = (-100, 100)
_BF16 = np.dtype(jnp.bfloat16)


def shapes(*, min_dims: int = 0, max_dims: int | None = None, min_side: int = 0,
           max_side: int | None = None) -> st.SearchStrategy[Shape]:
    """Array shapes, scalars ``()`` and sizes 0 and 1 included unless excluded.

    The arguments are those of ``hypothesis.extra.numpy.array_shapes`` (which draws
    them), with defaults that include the edge cases: ``min_dims=0``, ``min_side=0``;
    ``max_dims`` defaults to ``min_dims + 2`` and ``max_side`` to ``min_side + 5``.

    Example:
        >>> from hypothesis import given
        >>> @given(shapes(max_dims=3))
        ... def test_rank(shape):
        ...     assert len(shape) <= 3
        >>> test_rank()
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, *, base_shape: Shape = (), min_dims: int = 0,
                         max_dims: int | None = None, min_side: int = 0,
                         max_side: int | None = None) -> st.SearchStrategy[tuple[Shape, ...]]:
    """Tuples of ``num_shapes`` shapes that broadcast together (and with ``base_shape``).

    Drawn by ``hypothesis.extra.numpy.mutually_broadcastable_shapes`` (same
    arguments); sizes 0 and 1 included unless ``min_side`` excludes them. The
    broadcast result is ``np.broadcast_shapes(*shapes)``.

    Example:
        >>> import numpy as np
        >>> from hypothesis import given
        >>> @given(broadcastable_shapes(num_shapes=2, max_dims=3))
        ... def test_pairs(shapes):
        ...     a, b = shapes
        ...     np.broadcast_shapes(a, b)
        >>> test_pairs()
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, base_shape=tuple(base_shape), min_dims=min_dims, max_dims=max_dims,
        min_side=min_side, max_side=max_side).map(lambda b: tuple(tuple(s) for s in b.input_shapes))


def _check_dtype(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy dtype that JAX can hold, or ``ValueError``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"tapegrad.testing.arrays: {dtype!r} is not a dtype") from None
    if not dt.isnative:
        dt = dt.newbyteorder("=")  # e.g. '>f8' from hypothesis' dtype strategies: JAX wants native order
    ok = dt == _BF16 or dt.kind in "biu" or (dt.kind == "f" and dt.itemsize <= 8) or \
        (dt.kind == "c" and dt.itemsize <= 16)
    if not ok:
        raise ValueError(f"tapegrad.testing.arrays: JAX has no dtype {dt.name}; use float16, float32, "
                         "float64, bfloat16, an int, uint, bool or complex64/complex128 dtype")
    return dt


def _inward(value: float, dt: np.dtype, up: bool) -> float:
    """``value`` rounded to the nearest ``dt`` number on the inside of the interval."""
    info = jnp.finfo(dt)
    v = dt.type(np.clip(value, float(info.min), float(info.max)))
    if up and float(v) < value:
        v = np.nextafter(v, dt.type(np.inf))
    elif not up and float(v) > value:
        v = np.nextafter(v, dt.type(-np.inf))
    return float(v)


def _float_elements(lo: float, hi: float, dt: np.dtype) -> st.SearchStrategy[float]:
    width = 32 if dt == _BF16 else 8 * dt.itemsize  # bfloat16: float32 values with bfloat16 bounds
    lo_r, hi_r = _inward(lo, dt, up=True), _inward(hi, dt, up=False)
    if lo_r > hi_r:
        raise ValueError(f"tapegrad.testing.arrays: no {dt.name} number lies in [{lo}, {hi}]")
    # No subnormals: XLA on CPU flushes them to zero, so JAX would not see the drawn value.
    return st.floats(lo_r, hi_r, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)


def _elements_for(dt: np.dtype, elements: Any) -> st.SearchStrategy[Any] | None:
    if elements is not None and not isinstance(elements, (tuple, list)):
        return elements  # a strategy: hypothesis checks that its values fit the dtype
    if elements is not None and len(elements) != 2:
        raise ValueError(f"tapegrad.testing.arrays: elements must be (lo, hi) or a strategy, got "
                         f"{elements!r}")
    if dt.kind == "b":
        if elements is not None:
            raise ValueError("tapegrad.testing.arrays: a bool array takes no (lo, hi) elements")
        return None
    if dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = elements if elements is not None else (max(_INT_BOUNDS[0], info.min), _INT_BOUNDS[1])
        if not (info.min <= lo <= hi <= info.max):
            raise ValueError(f"tapegrad.testing.arrays: elements ({lo}, {hi}) do not fit {dt.name} "
                             f"[{info.min}, {info.max}], or lo > hi")
        return st.integers(int(lo), int(hi))
    lo, hi = (float(b) for b in (elements if elements is not None else _FLOAT_BOUNDS))
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ValueError(f"tapegrad.testing.arrays: elements must be finite bounds lo <= hi, got "
                         f"({lo}, {hi})")
    if dt.kind == "c":
        part = np.dtype(f"float{4 * dt.itemsize}")
        return st.builds(complex, _float_elements(lo, hi, part), _float_elements(lo, hi, part))
    return _float_elements(lo, hi, dt)


def _arrays_of(dtype: Any, shape: Any, elements: Any, fill: Any,
               unique: bool) -> st.SearchStrategy[np.ndarray]:
    dt = _check_dtype(dtype)
    elems = _elements_for(dt, elements)
    if shape is None:
        shape = shapes()
    if dt == _BF16:  # hypothesis knows no bfloat16: float32 values, rounded to bfloat16 inside the bounds
        if unique:
            raise ValueError("tapegrad.testing.arrays: unique=True is not supported for bfloat16")
        return hnp.arrays(np.float32, shape, elements=elems, fill=fill).map(lambda a: a.astype(_BF16))
    return hnp.arrays(dt, shape, elements=elems, fill=fill, unique=unique)


def arrays(dtype: Any = None, shape: Any = None, *, elements: Any = None, fill: Any = None,
           unique: bool = False) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays that JAX takes as they are, drawn by ``hypothesis.extra.numpy.arrays``.

    - ``dtype``: a dtype, its name, or a strategy of them; ``None`` is JAX's default
      float (float64 when ``jax_enable_x64`` is on, else float32). Also ``"bfloat16"``.
    - ``shape``: an int, a tuple, or a strategy such as :func:`shapes` (the default,
      which includes scalars and sizes 0 and 1).
    - ``elements``: ``(lo, hi)`` for finite values in ``[lo, hi]`` (no NaN, no inf,
      no subnormals; the bounds are rounded inwards to the dtype, e.g. float32),
      integers in ``[lo, hi]`` for int dtypes; or a hypothesis strategy. The default
      is ``(-5, 5)`` for floats and ``(-100, 100)`` for ints.
    - ``fill``, ``unique``: as in hypothesis (``unique=True`` helps avoid ties, e.g.
      for ``max``).

    Example:
        >>> from hypothesis import given
        >>> @given(arrays(shape=shapes(max_dims=3), dtype="float64", elements=(-3, 3)))
        ... def test_bounds(x):
        ...     assert x.dtype == "float64" and ((-3 <= x) & (x <= 3)).all()
        >>> test_bounds()
    """
    if isinstance(dtype, st.SearchStrategy):
        return dtype.flatmap(lambda dt: _arrays_of(dt, shape, elements, fill, unique))
    if dtype is None:  # decided when first drawn, after the test session has set x64
        return st.deferred(lambda: _arrays_of(jnp.result_type(float), shape, elements, fill, unique))
    return _arrays_of(dtype, shape, elements, fill, unique)


def assert_vjp(fun: Callable, args: Sequence[Any], order: int = 1, modes: Sequence[str] = ("rev", "fwd"),
               reference: Callable | None = None, rtol: float | None = None, atol: float | None = None,
               *, eps: float | None = None, seed: int = 0, op_by_op: bool = True, fd64: bool = True) -> None:
    """Assert that ``fun``'s reverse and forward derivatives at ``args`` are right, up to ``order``.

    For every floating-point argument leaf (others are held fixed) and random
    directions ``v`` and cotangents ``u`` drawn from ``seed`` (so the check is
    deterministic, as hypothesis needs):

    - ``'rev'``: ``<u, J v>`` by central finite differences equals ``<J^T u, v>``
      from ``tg.vjp``, along a random ``v`` and along ``v = J^T u``;
    - ``'fwd'``: ``J v`` from ``tg.jvp`` equals finite differences element-wise;
    - both: the transpose (dot-product) test ``<u, J v> == <J^T u, v>``, to rounding;
    - ``reference`` (a ``jax.numpy`` function of the same arguments): the output,
      ``J^T u`` and ``J v`` against ``jax.vjp``/``jax.jvp`` of it;
    - then all of that on ``x -> J(x)^T u`` (on ``x -> J(x) v`` with ``modes=('fwd',)``),
      up to ``order``.

    The finite-difference step ``eps`` and ``rtol``/``atol`` default by dtype (the
    least precise among arguments and outputs; comparisons between two exact
    computations use tighter defaults); given values apply to every comparison.
    Raises ``AssertionError`` (a :class:`GradientCheckError`) naming the argument,
    the order, the mode (``'rev'``, ``'fwd'``, ``'transpose'`` or ``'reference'``)
    and the largest error.

    float64 (``jax_enable_x64``) sees relative errors of 1e-4. float32's own finite
    differences see only 3e-2, so a float32 ``fun`` is also evaluated in float64 (x64
    switched on for those calls only) and its float32 derivatives are held to those
    finite differences at float32 rounding: that sees 1e-3. Where the float64
    evaluation is not the same function (a cast to float32 inside, a branch on the
    dtype, an error), a :class:`~tapegrad.checking.GradientCheckWarning` says so and
    float32's finite differences stand alone; ``fd64=False`` skips it. float16 and
    bfloat16 have too few bits for finite differences beyond first order.

    By default the check runs JAX op by op (``jax.disable_jit()``): hypothesis draws
    many shapes, and JAX would compile each jitted function once per shape, which
    dominates the time of a property test. The numbers are the same; pass
    ``op_by_op=False`` to keep JAX's jit (as ``tg.check_grads`` does).

    Example:
        >>> import jax.numpy as jnp
        >>> import numpy as np
        >>> import tapegrad.numpy as tnp
        >>> assert_vjp(tnp.multiply, (np.linspace(-1, 1, 4), np.linspace(0, 2, 4)), order=2,
        ...            reference=jnp.multiply)
        >>> assert_vjp(lambda x: tnp.sin(x) * x, (np.linspace(-1, 1, 4),), order=2)
    """
    check_vjp(fun, args, order, modes, reference, eps, rtol, atol, seed, op_by_op=op_by_op, fd64=fd64,
              who="assert_vjp")
