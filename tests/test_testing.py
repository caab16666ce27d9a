"""``tapegrad.testing``: the strategies, and ``assert_vjp`` as an oracle that passes on right rules
and fails, with a message naming argument, order and mode, on rules wrong by 0.1%.

How the deliberately wrong rules are built (forward mode is derived from reverse
mode by transposing the VJP, so it cannot be broken on its own by an ordinary rule):

- reverse only: a ``custom_vjp`` whose ``bwd`` is 0.1% too large. (The derived JVP is
  then wrong too; the oracle runs the reverse checks first and reports ``'rev'``.)
- forward only: a :class:`Primitive` whose rule is right when its cotangent is a plain
  array (``vjp_fn(u)``) and 0.1% off when the cotangent is a :class:`Tracer`, which
  happens exactly when forward mode traces the VJP at a fresh level to transpose it.
- second order only: a ``custom_vjp`` for ``x * x`` whose ``bwd`` is ``g * (x +
  stop_gradient(x))``: right values, but half the derivative of the rule is stopped.
"""
from __future__ import annotations

import os
import subprocess
import sys

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.testing import GradientCheckError, arrays, assert_vjp, broadcastable_shapes, shapes

F64 = "float64"
SMALL = dict(max_dims=2, max_side=2)  # few distinct shapes: each new (op, shape) costs JAX a compile


# --------------------------------------------------------------------------------------------
# A broad sample of tnp primitives: each spec draws (fun, args, reference, order).
# --------------------------------------------------------------------------------------------

def away(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats with lo <= |x| <= hi, of either sign."""
    return st.one_of(st.floats(lo, hi), st.floats(-hi, -lo))


def distinct(shape_strategy: st.SearchStrategy) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays without ties (spacing >= 0.37), for max/min/sort/std."""
    return hnp.arrays(np.int64, shape_strategy, elements=st.integers(-40, 40), unique=True).map(
        lambda a: np.asarray(a * 0.37, dtype=F64))


def unary(name: str, lo: float, hi: float, signed_away: bool = False):
    def spec(data):
        elements = away(lo, hi) if signed_away else (lo, hi)
        x = data.draw(arrays(F64, shapes(**SMALL), elements=elements), label="x")
        return getattr(tnp, name), (x,), getattr(jnp, name), 2
    return spec


def binary(name: str, a: tuple | st.SearchStrategy = (-3, 3), b: tuple | st.SearchStrategy = (-3, 3)):
    def spec(data):
        sa, sb = data.draw(broadcastable_shapes(2, **SMALL), label="shapes")
        x = data.draw(arrays(F64, sa, elements=a), label="x")
        y = data.draw(arrays(F64, sb, elements=b), label="y")
        return getattr(tnp, name), (x, y), getattr(jnp, name), 2
    return spec


def extremum2(name: str):
    def spec(data):  # y = x + d with |d| >= 0.05: no ties for the finite differences to straddle
        sa, sb = data.draw(broadcastable_shapes(2, **SMALL), label="shapes")
        x = data.draw(arrays(F64, sa, elements=(-3, 3)), label="x")
        d = data.draw(arrays(F64, np.broadcast_shapes(sa, sb), elements=away(0.05, 1)), label="d")
        return getattr(tnp, name), (x, x + d), getattr(jnp, name), 2
    return spec


def reduction(name: str, values: str = "any", min_side: int = 0, order: int = 2, min_dims: int = 0):
    jax_fun = jax.scipy.special.logsumexp if name == "logsumexp" else getattr(jnp, name)

    def spec(data):
        shp = shapes(min_dims=min_dims, max_dims=2, max_side=3, min_side=min_side)
        x = data.draw(distinct(shp) if values == "distinct" else arrays(F64, shp, elements=(-2, 2)),
                      label="x")
        axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)) if x.ndim else st.none(),
                         label="axis")
        keep = data.draw(st.booleans(), label="keepdims")
        kw = dict(axis=axis, keepdims=keep)
        return (lambda v: getattr(tnp, name)(v, **kw)), (x,), (lambda v: jax_fun(v, **kw)), order
    return spec


def cumulative(name: str):
    def spec(data):
        x = data.draw(arrays(F64, shapes(**SMALL), elements=(-2, 2)), label="x")
        axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)) if x.ndim else st.none())
        return (lambda v: getattr(tnp, name)(v, axis=axis)), (x,), \
            (lambda v: getattr(jnp, name)(v, axis=axis)), 2
    return spec


def spec_reshape(data):
    x = data.draw(arrays(F64, shapes(max_dims=3, max_side=3)), label="x")
    new = data.draw(st.sampled_from([x.shape[::-1], (-1,), (x.size, 1), (1, -1) if x.size else (1, 0)]))
    return (lambda v: tnp.reshape(v, new)), (x,), (lambda v: jnp.reshape(v, new)), 2


def spec_transpose(data):
    x = data.draw(arrays(F64, shapes(max_dims=3, max_side=3)), label="x")
    perm = tuple(data.draw(st.permutations(range(x.ndim)), label="axes"))
    return (lambda v: tnp.transpose(v, perm)), (x,), (lambda v: jnp.transpose(v, perm)), 2


def spec_matmul(data):
    n, k, m, b = (data.draw(st.integers(0 if i < 3 else 1, 3)) for i in range(4))
    sa, sb = data.draw(st.sampled_from([((n, k), (k, m)), ((k,), (k, m)), ((n, k), (k,)), ((k,), (k,)),
                                         ((b, n, k), (k, m)), ((b, n, k), (b, k, m))]), label="shapes")
    x = data.draw(arrays(F64, sa, elements=(-2, 2)), label="x")
    y = data.draw(arrays(F64, sb, elements=(-2, 2)), label="y")
    return tnp.matmul, (x, y), jnp.matmul, 2


def spec_getitem(data):
    x = data.draw(arrays(F64, shapes(min_dims=1, max_dims=3, max_side=4)), label="x")
    idx = data.draw(st.one_of(hnp.basic_indices(x.shape, allow_newaxis=True),
                              hnp.integer_array_indices(x.shape) if 0 not in x.shape else st.nothing()),
                    label="index")
    # One function serves both: x[idx] on a tapegrad Tracer and on a jax array.
    return (lambda v: v[idx]), (x,), (lambda v: v[idx]), 2


def spec_tnp_getitem(data):
    x = data.draw(arrays(F64, shapes(min_dims=1, min_side=1, **SMALL)), label="x")
    idx = data.draw(hnp.integer_array_indices(x.shape), label="index")
    return (lambda v: tnp.getitem(v, idx)), (x,), (lambda v: v[idx]), 1


def spec_concatenate(data):
    x = data.draw(arrays(F64, shapes(min_dims=1, **SMALL)), label="x")
    axis = data.draw(st.integers(0, x.ndim - 1), label="axis")
    extra = data.draw(st.integers(0, 2))
    y = data.draw(arrays(F64, x.shape[:axis] + (extra,) + x.shape[axis + 1:]), label="y")
    return (lambda a, b: tnp.concatenate([a, b], axis=axis)), (x, y), \
        (lambda a, b: jnp.concatenate([a, b], axis=axis)), 2


def spec_stack(data):
    x = data.draw(arrays(F64, shapes(**SMALL)), label="x")
    y = data.draw(arrays(F64, x.shape), label="y")
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim), label="axis")
    return (lambda a, b: tnp.stack([a, b], axis=axis)), (x, y), (lambda a, b: jnp.stack([a, b], axis=axis)), 2


def spec_where(data):
    sc, sa, sb = data.draw(broadcastable_shapes(3, **SMALL), label="shapes")
    cond = data.draw(hnp.arrays(np.bool_, sc), label="cond")
    x = data.draw(arrays(F64, sa), label="x")
    y = data.draw(arrays(F64, sb), label="y")
    return (lambda a, b: tnp.where(cond, a, b)), (x, y), (lambda a, b: jnp.where(cond, a, b)), 2


def spec_sort(data):
    x = data.draw(distinct(shapes(min_dims=1, **SMALL)), label="x")
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    return (lambda v: tnp.sort(v, axis=axis)), (x,), (lambda v: jnp.sort(v, axis=axis)), 2


def spec_swapaxes(data):
    x = data.draw(arrays(F64, shapes(min_dims=1, max_dims=3, max_side=3)), label="x")
    a1, a2 = (data.draw(st.integers(-x.ndim, x.ndim - 1)) for _ in range(2))
    return (lambda v: tnp.swapaxes(v, a1, a2)), (x,), (lambda v: jnp.swapaxes(v, a1, a2)), 2


def spec_broadcast_to(data):
    target = data.draw(shapes(**SMALL), label="target")
    lead = data.draw(st.integers(0, len(target)), label="leading axes added")
    small = tuple(data.draw(st.sampled_from([s, 1])) for s in target[lead:])
    x = data.draw(arrays(F64, small), label="x")
    return (lambda v: tnp.broadcast_to(v, target)), (x,), (lambda v: jnp.broadcast_to(v, target)), 2


def spec_expand_squeeze(name: str):
    def spec(data):
        x = data.draw(arrays(F64, shapes(max_dims=2, max_side=3)), label="x")
        if name == "expand_dims":
            axis = data.draw(st.integers(-x.ndim - 1, x.ndim), label="axis")
        else:
            axis = tuple(i for i, s in enumerate(x.shape) if s == 1) or None
        return (lambda v: getattr(tnp, name)(v, axis)), (x,), (lambda v: getattr(jnp, name)(v, axis)), 2
    return spec


def spec_einsum(data):
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    x = data.draw(arrays(F64, (n, k), elements=(-2, 2)), label="x")
    y = data.draw(arrays(F64, (k, m), elements=(-2, 2)), label="y")
    return (lambda a, b: tnp.einsum("ij,jk->ik", a, b)), (x, y), \
        (lambda a, b: jnp.einsum("ij,jk->ik", a, b)), 2


SPECS = {
    # elementwise
    "sin": unary("sin", -3, 3), "cos": unary("cos", -3, 3), "tan": unary("tan", -1.2, 1.2),
    "tanh": unary("tanh", -3, 3), "sinh": unary("sinh", -2, 2), "exp": unary("exp", -3, 3),
    "expm1": unary("expm1", -3, 3), "log": unary("log", 0.1, 5), "log1p": unary("log1p", -0.8, 5),
    "sqrt": unary("sqrt", 0.1, 5), "cbrt": unary("cbrt", 0.1, 5, True), "arcsin": unary("arcsin", -0.9, 0.9),
    "arctan": unary("arctan", -3, 3), "arccosh": unary("arccosh", 1.1, 4),
    "arctanh": unary("arctanh", -0.9, 0.9), "abs": unary("abs", 0.05, 3, True),
    "reciprocal": unary("reciprocal", 0.2, 3, True),
    # arithmetic, with broadcasting
    "add": binary("add"), "subtract": binary("subtract"), "multiply": binary("multiply"),
    "divide": binary("divide", b=away(0.2, 3)),
    # Exponent 0 exactly: see test_power_second_derivative_at_exponent_zero.
    "power": binary("power", a=(0.3, 3), b=away(0.01, 2)), "logaddexp": binary("logaddexp"),
    "arctan2": binary("arctan2", b=(0.2, 3)), "hypot": binary("hypot", a=away(0.2, 3)),
    "maximum": extremum2("maximum"), "minimum": extremum2("minimum"),
    # reductions
    "sum": reduction("sum"), "mean": reduction("mean", min_side=1), "prod": reduction("prod"),
    "max": reduction("max", "distinct", min_side=1), "min": reduction("min", "distinct", min_side=1),
    "logsumexp": reduction("logsumexp", min_side=1),
    "var": reduction("var", "distinct", min_side=2, min_dims=1, order=1),
    "std": reduction("std", "distinct", min_side=2, min_dims=1, order=1),
    "cumsum": cumulative("cumsum"), "cumprod": cumulative("cumprod"),
    # shape and indexing
    "reshape": spec_reshape, "transpose": spec_transpose, "getitem": spec_tnp_getitem,
    "concatenate": spec_concatenate, "stack": spec_stack, "where": spec_where, "sort": spec_sort,
    "swapaxes": spec_swapaxes, "broadcast_to": spec_broadcast_to,
    "expand_dims": spec_expand_squeeze("expand_dims"), "squeeze": spec_expand_squeeze("squeeze"),
    # linear algebra
    "matmul": spec_matmul, "einsum": spec_einsum,
}
REQUIRED = ["sin", "exp", "log", "tanh", "multiply", "divide", "power", "sum", "mean", "max", "reshape",
            "transpose", "matmul", "getitem"]
PRESENT = [n for n in SPECS if hasattr(tnp, n)]


def test_the_sample_covers_the_required_primitives():
    assert set(REQUIRED) <= set(PRESENT), sorted(set(REQUIRED) - set(PRESENT))
    differentiable = getattr(tnp, "DIFFERENTIABLE", None)
    if differentiable is not None:  # once tnp classifies its names, sample only differentiable ones
        assert set(PRESENT) <= set(differentiable) | {"getitem"}, sorted(set(PRESENT) - set(differentiable))


def _passes(name: str, data: st.DataObject) -> None:
    fun, args, reference, order = SPECS[name](data)
    assert_vjp(fun, args, order=order, reference=reference)


# Each (op, shape) costs JAX a compile on first use: the required names get 3 examples, the rest 2.
@pytest.mark.parametrize("name", [n for n in PRESENT if n in REQUIRED])
@settings(max_examples=3)
@given(data=st.data())
def test_assert_vjp_passes_on_tnp_primitives(name, data):
    _passes(name, data)


@pytest.mark.parametrize("name", [n for n in PRESENT if n not in REQUIRED])
@settings(max_examples=2)
@given(data=st.data())
def test_assert_vjp_passes_on_more_tnp_primitives(name, data):
    _passes(name, data)


@settings(max_examples=6)
@given(data=st.data())
def test_assert_vjp_passes_on_indexing_expressions(data):
    fun, args, reference, order = spec_getitem(data)
    assert_vjp(fun, args, order=order, reference=reference)


@settings(max_examples=3)
@given(x=arrays("float32", shapes(**SMALL), elements=(-2, 2)))
def test_float32_defaults_pass_on_right_rules(x):
    assert_vjp(lambda v: tnp.tanh(v) * tnp.exp(v), (x,), order=2,
               reference=lambda v: jnp.tanh(v) * jnp.exp(v))


def test_power_second_derivative_at_exponent_zero():
    # Found by assert_vjp: the x-rule used to pin y == 0 to a constant 0, so d/dy of it was 0, not 1/x.
    assert_vjp(tnp.power, (np.array([1.0, 2.0]), np.array([0.0, 0.0])), order=2, reference=jnp.power)


# --------------------------------------------------------------------------------------------
# Rules wrong by 0.1%: the oracle must fail, naming the argument, the order and the mode.
# --------------------------------------------------------------------------------------------

@tg.custom_vjp
def exp_rev_wrong(x):
    return tnp.exp(x)


exp_rev_wrong.defvjp(lambda x: (tnp.exp(x), tnp.exp(x)), lambda ex, g: (g * ex * 1.001,))


@tg.custom_vjp
def mul_y_wrong(x, y):
    return x * y


mul_y_wrong.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (g * r[1], g * r[0] * 1.001))


def _fwd_wrong_rule(factor: float):
    def rule(g, out, x):
        # vjp_fn(u) hands the rule a plain array: right. Forward mode traces vjp_fn at a fresh level
        # to transpose it, so there the cotangent is a Tracer: wrong by `factor`.
        return g * tnp.cos(x) * (factor if type(g) is Tracer else 1.0)
    return rule


sin_fwd_wrong = Primitive("sin_fwd_wrong", jnp.sin, register=False).defvjp(_fwd_wrong_rule(1.001))
sin_fwd_wrong_5e3 = Primitive("sin_fwd_wrong_5e-3", jnp.sin, register=False).defvjp(_fwd_wrong_rule(1.005))


@tg.custom_vjp
def square_2nd_wrong(x):
    return x * x


# Right values (2x), but d/dx of the rule is 1 instead of 2.
square_2nd_wrong.defvjp(lambda x: (x * x, x), lambda x, g: (g * (x + tg.stop_gradient(x)),))

NONEMPTY = shapes(min_side=1, max_dims=2, max_side=3)


@settings(max_examples=10)
@given(x=arrays(F64, NONEMPTY, elements=(-1, 2)))
def test_fails_on_a_reverse_rule_wrong_by_a_thousandth(x):
    with pytest.raises(AssertionError, match=r"exp_rev_wrong.*argument 'x' \(args\[0\]\) at order 1.*"
                                             r"mode 'rev': largest error \d"):
        assert_vjp(exp_rev_wrong, (x,))
    with pytest.raises(AssertionError, match=r"mode 'rev'"):
        assert_vjp(exp_rev_wrong, (x,), modes=("rev",))
    # The derived JVP inherits the error; forward mode alone sees it as a JVP error.
    with pytest.raises(AssertionError, match=r"mode 'fwd'"):
        assert_vjp(exp_rev_wrong, (x,), modes=("fwd",))


@settings(max_examples=10)
@given(data=st.data())
def test_names_the_wrong_argument_among_several(data):
    x = data.draw(arrays(F64, NONEMPTY, elements=away(0.5, 2)), label="x")
    y = data.draw(arrays(F64, x.shape, elements=away(0.5, 2)), label="y")
    with pytest.raises(AssertionError, match=r"argument 'y' \(args\[1\]\) at order 1, mode 'rev'") as info:
        assert_vjp(mul_y_wrong, (x, y))
    assert "argument 'x'" not in str(info.value)


@settings(max_examples=10)
@given(x=arrays(F64, NONEMPTY, elements=(-1.2, 1.2)))
def test_fails_on_a_forward_rule_wrong_by_a_thousandth(x):
    assert_vjp(sin_fwd_wrong, (x,), modes=("rev",), order=2)  # the VJP is right, to second order
    # A Primitive has no signature: the argument is named by position.
    with pytest.raises(AssertionError, match=r"sin_fwd_wrong.*argument args\[0\] at order 1, "
                                             r"mode 'fwd': largest error \d"):
        assert_vjp(sin_fwd_wrong, (x,))


@settings(max_examples=10)
@given(x=arrays(F64, NONEMPTY, elements=(-3, 3)))
def test_fails_on_a_rule_wrong_at_second_order_only(x):
    assert_vjp(square_2nd_wrong, (x,), order=1)
    with pytest.raises(AssertionError, match=r"argument 'x' \(args\[0\]\) at order 2.*mode 'rev': "
                                             r"largest error \d"):
        assert_vjp(square_2nd_wrong, (x,), order=2)
    with pytest.raises(AssertionError, match=r"at order 2.*mode 'fwd'"):
        assert_vjp(square_2nd_wrong, (x,), order=2, modes=("fwd",))


def test_the_transpose_test_sees_what_float32_finite_differences_cannot():
    x = np.linspace(-1.0, 1.0, 5, dtype="float32")
    # 0.5% is inside float32's finite-difference tolerance (3%), far outside the transpose test's.
    # fd64=False: float32 finite differences alone, as where no float64 evaluation can serve.
    with pytest.raises(AssertionError, match=r"at order 1, mode 'transpose'.*largest error \d"):
        assert_vjp(sin_fwd_wrong_5e3, (x,), fd64=False)
    assert_vjp(sin_fwd_wrong_5e3, (x,), modes=("fwd",), fd64=False)
    assert_vjp(sin_fwd_wrong_5e3, (x,), modes=("rev",))
    # float64 finite differences of the same function see it in each mode alone.
    with pytest.raises(AssertionError, match=r"at order 1, mode 'fwd'.*against float64 finite differences"):
        assert_vjp(sin_fwd_wrong_5e3, (x,), modes=("fwd",))


def test_reference_catches_what_float32_finite_differences_cannot():
    x = np.linspace(-1.0, 2.0, 7, dtype="float32")
    assert_vjp(exp_rev_wrong, (x,), modes=("rev",), fd64=False)  # 0.1% hides in float32's tolerance
    with pytest.raises(AssertionError, match=r"argument 'x'.*mode 'rev'.*jax.vjp of the reference"):
        assert_vjp(exp_rev_wrong, (x,), modes=("rev",), reference=jnp.exp, fd64=False)
    with pytest.raises(AssertionError, match=r"mode 'reference'.*the output"):
        assert_vjp(tnp.sin, (x,), reference=jnp.cos)
    assert_vjp(tnp.sin, (x,), order=3, reference=jnp.sin)
    # ... and float64 finite differences of the same function catch it without a reference.
    with pytest.raises(AssertionError, match=r"argument 'x'.*mode 'rev'.*against float64 finite differences"):
        assert_vjp(exp_rev_wrong, (x,), modes=("rev",))


def test_a_nan_derivative_never_passes():
    @tg.custom_vjp
    def f(x):
        return tnp.sin(x)

    f.defvjp(lambda x: (tnp.sin(x), x), lambda x, g: (g * tnp.cos(x) * jnp.nan,))
    for modes in (("rev",), ("fwd",), ("rev", "fwd")):
        with pytest.raises(AssertionError, match="largest error nan"):
            assert_vjp(f, (np.linspace(0.0, 1.0, 3),), modes=modes)


def test_a_point_outside_the_domain_is_reported():
    with pytest.raises(AssertionError, match="not finite"):
        assert_vjp(tnp.log, (np.array([-1.0, 2.0]),))
    with pytest.raises(AssertionError, match="finite differences .* not finite"):
        assert_vjp(tnp.sqrt, (np.array([0.0, 2.0]),))


def test_pytrees_and_fixed_non_float_leaves():
    params = {"b": np.linspace(-1, 1, 3), "w": np.linspace(0.5, 1.5, 6).reshape(2, 3)}
    idx = np.array([2, 0, 0])
    assert_vjp(lambda p, x, i: tnp.tanh(p["w"] @ x[i] + p["b"][0]), (params, np.linspace(-1, 1, 3), idx),
               order=2)

    @tg.custom_vjp
    def layer(p, x):
        return p["w"] @ x + p["b"]

    def bwd(res, g):
        p, x = res
        return {"b": g, "w": g[:, None] * x[None, :] * 1.001}, p["w"].T @ g

    layer.defvjp(lambda p, x: (p["w"] @ x + p["b"], (p, x)), bwd)
    params["b"] = np.linspace(-1, 1, 2)
    with pytest.raises(AssertionError, match=r"argument 'p\['w'\]' \(args\[0\]\['w'\]\) at order 1"):
        assert_vjp(layer, (params, np.linspace(0.5, 1.5, 3)))


def test_bad_calls():
    with pytest.raises(TypeError, match="tuple"):
        assert_vjp(tnp.sin, np.ones(3))
    with pytest.raises(ValueError, match="modes"):
        assert_vjp(tnp.sin, (np.ones(3),), modes=("backward",))
    with pytest.raises(ValueError, match="order"):
        assert_vjp(tnp.sin, (np.ones(3),), order=0)
    with pytest.raises(TypeError, match="floating-point"):
        assert_vjp(lambda i: i * 2, (np.arange(3),))


# --------------------------------------------------------------------------------------------
# tg.check_grads is a front for the same oracle: it agrees with assert_vjp.
# --------------------------------------------------------------------------------------------

def _outcome(check, fun, args, **kw) -> str:
    try:
        check(fun, args, **kw)
    except AssertionError as e:
        msg = str(e)
        return "fail " + msg[msg.index("at order"):msg.index("largest")]
    return "pass"


AGREEMENT = [
    (tnp.sin, 1, ("rev", "fwd")), (tnp.sin, 2, ("rev", "fwd")), (exp_rev_wrong, 1, ("rev", "fwd")),
    (exp_rev_wrong, 1, ("fwd",)), (sin_fwd_wrong, 1, ("rev",)), (sin_fwd_wrong, 1, ("rev", "fwd")),
    (square_2nd_wrong, 1, ("rev", "fwd")), (square_2nd_wrong, 2, ("rev", "fwd")),
    (square_2nd_wrong, 2, ("fwd",)), (lambda x: tnp.sum(x * x), 3, ("rev", "fwd")),
]


@pytest.mark.parametrize("fun, order, modes", AGREEMENT)
def test_check_grads_and_assert_vjp_agree(fun, order, modes):
    x = np.linspace(-1.0, 1.5, 4)
    a = _outcome(tg.check_grads, fun, (x,), order=order, modes=modes)
    b = _outcome(assert_vjp, fun, (x,), order=order, modes=modes)
    assert a == b
    assert (a == "pass") == (fun in (tnp.sin,) or getattr(fun, "__name__", "") == "<lambda>"
                             or (fun is sin_fwd_wrong and modes == ("rev",))
                             or (fun is square_2nd_wrong and order == 1))


def test_check_grads_names_the_op_and_the_argument():
    with pytest.raises(AssertionError, match=r"tg.check_grads: .*custom_vjp\[mul_y_wrong\].*argument 'y'"):
        tg.check_grads(mul_y_wrong, (np.linspace(0.5, 1, 3), np.linspace(1, 2, 3)))
    assert isinstance(GradientCheckError("x"), AssertionError)


# --------------------------------------------------------------------------------------------
# The strategies produce what they promise.
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("condition", [lambda s: s == (), lambda s: 0 in s, lambda s: 1 in s,
                                       lambda s: len(s) == 3 and min(s) >= 2])
def test_shapes_reach_the_edge_cases(condition):
    find(shapes(max_dims=3), condition)


@given(shapes(max_dims=3), shapes(min_dims=1, max_dims=2, min_side=2, max_side=4))
def test_shapes_respect_their_bounds(a, b):
    assert len(a) <= 3
    assert 1 <= len(b) <= 2 and all(2 <= s <= 4 for s in b)


@given(broadcastable_shapes(2, max_dims=3), broadcastable_shapes(3, base_shape=(2, 1)))
def test_broadcastable_shapes_broadcast(pair, triple):
    assert len(pair) == 2 and all(len(s) <= 3 for s in pair)
    np.broadcast_shapes(*pair)
    assert len(triple) == 3
    np.broadcast_shapes((2, 1), *triple)


def test_broadcastable_shapes_reach_the_edge_cases():
    find(broadcastable_shapes(2), lambda p: p[0] != p[1] and len(p[0]) == len(p[1]) == 2)
    find(broadcastable_shapes(2), lambda p: 0 in p[0] + p[1])
    find(broadcastable_shapes(2), lambda p: 1 in p[0] and 1 not in p[1] and len(p[1]) >= len(p[0]))
    find(broadcastable_shapes(2), lambda p: len(p[0]) != len(p[1]))


@given(arrays(shape=shapes(max_dims=3), dtype="float64", elements=(-3, 3)),  # the call in API.md §9
       arrays("float32", (4,), elements=(-0.1, 0.1)), arrays("float16", shapes(), elements=(-1, 1000)))
def test_arrays_respect_dtype_and_elements(x, y, z):
    assert isinstance(x, np.ndarray) and x.dtype == np.float64 and len(x.shape) <= 3
    assert np.all(np.isfinite(x)) and np.all((-3 <= x) & (x <= 3))
    assert y.dtype == np.float32 and y.shape == (4,) and np.all((-0.1 <= y) & (y <= 0.1))
    assert z.dtype == np.float16 and np.all(np.isfinite(z)) and np.all((-1 <= z) & (z <= 1000))
    for a in (x, y, z):
        assert jnp.asarray(a).shape == a.shape  # JAX takes it as it is


def test_arrays_reach_empty_and_unit_sizes():
    find(arrays(F64), lambda a: a.size == 0)
    find(arrays(F64), lambda a: a.ndim >= 1 and a.shape.count(1) == a.ndim)
    find(arrays("int32", (3,)), lambda a: np.all(a != 0))
    find(arrays("bfloat16", (2,), elements=(0.1, 0.2)), lambda a: True)


@settings(max_examples=10)
@given(arrays(hnp.floating_dtypes(sizes=(32, 64), endianness=">"), (2,)))
def test_arrays_come_in_native_byte_order(a):
    assert a.dtype.isnative and jnp.asarray(a).dtype == a.dtype


def test_arrays_reject_what_jax_cannot_hold():
    with pytest.raises(ValueError, match="JAX has no dtype"):
        arrays("float128" if hasattr(np, "float128") else "U3", (2,))
    with pytest.raises(ValueError, match="no float16 number"):
        arrays("float16", (2,), elements=(0.1, 0.1))


# --------------------------------------------------------------------------------------------
# hypothesis is optional.
# --------------------------------------------------------------------------------------------

def _python(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_without_hypothesis_tapegrad_imports_and_testing_says_how_to_install():
    # With None in sys.modules, any import of hypothesis raises ImportError: so `import tapegrad`
    # succeeding also shows that tapegrad (and tapegrad.numpy, tg.check_grads) never import it.
    r = _python(
        "import sys\n"
        "sys.modules['hypothesis'] = None\n"
        "import tapegrad, tapegrad.numpy, tapegrad.checking\n"
        "try:\n"
        "    import tapegrad.testing\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
        "else:\n"
        "    print('imported')\n")
    assert r.returncode == 0, r.stderr
    assert "ImportError" in r.stdout, r.stdout
    assert "pip install hypothesis" in r.stdout and 'pip install "tapegrad[testing]"' in r.stdout
