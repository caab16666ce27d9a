"""Shape, joining, tiling, padding and matrix-part ops: values and derivatives against jax.numpy.

One table: each case draws its arguments (hypothesis shapes with size-0 and
size-1 axes, scalars where legal) and the op's static parameters, and names the
tnp function and the jax.numpy function it must match. ``assert_vjp`` then
checks the value, the VJP against ``jax.vjp``, the JVP against ``jax.jvp``,
central finite differences and the transpose identity; in float64 at orders
1 and 2. Each row also runs its fixed canonical case first (``CANONICAL``: float64,
non-empty, broadcasting where the op broadcasts), in CI too.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from family_checks import canonical_u, check_case
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.testing import arrays, shapes

DTYPES = st.sampled_from(["float32", "float64"])
# Every new shape costs XLA compilations (~0.1 s per op), so most cases draw from
# one shared pool of small shapes: scalars, size-0 and size-1 axes included.
POOL = [(), (1,), (3,), (0,), (2, 3), (1, 3), (3, 0), (3, 3), (2, 1, 3), (2, 0, 1)]


def _shape(data, min_dims=0, max_dims=3, min_side=0):
    return data.draw(st.sampled_from([s for s in POOL if min_dims <= len(s) <= max_dims
                                      and all(n >= min_side for n in s)]))


def _spaced(data, dtype, shape):
    """Distinct values at least 0.25 apart: no ties, none that finite differences would cross."""
    n = int(np.prod(shape))
    perm = np.asarray(data.draw(st.permutations(range(n))), dtype=dtype)
    return ((perm - n / 2) * 0.25).reshape(shape)


def _axis(data, nd, negative=True):
    return data.draw(st.integers(-nd if negative else 0, nd - 1))


def _axes(data, nd, min_size=0, max_size=None):
    """Distinct axes, each possibly written negative."""
    if nd == 0:
        return ()
    axes = data.draw(st.lists(st.integers(0, nd - 1), unique=True, min_size=min_size,
                              max_size=nd if max_size is None else max_size))
    return tuple(a - nd if data.draw(st.booleans()) else a for a in axes)


def _arr(data, dtype, shape, **kw):
    return data.draw(arrays(dtype, shape, elements=(-3, 3), **kw))


def _reshape(data, dtype):
    shape = data.draw(shapes(max_dims=3, max_side=3))
    x = _arr(data, dtype, shape)
    k = data.draw(st.integers(0, len(shape)))
    new = tuple(shape[::-1]) if x.size == 0 else (int(np.prod(shape[:k])), -1)
    return (x,), lambda x: tnp.reshape(x, new), lambda x: jnp.reshape(x, new)


def _transpose(data, dtype):
    shape = data.draw(shapes(max_dims=4, max_side=2))
    perm = data.draw(st.permutations(range(len(shape))))
    perm = tuple(p - len(shape) if data.draw(st.booleans()) else p for p in perm)
    return (_arr(data, dtype, shape),), lambda x: tnp.transpose(x, perm), lambda x: jnp.transpose(x, perm)


def _swapaxes(data, dtype):
    shape = _shape(data, min_dims=1)
    a, b = _axis(data, len(shape)), _axis(data, len(shape))
    return (_arr(data, dtype, shape),), lambda x: tnp.swapaxes(x, a, b), lambda x: jnp.swapaxes(x, a, b)


def _moveaxis(data, dtype):
    shape = _shape(data, min_dims=1)
    src = _axes(data, len(shape), min_size=1)
    dst = tuple(data.draw(st.permutations(_axes(data, len(shape), len(src), len(src)))))
    return ((_arr(data, dtype, shape),), lambda x: tnp.moveaxis(x, src, dst),
            lambda x: jnp.moveaxis(x, src, dst))


def _expand_dims(data, dtype):
    shape = data.draw(shapes(max_dims=3, max_side=3))
    n = data.draw(st.integers(1, 2))
    axes = _axes(data, len(shape) + n, n, n)
    axes = axes[0] if n == 1 and data.draw(st.booleans()) else axes
    return ((_arr(data, dtype, shape),), lambda x: tnp.expand_dims(x, axes),
            lambda x: jnp.expand_dims(x, axes))


def _squeeze(data, dtype):
    shape = data.draw(st.lists(st.sampled_from([0, 1, 1, 2, 3]), max_size=4).map(tuple))
    ones = [i for i, s in enumerate(shape) if s == 1]
    axis = None if not ones or data.draw(st.booleans()) else tuple(
        data.draw(st.lists(st.sampled_from(ones), unique=True, min_size=1)))
    return (_arr(data, dtype, shape),), lambda x: tnp.squeeze(x, axis), lambda x: jnp.squeeze(x, axis)


def _broadcast_to(data, dtype):
    shape = _shape(data)
    target = (2,) + tuple(data.draw(st.sampled_from([1, 3])) if s == 1 else s for s in shape)
    return ((_arr(data, dtype, shape),), lambda x: tnp.broadcast_to(x, target),
            lambda x: jnp.broadcast_to(x, target))


def _astype(data, dtype):
    x = _arr(data, dtype, _shape(data, max_dims=2))
    other = "float32" if dtype == "float64" else "float64"
    return (x,), lambda x: tnp.astype(x, other) * 2, lambda x: x.astype(other) * 2


def _where(data, dtype):
    s1, s2, s3 = data.draw(st.sampled_from([((2, 3), (3,), ()), ((3,), (2, 1), (2, 3)), ((), (0, 2), (2,))]))
    c = data.draw(arrays("bool", s1))
    return ((_arr(data, dtype, s2), _arr(data, dtype, s3)), lambda x, y: tnp.where(c, x, y),
            lambda x, y: jnp.where(c, x, y))


def _two_along(data, dtype, min_dims=1):
    """Two arrays of one shape but for ``axis``, the axis, and the dimension."""
    shape = _shape(data, min_dims=min_dims)
    nd = len(shape)
    axis = _axis(data, nd)
    other = list(shape)
    other[axis] = data.draw(st.integers(0, 3))
    return _arr(data, dtype, shape), _arr(data, dtype, tuple(other)), axis


def _concatenate(data, dtype):
    x, y, axis = _two_along(data, dtype)
    return ((x, y), lambda x, y: tnp.concatenate([x, y, x], axis),
            lambda x, y: jnp.concatenate([x, y, x], axis))


def _concatenate_none(data, dtype):
    x = _arr(data, dtype, _shape(data))
    y = _arr(data, dtype, _shape(data, max_dims=2))
    return ((x, y), lambda x, y: tnp.concatenate([x, y], axis=None),
            lambda x, y: jnp.concatenate([x, y], axis=None))


def _stack(data, dtype):
    shape = _shape(data)
    x, y = _arr(data, dtype, shape), _arr(data, dtype, shape)
    axis = _axis(data, len(shape) + 1)
    return (x, y), lambda x, y: tnp.stack([x, y, x], axis), lambda x, y: jnp.stack([x, y, x], axis)


def _split(data, dtype):
    shape = _shape(data, min_dims=1)
    axis = _axis(data, len(shape))
    n = shape[axis]
    if data.draw(st.booleans()):
        where = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    else:
        where = data.draw(st.sampled_from([k for k in range(1, 4) if n % k == 0] or [1]))
    return ((_arr(data, dtype, shape),), lambda x: tnp.split(x, where, axis),
            lambda x: jnp.split(x, where, axis))


def _hstack(data, dtype):
    shape = _shape(data, min_dims=1)
    k = data.draw(st.integers(0, 3))
    x = _arr(data, dtype, shape)
    y = _arr(data, dtype, (k,) if len(shape) == 1 else (shape[0], k) + shape[2:])  # joins axis 1 (0 if 1-D)
    return (x, y), lambda x, y: tnp.hstack([x, y]), lambda x, y: jnp.hstack([x, y])


def _vstack(data, dtype):
    shape = _shape(data, max_dims=2)
    x = _arr(data, dtype, shape)
    y = _arr(data, dtype, (2,) + shape[1:] if len(shape) == 2 else shape)
    return (x, y), lambda x, y: tnp.vstack([x, y]), lambda x, y: jnp.vstack([x, y])


def _atleast(data, dtype):
    x = _arr(data, dtype, _shape(data))
    k = data.draw(st.sampled_from([1, 2, 3]))
    f, g = getattr(tnp, f"atleast_{k}d"), getattr(jnp, f"atleast_{k}d")
    return (x,), lambda x: f(x) * 1, lambda x: g(x) * 1


def _tile(data, dtype):
    x = _arr(data, dtype, _shape(data))
    reps = data.draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), max_size=4).map(tuple)))
    return (x,), lambda x: tnp.tile(x, reps), lambda x: jnp.tile(x, reps)


def _repeat(data, dtype):
    shape = _shape(data)
    x = _arr(data, dtype, shape)
    axis = None if not shape or data.draw(st.booleans()) else _axis(data, len(shape))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    if data.draw(st.booleans()):
        reps = data.draw(st.integers(0, 3))
    else:
        reps = np.asarray(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int32)
    return ((x,), lambda x: tnp.repeat(x, reps, axis), lambda x: jnp.repeat(x, reps, axis))


def _repeat_total(data, dtype):
    x = _arr(data, dtype, _shape(data, min_dims=1, max_dims=2, min_side=1))
    reps = np.asarray(data.draw(st.lists(st.integers(0, 3), min_size=x.shape[0], max_size=x.shape[0])))
    total = data.draw(st.integers(0, 8))
    return ((x,), lambda x: tnp.repeat(x, reps, 0, total_repeat_length=total),
            lambda x: jnp.repeat(x, reps, 0, total_repeat_length=total))


def _flip(data, dtype):
    shape = _shape(data)
    axis = data.draw(st.one_of(st.none(), st.just(_axes(data, len(shape)))))
    if axis and len(axis) == 1 and data.draw(st.booleans()):
        axis = axis[0]
    return (_arr(data, dtype, shape),), lambda x: tnp.flip(x, axis), lambda x: jnp.flip(x, axis)


def _roll(data, dtype):
    shape = _shape(data)
    if not shape or data.draw(st.booleans()):
        shift, axis = data.draw(st.integers(-7, 7)), None
    else:
        axis = _axes(data, len(shape), 1)
        shift = tuple(data.draw(st.integers(-7, 7)) for _ in axis)
    return (_arr(data, dtype, shape),), lambda x: tnp.roll(x, shift, axis), lambda x: jnp.roll(x, shift, axis)


def _pad(data, dtype):
    mode = data.draw(st.sampled_from(["constant", "edge", "wrap", "reflect", "symmetric", "linear_ramp",
                                      "mean", "maximum", "minimum", "empty"]))
    shape = _shape(data, min_side=0 if mode in ("constant", "empty") else 1)
    width = tuple((data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4))) for _ in shape) or 2
    kw = {}
    if mode == "constant" and data.draw(st.booleans()):
        kw["constant_values"] = data.draw(st.sampled_from([1.5, (1.0, -2.0), ((0.5, 2.0),)]))
    if mode in ("reflect", "symmetric"):
        kw["reflect_type"] = data.draw(st.sampled_from(["even", "odd"]))
    if mode == "linear_ramp":
        kw["end_values"] = data.draw(st.sampled_from([0, 2.0, (1.0, -1.0)]))
    if mode in ("mean", "maximum", "minimum") and data.draw(st.booleans()):
        kw["stat_length"] = data.draw(st.integers(1, 3))
    # Maximum/minimum are not differentiable at ties, nor finite differences across them.
    x = _spaced(data, dtype, shape) if mode in ("maximum", "minimum") else _arr(data, dtype, shape)
    return (x,), lambda x: tnp.pad(x, width, mode, **kw), lambda x: jnp.pad(x, width, mode, **kw)


def _pad_values(data, dtype):
    """``constant_values`` differentiated too: a scalar, or one per side of each axis."""
    shape = _shape(data, min_dims=1, max_dims=2)
    width = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape)
    c = _arr(data, dtype, data.draw(st.sampled_from([(), (len(shape), 2)])))
    return ((_arr(data, dtype, shape), c), lambda x, c: tnp.pad(x, width, constant_values=c),
            lambda x, c: jnp.pad(x, width, constant_values=c))


def _diagonal(data, dtype):
    shape = _shape(data, min_dims=2)
    a1 = _axis(data, len(shape))
    a2 = data.draw(st.sampled_from([a for a in range(len(shape)) if a != a1 % len(shape)]))
    k = data.draw(st.integers(-3, 3))
    return ((_arr(data, dtype, shape),), lambda x: tnp.diagonal(x, k, a1, a2),
            lambda x: jnp.diagonal(x, k, a1, a2))


def _trace(data, dtype):
    shape = _shape(data, min_dims=2)
    k = data.draw(st.integers(-2, 2))
    a2 = data.draw(st.integers(1, len(shape) - 1))
    return (_arr(data, dtype, shape),), lambda x: tnp.trace(x, k, 0, a2), lambda x: jnp.trace(x, k, 0, a2)


def _diag(data, dtype):
    x = _arr(data, dtype, _shape(data, min_dims=1, max_dims=2))
    k = data.draw(st.integers(-3, 3))
    return (x,), lambda x: tnp.diag(x, k), lambda x: jnp.diag(x, k)


def _tri(data, dtype):
    x = _arr(data, dtype, _shape(data, min_dims=2))
    k = data.draw(st.integers(-3, 3))
    name = data.draw(st.sampled_from(["tril", "triu"]))
    return (x,), lambda x: getattr(tnp, name)(x, k), lambda x: getattr(jnp, name)(x, k)


def _matrix_transpose(data, dtype):
    x = _arr(data, dtype, _shape(data, min_dims=2))
    return (x,), tnp.matrix_transpose, jnp.matrix_transpose


CASES = {
    "reshape": _reshape, "transpose": _transpose, "swapaxes": _swapaxes, "moveaxis": _moveaxis,
    "expand_dims": _expand_dims, "squeeze": _squeeze, "broadcast_to": _broadcast_to, "astype": _astype,
    "where": _where, "concatenate": _concatenate, "concatenate_none": _concatenate_none, "stack": _stack,
    "split": _split, "hstack": _hstack, "vstack": _vstack, "atleast_nd": _atleast, "tile": _tile,
    "repeat": _repeat, "repeat_total": _repeat_total, "flip": _flip, "roll": _roll, "pad": _pad,
    "pad_values": _pad_values, "diagonal": _diagonal, "trace": _trace, "diag": _diag, "tril_triu": _tri,
    "matrix_transpose": _matrix_transpose,
}
# Ops whose parameter space is large get more examples.
EXAMPLES = {"pad": 5}


# ---- the canonical case of each row: fixed, non-empty, broadcasting where the op broadcasts --------

def _canon(shapes_, op):
    """``op(m, *xs)`` with ``m`` tnp (checked) or jnp (the reference), on fixed distinct values in (-3, 3)."""
    def build(dtype):
        us = canonical_u(*shapes_)
        us = (us,) if len(shapes_) == 1 else us
        return (tuple(np.asarray(3 * u, dtype) for u in us), lambda *xs: op(tnp, *xs),
                lambda *xs: op(jnp, *xs))
    return build


_MASK41 = np.array([[True], [False], [True], [True]])
_PAD_WIDTH = ((1, 2), (2, 1))
# Shapes of the pool above where they do (XLA compiles each op once per shape), others where the op needs them.
CANONICAL = {
    "reshape": _canon([(2, 1, 3)], lambda m, x: m.reshape(x, (3, -1))),
    "transpose": _canon([(2, 1, 3)], lambda m, x: m.transpose(x, (2, 0, -2))),
    "swapaxes": _canon([(2, 1, 3)], lambda m, x: m.swapaxes(x, 0, -1)),
    "moveaxis": _canon([(2, 1, 3)], lambda m, x: m.moveaxis(x, (0, 1), (-1, 0))),
    "expand_dims": _canon([(2, 3)], lambda m, x: m.expand_dims(x, (0, -1))),
    "squeeze": _canon([(2, 1, 3)], lambda m, x: m.squeeze(x, -2)),
    # (2, 1, 3) -> (4, 2, 5, 3): a rank added and the size-1 axis stretched.
    "broadcast_to": _canon([(2, 1, 3)], lambda m, x: m.broadcast_to(x, (4, 2, 5, 3))),
    "astype": _canon([(2, 3)], lambda m, x: m.astype(x, "float32") * 2),
    # condition (4, 1), x (2, 1, 3), y (3,): all three broadcast to (2, 4, 3).
    "where": _canon([(2, 1, 3), (3,)], lambda m, x, y: m.where(_MASK41, x, y)),
    "concatenate": _canon([(2, 3), (3, 3)], lambda m, x, y: m.concatenate([x, y, x], 0)),
    "concatenate_none": _canon([(2, 3), (3,)], lambda m, x, y: m.concatenate([x, y], axis=None)),
    "stack": _canon([(2, 3), (2, 3)], lambda m, x, y: m.stack([x, y, x], -1)),
    "split": _canon([(3, 3)], lambda m, x: m.split(x, [1, 3], 1)),
    "hstack": _canon([(2, 1, 3), (2, 3, 3)], lambda m, x, y: m.hstack([x, y])),
    "vstack": _canon([(2, 3), (3,)], lambda m, x, y: m.vstack([x, y])),
    "atleast_nd": _canon([(3,)], lambda m, x: m.atleast_3d(x) * 1),
    "tile": _canon([(2, 3)], lambda m, x: m.tile(x, (2, 1, 2))),
    "repeat": _canon([(2, 3)], lambda m, x: m.repeat(x, np.array([1, 0, 2], np.int32), 1)),
    "repeat_total": _canon([(3, 3)], lambda m, x: m.repeat(x, np.array([2, 0, 3]), 0, total_repeat_length=4)),
    "flip": _canon([(2, 1, 3)], lambda m, x: m.flip(x, (0, -1))),
    "roll": _canon([(2, 3)], lambda m, x: m.roll(x, (1, -2), (0, 1))),
    # Both ways pad_linear's rule runs: an index map (edge) and coefficients (odd reflection). The other
    # modes are drawn (each costs 1-2 s op by op at order 2, mostly jnp.pad's own reference).
    "pad": _canon([(2, 3)], lambda m, x: (m.pad(x, _PAD_WIDTH, "reflect", reflect_type="odd"),
                                          m.pad(x, _PAD_WIDTH, "edge"))),
    # constant_values of shape (2, 2), one per side of each axis, and (1, 2), the same pair for every axis.
    "pad_values": _canon([(2, 3), (2, 2)], lambda m, x, c: (m.pad(x, ((1, 0), (2, 1)), constant_values=c),
                                                           m.pad(x, ((0, 2), (1, 1)), constant_values=c[1:]))),
    "diagonal": _canon([(2, 1, 3)], lambda m, x: m.diagonal(x, 1, -1, 0)),
    "trace": _canon([(2, 1, 3)], lambda m, x: m.trace(x, 1, 0, 2)),
    "diag": _canon([(3, 3)], lambda m, x: (m.diag(x, 1), m.diag(x[0], -1))),
    "tril_triu": _canon([(2, 3)], lambda m, x: (m.tril(x, -1), m.triu(x, 1))),
    "matrix_transpose": _canon([(2, 1, 3)], lambda m, x: m.matrix_transpose(x)),
}


def test_every_row_has_a_canonical_case():
    assert set(CANONICAL) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_jax_numpy(name):
    check_case(CASES[name], EXAMPLES.get(name, 3), DTYPES, canonical=CANONICAL[name], key=name)


def test_jacobian_of_getitem_and_concatenate():
    def f(x):
        return tnp.concatenate([x[1:, ::-1].ravel(), x[jnp.array([0, 0, 2]), 1], tnp.sin(x[0])])

    def f_ref(x):
        return jnp.concatenate([x[1:, ::-1].ravel(), x[jnp.array([0, 0, 2]), 1], jnp.sin(x[0])])

    x = jnp.arange(12.0).reshape(3, 4) / 7
    np.testing.assert_allclose(tg.jacobian(f)(x), jax.jacrev(f_ref)(x), rtol=1e-12)


def test_split_gradient_with_unused_pieces():
    x = jnp.arange(10.0)
    g = tg.grad(lambda x: tnp.sum(tnp.split(x, [3, 7])[1] ** 2))(x)
    np.testing.assert_array_equal(g, jnp.where((x >= 3) & (x < 7), 2 * x, 0.0))


def test_ops_inside_jax_jit():
    def f(x):
        y = tnp.pad(tnp.roll(x, 1, 0), ((1, 0), (0, 2)), mode="reflect")
        return tnp.sum(tnp.tril(tnp.concatenate([y, y], 0)) ** 2) + tnp.trace(x)

    def f_ref(x):
        y = jnp.pad(jnp.roll(x, 1, 0), ((1, 0), (0, 2)), mode="reflect")
        return jnp.sum(jnp.tril(jnp.concatenate([y, y], 0)) ** 2) + jnp.trace(x)

    x = jnp.arange(9.0).reshape(3, 3) / 5
    np.testing.assert_allclose(jax.jit(tg.grad(f))(x), jax.grad(f_ref)(x), rtol=1e-12)


@pytest.mark.parametrize("call, err, match", [
    (lambda x: tnp.squeeze(x, 0), ValueError, "squeeze axis 0 of size 2"),
    (lambda x: tnp.squeeze(x, 5), ValueError, "out of bounds"),
    (lambda x: tnp.transpose(x, (0, 0, 1)), ValueError, "repeated axis"),
    (lambda x: tnp.transpose(x, (0, 1)), ValueError, "do not match"),
    (lambda x: tnp.transpose(x, (0, 1, 3)), ValueError, "out of bounds"),
    (lambda x: tnp.swapaxes(x, 0, 3), ValueError, "swapaxes: axis 3"),
    (lambda x: tnp.moveaxis(x, (0, 1), 2), ValueError, "same number"),
    (lambda x: tnp.expand_dims(x, (0, 0)), ValueError, "repeated axis"),
    (lambda x: tnp.expand_dims(x, 4), ValueError, "expand_dims: axis 4"),
    (lambda x: tnp.concatenate([x, x[0]]), ValueError, "same number of dimensions"),
    (lambda x: tnp.concatenate([x[0, 0, 0]]), ValueError, "zero-dimensional"),
    (lambda x: tnp.concatenate([]), ValueError, "at least one"),
    (lambda x: tnp.concatenate([x, x[:, :1]], axis=0), TypeError, "'concatenate' failed on operands"),
    (lambda x: tnp.stack([x, x[:1]]), ValueError, "same shape"),
    (lambda x: tnp.split(x, 0, axis=1), ValueError, "does not split into 0"),
    (lambda x: tnp.split(x, 2, axis=1), ValueError, "does not split into 2"),
    (lambda x: tnp.tile(x, -1), ValueError, "non-negative"),
    (lambda x: tnp.repeat(x, -1), ValueError, "non-negative"),
    (lambda x: tnp.repeat(x, jnp.array([1.0, 2.0]), 0), TypeError, "integers"),
    (lambda x: tnp.tril(x[0, 0]), ValueError, "at least 2 dimensions"),
    (lambda x: tnp.diag(x), ValueError, "1-D or 2-D"),
    (lambda x: tnp.diagonal(x, 0, 1, -2), ValueError, "must differ"),
    (lambda x: tnp.pad(x, 1, mode="median"), NotImplementedError, "median"),
    (lambda x: tnp.pad(x, 1, mode=lambda *a: None), NotImplementedError, "callable"),
    (lambda x: tnp.pad(x, 1, mode="bogus"), ValueError, "unknown mode"),
    (lambda x: tnp.pad(x, -1), ValueError, "non-negative"),
    (lambda x: tnp.pad(x, ((1, 2), (3, 4))), ValueError, "pad_width of shape"),
    (lambda x: tnp.pad(x, 1, mode="edge", constant_values=1), ValueError, "unsupported keyword"),
    (lambda x: tnp.pad(x[:, :0], 1, mode="edge"), ValueError, "empty axis 1"),
    (lambda x: tnp.pad(x, 1, mode="reflect", reflect_type="bad"), ValueError, "reflect_type"),
    (lambda x: tnp.matrix_transpose(x[0, 0]), ValueError, "at least 2 dimensions"),
    (lambda x: tnp.where(x > 0, x), ValueError, "both x and y"),
])
def test_bad_input_raises_clear_errors(call, err, match):
    x = jnp.ones((2, 3, 4))
    with pytest.raises(err, match=match):
        call(x)
    with pytest.raises(err, match=match):  # the same message while differentiating
        tg.grad(lambda x: tnp.sum(call(x)))(x)
