"""Lazy segments (tapegrad.accel.lazy, opt-in): the same numbers as eager, errors at the user's line,
and nothing pending ever reaches user code."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.accel import lazy


@pytest.fixture
def lazy_on():
    tg.config.update("lazy", True)
    try:
        yield
    finally:
        tg.config.update("lazy", False)


def mlp_loss(params, x, y):
    h = tnp.tanh(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"]
    return tnp.mean((logits - y) ** 2) + 0.01 * tnp.sum(params["w1"] ** 2)


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return {"w1": jnp.asarray(rng.normal(size=(5, 7))), "b1": jnp.asarray(rng.normal(size=7)),
            "w2": jnp.asarray(rng.normal(size=(7, 3)))}


def test_off_by_default():
    assert tg.config.read("lazy") is False
    assert not lazy.enabled


def test_training_steps_match_eager(lazy_on):
    rng = np.random.default_rng(1)
    x, y = jnp.asarray(rng.normal(size=(4, 5))), jnp.asarray(rng.normal(size=(4, 3)))
    step = tg.value_and_grad(mlp_loss)
    got, want = [], []
    p = _params()
    for _ in range(4):  # the repeats replay one segment: interpreted, then compiled by the policy
        loss, g = step(p, x, y)
        assert type(loss) is not lazy.LazyArray and all(type(v) is not lazy.LazyArray for v in g.values())
        got.append((float(loss), {k: np.asarray(v) for k, v in g.items()}))
        p = jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)
    tg.config.update("lazy", False)
    p = _params()
    for _ in range(4):
        loss, g = step(p, x, y)
        want.append((float(loss), {k: np.asarray(v) for k, v in g.items()}))
        p = jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, g)
    for (l1, g1), (l2, g2) in zip(got, want):
        np.testing.assert_allclose(l1, l2, rtol=1e-12)
        for k in g1:
            np.testing.assert_allclose(g1[k], g2[k], rtol=1e-10, atol=1e-12)


def test_higher_order_and_aux(lazy_on):
    f = lambda x: tnp.sum(tnp.sin(x) * x ** 2)  # noqa: E731
    x = jnp.linspace(-1.0, 1.0, 5)
    h = tg.hessian(f)(x)
    np.testing.assert_allclose(h, jax.hessian(lambda x: jnp.sum(jnp.sin(x) * x ** 2))(x), rtol=1e-10)
    (val, aux), g = tg.value_and_grad(lambda x: (tnp.sum(x ** 3), {"m": tnp.max(x)}), has_aux=True)(x)
    assert type(aux["m"]) is not lazy.LazyArray
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-12)


def test_reading_a_value_inside_runs_the_segment(lazy_on):
    def f(x):
        y = tnp.exp(x)
        if float(tnp.sum(y).primal()) > 1.0:  # a Python branch on a computed value
            return tnp.sum(y * 2)
        return tnp.sum(y)

    np.testing.assert_allclose(tg.grad(f)(jnp.ones(3)), 2 * np.exp(np.ones(3)), rtol=1e-12)


def test_comparisons_and_plain_results_are_arrays(lazy_on):
    def f(x):
        mask = x > 0  # a plain (bool) result leaves the tape computed
        assert type(mask) is not lazy.LazyArray
        return tnp.sum(tnp.where(mask, x, 0.0) ** 2)

    np.testing.assert_allclose(tg.grad(f)(jnp.array([-1.0, 2.0, 3.0])), [0.0, 4.0, 6.0])


def test_shape_error_names_op_and_user_line(lazy_on):
    def f(x):
        return tnp.sum(x @ tnp.ones((4, 2)))  # (3, 3) @ (4, 2): raised by abstract evaluation

    with pytest.raises((TypeError, ValueError)) as info:
        tg.grad(f)(jnp.ones((3, 3)))
    assert "matmul" in str(info.value) and "test_lazy.py" in str(info.value)


def test_under_jit_lazy_steps_aside(lazy_on):
    g = jax.jit(tg.grad(lambda x: tnp.sum(tnp.cos(x) ** 2)))(jnp.arange(3.0))
    np.testing.assert_allclose(g, -2 * np.cos(np.arange(3.0)) * np.sin(np.arange(3.0)), rtol=1e-12)
