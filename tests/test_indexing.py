"""Indexing, ``.at[]`` updates, take, take_along_axis and sort against jax.numpy; tracer methods.

Table-driven like ``test_shape.py``: each case draws an array from a shared
pool of small shapes (XLA compiles per shape) and an index expression, and
``assert_vjp`` checks value, VJP against ``jax.vjp``, JVP against ``jax.jvp``,
finite differences and the transpose identity; float64 at orders 1 and 2. Each row
also runs its fixed canonical case first (``CANONICAL``: float64, non-empty, broadcasting
where the op broadcasts), in CI too.
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
from tapegrad.testing import arrays

DTYPES = st.sampled_from(["float32", "float64"])
POOL = [(), (1,), (4,), (0,), (2, 3), (1, 3), (3, 0), (3, 3), (2, 1, 3), (2, 0, 2)]


def _shape(data, min_dims=0, min_side=0):
    return data.draw(st.sampled_from([s for s in POOL
                                      if len(s) >= min_dims and all(n >= min_side for n in s)]))


def _arr(data, dtype, shape):
    return data.draw(arrays(dtype, shape, elements=(-3, 3)))


def _spaced(data, dtype, shape):
    """Distinct values at least 0.25 apart: finite differences never cross a tie."""
    n = int(np.prod(shape))
    return ((np.asarray(data.draw(st.permutations(range(n))), dtype) - n / 2) * 0.25).reshape(shape)


def _basic_index(data, shape):
    """Ints (negative too), slices with any step, None and Ellipsis, in any mix."""
    idx = []
    for n in shape:
        if n and data.draw(st.booleans()):
            idx.append(data.draw(st.integers(-n, n - 1)))
        else:
            start, stop = (data.draw(st.one_of(st.none(), st.integers(-n - 1, n + 1))) for _ in range(2))
            idx.append(slice(start, stop, data.draw(st.sampled_from([None, 1, 2, -1, -2, 3]))))
    if data.draw(st.booleans()):  # an Ellipsis stands for a run of axes
        a = data.draw(st.integers(0, len(idx)))
        idx[a:data.draw(st.integers(a, len(idx)))] = [Ellipsis]
    else:  # trailing axes left out
        idx = idx[:data.draw(st.integers(0, len(idx)))]
    for _ in range(data.draw(st.integers(0, 2))):
        idx.insert(data.draw(st.integers(0, len(idx))), None)
    return tuple(idx) if len(idx) != 1 or data.draw(st.booleans()) else idx[0]


def _int_array(data, n, shape=None):
    """Indices in [-n, n) with repeats likely."""
    shape = data.draw(st.sampled_from([(3,), (2, 2), ()])) if shape is None else shape
    return np.asarray(data.draw(arrays("int32", shape, elements=(-n, n - 1))))


def _getitem_basic(data, dtype):
    shape = _shape(data)
    idx = _basic_index(data, shape)
    return (_arr(data, dtype, shape),), lambda x: x[idx], lambda x: x[idx]


def _getitem_array(data, dtype):
    shape = _shape(data, min_dims=1, min_side=1)
    nd = len(shape)
    pos = data.draw(st.integers(0, nd - 1))
    idx = [slice(None)] * nd
    idx[pos] = _int_array(data, shape[pos])
    if nd > 1 and data.draw(st.booleans()):  # a second array, apart or adjacent: jnp's placement rules
        other = data.draw(st.sampled_from([i for i in range(nd) if i != pos]))
        idx[other] = _int_array(data, shape[other], idx[pos].shape)
    if data.draw(st.booleans()):
        idx[data.draw(st.integers(0, nd - 1))] = slice(None, None, -1)  # may replace an array: fine
    idx = tuple(idx)
    return (_arr(data, dtype, shape),), lambda x: x[idx], lambda x: x[idx]


def _getitem_mask(data, dtype):
    shape = _shape(data, min_dims=1)
    k = data.draw(st.integers(1, len(shape)))
    mask = data.draw(arrays("bool", shape[:k]))
    return (_arr(data, dtype, shape),), lambda x: x[mask], lambda x: x[mask]


def _update(data, dtype, method, ref=True):
    shape = _shape(data, min_dims=1, min_side=1)
    idx = _int_array(data, shape[0])
    y_shape = data.draw(st.sampled_from([idx.shape + shape[1:], (), shape[1:][-1:]]))
    x, y = _arr(data, dtype, shape), _arr(data, dtype, y_shape)
    if method == "multiply":  # exact zeros among repeated updates: the zero-safe path
        y = y * data.draw(arrays(dtype, y_shape, elements=st.sampled_from([0.0, 1.0, 1.0])))
    f = lambda x, y: getattr(x.at[idx], method)(y)  # noqa: E731 (same code on tracers and jax arrays)
    return (x, y), f, f if ref else None


def _at_get_modes(data, dtype):
    shape = _shape(data, min_dims=1, min_side=1)
    idx = np.asarray(data.draw(st.lists(st.integers(-2 * shape[0], 2 * shape[0]), min_size=1, max_size=4)))
    mode = data.draw(st.sampled_from(["clip", "fill"]))
    f = lambda x: x.at[idx].get(mode=mode, fill_value=0.5)  # noqa: E731
    return (_arr(data, dtype, shape),), f, f


def _take(data, dtype):
    shape = _shape(data, min_side=1)
    nd = len(shape)
    axis = None if not nd or data.draw(st.booleans()) else data.draw(st.integers(-nd, nd - 1))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    mode = data.draw(st.sampled_from([None, "clip", "wrap"]))
    lim = n if mode is None else 3 * n  # out-of-bounds only where the mode defines them
    idx = np.asarray(data.draw(arrays("int32", st.sampled_from([(3,), (2, 2), ()]),
                                      elements=(-lim, lim - 1))))
    return ((_arr(data, dtype, shape),), lambda x: tnp.take(x, idx, axis, mode=mode),
            lambda x: jnp.take(x, idx, axis, mode=mode))


def _take_along_axis(data, dtype):
    shape = _shape(data, min_dims=1, min_side=1)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    ishape = tuple(data.draw(st.sampled_from([1, n])) for n in shape)  # broadcasting on other axes
    ishape = ishape[:axis % len(shape)] + (data.draw(st.integers(0, 4)),) + ishape[axis % len(shape) + 1:]
    idx = np.asarray(data.draw(arrays("int32", ishape, elements=(-shape[axis], shape[axis] - 1))))
    return ((_arr(data, dtype, shape),), lambda x: tnp.take_along_axis(x, idx, axis),
            lambda x: jnp.take_along_axis(x, idx, axis))


def _sort(data, dtype):
    shape = _shape(data, min_dims=1)
    axis = data.draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
    desc = data.draw(st.booleans())
    return ((_spaced(data, dtype, shape),), lambda x: tnp.sort(x, axis, descending=desc),
            lambda x: jnp.sort(x, axis=axis, descending=desc))


CASES = {
    "getitem_basic": _getitem_basic, "getitem_array": _getitem_array, "getitem_mask": _getitem_mask,
    "at_set": lambda d, t: _update(d, t, "set"), "at_add": lambda d, t: _update(d, t, "add"),
    # jax.vjp has no rule for a scatter-multiply's updates: finite differences are the oracle.
    "at_multiply": lambda d, t: _update(d, t, "multiply", ref=False), "at_get_modes": _at_get_modes,
    "take": _take, "take_along_axis": _take_along_axis, "sort": _sort,
}
EXAMPLES = {"getitem_basic": 6, "getitem_array": 5}


# ---- the canonical case of each row: fixed, non-empty, broadcasting where the op broadcasts --------

def _canon(shapes_, op, ref=True):
    """``op(m, *xs)`` with ``m`` tnp (checked) or jnp (the reference), on fixed distinct values in (-3, 3)."""
    def build(dtype):
        us = canonical_u(*shapes_)
        us = (us,) if len(shapes_) == 1 else us
        return (tuple(np.asarray(3 * u, dtype) for u in us), lambda *xs: op(tnp, *xs),
                (lambda *xs: op(jnp, *xs)) if ref else None)
    return build


# Shapes of the pool above (XLA compiles each op once per shape).
_I = np.array([[0, 1], [1, -1]])  # repeats: cotangents accumulate
_J = np.array([2, 0])  # broadcasts against _I
CANONICAL = {
    "getitem_basic": _canon([(2, 1, 3)], lambda m, x: x[::-1, None, :, 1:]),
    # Two index arrays, (2, 2) and (2,), broadcast together; a slice between them moves their axes first.
    "getitem_array": _canon([(2, 1, 3)], lambda m, x: x[_I, :, _J]),
    "getitem_mask": _canon([(2, 3)], lambda m, x: x[np.array([[True, False, True], [False, True, True]])]),
    # Updates of shape (3,) broadcast over the rows they set, add to or multiply.
    "at_set": _canon([(3, 3), (3,)], lambda m, x, y: x.at[np.array([2, -3])].set(y)),
    "at_add": _canon([(3, 3), (3,)], lambda m, x, y: x.at[np.array([0, 2, 0])].add(y)),
    "at_multiply": _canon([(3, 3), (3,)], lambda m, x, y: x.at[np.array([[0, 2], [0, 1]])].multiply(y),
                          ref=False),
    "at_get_modes": _canon([(2, 3)], lambda m, x: (x.at[np.array([-9, 1, 5])].get(mode="clip"),
                                                   x.at[np.array([-9, 1, 5])].get(mode="fill", fill_value=0.5))),
    "take": _canon([(3, 3)], lambda m, x: (m.take(x, _I, 1), m.take(x, np.array([4, -5, 1]), 0, mode="clip"),
                                           m.take(x, np.array([[13, -1]]), None, mode="wrap"))),
    # Indices (1, 1, 4) against x (2, 1, 3) along the last axis: they broadcast over the first.
    "take_along_axis": _canon([(2, 1, 3)], lambda m, x: m.take_along_axis(x, np.array([[[0, 2, 2, -1]]]), -1)),
    "sort": _canon([(3, 3)], lambda m, x: (m.sort(x, 0), m.sort(x, -1, descending=True), m.sort(x, None))),
}


def test_every_row_has_a_canonical_case():
    assert set(CANONICAL) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_jax_numpy(name):
    check_case(CASES[name], EXAMPLES.get(name, 3), DTYPES, canonical=CANONICAL[name], key=name)


@pytest.mark.parametrize("stable, descending", [(True, False), (True, True), (False, False)])
def test_sort_ties_route_gradients_as_jax(stable, descending):
    x = jnp.array([[2.0, 1.0, 2.0, 0.0, 1.0, 2.0], [3.0, 3.0, 3.0, -1.0, 3.0, 0.0]])
    u = jnp.arange(12.0).reshape(2, 6) ** 2
    out, vjp_fn = tg.vjp(lambda x: tnp.sort(x, 1, stable=stable, descending=descending), x)
    ref_out, ref_vjp = jax.vjp(lambda x: jnp.sort(x, axis=1, stable=stable, descending=descending), x)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(vjp_fn(u)[0], ref_vjp(u)[0])


def test_out_of_bounds_and_repeated_indices_match_jax_vjp():
    x, y = jnp.arange(3.0), jnp.arange(5.0) + 1
    i = jnp.array([5, -1, -7, 1, 1])
    u = jnp.array([1.0, 10.0, 100.0])
    for f in (lambda x, y: x[i] * y, lambda x, y: x.at[i].add(y), lambda x, y: x.at[i].set(y),
              lambda x, y: x.at[i].set(y, mode="clip"), lambda x, y: x.at[i].add(y, mode="clip"),
              lambda x, y: x.at[i].get(mode="clip") * y, lambda x, y: x.at[i].get(mode="fill") * y):
        out, vjp_fn = tg.vjp(f, x, y)
        ref_out, ref_vjp = jax.vjp(f, x, y)
        np.testing.assert_array_equal(out, ref_out)
        ct = u if out.shape == (3,) else jnp.arange(5.0)
        for a, b in zip(vjp_fn(ct), ref_vjp(ct), strict=True):
            np.testing.assert_array_equal(a, b)


def test_repeated_multiply_gradient_is_exact():
    # out[0] = x0 * a * b * c: d/da = x0 * b * c, also where another factor is zero.
    x = jnp.array([2.0, 5.0])
    for y, want in [((3.0, 4.0, 5.0), (40.0, 30.0, 24.0)), ((0.0, 4.0, 5.0), (40.0, 0.0, 0.0)),
                    ((0.0, 0.0, 5.0), (0.0, 0.0, 0.0))]:
        g = tg.grad(lambda y, x: x.at[jnp.array([0, 0, 0])].multiply(y)[0], (0, 1))(jnp.array(y), x)[0]
        np.testing.assert_allclose(g, want)
        # Under jax.jit the indices are abstract: a different (zero-safe) formula, same numbers.
        f = tg.grad(lambda y, x: x.at[jnp.array([0, 0, 0])].multiply(y)[0], (0, 1))
        g = jax.jit(f)(jnp.array(y), x)[0]
        np.testing.assert_allclose(g, want)


METHOD_CASES = [
    lambda x: (x.T ** 2).sum() + (x @ x.T).sum(),
    lambda x: (x.reshape(2, -1) ** 2).sum(),
    lambda x: (x.reshape((2, -1)) @ x.reshape((-1, 2))).sum(),
    lambda x: (x.sum(axis=0) ** 2).sum(),
    lambda x: (x[::-1, None] * x).sum(),
    lambda x: (x.at[jnp.array([0, 2, 0])].add(x[1] * x[2]) ** 2).sum(),
    lambda x: (x.flatten()[::2] ** 3).sum(),
    lambda x: (x[:1].squeeze() * x[2]).sum(),
    lambda x: x.astype("float32").astype("float64").mean() * x.max(),
    lambda x: (x.mT @ x).sum(),
    lambda x: (x.transpose(1, 0) * x.swapaxes(0, 1) + x.ravel().reshape(x.shape[::-1])).sum(),
    lambda x: x.take(jnp.array([1, 1, 5]), axis=None).sum() + (x.repeat(2, axis=1) ** 2).sum(),
    lambda x: (x.sort(axis=0) * jnp.arange(4.0)).sum() + x.diagonal(1).sum(),
    lambda x: sum(row[0] * row[1] for row in x) + len(x),
]


@pytest.mark.parametrize("k", range(len(METHOD_CASES)))
def test_tracer_methods_inside_grad(k):
    f = METHOD_CASES[k]  # plain jax arrays have the same methods: jax.grad is the reference
    x = (jnp.arange(12.0).reshape(3, 4) - 5.5) / 3
    np.testing.assert_allclose(tg.grad(f)(x), jax.grad(f)(x), rtol=1e-6)


def test_indexing_inside_jax_jit():
    def f(x):
        y = x.at[jnp.array([0, 0])].add(x[2]) * tnp.take(x, jnp.array([2, 1, 0]), axis=0)
        return tnp.sum(tnp.sort(y[:, ::-1], axis=1)[:, :2] ** 2)

    def f_ref(x):
        y = x.at[jnp.array([0, 0])].add(x[2]) * jnp.take(x, jnp.array([2, 1, 0]), axis=0)
        return jnp.sum(jnp.sort(y[:, ::-1], axis=1)[:, :2] ** 2)

    x = jnp.asarray(np.random.RandomState(1).normal(size=(3, 4)))
    np.testing.assert_allclose(jax.jit(tg.grad(f))(x), jax.grad(f_ref)(x), rtol=1e-12)


def test_basic_index_gradient_is_a_pad_not_a_scatter():
    # The cotangent of a slice is zero-padded into place (cheap); make sure no scatter is recorded.
    x = jnp.ones((4, 5))
    tape = tg.make_tape(lambda x: tg.grad(lambda x: tnp.sum(x[1:, ::-2, None] ** 2))(x))(x)
    names = [e.prim.name for e in tape]
    assert "unslice" in names and "index_add" not in names


@pytest.mark.parametrize("call, err, match", [
    (lambda x: x.__setitem__(0, 1.0), TypeError, r"immutable.*\.at\[idx\]\.set"),
    (lambda x: x[[0, slice(None)]], TypeError, "use a tuple"),
    (lambda x: x[x], TypeError, "getitem"),
    (lambda x: tnp.take(x, jnp.array([0.5])), TypeError, "integer type"),
    (lambda x: tnp.take(x, x), TypeError, "differentiable"),
    (lambda x: tnp.take(x, jnp.array([0]), axis=2), ValueError, "axis 2 is out of bounds"),
    (lambda x: tnp.take(x, jnp.array([0]), mode="raise"), NotImplementedError, "'raise' mode"),
    (lambda x: tnp.take(x, jnp.array([0]), mode="bogus"), ValueError, "mode must be"),
    (lambda x: tnp.take(x[:, :0], jnp.array([0]), axis=1), IndexError, "empty axis"),
    (lambda x: tnp.take_along_axis(x, jnp.array([0]), 1), ValueError, "same number of dimensions"),
    (lambda x: tnp.take_along_axis(x, jnp.array([[0]]), None), ValueError, "1-D when axis=None"),
    (lambda x: x.at[0].get(mode="bogus"), ValueError, "unknown out-of-bounds mode"),
    (lambda x: tnp.sort(x[0, 0]), ValueError, "0-d"),
    (lambda x: tnp.sort(x, kind="quicksort"), TypeError, "kind"),
])
def test_bad_input_raises_clear_errors(call, err, match):
    x = jnp.ones((2, 3))
    with pytest.raises(err, match=match):
        tg.grad(lambda x: tnp.sum(call(x)))(x)
