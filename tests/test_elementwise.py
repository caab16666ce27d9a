"""Unary elementwise math: every op against jax.vjp/jax.jvp of jax.numpy and finite differences.

Table-driven: one row per op (a jnp reference and an input domain). Hypothesis
draws the dtype and an array ``u`` in [-1, 1] (shapes include scalars, size-0
and size-1 dims), which the row's domain maps to where the op is smooth, so
finite differences never straddle a singularity or a kink. Every row's first
example is the canonical one (a 2x3 array in float64, orders 1 and 2), in CI too.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from family_checks import (
    BINARY_SHAPES,
    UNARY_POOL,
    UNARY_SHAPE,
    canonical_first,
    canonical_u,
    check_against_jax,
    varied,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.testing import arrays, shapes

UNIFORM = arrays("float64", varied(UNARY_POOL, shapes(max_dims=2, max_side=2)), elements=(-1, 1))
SMALL = arrays("float64", shapes(max_dims=2, max_side=2), elements=(-1, 1))  # 25 Hessians below: kept small
DTYPES = st.sampled_from(["float32", "float64"])


def _sign(u):
    return np.where(u >= 0, 1.0, -1.0)


# Domains map u ~ U(-1, 1) into where the op is smooth (and away from its kinks).
WIDE = lambda u: 3 * u
POS = lambda u: 0.2 + 1.4 * (u + 1)
AWAY0 = lambda u: _sign(u) * (0.2 + 2 * np.abs(u))
UNIT = lambda u: 0.9 * u

UNARY = [
    ("exp", tnp.exp, jnp.exp, WIDE),
    ("exp2", tnp.exp2, jnp.exp2, WIDE),
    ("expm1", tnp.expm1, jnp.expm1, WIDE),
    ("log", tnp.log, jnp.log, POS),
    ("log2", tnp.log2, jnp.log2, POS),
    ("log10", tnp.log10, jnp.log10, POS),
    ("log1p", tnp.log1p, jnp.log1p, lambda u: 0.8 + 1.5 * u),
    ("sqrt", tnp.sqrt, jnp.sqrt, POS),
    ("cbrt", tnp.cbrt, jnp.cbrt, AWAY0),
    ("sin", tnp.sin, jnp.sin, WIDE),
    ("cos", tnp.cos, jnp.cos, WIDE),
    ("tan", tnp.tan, jnp.tan, lambda u: 1.2 * u),
    ("arcsin", tnp.arcsin, jnp.arcsin, UNIT),
    ("arccos", tnp.arccos, jnp.arccos, UNIT),
    ("arctan", tnp.arctan, jnp.arctan, WIDE),
    ("sinh", tnp.sinh, jnp.sinh, WIDE),
    ("cosh", tnp.cosh, jnp.cosh, WIDE),
    ("tanh", tnp.tanh, jnp.tanh, WIDE),
    ("arcsinh", tnp.arcsinh, jnp.arcsinh, WIDE),
    ("arccosh", tnp.arccosh, jnp.arccosh, lambda u: 2.2 + u),
    ("arctanh", tnp.arctanh, jnp.arctanh, UNIT),
    ("abs", tnp.abs, jnp.abs, AWAY0),
    ("fabs", tnp.fabs, jnp.fabs, AWAY0),
    ("deg2rad", tnp.deg2rad, jnp.deg2rad, WIDE),
    ("rad2deg", tnp.rad2deg, jnp.rad2deg, WIDE),
    ("positive", tnp.positive, jnp.positive, WIDE),
]


@pytest.mark.parametrize("name,fn,ref,domain", UNARY, ids=[r[0] for r in UNARY])
@settings(max_examples=2)
@given(case=canonical_first(canonical_u(UNARY_SHAPE), UNIFORM, DTYPES))
def test_unary_matches_jax(name, fn, ref, domain, case):
    u, dtype = case
    x = jnp.asarray(domain(u), dtype=dtype)
    check_against_jax(fn, ref, (x,), dtype)


def test_aliases_are_the_same_ops():
    assert tnp.acos is tnp.arccos and tnp.asin is tnp.arcsin and tnp.atan is tnp.arctan
    assert tnp.acosh is tnp.arccosh and tnp.asinh is tnp.arcsinh and tnp.atanh is tnp.arctanh
    assert tnp.absolute is tnp.abs
    assert tnp.radians is tnp.deg2rad and tnp.degrees is tnp.rad2deg


# Where the derivative is infinite or a subgradient, the value is jax.vjp's.
EDGES = [
    ("abs at 0", tnp.abs, jnp.abs, [0.0, -0.0, 1.0, -2.0]),
    ("fabs at 0", tnp.fabs, jnp.fabs, [0.0, -0.0, 1.0, -2.0]),
    ("sqrt at 0", tnp.sqrt, jnp.sqrt, [0.0, 4.0]),
    ("cbrt at 0", tnp.cbrt, jnp.cbrt, [0.0, -8.0]),
    ("log at 0", tnp.log, jnp.log, [0.0, 1.0]),
    ("arcsin at +-1", tnp.arcsin, jnp.arcsin, [1.0, -1.0, 0.0]),
    ("arccos at +-1", tnp.arccos, jnp.arccos, [1.0, -1.0]),
    ("arctanh at +-1", tnp.arctanh, jnp.arctanh, [1.0, -1.0]),
    ("arccosh at 1", tnp.arccosh, jnp.arccosh, [1.0, 3.0]),
    ("log1p at -1", tnp.log1p, jnp.log1p, [-1.0, 0.0]),
]


@pytest.mark.parametrize("name,fn,ref,xs", EDGES, ids=[e[0] for e in EDGES])
def test_edge_points_match_jax(name, fn, ref, xs):
    x = jnp.asarray(xs, dtype="float64")
    g = jnp.asarray([1.0, -0.5, 2.0, 3.0][: len(xs)], dtype="float64")
    got = tg.vjp(fn, x)[1](g)[0]
    want = jax.vjp(ref, x)[1](g)[0]
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_abs_second_derivative_is_zero_and_grad_at_zero_is_jax_subgradient():
    assert float(tg.grad(tnp.abs)(0.0)) == float(jax.grad(jnp.abs)(0.0)) == 1.0
    assert float(tg.grad(tg.grad(tnp.abs))(-1.5)) == 0.0


def test_arccosh_gradient_is_accurate_near_one():
    # (x - 1)(x + 1) keeps full precision where x * x - 1 cancels.
    x = 1.0 + 1e-9
    exact = 1 / np.sqrt((x - 1) * (x + 1))
    assert abs(float(tg.grad(tnp.arccosh)(x)) - exact) < 1e-6 * exact


def test_higher_order_through_outputs():
    # Rules that read the output (exp, tanh, sqrt, tan) must differentiate through it again.
    for fn, ref, x in [(tnp.exp, jnp.exp, 0.3), (tnp.tanh, jnp.tanh, 0.4), (tnp.sqrt, jnp.sqrt, 1.7),
                       (tnp.tan, jnp.tan, 0.5), (tnp.expm1, jnp.expm1, -0.2)]:
        got = tg.grad(tg.grad(tg.grad(fn)))(x)
        want = jax.grad(jax.grad(jax.grad(ref)))(x)
        np.testing.assert_allclose(float(got), float(want), rtol=1e-12)


def test_dtypes_follow_jnp_for_integer_inputs():
    for name in ("sqrt", "exp", "deg2rad", "rad2deg", "fabs", "abs", "arctan"):
        for dt in ("int32", "bool"):
            a = jnp.ones(2, dt)
            assert getattr(tnp, name)(a).dtype == getattr(jnp, name)(a).dtype, (name, dt)


def test_float32_stays_float32_and_python_scalars_work():
    x = jnp.asarray([0.5, 1.5], "float32")
    g = tg.grad(lambda v: tnp.sum(tnp.sin(v) * tnp.exp(v)))(x)
    assert g.dtype == jnp.float32
    assert float(tg.grad(tnp.log)(2.0)) == 0.5


def test_bad_input_names_the_op():
    with pytest.raises(TypeError, match="sin"):
        tnp.sin("not an array")


def test_tg_jvp_matches_jax_jvp():
    x = jnp.asarray([[0.3, -0.6], [0.1, 0.8]])
    t = jnp.asarray([[1.0, -2.0], [0.5, 3.0]])
    for fn, ref in [(tnp.exp, jnp.exp), (tnp.arcsin, jnp.arcsin), (tnp.tanh, jnp.tanh), (tnp.abs, jnp.abs),
                    (tnp.cbrt, jnp.cbrt), (tnp.log1p, jnp.log1p)]:
        out, tout = tg.jvp(fn, (x,), (t,))
        want, want_t = jax.jvp(ref, (x,), (t,))
        np.testing.assert_allclose(out, want, rtol=1e-14)
        np.testing.assert_allclose(tout, want_t, rtol=1e-13)


# ---- complex intermediates: real, imag, conj, abs of a complex value ---------------------------------
# Inputs stay real (tapegrad differentiates real inputs only); complex values arise inside the function.
# The rules follow JAX's convention (transpose of the R-linear map), so gradients must equal jax.grad's,
# and second derivatives too (each rule is itself made of differentiable tnp ops).
COMPLEX_OPS = {
    "real": lambda m, z: m.real(z),
    "imag": lambda m, z: m.imag(z),
    "conj": lambda m, z: m.real(m.conj(z) * (0.3 - 1.2j)),
    "abs": lambda m, z: m.abs(z),
    "var": lambda m, z: m.var(z),
    "std": lambda m, z: m.std(z),
}


@settings(max_examples=12, deadline=None)  # each example: a grad and a Hessian against jax
@given(name=st.sampled_from(sorted(COMPLEX_OPS)), x=SMALL,
       c=st.complex_numbers(min_magnitude=0.5, max_magnitude=2, allow_nan=False, allow_infinity=False))
def test_complex_intermediates_match_jax(name, x, c):
    x = np.asarray(x) + 0.1
    y = np.cos(3 * x) + 1.5  # |z| >= |Im z| stays away from 0 (the kink of abs)
    if name == "std":
        assume(x.size >= 2)
        x = x + np.arange(x.size).reshape(x.shape)  # spread, so the variance is not 0 (a kink of sqrt)
    f = lambda m: lambda a, b: m.sum(COMPLEX_OPS[name](m, a * c + 1j * b) * (1.5 + a))
    np.testing.assert_allclose(f(tnp)(x, y), f(jnp)(x, y), rtol=1e-12, atol=1e-12)
    got = tg.grad(f(tnp), (0, 1))(x, y)
    want = jax.grad(f(jnp), (0, 1))(x, y)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
    if x.size:  # second order: the Hessian with respect to x
        np.testing.assert_allclose(tg.hessian(f(tnp))(x, y), jax.hessian(f(jnp))(x, y), rtol=1e-7, atol=1e-7)


def test_complex_var_is_real_and_matches_jnp():
    z = jnp.array([1 + 2j, 3 - 1j, -2 + 0.5j])
    for name in ("var", "std"):
        got, want = getattr(tnp, name)(z), getattr(jnp, name)(z)
        assert got.dtype == want.dtype and np.allclose(got, want), name


def test_complex_parts_canonical_case():
    # real, imag and conj (and abs of a complex value) on a complex intermediate built from real operands
    # (2, 1, 3) and (4, 1) that broadcast: float64, orders 1 and 2, against jax.vjp/jax.jvp and finite
    # differences. Im z > 0.45 keeps |z| away from the kink of abs at 0.
    x, u = canonical_u(*BINARY_SHAPES)
    y = 1.5 + 0.5 * u

    def parts(m):
        def f(a, b):
            z = a * (0.8 + 0.6j) + 1j * b
            return m.real(z), m.imag(z), m.real(m.conj(z) * (0.3 - 1.2j)), m.abs(z)
        return f

    check_against_jax(parts(tnp), parts(jnp), (x, y), "float64")
