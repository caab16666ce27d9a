"""The speed machinery (tapegrad.accel): compiled rules and sweeps never change an answer.

Each cache is warmed, then asked a question whose answer differs from the warm-up's only in
something the structure key must see (the sign of a zero constant, a weak type, a shape); the
answer is compared bit for bit with the plain interpreted loop and with jax.grad.
"""
import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad import accel
from tapegrad.accel import compiled_sweep, fused_rules, policy
from tapegrad.core.primitive import Primitive


@pytest.fixture(autouse=True)
def step_by_step():
    """These are the sweeps of the step-by-step eager path: lazy segments (the default) fuse a whole
    gradient's backward with its forward instead (tests/test_lazy.py tests that program's key)."""
    before = tg.config.read("lazy")
    tg.config.update("lazy", False)
    try:
        yield
    finally:
        tg.config.update("lazy", before)


@contextlib.contextmanager
def compiling(sweeps: bool = True, rules: bool = True):
    """Every keyable structure compiled at first sight (sweeps and/or rules), from a clean cache."""
    saved = policy.Policy.should_compile
    accel.clear()
    sweep_limit = compiled_sweep.MAX_ENTRIES
    if not sweeps:
        compiled_sweep.MAX_ENTRIES = -1
    try:
        policy.Policy.should_compile = lambda self, slot, fam, units: self is compiled_sweep.POLICY or rules
        yield
    finally:
        policy.Policy.should_compile = saved
        compiled_sweep.MAX_ENTRIES = sweep_limit
        accel.clear()


@contextlib.contextmanager
def interpreted():
    accel.enable(False)
    try:
        yield
    finally:
        accel.enable(True)


def bits(x):
    return np.asarray(x).tobytes(), np.asarray(x).dtype


def loss(w, x, c):
    h = tnp.tanh(x @ w) * c
    return tnp.sum(tnp.maximum(h, 0.1) ** 2) + tnp.mean(w[1:, ::2])


def jax_loss(w, x, c):
    h = jnp.tanh(x @ w) * c
    return jnp.sum(jnp.maximum(h, 0.1) ** 2) + jnp.mean(w[1:, ::2])


@pytest.mark.parametrize("sweeps", [True, False], ids=["compiled sweep", "compiled rules"])
def test_compiled_gives_the_interpreted_gradients(sweeps):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(5, 4)))
    with compiling(sweeps=sweeps):
        for _ in range(3):
            w = jnp.asarray(rng.normal(size=(4, 3)))
            got = tg.grad(loss, (0, 1))(w, x, 0.7)
            with interpreted():
                plain = tg.grad(loss, (0, 1))(w, x, 0.7)
            want = jax.grad(jax_loss, (0, 1))(w, x, 0.7)
            for a, p, b in zip(got, plain, want):
                np.testing.assert_allclose(a, p, rtol=1e-13, atol=1e-15)
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        info = accel.cache_info()
        assert (info["compiled_sweeps"] if sweeps else info["compiled_rules"]) >= 1


@pytest.mark.parametrize("sweeps", [True, False], ids=["compiled sweep", "compiled rules"])
def test_the_sign_of_a_zero_constant_is_in_the_key(sweeps):
    # The case: after warm-up with c = 0.0, c = -0.0 must give -0 as a cold process does.
    f = lambda x, c: tnp.sum(x * c)
    x = jnp.asarray([1.0, 2.0, 3.0])
    with compiling(sweeps=sweeps):
        for _ in range(3):
            assert not np.signbit(np.asarray(tg.grad(f)(x, 0.0))).any()
        got = tg.grad(f)(x, -0.0)
    want = jax.grad(lambda x: jnp.sum(x * -0.0))(x)
    assert np.signbit(np.asarray(want)).all()
    assert bits(got) == bits(want)


def test_constants_of_every_kind_are_keyed_exactly():
    # 1, 1.0 and True hash alike; nan != nan; numpy scalars of two widths compare equal.
    cases = [(1, 1.0), (1.0, True), (np.float32(0.5), np.float64(0.5)), (float("nan"), float("nan")),
             (1 + 0j, 1 - 0j), (0.1, 0.1 + 1e-17 + 2e-17)]
    f = lambda x, c: tnp.sum(tnp.real(x * c) + x * x)
    x = jnp.asarray([1.0, -2.0], jnp.float32)
    with compiling():
        for a, b in cases:
            for c in (a, a, b, a, b):
                got = tg.grad(f)(x, c)
                want = jax.grad(lambda x, c=c: jnp.sum(jnp.real(x * c) + x * x))(x)
                assert bits(got) == bits(want), (a, b, c)


def test_weak_types_are_in_the_key():
    # A weak float32 scalar times a float16 array stays float16; a strong one promotes to float32.
    x = jnp.asarray([1.1, 2.3, -0.7], jnp.float16)
    strong, weak = jnp.asarray(3.3, jnp.float32), jnp.asarray(3.3)
    assert weak.weak_type and not strong.weak_type
    f = lambda c, x: tnp.sum(x * c).astype(jnp.float32)
    jf = lambda c, x: jnp.sum(x * c).astype(jnp.float32)
    with compiling():
        for c in (strong, strong, weak, strong, weak):
            got = tg.grad(f)(c, x)
            want = jax.grad(jf)(c, x)
            assert bits(got) == bits(want)


def test_changed_shapes_are_new_structures():
    f = lambda x: tnp.sum(tnp.sin(x) * x)
    with compiling():
        for n in (3, 3, 4, 3, 5, 4):
            x = jnp.linspace(0.0, 1.0, n)
            np.testing.assert_allclose(tg.grad(f)(x), jnp.cos(x) * x + jnp.sin(x), rtol=1e-13)


def test_debug_nans_still_sees_the_backward_after_compiling():
    f = lambda x: tnp.sum(tnp.sqrt(x))
    with compiling():
        for _ in range(3):
            tg.grad(f)(jnp.ones(3))
        with tg.debug_nans(), pytest.raises(FloatingPointError, match="sqrt"):
            tg.grad(f)(jnp.array([1.0, 0.0, -1.0]))


def test_vjp_fn_reused_many_times_and_higher_order_loops():
    x = jnp.linspace(0.1, 1.0, 4)
    out, vjp_fn = tg.vjp(lambda v: tnp.sin(v) * v, x)
    with compiling():
        for k in range(4):
            ct = jnp.full(4, float(k))
            np.testing.assert_allclose(vjp_fn(ct)[0], ct * (jnp.cos(x) * x + jnp.sin(x)), rtol=1e-12)
        for _ in range(3):  # the inner sweeps see tracers of the outer level: never compiled
            h = tg.hessian(lambda v: tnp.sum(tnp.sin(v) * v))(x)
            np.testing.assert_allclose(h, jax.hessian(lambda v: jnp.sum(jnp.sin(v) * v))(x), rtol=1e-12)


FAMILIES = [lambda v: tnp.sum(tnp.sin(v)), lambda v: tnp.sum(tnp.cos(v)), lambda v: tnp.sum(tnp.exp(v)),
            lambda v: tnp.sum(tnp.log1p(v))]


def test_every_cache_is_bounded():
    # Both caches are LRUs of a set size: shrink the sizes (not the code paths) so that a few dozen
    # compiles show the bound holding, where filling the production sizes costs minutes of XLA.
    saved = [(p.slots.size, p.families.size) for p in (compiled_sweep.POLICY, fused_rules.POLICY)]
    for p in (compiled_sweep.POLICY, fused_rules.POLICY):
        p.slots.size, p.families.size = 6, 3
    try:
        with compiling():
            for n in range(12):
                tg.grad(lambda v: tnp.sum(v * v))(jnp.ones(n + 1))
            for f in FAMILIES:  # new structures (families), not only new shapes
                tg.grad(f)(jnp.ones(3))
            assert len(compiled_sweep.POLICY.slots) == 6
            assert len(compiled_sweep.POLICY.families) == 3
        # The rule cache (the measurement: 300 shapes left 300 entries), through rules only.
        with compiling(sweeps=False):
            for n in range(12):
                tg.grad(lambda v: tnp.sum(tnp.tanh(v)))(jnp.ones(n + 1))
            for f in FAMILIES:
                tg.grad(f)(jnp.ones(3))
            assert len(fused_rules.POLICY.slots) == 6
            assert len(fused_rules.POLICY.families) == 3
    finally:
        for p, (slots, families) in zip((compiled_sweep.POLICY, fused_rules.POLICY), saved):
            p.slots.size, p.families.size = slots, families


@pytest.mark.parametrize("sweeps", [True, False], ids=["compiled sweep", "compiled rules"])
def test_a_rule_that_needs_concrete_values_is_interpreted_for_good(sweeps):
    # A primitive whose rule reads its residual with NumPy: fine eagerly, not traceable.
    scale = Primitive("numpy_scale", lambda x: x * 3.0).defvjp(
        lambda g, out, x: g * float(np.asarray(x).sum() * 0 + 3.0))
    f = lambda x: tnp.sum(scale(tnp.sin(x)))
    x = jnp.linspace(0.0, 1.0, 5)
    with compiling(sweeps=sweeps):
        for _ in range(4):
            np.testing.assert_allclose(tg.grad(f)(x), 3.0 * jnp.cos(x), rtol=1e-12)
        cache = compiled_sweep.POLICY if sweeps else fused_rules.POLICY
        assert any(s.program is policy.NEVER for s in cache.slots.values())


@pytest.mark.parametrize("sweeps", [True, False], ids=["compiled sweep", "compiled rules"])
def test_any_other_error_propagates_and_falls_back_for_that_call_only(sweeps):
    broken = {"on": True}

    def rule(g, out, x):
        if broken["on"]:
            raise ValueError("this rule is broken today")
        return g * 2.0

    double = Primitive("flaky_double", lambda x: x * 2.0).defvjp(rule)
    f = lambda x: tnp.sum(double(tnp.sin(x)))
    x = jnp.linspace(0.0, 1.0, 5)
    with compiling(sweeps=sweeps):
        with pytest.raises(ValueError, match="broken today"):
            tg.grad(f)(x)
        broken["on"] = False
        np.testing.assert_allclose(tg.grad(f)(x), 2.0 * jnp.cos(x), rtol=1e-12)
        cache = compiled_sweep.POLICY if sweeps else fused_rules.POLICY
        assert not any(s.program is policy.NEVER for s in cache.slots.values())
        assert accel.cache_info()["compiled_sweeps" if sweeps else "compiled_rules"] >= 1


def test_the_accelerator_can_be_switched_off_without_changing_a_number():
    rng = np.random.default_rng(1)
    x, w = jnp.asarray(rng.normal(size=(5, 4))), jnp.asarray(rng.normal(size=(4, 3)))
    with interpreted():
        want = tg.grad(loss, (0, 1))(w, x, 0.3)
    for _ in range(6):
        got = tg.grad(loss, (0, 1))(w, x, 0.3)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


# ---- the policy itself ---------------------------------------------------------------------

def _fresh_policy():
    return policy.Policy(base=0.1, per_unit=0.0, slots=8, families=8)


def test_policy_compiles_a_repeated_structure_once_interpreting_it_has_cost_half_a_compile():
    p, fam, slot = _fresh_policy(), policy.Family(), policy.Slot()
    assert not p.should_compile(slot, fam, 1)  # never seen: a one-off gradient never compiles
    p.interpreted(slot, fam, 0.02)
    assert not p.should_compile(slot, fam, 1)
    p.interpreted(slot, fam, 0.03)
    assert p.should_compile(slot, fam, 1)  # 0.05 spent >= BETA * 0.1


def test_policy_compiles_a_new_shape_of_a_known_family_when_interpreting_new_shapes_costs_more():
    p, fam = _fresh_policy(), policy.Family()
    first = policy.Slot()
    p.interpreted(first, fam, 0.6)  # a new shape recompiled every op: 0.6 s
    assert p.should_compile(policy.Slot(), fam, 1)  # the next new shape: one compile (0.1 s) is cheaper
    cheap = policy.Family()
    p.interpreted(policy.Slot(), cheap, 0.004)  # new structures of this family are cheap to interpret
    assert not p.should_compile(policy.Slot(), cheap, 1)


def test_a_constant_that_changes_every_call_never_compiles():
    f = lambda x, c: tnp.sum(tnp.tanh(x) * c)
    x = jnp.linspace(0.0, 1.0, 7)
    accel.clear()
    try:
        tg.grad(f)(x, 0.5)  # the per-op programs exist now; only the constant changes below
        for k in range(30):
            tg.grad(f)(x, 0.5 + (k + 1) / 64)
        assert accel.cache_info()["compiled_sweeps"] == 0
    finally:
        accel.clear()


def test_a_loop_with_changing_batch_sizes_compiles_each_new_shape_once():
    f = lambda w, x: tnp.sum(tnp.tanh(x @ w) ** 2)
    w = jnp.ones((3, 2))
    accel.clear()
    try:
        for n in (4, 5, 6, 7, 4, 5, 6, 7):
            tg.grad(f)(w, jnp.ones((n, 3)))
        info = accel.cache_info()
        assert info["sweeps"] == 4 and info["compiled_sweeps"] >= 3
    finally:
        accel.clear()
