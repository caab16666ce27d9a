"""tnp's compositions with jax.numpy signatures (issue 13): each against jax.vjp/jax.jvp of the same jnp
function, central finite differences in float64, second order, and torch where torch has the op."""
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.testing import assert_vjp


def _x(shape, seed=0, lo=-2.0, hi=2.0):
    return jnp.asarray(np.random.default_rng(seed).uniform(lo, hi, shape))


# name -> (tnp function of the args, jnp reference, args): non-empty, batched, float64 cases.
CASES = {
    "diff": (lambda a: tnp.diff(a, n=2, axis=1), lambda a: jnp.diff(a, n=2, axis=1), [(2, 5, 3)]),
    "diff_prepend": (lambda a, p: tnp.diff(a, prepend=p, append=1.5), lambda a, p: jnp.diff(a, prepend=p, append=1.5),
                     [(3, 4), (3, 1)]),
    "kron": (tnp.kron, jnp.kron, [(2, 3), (3, 2, 2)]),
    "cross3": (tnp.cross, jnp.cross, [(4, 3), (2, 1, 3)]),
    "cross_axes": (lambda a, b: tnp.cross(a, b, axisa=0, axisb=-1, axisc=0),
                   lambda a, b: jnp.cross(a, b, axisa=0, axisb=-1, axisc=0), [(3, 4), (4, 2)]),
    "cross2": (tnp.cross, jnp.cross, [(4, 2), (2)]),
    "median_even": (lambda a: tnp.median(a, axis=(0, 2), keepdims=True),
                    lambda a: jnp.median(a, axis=(0, 2), keepdims=True), [(2, 3, 2)]),
    "median_odd": (lambda a: tnp.median(a, axis=-1), lambda a: jnp.median(a, axis=-1), [(2, 5)]),
    "median_all": (tnp.median, jnp.median, [(3, 3)]),
    "nan_to_num": (tnp.nan_to_num, jnp.nan_to_num, [(3, 4)]),
    "sinc": (tnp.sinc, jnp.sinc, [(3, 4)]),
    "angle": (lambda z: tnp.angle(z, deg=True), lambda z: jnp.angle(z, deg=True), [(3, 4)]),
    "rot90": (lambda m: tnp.rot90(m, k=3, axes=(2, 0)), lambda m: jnp.rot90(m, k=3, axes=(2, 0)), [(2, 3, 4)]),
    "rot90_k1": (tnp.rot90, jnp.rot90, [(2, 3, 4)]),
    "rot90_k2": (lambda m: tnp.rot90(m, 2), lambda m: jnp.rot90(m, 2), [(2, 3)]),
    "flipud": (tnp.flipud, jnp.flipud, [(3, 2)]),
    "fliplr": (tnp.fliplr, jnp.fliplr, [(3, 2, 2)]),
    "column_stack": (lambda a, b, c: tnp.column_stack([a, b, c]), lambda a, b, c: jnp.column_stack([a, b, c]),
                     [(3,), (3, 2), (3,)]),
    "meshgrid": (lambda a, b, c: tnp.stack(tnp.meshgrid(a, b, c)), lambda a, b, c: jnp.stack(jnp.meshgrid(a, b, c)),
                 [(2,), (3,), (4,)]),
    "meshgrid_ij_sparse": (lambda a, b: tnp.meshgrid(a, b, indexing="ij", sparse=True)[1] * 2,
                           lambda a, b: jnp.meshgrid(a, b, indexing="ij", sparse=True)[1] * 2, [(2,), (3,)]),
    "select": (lambda a, b: tnp.select([a < 0, a > 1], [a * b, tnp.sin(a)], default=b),
               lambda a, b: jnp.select([a < 0, a > 1], [a * b, jnp.sin(a)], default=b), [(2, 3), (3,)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_jax_fd_second_order(name):
    fun, ref, shapes = CASES[name]
    args = [_x(s if isinstance(s, tuple) else (s,), seed=i) for i, s in enumerate(shapes)]
    np.testing.assert_allclose(np.asarray(fun(*args)), np.asarray(ref(*args)), rtol=1e-12, atol=1e-12)
    assert_vjp(fun, args, order=2, reference=ref)


@settings(max_examples=3, deadline=None)
@given(n=st.integers(1, 6), batch=st.integers(1, 3), axis=st.sampled_from([0, -1]), seed=st.integers(0, 99))
def test_median_and_diff_random_shapes(n, batch, axis, seed):
    a = _x((n, batch) if axis == 0 else (batch, n), seed)
    assert_vjp(lambda t: tnp.median(t, axis=axis), [a], order=1, reference=lambda t: jnp.median(t, axis=axis))
    assert_vjp(lambda t: tnp.diff(t, axis=axis), [a], order=1, reference=lambda t: jnp.diff(t, axis=axis))


def test_sinc_derivatives_at_zero():
    # The series branch: sinc'(0) = 0 and sinc''(0) = -pi**2 / 3, as jax's.
    g = tg.grad(lambda t: tnp.sinc(t))
    assert float(g(0.0)) == 0.0
    np.testing.assert_allclose(float(tg.grad(g)(0.0)), -np.pi ** 2 / 3, rtol=1e-12)
    assert_vjp(tnp.sinc, [jnp.array([0.0, 1e-3, -2e-3, 0.5])], order=2, reference=jnp.sinc)


def test_nan_to_num_gradient_only_to_finite_entries():
    x = jnp.array([1.0, jnp.nan, jnp.inf, -jnp.inf, -2.0])
    out = tnp.nan_to_num(x, nan=7.0, posinf=8.0, neginf=-9.0)
    assert np.asarray(out).tolist() == [1.0, 7.0, 8.0, -9.0, -2.0]
    g = tg.grad(lambda t: tnp.sum(tnp.nan_to_num(t) * 3))(x)
    assert np.asarray(g).tolist() == [3.0, 0.0, 0.0, 0.0, 3.0]
    z = jnp.array([1 + 1j * np.inf, np.nan - 2j])
    np.testing.assert_array_equal(np.asarray(tnp.nan_to_num(z)), np.asarray(jnp.nan_to_num(z)))


def test_median_nan_slice_is_nan():
    x = jnp.array([[1.0, jnp.nan, 2.0], [3.0, 1.0, 2.0]])
    np.testing.assert_array_equal(np.asarray(tnp.median(x, axis=1)), np.asarray(jnp.median(x, axis=1)))


def test_angle_complex_against_jax():
    import jax
    z = _x((3,), 1) + 1j * _x((3,), 2)
    g = jnp.array([0.3, -1.0, 2.0])
    ours = tg.vjp(tnp.angle, z)[1](g)
    theirs = jnp.conj(jax.vjp(jnp.angle, z)[1](jnp.conj(g))[0])
    np.testing.assert_allclose(np.asarray(ours[0] if isinstance(ours, tuple) else ours), np.asarray(theirs),
                               rtol=1e-12)


TORCH = {
    "diff": (lambda a: tnp.diff(a, axis=0), lambda a: torch.diff(a, dim=0), [(4, 3)]),
    "kron": (tnp.kron, torch.kron, [(2, 3), (2, 2)]),
    "cross": (tnp.cross, lambda a, b: torch.linalg.cross(a, b), [(4, 3), (4, 3)]),
    "rot90": (lambda m: tnp.rot90(m, 1, (0, 1)), lambda m: torch.rot90(m, 1, (0, 1)), [(2, 3)]),
    "median_odd": (lambda a: tnp.median(a, axis=1), lambda a: torch.median(a, dim=1).values, [(2, 5)]),
    "sinc": (tnp.sinc, torch.sinc, [(5,)]),
    "nan_to_num": (tnp.nan_to_num, torch.nan_to_num, [(4,)]),
    "fliplr": (tnp.fliplr, torch.fliplr, [(3, 2)]),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_against_torch(name):
    fun, tfun, shapes = TORCH[name]
    args = [np.asarray(_x(s, seed=i + 5)) for i, s in enumerate(shapes)]
    targs = [torch.tensor(a, requires_grad=True) for a in args]
    tout = tfun(*targs)
    cot = np.random.default_rng(0).standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(cot))
    out, back = tg.vjp(fun, *[jnp.asarray(a) for a in args])
    np.testing.assert_allclose(np.asarray(out), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    grads = back(jnp.asarray(cot))
    grads = grads if isinstance(grads, tuple) else (grads,)
    for ours, t in zip(grads, targs):
        np.testing.assert_allclose(np.asarray(ours), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_errors_name_the_function():
    with pytest.raises(ValueError, match="tnp.diff"):
        tnp.diff(jnp.float64(1.0))
    with pytest.raises(ValueError, match="tnp.cross"):
        tnp.cross(jnp.ones(4), jnp.ones(4))
    with pytest.raises(ValueError, match="tnp.rot90"):
        tnp.rot90(jnp.ones(3))
    with pytest.raises(ValueError, match="tnp.select"):
        tnp.select([jnp.ones(2) > 0], [])
    with pytest.raises(ValueError, match="tnp.meshgrid"):
        tnp.meshgrid(jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="tnp.median"):
        tnp.median(jnp.ones((0, 2)), axis=0)
