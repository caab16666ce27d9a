"""tapegrad.optim against torch.optim as the oracle: same params, same gradients, same numbers."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tapegrad import optim
from tapegrad.optim import schedules

torch = pytest.importorskip("torch", reason="torch is the numerical oracle for tapegrad.optim")

SHAPES = {"dense": {"w": (4, 3), "b": (3,)}, "conv": {"k": (2, 3, 2)}, "scale": ()}
STEPS = 20
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def make_problem(dtype, steps=STEPS, seed=0):
    """Nested-dict params and a fixed sequence of gradient pytrees, as numpy arrays."""
    rng = np.random.RandomState(seed)
    draw = lambda: jax.tree_util.tree_map(
        lambda s: rng.standard_normal(s).astype(dtype), SHAPES, is_leaf=lambda x: isinstance(x, tuple)
    )
    return draw(), [draw() for _ in range(steps)]


def torch_run(make_opt, params, grads_seq, make_sched=None):
    """Yield torch's flat list of params (numpy) after every step."""
    leaves = [torch.tensor(np.array(p), requires_grad=True) for p in jax.tree_util.tree_leaves(params)]
    opt = make_opt(leaves)
    sched = make_sched(opt) if make_sched else None
    for grads in grads_seq:
        for p, g in zip(leaves, jax.tree_util.tree_leaves(grads), strict=True):
            p.grad = torch.tensor(np.array(g))
        opt.step()
        if sched is not None:
            sched.step()
        yield [p.detach().numpy().copy() for p in leaves]


def assert_matches_torch(opt, make_torch_opt, dtype, make_sched=None, step_fn=None):
    params, grads_seq = make_problem(dtype)
    expected = torch_run(make_torch_opt, params, grads_seq, make_sched)
    params = jax.tree_util.tree_map(jnp.asarray, params)
    state = opt.init(params)
    step_fn = step_fn or opt.step
    for k, grads in enumerate(grads_seq):
        params, state = step_fn(params, jax.tree_util.tree_map(jnp.asarray, grads), state)
        for got, want in zip(jax.tree_util.tree_leaves(params), next(expected), strict=True):
            assert got.dtype == dtype, f"step {k}: dtype drifted to {got.dtype}"
            np.testing.assert_allclose(np.asarray(got), want, err_msg=f"step {k}", **TOL[dtype])
    assert int(state.step) == STEPS


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    dict(lr=0.02, momentum=0.5, dampening=0.1, weight_decay=0.05),
]
ADAM_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
    dict(lr=0.03, betas=(0.3, 0.9), eps=1e-6),  # 1 - beta1 >= 0.5: torch's other lerp branch
]
ADAMW_CASES = [dict(lr=0.01), dict(lr=0.05, betas=(0.3, 0.95), weight_decay=0.1)]
RMSPROP_CASES = [
    dict(lr=0.01),
    dict(lr=0.01, centered=True),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.005, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1),
    dict(lr=0.01, alpha=0.3, centered=True, eps=1e-6),
]
CASES = (
    [("SGD", kw) for kw in SGD_CASES]
    + [("Adam", kw) for kw in ADAM_CASES]
    + [("AdamW", kw) for kw in ADAMW_CASES]
    + [("RMSprop", kw) for kw in RMSPROP_CASES]
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{kw}" for n, kw in CASES])
def test_matches_torch(name, kw, dtype):
    opt = getattr(optim, name)(**kw)
    assert_matches_torch(opt, lambda ps: getattr(torch.optim, name)(ps, **kw), dtype)


@pytest.mark.parametrize("name,kw", [CASES[4], CASES[7], CASES[9], CASES[14]], ids=lambda x: str(x))
def test_jit_matches_eager_and_donates(name, kw):
    opt = getattr(optim, name)(**kw)
    params, grads_seq = make_problem(np.float32, steps=5)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*donated buffers.*")
        # The jitted run also donates params and state, the intended training-loop usage.
        assert_matches_torch(
            opt,
            lambda ps: getattr(torch.optim, name)(ps, **kw),
            np.float32,
            step_fn=jax.jit(opt.step, donate_argnums=(0, 2)),
        )
    p, s = jax.tree_util.tree_map(jnp.asarray, params), opt.init(jax.tree_util.tree_map(jnp.asarray, params))
    jitted = jax.jit(opt.step)
    pe, se = p, s
    for g in grads_seq:
        g = jax.tree_util.tree_map(jnp.asarray, g)
        p, s = jitted(p, g, s)
        pe, se = opt.step(pe, g, se)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), p, pe)
    assert s.step.dtype == jnp.int32 and int(s.step) == 5


def test_state_is_printable_namedtuple_pytree():
    params = {"w": jnp.ones(2, jnp.float32)}
    state = optim.SGD(momentum=0.9).init(params)
    assert repr(state).startswith("SGDState(step=") and "momentum_buffer" in repr(state)
    assert optim.SGD().init(params).momentum_buffer is None
    assert type(optim.RMSprop(centered=True).init(params)).__name__ == "RMSpropState"
    assert optim.AdamW().init(params)._fields == ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    assert optim.AdamW().init(params).max_exp_avg_sq is None
    for opt in (optim.SGD(), optim.Adam(), optim.AdamW(), optim.RMSprop()):
        assert isinstance(opt, optim.Optimizer)


# --- schedules -------------------------------------------------------------------------------

LR_SCHED = torch.optim.lr_scheduler
SCHED_CASES = {
    "step": (schedules.step_decay(0.1, step_size=7, gamma=0.5), lambda o: LR_SCHED.StepLR(o, 7, gamma=0.5)),
    "cosine": (
        schedules.cosine_annealing(0.1, t_max=10, eta_min=0.01),
        lambda o: LR_SCHED.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
    ),
    "warmup": (
        schedules.linear_warmup(0.1, warmup_steps=8, start_factor=0.25),
        lambda o: LR_SCHED.LinearLR(o, start_factor=0.25, total_iters=8),
    ),
    "warmup_then_cosine": (
        schedules.linear_warmup(0.1, 5, 0.2, after=schedules.cosine_annealing(0.1, t_max=12)),
        lambda o: LR_SCHED.SequentialLR(
            o, [LR_SCHED.LinearLR(o, 0.2, total_iters=5), LR_SCHED.CosineAnnealingLR(o, T_max=12)], [5]
        ),
    ),
}


def torch_lrs(make_sched, n=30):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's internal epoch-passing deprecation notice
        sched = make_sched(opt)
        lrs = []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(lrs)


@pytest.mark.parametrize("name", list(SCHED_CASES))
def test_schedule_matches_torch_scheduler(name):
    ours, make_sched = SCHED_CASES[name]
    want = torch_lrs(make_sched)
    got = np.array([float(ours(k)) for k in range(len(want))])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    jitted = jax.jit(ours)
    np.testing.assert_allclose(
        [float(jitted(jnp.int32(k))) for k in range(len(want))], want, rtol=1e-12, atol=1e-14
    )


def test_schedule_as_lr_matches_torch_end_to_end():
    # lr(0) is used by the first step, as torch's lr before any scheduler.step().
    kw = dict(momentum=0.9, nesterov=True)
    opt = optim.SGD(lr=schedules.step_decay(0.1, step_size=3, gamma=0.5), **kw)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(
            opt,
            lambda ps: torch.optim.SGD(ps, lr=0.1, **kw),
            dtype,
            make_sched=lambda o: LR_SCHED.StepLR(o, 3, gamma=0.5),
            step_fn=jax.jit(opt.step),
        )
    opt = optim.AdamW(lr=schedules.cosine_annealing(0.01, t_max=8), weight_decay=0.1)
    assert_matches_torch(
        opt,
        lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
        np.float32,
        make_sched=lambda o: LR_SCHED.CosineAnnealingLR(o, T_max=8),
        step_fn=jax.jit(opt.step),
    )


# --- clip_grad_norm --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e6])
def test_clip_grad_norm_matches_torch(max_norm, dtype):
    _, (grads, *_) = make_problem(dtype, steps=1)
    tensors = [torch.tensor(np.array(g)) for g in jax.tree_util.tree_leaves(grads)]
    params = [torch.zeros_like(t, requires_grad=True) for t in tensors]
    for p, t in zip(params, tensors, strict=True):
        p.grad = t
    want_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    for clip in (optim.clip_grad_norm, jax.jit(optim.clip_grad_norm, static_argnums=1)):
        clipped, norm = clip(jax.tree_util.tree_map(jnp.asarray, grads), max_norm)
        np.testing.assert_allclose(float(norm), want_norm.item(), **TOL[dtype])
        for got, p in zip(jax.tree_util.tree_leaves(clipped), params, strict=True):
            assert got.dtype == dtype
            np.testing.assert_allclose(np.asarray(got), p.grad.numpy(), **TOL[dtype])


def test_clip_grad_norm_empty():
    clipped, norm = optim.clip_grad_norm({}, 1.0)
    assert clipped == {} and float(norm) == 0.0


# --- errors ----------------------------------------------------------------------------------

BAD_HYPERPARAMS = [
    (lambda: optim.SGD(lr=-0.1), r"SGD.*learning rate.*-0\.1"),
    (lambda: optim.SGD(momentum=-0.5), r"SGD.*momentum.*-0\.5"),
    (lambda: optim.SGD(weight_decay=-1.0), r"SGD.*weight_decay.*-1\.0"),
    (lambda: optim.SGD(nesterov=True), r"SGD.*Nesterov.*momentum=0\.0"),
    (lambda: optim.SGD(momentum=0.9, dampening=0.1, nesterov=True), r"SGD.*Nesterov.*dampening=0\.1"),
    (lambda: optim.Adam(lr=-1e-3), r"Adam.*learning rate.*-0\.001"),
    (lambda: optim.Adam(betas=(1.0, 0.999)), r"Adam.*beta.*index 0.*1\.0"),
    (lambda: optim.Adam(betas=(0.9, -0.1)), r"Adam.*beta.*index 1.*-0\.1"),
    (lambda: optim.Adam(eps=-1e-8), r"Adam.*epsilon.*-1e-08"),
    (lambda: optim.AdamW(weight_decay=-0.01), r"AdamW.*weight_decay.*-0\.01"),
    (lambda: optim.AdamW(betas=(0.9, 1.5)), r"AdamW.*beta.*1\.5"),
    (lambda: optim.RMSprop(alpha=-0.5), r"RMSprop.*alpha.*-0\.5"),
    (lambda: optim.RMSprop(momentum=-0.1), r"RMSprop.*momentum.*-0\.1"),
    (lambda: optim.RMSprop(lr=float("nan")), r"RMSprop.*learning rate.*nan"),
    (lambda: schedules.step_decay(0.1, step_size=0), r"step_decay.*0"),
    (lambda: schedules.cosine_annealing(0.1, t_max=0), r"cosine_annealing.*0"),
    (lambda: schedules.linear_warmup(0.1, warmup_steps=-2), r"linear_warmup.*-2"),
]


@pytest.mark.parametrize("make,match", BAD_HYPERPARAMS, ids=[m for _, m in BAD_HYPERPARAMS])
def test_invalid_hyperparameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "opt",
    [optim.SGD(momentum=0.9), optim.Adam(), optim.AdamW(), optim.RMSprop()],
    ids=lambda o: type(o).__name__,
)
def test_mismatched_grads_raise(opt):
    name = type(opt).__name__
    params = {"a": jnp.ones((2, 3), jnp.float32), "b": {"c": jnp.ones(4, jnp.float32)}}
    state = opt.init(params)
    missing = {"a": jnp.ones((2, 3), jnp.float32)}
    reshaped = {"a": jnp.ones((3, 2), jnp.float32), "b": {"c": jnp.ones(4, jnp.float32)}}
    with pytest.raises(ValueError, match=rf"{name}.*grads structure.*params structure"):
        opt.step(params, missing, state)
    with pytest.raises(ValueError, match=rf"{name}.*grads shapes.*\(3, 2\).*params shapes.*\(2, 3\)"):
        opt.step(params, reshaped, state)
    with pytest.raises(ValueError, match="grads shapes"):
        jax.jit(opt.step)(params, reshaped, state)
