"""``tapegrad.numpy`` (``tnp``): jax.numpy's names, differentiable by tapegrad.

An explicit list, family by family: each name is a primitive with its VJP rule
(in ``tapegrad.rules``), a composition of primitives, a declared
non-differentiable op, or a constant constructor. ``DIFFERENTIABLE``,
``NON_DIFFERENTIABLE`` and ``CONSTRUCTORS`` at the bottom classify every name.

Example:
    >>> import tapegrad as tg, tapegrad.numpy as tnp
    >>> float(tg.grad(lambda x: tnp.sin(x) * x)(0.0))
    0.0
"""
# ruff: noqa: F401, E402, I001  (this module is the list of exported names; order matters for cycles)
from tapegrad.numpy.constructors import (
    arange, array, asarray, eye, full, full_like, linspace, ndim, ones, ones_like, result_type, shape, size,
    zeros, zeros_like,
)
from tapegrad.rules.arithmetic import (
    add, arctan2, divide, hypot, logaddexp, maximum, minimum, mod, multiply, negative, power, reciprocal,
    remainder, square, subtract, true_divide,
)
from tapegrad.rules.elementwise import (
    abs, absolute, arccos, arccosh, arcsin, arcsinh, arctan, arctanh, cbrt, cos, cosh, exp, exp2, expm1,
    log, log1p, log2, log10, sin, sinh, sqrt, tan, tanh,
)
from tapegrad.rules.nondiff import (
    allclose, argmax, argmin, argsort, around, ceil, equal, floor, floor_divide, greater, greater_equal,
    isfinite, isinf, isnan, less, less_equal, logical_and, logical_not, logical_or, logical_xor, nonzero,
    not_equal, rint, round, sign, trunc,
)
from tapegrad.rules.reductions import amax, amin, max, mean, min, sum
from tapegrad.rules.shape import (
    astype, broadcast_to, concatenate, expand_dims, getitem, moveaxis, ravel, reshape, split, squeeze, stack,
    swapaxes, transpose, where,
)
from tapegrad.rules.linalg import matmul
from tapegrad.numpy import linalg
from tapegrad.numpy import tracer_methods as _tracer_methods

pi = 3.141592653589793
e = 2.718281828459045
inf = float("inf")
nan = float("nan")
newaxis = None
float16, float32, float64, bfloat16 = "float16", "float32", "float64", "bfloat16"
int32, int64, bool_ = "int32", "int64", "bool"
