"""Whole backward sweeps compiled once the same tape structure comes back (core/compiled_sweep.py)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.core import compiled_sweep
from tapegrad.core.primitive import Primitive

STEPS = compiled_sweep.HOT + 2


def _compiled_keys() -> int:
    return sum(1 for v in compiled_sweep._cache.values() if not isinstance(v, int))


def loss(w, x, c):
    h = tnp.tanh(x @ w) * c
    return tnp.sum(tnp.maximum(h, 0.1) ** 2) + tnp.mean(w[1:, ::2])


def jax_loss(w, x, c):
    h = jnp.tanh(x @ w) * c
    return jnp.sum(jnp.maximum(h, 0.1) ** 2) + jnp.mean(w[1:, ::2])


def test_compiled_sweep_gives_the_interpreted_gradients():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(5, 4)))
    before = _compiled_keys()
    for _ in range(STEPS):
        w = jnp.asarray(rng.normal(size=(4, 3)))
        got = tg.grad(loss, (0, 1))(w, x, 0.7)
        want = jax.grad(jax_loss, (0, 1))(w, x, 0.7)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert _compiled_keys() == before + 1, "the repeated structure was not compiled"


def test_a_different_constant_is_a_different_structure():
    x, w = jnp.ones((2, 4)), jnp.full((4, 3), 0.1)
    for c in (0.7, 0.7, 0.7, 0.7, 0.3, 0.3, 0.3, 0.3, 0.3, 0.7):
        got = tg.grad(loss)(w, x, c)
        np.testing.assert_allclose(got, jax.grad(jax_loss)(w, x, c), rtol=1e-12, atol=1e-14)


def test_debug_nans_still_sees_the_backward_after_compiling():
    f = lambda x: tnp.sum(tnp.sqrt(x))
    for _ in range(STEPS):
        tg.grad(f)(jnp.ones(3))
    with tg.debug_nans(), pytest.raises(FloatingPointError, match="sqrt"):
        tg.grad(f)(jnp.array([1.0, 0.0, -1.0]))


def test_vjp_fn_reused_many_times_and_higher_order_loops():
    x = jnp.linspace(0.1, 1.0, 4)
    out, vjp_fn = tg.vjp(lambda v: tnp.sin(v) * v, x)
    for k in range(STEPS):
        ct = jnp.full(4, float(k))
        np.testing.assert_allclose(vjp_fn(ct)[0], ct * (jnp.cos(x) * x + jnp.sin(x)), rtol=1e-12)
    for _ in range(STEPS):  # the inner sweeps see tracers of the outer level: never compiled
        h = tg.hessian(lambda v: tnp.sum(tnp.sin(v) * v))(x)
        np.testing.assert_allclose(h, jax.hessian(lambda v: jnp.sum(jnp.sin(v) * v))(x), rtol=1e-12)


def test_cache_is_bounded():
    for n in range(compiled_sweep.CACHE_SIZE + 10):
        tg.grad(lambda v: tnp.sum(v * v))(jnp.ones(n + 1))
    assert len(compiled_sweep._cache) <= compiled_sweep.CACHE_SIZE


def test_a_rule_that_needs_concrete_values_falls_back_to_the_interpreted_sweep():
    # A primitive whose rule reads its residual with NumPy: fine eagerly, not traceable.
    scale = Primitive("numpy_scale", lambda x: x * 3.0).defvjp(
        lambda g, out, x: g * float(np.asarray(x).sum() * 0 + 3.0))
    f = lambda x: tnp.sum(scale(tnp.sin(x)))
    x = jnp.linspace(0.0, 1.0, 5)
    for _ in range(STEPS):
        np.testing.assert_allclose(tg.grad(f)(x), 3.0 * jnp.cos(x), rtol=1e-12)
