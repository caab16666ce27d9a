"""Cheap forward dispatch: elementwise primitives sent through ``jax.jit`` of their own function."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from tapegrad.accel.key import ARRAY


def jitted_elementwise(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` (a jax.numpy elementwise function of positional operands), dispatched through ``jax.jit``.

    Measured on jax 0.10 CPU: a jitted call costs 4-6 us where ``jnp.sin`` costs 7.5 us and
    ``x * 0.9`` 13 us (jax.numpy's Python-level checks and scalar conversion), and ``lax.sin``
    even 15 us, so jit is the cheap path, not lax. ``jit`` keys on shape, dtype and weak type, and
    a Python float operand is traced as a weakly typed scalar, exactly as eager jax.numpy promotes
    it: results are the same arrays with the same dtypes. Only concrete JAX arrays and Python floats
    take this path (ints could overflow int32 under jit; NumPy arrays, jit tracers and anything else
    call ``f`` itself). Use only for functions whose eager and traced results agree (not ``power``:
    eager jax.numpy special-cases integer-valued exponents).
    """
    jf = jax.jit(f)

    def impl(*args: Any) -> Any:
        for a in args:
            ta = type(a)
            if ta is not ARRAY and ta is not float:
                return f(*args)
        try:
            return jf(*args)
        except Exception:  # an invalid call: let eager jax.numpy raise its own error, unchanged
            return f(*args)

    impl.__wrapped__ = f  # type: ignore[attr-defined]
    impl.__name__ = getattr(f, "__name__", "impl")
    return impl


