"""Eager loops compile once per program (tapegrad/lax/eager.py), and the cache never changes an answer:
captured arrays are arguments (their values are not baked in), Python constants, signed zeros, shapes and
dtypes are part of the program's text."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.lax import eager


@pytest.fixture(autouse=True)
def fresh_cache():
    eager.clear()
    yield
    eager.clear()


def _jax_loss(k, a, x):
    def body(c, v):
        return c * k + a * v, c
    return jnp.sum(jax.lax.scan(body, jnp.zeros_like(a), x)[1] ** 2)


def _tg_loss(k, a, x):
    def body(c, v):
        return c * k + a * v, c
    return tnp.sum(tg.lax.scan(body, tnp.zeros_like(a), x)[1] ** 2)


def test_a_repeated_eager_loop_reuses_its_program_and_sees_new_values():
    x = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
    for step in range(4):
        a = jnp.array([0.5, -1.0, 2.0]) * (step + 1)  # new values, same program
        got = tg.grad(_tg_loss, argnums=1)(0.7, a, x)
        np.testing.assert_allclose(got, jax.grad(_jax_loss, argnums=1)(0.7, a, x), rtol=1e-12)
        if step == 0:
            programs = eager.cache_size()
    assert eager.cache_size() == programs  # forward and backward loops compiled once, reused after
    # A captured concrete array (not an argument of the loop) is a constant of the program, passed in:
    # changing it changes the answer.
    for scale in (1.0, -3.0):
        w = jnp.full((3,), scale)
        f = lambda a: tnp.sum(tg.lax.scan(lambda c, v: (c + w * a * v, c), tnp.zeros(3), x)[0])  # noqa: B023
        np.testing.assert_allclose(tg.grad(f)(jnp.ones(3)), scale * x.sum(0), rtol=1e-12)


@pytest.mark.parametrize("k", [0.0, -0.0, 2.0])
def test_python_constants_and_signed_zeros_are_part_of_the_program(k):
    x = jnp.linspace(-1.0, 1.0, 6).reshape(3, 2)
    # Warm the cache with other constants first, then compare bit for bit with JAX.
    for other in (1.0, 0.0, -0.0, 2.0):
        tg.grad(_tg_loss, argnums=1)(other, jnp.ones(2), x)
    got = tg.grad(lambda a: tnp.sum(tg.lax.scan(lambda c, v: (c * k - a * v, c * k), tnp.zeros(2), x)[1]))(
        jnp.ones(2))
    want = jax.grad(lambda a: jnp.sum(jax.lax.scan(lambda c, v: (c * k - a * v, c * k), jnp.zeros(2), x)[1]))(
        jnp.ones(2))
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    np.testing.assert_array_equal(got, want)


def test_shapes_and_dtypes_are_separate_programs_and_the_cache_is_bounded():
    saved = eager.MAX_PROGRAMS
    eager.MAX_PROGRAMS = 4
    try:
        for n in range(1, 8):
            for dtype in (jnp.float32, jnp.float64):
                x = jnp.ones((n, 2), dtype)
                out = tg.lax.scan(lambda c, v: (c + v, c), jnp.zeros(2, dtype), x)[0]
                assert out.dtype == dtype
                np.testing.assert_array_equal(out, np.full(2, n))
        assert eager.cache_size() <= 4
    finally:
        eager.MAX_PROGRAMS = saved


def test_eager_cond_switch_and_while_loop_use_the_cache_and_stay_right():
    for v in (-2.0, 3.0, -2.0, 3.0):
        x = jnp.asarray(v)
        got = tg.grad(lambda t: tg.lax.cond(t > 0, lambda u: u ** 3, lambda u: -u, t))(x)
        assert float(got) == (3 * v * v if v > 0 else -1.0)
        assert float(tg.lax.while_loop(lambda u: u < 10.0, lambda u: u * 2.0, abs(x))) == (12.0 if v > 0 else 16.0)
    n = eager.cache_size()
    tg.grad(lambda t: tg.lax.cond(t > 0, lambda u: u ** 3, lambda u: -u, t))(jnp.asarray(5.0))
    assert eager.cache_size() == n


def test_under_jit_the_outer_trace_compiles_the_loop():
    f = jax.jit(tg.grad(lambda a: tnp.sum(tg.lax.scan(lambda c, v: (c * a + v, c), 0.0, jnp.ones(5))[1])))
    np.testing.assert_allclose(f(0.5), jax.grad(
        lambda a: jnp.sum(jax.lax.scan(lambda c, v: (c * a + v, c), 0.0, jnp.ones(5))[1]))(0.5), rtol=1e-12)
    assert eager.cache_size() == 0
