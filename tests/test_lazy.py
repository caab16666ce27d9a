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
    before = tg.config.read("lazy")  # on by default; the eager-exact CI run turns it off
    tg.config.update("lazy", True)
    try:
        yield
    finally:
        tg.config.update("lazy", before)


def mlp_loss(params, x, y):
    h = tnp.tanh(x @ params["w1"] + params["b1"])
    logits = h @ params["w2"]
    return tnp.mean((logits - y) ** 2) + 0.01 * tnp.sum(params["w1"] ** 2)


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return {"w1": jnp.asarray(rng.normal(size=(5, 7))), "b1": jnp.asarray(rng.normal(size=7)),
            "w2": jnp.asarray(rng.normal(size=(7, 3)))}


def test_on_by_default_and_off_by_the_environment():
    import os
    import subprocess
    import sys

    code = "import tapegrad as tg; print(tg.config.read('lazy'))"
    env = {k: v for k, v in os.environ.items() if k != "TAPEGRAD_LAZY"}
    for value, want in ((None, "True"), ("0", "False"), ("1", "True")):
        run_env = env if value is None else {**env, "TAPEGRAD_LAZY": value}
        out = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == want


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


def _chain(x, n=30):
    for _ in range(n):
        x = tnp.sin(x) * 0.9 + 0.1
    return tnp.sum(x)


def test_a_recurring_gradient_runs_forward_and_backward_as_one_program(lazy_on):
    from tapegrad.accel import lazy_grad

    tg.accel.clear()
    x = jnp.linspace(0.0, 1.0, 16)
    g = tg.grad(_chain)
    got = [np.asarray(g(x + i)) for i in range(12)]
    fused = [s for s in lazy_grad.POLICY.slots.values() if s.plan is not None]
    assert len(fused) == 1 and fused[0].programs  # compiled once, replayed
    tg.config.update("lazy", False)
    want = [np.asarray(tg.grad(_chain)(x + i)) for i in range(12)]
    for a, b in zip(got, want):  # float64: XLA's fused program and the eager ops agree to rounding
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_values_kept_past_the_transform_are_computed_by_the_fused_run(lazy_on):
    kept = []

    def f(x):
        y = tnp.exp(x)
        kept.append(tg.stop_gradient(y * 2))  # referenced after the gradient: a live output
        return tnp.sum(y)

    x = jnp.arange(3.0)
    for _ in range(8):  # past the policy's interpreted calls: the fused program runs
        kept.clear()
        (val, aux), g = tg.value_and_grad(lambda x: (f(x), {"m": tnp.max(x * 3)}), has_aux=True)(x)
        np.testing.assert_allclose(g, np.exp(np.arange(3.0)), rtol=1e-12)
        assert type(aux["m"]) is not lazy.LazyArray and float(aux["m"]) == 6.0
        np.testing.assert_allclose(np.asarray(kept[0].primal() if hasattr(kept[0], "primal") else kept[0]),
                                   2 * np.exp(np.arange(3.0)), rtol=1e-12)


def test_reading_inside_the_forward_falls_back_to_the_eager_sweep(lazy_on):
    def f(x):
        y = tnp.sin(x)
        scale = 2.0 if float(tnp.sum(y).primal()) > 0 else 3.0  # flushes the segment mid-forward
        return tnp.sum(y * scale)

    for _ in range(6):
        np.testing.assert_allclose(tg.grad(f)(jnp.arange(1.0, 4.0)), 2 * np.cos(np.arange(1.0, 4.0)), rtol=1e-12)


def test_a_long_loop_flushes_by_itself_at_the_bound(lazy_on):
    n = lazy.MAX_PENDING + 300  # more ops than one segment holds
    x = jnp.linspace(0.0, 1.0, 4)
    got = tg.grad(lambda x: _chain(x, n // 3))(x)
    tg.config.update("lazy", False)
    np.testing.assert_allclose(got, tg.grad(lambda x: _chain(x, n // 3))(x), rtol=1e-12)


def test_result_type_and_shapes_are_read_without_running(lazy_on):
    def f(x):
        y = tnp.sin(x)
        assert tnp.result_type(y) == jnp.float64 and y.shape == (3,)
        assert lazy.segment().nodes  # still pending: reading its type ran nothing
        return tnp.sum(y)

    tg.grad(f)(jnp.arange(3.0))


def test_print_tape_shows_where_segments_ran(lazy_on):
    def f(x):
        y = tnp.sin(x) * 2.0
        if float(tnp.sum(y).primal()) > 0:  # the read that ends the first segment
            y = y + 1.0
        return tnp.sum(y * y)

    text = str(tg.make_tape(f)(jnp.ones(3)))
    assert "lazy segment: entries 0-2 (3), ran when a value was read at test_lazy.py:" in text
    assert "lazy segment: entries 3-5 (3), not run yet" in text


def test_optimizer_step_is_compiled_and_equal_to_eager(lazy_on):
    from tapegrad import optim
    from tapegrad.optim import compiled

    rng = np.random.default_rng(0)
    params = {"w": jnp.asarray(rng.normal(size=(4, 3)), jnp.float32), "b": jnp.zeros(3, jnp.float32)}
    grads = jax.tree_util.tree_map(lambda p: p * 0.5 + 0.1, params)
    for opt in (optim.SGD(lr=0.1, momentum=0.9, nesterov=True), optim.Adam(lr=1e-2, weight_decay=0.1),
                optim.AdamW(lr=1e-2, groups={"b": {"weight_decay": 0.0}})):  # a dict: keyed by identity
        compiled.clear()
        state = opt.init(params)
        p1, s1 = opt.step(params, grads, state)
        p1, s1 = opt.step(p1, grads, s1)
        assert compiled._PROGRAMS[compiled._key(opt)][1] is not compiled._NEVER
        tg.config.update("lazy", False)
        p2, s2 = opt.step(params, grads, state)
        p2, s2 = opt.step(p2, grads, s2)
        tg.config.update("lazy", True)
        for a, b in zip(jax.tree_util.tree_leaves((p1, s1)), jax.tree_util.tree_leaves((p2, s2))):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # XLA may fuse float32 ops differently


def test_the_program_key_sees_zero_signs_weak_types_and_shapes(lazy_on):
    """Each call differs from the warm-up only in something the structure key must see; the answer
    is compared bit for bit with the step-by-step eager path."""
    from tapegrad.accel import lazy_grad, policy

    saved = policy.Policy.should_compile
    policy.Policy.should_compile = lambda self, slot, fam, units: True  # compile at first sight
    tg.accel.clear()
    try:
        cases = [
            (lambda x: tnp.sum(x * 0.0 + tnp.sqrt(x * 0.0)), jnp.arange(1.0, 4.0)),
            (lambda x: tnp.sum(x * -0.0 + tnp.sqrt(x * -0.0)), jnp.arange(1.0, 4.0)),  # sqrt(-0.0) = -0.0
            (lambda x: tnp.sum((x * 2) ** 2), jnp.arange(1.0, 4.0, dtype=jnp.float32)),
            (lambda x: tnp.sum((x * 2) ** 2), jnp.asarray(2.0, jnp.float32) * jnp.ones(3)),
            (lambda x: tnp.sum((x * 2) ** 2), jnp.arange(1.0, 5.0, dtype=jnp.float32)),  # a new shape
            (lambda x: tnp.sum((x * 2) ** 2), jnp.arange(1.0, 4.0, dtype=jnp.float16)),  # a new dtype
        ]
        got = []
        for _ in range(2):  # the second round replays the compiled programs
            got.append([(np.asarray(v), np.asarray(g)) for v, g in
                        (tg.value_and_grad(f)(x) for f, x in cases)])
        assert any(s.plan is not None for s in lazy_grad.POLICY.slots.values())
        tg.config.update("lazy", False)
        want = [(np.asarray(v), np.asarray(g)) for v, g in (tg.value_and_grad(f)(x) for f, x in cases)]
    finally:
        policy.Policy.should_compile = saved
        tg.accel.clear()
    for round_ in got:
        for (v1, g1), (v2, g2) in zip(round_, want):
            assert v1.dtype == v2.dtype and g1.dtype == g2.dtype
            np.testing.assert_array_equal(v1, v2)
            np.testing.assert_array_equal(np.signbit(g1), np.signbit(g2))
            np.testing.assert_allclose(g1, g2, rtol=1e-6)


def test_index_arrays_are_inputs_of_the_program_not_constants(lazy_on):
    """An embedding lookup (x[idx] with an integer array) recurs with new indices every step: the
    compiled program must read them, not bake the first step's in."""
    from tapegrad.accel import policy

    w = jnp.asarray(np.random.default_rng(0).normal(size=(10, 4)))

    def loss(w, idx):
        return tnp.sum(tnp.tanh(w[idx]) * tnp.arange(4.0)) + tnp.sum(tnp.take_along_axis(w[:6], idx[:, None], axis=1))

    saved = policy.Policy.should_compile
    policy.Policy.should_compile = lambda self, slot, fam, units: True
    tg.accel.clear()
    try:
        rng = np.random.default_rng(1)
        batches = [jnp.asarray(rng.integers(0, 4, 6)) for _ in range(4)]
        got = [tg.value_and_grad(loss)(w, i) for i in batches]
        tg.config.update("lazy", False)
        want = [tg.value_and_grad(loss)(w, i) for i in batches]
    finally:
        policy.Policy.should_compile = saved
        tg.accel.clear()
    for (v1, g1), (v2, g2) in zip(got, want):
        np.testing.assert_allclose(v1, v2, rtol=1e-12)
        np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)


def test_fused_gradients_of_many_primitives_match_the_step_by_step_path(lazy_on):
    """Every family's rules run traced inside the fused program (compiled at first sight here): the
    gradients equal the step-by-step path's to float64 rounding."""
    from tapegrad import nn
    from tapegrad.accel import lazy_grad, policy
    from tapegrad.nn import functional as F

    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(4, 6)))
    img = jnp.asarray(rng.normal(size=(2, 3, 6, 6)))
    w = jnp.asarray(rng.normal(size=(4, 3, 3, 3)))
    idx = jnp.asarray([3, 0, 2, 2])
    z = jnp.asarray(rng.normal(size=(4, 6)) + 1j * rng.normal(size=(4, 6)))
    cases = {
        "unary": (lambda a: tnp.sum(tnp.sin(a) * tnp.exp(a / 4) + tnp.log1p(a * a)
                                    + tnp.tanh(a) * tnp.sqrt(tnp.abs(a) + 1)), x),
        "binary": (lambda a: tnp.sum(tnp.maximum(a, 0.1) * tnp.where(a > 0, a, -2 * a) + a ** 3 / (1 + a * a)), x),
        "reductions": (lambda a: tnp.sum(tnp.max(a, axis=1)) + tnp.mean(a * a, axis=0).sum()
                       + tnp.sum(tnp.cumsum(a, 1) ** 2), x),
        "shape": (lambda a: tnp.sum(tnp.concatenate([a.T.reshape(3, 8),
                                                     tnp.stack([a[1:3, ::2]] * 2).reshape(3, 4)], 1) ** 2), x),
        "indexing": (lambda a: tnp.sum(a[idx] * tnp.take_along_axis(a, idx[:, None], axis=1))
                     + tnp.sum(tnp.sort(a, axis=1)[:, -2:] ** 2), x),
        "linalg": (lambda a: tnp.linalg.norm(a @ a.T + tnp.eye(4)) + tnp.einsum("ij,kj->", a, a * a), x),
        "softmax": (lambda a: tnp.sum(F.softmax(a, dim=1) * tnp.arange(6.0)) + F.cross_entropy(a, idx)
                    + tnp.sum(F.layer_norm(a, (6,)) ** 3), x),
        "conv_pool": (lambda k: tnp.sum(F.max_pool2d(F.relu(F.conv2d(img, k, padding=1)), 2) ** 2), w),
        "complex": (lambda c: tnp.sum(tnp.abs(c * c + 1j) ** 2 + tnp.real(tnp.exp(c / 3))), z),
        "module": (lambda a: tnp.sum(nn.Linear(6, 5)(nn.Linear(6, 5).init(0), a) ** 2), x),
    }
    saved = policy.Policy.should_compile
    policy.Policy.should_compile = lambda self, slot, fam, units: True
    tg.accel.clear()
    try:
        got = {name: [np.asarray(tg.grad(f)(a)) for _ in range(2)] for name, (f, a) in cases.items()}
        fused = sum(len(s.programs) for s in lazy_grad.POLICY.slots.values() if s.plan is not None)
        tg.config.update("lazy", False)
        want = {name: np.asarray(tg.grad(f)(a)) for name, (f, a) in cases.items()}
    finally:
        policy.Policy.should_compile = saved
        tg.accel.clear()
    # Two segments run before the backward, which then takes the step-by-step sweep: "binary"'s
    # comparison hands a plain array to this code, max pooling computes its window indices when it
    # is recorded (measured faster for conv nets). Sort's permutation stays pending.
    assert fused >= len(cases) - 2
    for name in cases:
        for g in got[name]:
            np.testing.assert_allclose(g, want[name], rtol=1e-10, atol=1e-12, err_msg=name)
