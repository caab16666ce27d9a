"""Which failures of a compiled call mean "this structure cannot be compiled", and nothing else.

A rule may read a residual's value in Python (``float(x)``, ``np.asarray(x)``, ``if x > 0``): fine
eagerly, impossible under ``jax.jit``. JAX says so with the errors below; tapegrad's own op errors
keep the original as their cause. Only these switch a structure to the interpreted path for good;
any other exception (out of memory, a real bug that the interpreted path will raise again) falls
back for the one call.
"""
from __future__ import annotations

import jax

CANNOT_TRACE = (
    jax.errors.ConcretizationTypeError,  # includes TracerBoolConversionError
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.NonConcreteBooleanIndexError,
)


def cannot_be_traced(e: BaseException) -> bool:
    """True when ``e`` or an exception it was raised from is one of :data:`CANNOT_TRACE`."""
    seen = 0
    while e is not None and seen < 16:
        if isinstance(e, CANNOT_TRACE):
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False
