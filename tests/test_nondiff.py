"""Non-differentiable ops: plain arrays at every level, zero gradients, jnp's values.

Table-driven: each op with its jnp twin. Inside ``grad`` (and nested
transforms) the result must be a plain array, not a Tracer, and must equal
the jnp result on the primal values; a function built only from such ops has
a zero gradient, and ``floor(x) * x`` differentiates to ``floor(x)``.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from family_checks import UNARY_POOL, varied
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.core.primitive import REGISTRY
from tapegrad.testing import arrays, shapes

X = jnp.asarray([[1.5, -2.5, 0.0], [2.0, -0.5, np.nan]])
# Binary ops take X against Y, which broadcasts: Y[0] ties X[0, 0] and Y[1] ties X[1, 1].
Y = jnp.asarray([1.5, -0.5, -1.0])

UNARY = [
    ("floor", tnp.floor, jnp.floor), ("ceil", tnp.ceil, jnp.ceil), ("trunc", tnp.trunc, jnp.trunc),
    ("rint", tnp.rint, jnp.rint), ("sign", tnp.sign, jnp.sign), ("signbit", tnp.signbit, jnp.signbit),
    ("isnan", tnp.isnan, jnp.isnan), ("isinf", tnp.isinf, jnp.isinf),
    ("isfinite", tnp.isfinite, jnp.isfinite),
    ("isposinf", tnp.isposinf, jnp.isposinf), ("isneginf", tnp.isneginf, jnp.isneginf),
    ("logical_not", tnp.logical_not, jnp.logical_not),
    ("round", lambda x: tnp.round(x, 1), lambda x: jnp.round(x, 1)),
    ("around", lambda x: tnp.around(x), lambda x: jnp.round(x)),
    ("argmax", lambda x: tnp.argmax(x, axis=1), lambda x: jnp.argmax(x, axis=1)),
    ("argmin", lambda x: tnp.argmin(x, axis=-1, keepdims=True),
     lambda x: jnp.argmin(x, axis=-1, keepdims=True)),
    ("argsort", lambda x: tnp.argsort(x, descending=True), lambda x: jnp.argsort(x, descending=True)),
    ("all", lambda x: tnp.all(x, axis=0), lambda x: jnp.all(x, axis=0)),
    ("any", lambda x: tnp.any(x > 1, keepdims=True), lambda x: jnp.any(x > 1, keepdims=True)),
    ("count_nonzero", lambda x: tnp.count_nonzero(x, axis=1), lambda x: jnp.count_nonzero(x, axis=1)),
]

BINARY = [
    ("equal", tnp.equal, jnp.equal), ("not_equal", tnp.not_equal, jnp.not_equal),
    ("less", tnp.less, jnp.less), ("less_equal", tnp.less_equal, jnp.less_equal),
    ("greater", tnp.greater, jnp.greater), ("greater_equal", tnp.greater_equal, jnp.greater_equal),
    ("floor_divide", tnp.floor_divide, jnp.floor_divide),
    ("logical_and", tnp.logical_and, jnp.logical_and), ("logical_or", tnp.logical_or, jnp.logical_or),
    ("logical_xor", tnp.logical_xor, jnp.logical_xor),
    ("isclose", lambda a, b: tnp.isclose(a, b, equal_nan=True),
     lambda a, b: jnp.isclose(a, b, equal_nan=True)),
    ("allclose", tnp.allclose, jnp.allclose),
    ("array_equal", tnp.array_equal, jnp.array_equal),
    ("operator //", lambda a, b: a // b, lambda a, b: a // b),
    ("operator <", lambda a, b: a < b, lambda a, b: a < b),
    ("operator ==", lambda a, b: a == b, lambda a, b: a == b),
]


def _inside_grad(op, args, argnums):
    """Run ``op`` on tracers inside grad, and inside grad of grad; return its results and both gradients."""
    seen = []

    def f(*xs):
        r = op(*xs)
        seen.append(r)
        return tnp.sum(jnp.asarray(r, "float64"))  # would raise on a Tracer: it must be a plain array

    first = tg.grad(f, argnums=argnums)(*args)
    second = tg.grad(lambda *xs: tnp.sum(tg.grad(f, argnums=argnums)(*xs)[0] * xs[0]), argnums=argnums)(*args)
    return seen, first, second


@pytest.mark.parametrize("name,op,ref", UNARY, ids=[u[0] for u in UNARY])
def test_unary_nondiff_is_plain_and_has_zero_gradient(name, op, ref):
    seen, first, second = _inside_grad(op, (X,), (0,))
    assert len(seen) == 2 and not any(isinstance(r, tg.Tracer) for r in seen)
    for r in seen:
        np.testing.assert_array_equal(np.asarray(r), np.asarray(ref(X)))
    np.testing.assert_array_equal(first[0], jnp.zeros_like(X))
    np.testing.assert_array_equal(second[0], jnp.zeros_like(X))


@pytest.mark.parametrize("name,op,ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary_nondiff_is_plain_and_has_zero_gradient(name, op, ref):
    seen, first, second = _inside_grad(op, (X, Y), (0, 1))
    assert len(seen) == 2 and not any(isinstance(r, tg.Tracer) for r in seen)
    for r in seen:
        np.testing.assert_array_equal(np.asarray(r), np.asarray(ref(X, Y)))
    for g, like in zip(first + second, (X, Y, X, Y), strict=True):
        np.testing.assert_array_equal(g, jnp.zeros_like(like))


def test_every_nondiff_op_is_declared_non_differentiable():
    names = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "floor", "ceil",
             "trunc", "rint", "sign", "signbit", "floor_divide", "isnan", "isinf", "isposinf", "isneginf",
             "isfinite", "logical_and", "logical_or", "logical_not", "logical_xor", "round", "all", "any",
             "count_nonzero", "isclose", "array_equal", "argmax", "argmin", "argsort", "allclose", "nonzero"]
    for n in names:
        assert n in REGISTRY and not REGISTRY[n].differentiable, n


@settings(max_examples=5)
@given(x=arrays(st.sampled_from(["float32", "float64"]), varied(UNARY_POOL, shapes(max_dims=3, max_side=3)),
                elements=(-4, 4)))
def test_floor_times_x_differentiates_to_floor(x):
    _check_floor_times_x(x)


def _check_floor_times_x(x):
    g = tg.grad(lambda v: tnp.sum(tnp.floor(v) * v))(x)
    np.testing.assert_array_equal(np.asarray(g), np.floor(x))
    assert g.dtype == x.dtype
    # Forward mode and jax agree.
    t = np.ones_like(x)
    _, jt = tg.jvp(lambda v: tnp.floor(v) * v, (x,), (t,))
    want = jax.jvp(lambda v: jnp.floor(v) * v, (x,), (t,))[1]
    np.testing.assert_array_equal(np.asarray(jt), np.asarray(want))


def test_scalar_floor_times_x_and_higher_order():
    assert float(tg.grad(lambda x: tnp.floor(x) * x)(2.7)) == 2.0
    assert float(tg.grad(lambda x: tnp.floor(x) * x)(-1.2)) == -2.0
    assert float(tg.grad(tg.grad(lambda x: tnp.floor(x) * x * x))(2.7)) == 4.0
    # rounding ops under jvp and jacobian: zero.
    _, t = tg.jvp(tnp.round, (jnp.asarray([1.4, 2.6]),), (jnp.ones(2),))
    np.testing.assert_array_equal(t, [0.0, 0.0])
    np.testing.assert_array_equal(tg.jacobian(tnp.sign)(jnp.asarray([1.0, -2.0])), jnp.zeros((2, 2)))


def test_comparisons_and_predicates_usable_in_python_control_flow_when_eager():
    def f(x):
        return x * 2 if bool(tnp.all(x > 0)) else x * 3
    np.testing.assert_array_equal(tg.grad(lambda x: tnp.sum(f(x)))(jnp.asarray([1.0, 2.0])), [2.0, 2.0])
    np.testing.assert_array_equal(tg.grad(lambda x: tnp.sum(f(x)))(jnp.asarray([1.0, -2.0])), [3.0, 3.0])


def test_nonzero_and_masks():
    x = jnp.asarray([0.0, 1.5, 0.0, -2.0])
    seen = []

    def f(v):
        idx = tnp.nonzero(v)
        seen.append(idx)
        return tnp.sum(v[idx] ** 2)

    np.testing.assert_array_equal(tg.grad(f)(x), [0.0, 3.0, 0.0, -4.0])
    assert all(not isinstance(i, tg.Tracer) for i in seen[0])
    np.testing.assert_array_equal(tnp.nonzero(x, size=3, fill_value=-1)[0],
                                  jnp.nonzero(x, size=3, fill_value=-1)[0])


def test_nondiff_under_jit():
    f = jax.jit(tg.grad(lambda v: tnp.sum(tnp.floor(v) * v + tnp.argmax(v) * v)))
    x = jnp.asarray([0.5, 2.5, 1.5])
    np.testing.assert_array_equal(f(x), jnp.floor(x) + 1)


def test_bad_inputs_name_the_op():
    with pytest.raises((TypeError, ValueError, IndexError), match="argmax"):
        tnp.argmax(jnp.ones((2, 2)), axis=3)
    with pytest.raises((TypeError, ValueError), match=r"less.*\[2\].*\[3\]"):
        tnp.less(jnp.ones(2), jnp.ones(3))
    with pytest.raises(NotImplementedError, match="'out'"):
        tnp.argmin(jnp.ones(2), out=jnp.ones(()))
