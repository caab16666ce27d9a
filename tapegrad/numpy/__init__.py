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
    arange, array, asarray, eye, full, full_like, iscomplexobj, ndim, ones, ones_like, result_type,
    shape, size, zeros, zeros_like,
)
from tapegrad.rules.arithmetic import (
    add, arctan2, atan2, divide, fmod, hypot, logaddexp, logaddexp2, maximum,
    minimum, mod, multiply, negative, pow, power, reciprocal, remainder, square, subtract, true_divide,
)
from tapegrad.rules.elementwise import (
    abs, absolute, acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctanh, asin, asinh, atan, atanh,
    cbrt, conj, conjugate, cos, cosh, deg2rad, degrees, exp, exp2, expm1, fabs, imag, log, log1p, log2, log10,
    rad2deg, radians, real, sin, sinh, sqrt, tan, tanh,
)
from tapegrad.rules.nondiff import (
    all, allclose, any, argmax, argmin, argsort, around, array_equal, ceil, count_nonzero, equal, floor,
    floor_divide, greater, greater_equal, isclose, isfinite, isinf, isnan, isneginf, isposinf, less,
    less_equal, logical_and, logical_not, logical_or, logical_xor, nonzero, not_equal, rint, round, sign,
    signbit, trunc,
)
from tapegrad.rules.reductions import (
    amax, amin, cumprod, cumsum, logsumexp, max, mean, min, prod, std, sum, var,
)
from tapegrad.rules.shape import (
    astype, atleast_1d, atleast_2d, atleast_3d, broadcast_to, concatenate, diag, diagonal, expand_dims, flip,
    hstack, matrix_transpose, moveaxis, ravel, repeat, reshape, roll, split, squeeze, stack, swapaxes, tile,
    trace, transpose, tril, triu, vstack, where,
)
from tapegrad.rules.indexing import getitem, sort, take, take_along_axis
from tapegrad.rules.padding import pad
from tapegrad.rules.linalg import dot, dot_general, einsum, inner, matmul, outer, tensordot, vdot
from tapegrad.numpy.elementwise import angle, nan_to_num, positive, sinc
from tapegrad.numpy.arithmetic import clip, copysign, cross, diff, fmax, fmin
from tapegrad.numpy.reductions import median
from tapegrad.numpy.manipulation import column_stack, fliplr, flipud, kron, meshgrid, rot90, select
from tapegrad.numpy.creation import empty, empty_like, geomspace, identity, linspace, logspace, tri
from tapegrad.numpy.bitwise import (
    bitwise_and, bitwise_count, bitwise_invert, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift,
    bitwise_xor, gcd, invert, lcm, left_shift, packbits, right_shift, unpackbits,
)
from tapegrad.numpy.floating import divmod, frexp, modf, nextafter, spacing
from tapegrad.numpy.logic import array_equiv, iscomplex, isreal, iterable
from tapegrad.numpy.searching import argpartition, argwhere, digitize, flatnonzero, lexsort, searchsorted
from tapegrad.numpy.index_tricks import (
    diag_indices, diag_indices_from, indices, ix_, ravel_multi_index, tril_indices, tril_indices_from, triu_indices,
    triu_indices_from, unravel_index,
)
from tapegrad.numpy.sets import (
    intersect1d, isin, setdiff1d, setxor1d, union1d, unique, unique_all, unique_counts, unique_inverse, unique_values,
)
from tapegrad.numpy.windows import bartlett, blackman, hamming, hanning, kaiser
from tapegrad.numpy.histograms import bincount, histogram, histogram2d, histogram_bin_edges, histogramdd
from tapegrad.numpy.elementwise import float_power, heaviside, i0, ldexp
from tapegrad.numpy.reductions import cumulative_prod, cumulative_sum
from tapegrad.numpy.manipulation import (
    append, block, broadcast_arrays, concat, delete, diagflat, dstack, fill_diagonal, insert, permute_dims, resize,
    rollaxis, trim_zeros,
)
from tapegrad.numpy.splitting import array_split, dsplit, hsplit, unstack, vsplit
from tapegrad.numpy.selection import (
    choose, compress, extract, partition, place, put, put_along_axis, sort_complex,
)
from tapegrad.numpy.products import matvec, vecdot, vecmat
from tapegrad.numpy.statistics import average, corrcoef, cov, percentile, ptp, quantile
from tapegrad.numpy.nan_functions import (
    nanargmax, nanargmin, nancumprod, nancumsum, nanmax, nanmean, nanmedian, nanmin, nanpercentile, nanprod,
    nanquantile, nanstd, nansum, nanvar,
)
from tapegrad.numpy.signal import convolve, correlate, ediff1d, gradient, interp, trapezoid, unwrap
from tapegrad.numpy.polynomial import (
    poly, polyadd, polyder, polydiv, polyfit, polyint, polymul, polysub, polyval, roots, vander,
)
from tapegrad.numpy import linalg
from tapegrad.numpy import tracer_methods as _tracer_methods
from tapegrad.numpy import jax_at as _jax_at

pi = 3.141592653589793
e = 2.718281828459045
inf = float("inf")
nan = float("nan")
newaxis = None
float16, float32, float64, bfloat16 = "float16", "float32", "float64", "bfloat16"
int32, int64, bool_ = "int32", "int64", "bool"
int8, int16, uint8, uint16, uint32, uint64 = "int8", "int16", "uint8", "uint16", "uint32", "uint64"
complex64, complex128 = "complex64", "complex128"
from jax.numpy import finfo, iinfo  # dtype queries, jax.numpy's own

# Every public name by kind (the docs' tables are generated from these: tools/build_docs_assets.py).
DIFFERENTIABLE = frozenset({
    'abs', 'absolute', 'acos', 'acosh', 'add', 'amax', 'amin', 'angle', 'arccos', 'arccosh', 'arcsin', 'arcsinh',
    'arctan', 'arctan2', 'arctanh', 'asin', 'asinh', 'astype', 'atan', 'atan2', 'atanh', 'atleast_1d', 'atleast_2d',
    'atleast_3d', 'broadcast_to', 'cbrt', 'clip', 'column_stack', 'concatenate', 'conj', 'conjugate', 'copysign',
    'cos', 'cosh', 'cross', 'cumprod', 'cumsum', 'deg2rad', 'degrees', 'diag', 'diagonal', 'diff', 'divide', 'dot',
    'dot_general', 'einsum', 'exp', 'exp2', 'expand_dims', 'expm1', 'fabs', 'flip', 'fliplr', 'flipud', 'fmax',
    'fmin', 'fmod', 'getitem', 'hstack', 'hypot', 'imag', 'inner', 'kron', 'log', 'log10', 'log1p', 'log2',
    'logaddexp', 'logaddexp2', 'logsumexp', 'matmul', 'matrix_transpose', 'max', 'maximum', 'mean', 'median',
    'meshgrid', 'min', 'minimum', 'mod', 'moveaxis', 'multiply', 'nan_to_num', 'negative', 'outer', 'pad',
    'positive', 'pow', 'power', 'prod', 'rad2deg', 'radians', 'ravel', 'real', 'reciprocal', 'remainder', 'repeat',
    'reshape', 'roll', 'rot90', 'select', 'sin', 'sinc', 'sinh', 'sort', 'split', 'sqrt', 'square', 'squeeze',
    'stack', 'std', 'subtract', 'sum', 'swapaxes', 'take', 'take_along_axis', 'tan', 'tanh', 'tensordot', 'tile',
    'trace', 'transpose', 'tril', 'triu', 'true_divide', 'var', 'vdot', 'vstack', 'where'
}) | frozenset({  # values read from the inputs (sets), weights and edges (histograms), bounds (ranges)
    'bincount', 'divmod', 'frexp', 'geomspace', 'histogram', 'histogram2d', 'histogram_bin_edges', 'histogramdd',
    'intersect1d', 'ix_', 'kaiser', 'linspace', 'logspace', 'modf', 'setdiff1d', 'setxor1d', 'union1d', 'unique',
    'unique_all', 'unique_counts', 'unique_inverse', 'unique_values',
}) | frozenset({  # joins, splits, selections, statistics, NaN reductions, signals, polynomials
    'append', 'array_split', 'average', 'block', 'broadcast_arrays', 'choose', 'compress', 'concat', 'convolve',
    'corrcoef', 'correlate', 'cov', 'cumulative_prod', 'cumulative_sum', 'delete', 'diagflat', 'dsplit', 'dstack',
    'ediff1d', 'extract', 'fill_diagonal', 'float_power', 'gradient', 'heaviside', 'hsplit', 'i0', 'insert',
    'interp', 'ldexp', 'matvec', 'nancumprod', 'nancumsum', 'nanmax', 'nanmean', 'nanmedian', 'nanmin',
    'nanpercentile', 'nanprod', 'nanquantile', 'nanstd', 'nansum', 'nanvar', 'partition', 'percentile',
    'permute_dims', 'place', 'poly', 'polyadd', 'polyder', 'polydiv', 'polyfit', 'polyint', 'polymul', 'polysub',
    'polyval', 'ptp', 'put', 'put_along_axis', 'quantile', 'resize', 'rollaxis', 'roots', 'sort_complex',
    'trapezoid', 'trim_zeros', 'unstack', 'unwrap', 'vander', 'vecdot', 'vecmat', 'vsplit',
})
NON_DIFFERENTIABLE = frozenset({
    'all', 'allclose', 'any', 'argmax', 'argmin', 'argsort', 'around', 'array_equal', 'ceil', 'count_nonzero',
    'equal', 'floor', 'floor_divide', 'greater', 'greater_equal', 'isclose', 'isfinite', 'isinf', 'isnan',
    'isneginf', 'isposinf', 'less', 'less_equal', 'logical_and', 'logical_not', 'logical_or', 'logical_xor',
    'nonzero', 'not_equal', 'rint', 'round', 'sign', 'signbit', 'trunc'
}) | frozenset({  # integers, bits, indices, predicates
    'argpartition', 'argwhere', 'array_equiv', 'bitwise_and', 'bitwise_count', 'bitwise_invert', 'bitwise_left_shift',
    'bitwise_not', 'bitwise_or', 'bitwise_right_shift', 'bitwise_xor', 'digitize', 'flatnonzero', 'gcd', 'invert',
    'iscomplex', 'isin', 'isreal', 'lcm', 'left_shift', 'lexsort', 'nextafter', 'packbits', 'ravel_multi_index',
    'right_shift', 'searchsorted', 'spacing', 'unpackbits', 'unravel_index',
}) | frozenset({'nanargmax', 'nanargmin'})
CONSTRUCTORS = frozenset({
    'arange', 'array', 'asarray', 'eye', 'full', 'full_like', 'iscomplexobj', 'ndim', 'ones',
    'ones_like', 'result_type', 'shape', 'size', 'zeros', 'zeros_like'
}) | frozenset({  # windows, index grids, empty arrays, dtype queries
    'bartlett', 'blackman', 'diag_indices', 'diag_indices_from', 'empty', 'empty_like', 'finfo', 'hamming',
    'hanning', 'identity', 'iinfo', 'indices', 'iterable', 'tri', 'tril_indices', 'tril_indices_from', 'triu_indices',
    'triu_indices_from',
})

from tapegrad.numpy import fft  # noqa: E402  (last: its functions use the names above)

# The functions composed of several primitives name them on the tape (core.scope), so that drawings and
# print(tape) say `var`, `stack`, `linalg.cond` rather than the primitives they record. Primitives (one entry
# each) are left alone, so the elementwise hot path pays nothing.
_COMPOSED = (
    'angle', 'append', 'average', 'block', 'column_stack', 'concat', 'concatenate', 'convolve', 'copysign',
    'corrcoef', 'correlate', 'cov', 'cross', 'cumprod', 'cumsum', 'delete', 'diagflat', 'diff', 'dstack',
    'ediff1d', 'float_power', 'frexp', 'geomspace', 'gradient', 'heaviside', 'histogram', 'histogram2d',
    'histogram_bin_edges', 'histogramdd', 'hstack', 'i0', 'insert', 'interp', 'kron', 'ldexp', 'linspace',
    'logspace', 'matvec', 'median', 'meshgrid', 'nan_to_num', 'nancumprod', 'nancumsum', 'nanmax', 'nanmean',
    'nanmedian', 'nanmin', 'nanpercentile', 'nanprod', 'nanquantile', 'nanstd', 'nansum', 'nanvar', 'outer',
    'percentile', 'polyadd', 'polyder', 'polydiv', 'polyfit', 'polyint', 'polymul', 'polysub', 'polyval', 'ptp',
    'quantile', 'roots', 'rot90', 'select', 'sinc', 'sort_complex', 'stack', 'std', 'trace', 'trapezoid',
    'unstack', 'unwrap', 'vander', 'var', 'vdot', 'vecdot', 'vecmat', 'vstack',
)
_LINALG_COMPOSED = (
    'cond', 'cross', 'lstsq', 'matrix_norm', 'matrix_power', 'multi_dot', 'norm', 'pinv', 'tensorinv',
    'tensorsolve', 'trace', 'vecdot', 'vector_norm',
)
from tapegrad.core import scope as _scope  # noqa: E402

_scope.scope_functions(globals(), _COMPOSED)
_scope.scope_functions(vars(linalg), _LINALG_COMPOSED, prefix="linalg.")
_scope.scope_functions(vars(fft), fft.__all__, prefix="fft.")
