"""tapegrad.optim.lr_scheduler against torch.optim.lr_scheduler: sched(t) == get_last_lr()[0] after t steps."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tapegrad.optim import lr_scheduler as L

torch = pytest.importorskip("torch", reason="torch is the numerical oracle for tapegrad.optim")
TS = torch.optim.lr_scheduler
LR = 0.1
STEPS = 100


def ours_and_torch():
    """(name, our schedule, torch factory over an optimizer, steps)."""
    lam = lambda t: 0.97**t
    mult = lambda k: 0.99 if k % 3 else 0.9
    jmult = lambda k: jnp.where(k % 3 == 0, 0.9, 0.99)  # the same, traceable: a traced step runs a fori_loop
    return [
        ("step", L.StepLR(lr=LR, step_size=7, gamma=0.5), lambda o: TS.StepLR(o, step_size=7, gamma=0.5)),
        ("multistep", L.MultiStepLR(lr=LR, milestones=[30, 10, 30, 80], gamma=0.3),
         lambda o: TS.MultiStepLR(o, milestones=[30, 10, 30, 80], gamma=0.3)),
        ("exp", L.ExponentialLR(lr=LR, gamma=0.95), lambda o: TS.ExponentialLR(o, gamma=0.95)),
        ("cos", L.CosineAnnealingLR(lr=LR, T_max=13, eta_min=0.01), lambda o: TS.CosineAnnealingLR(o, 13, 0.01)),
        ("cos0", L.CosineAnnealingLR(lr=LR, T_max=10), lambda o: TS.CosineAnnealingLR(o, T_max=10)),
        ("sgdr", L.CosineAnnealingWarmRestarts(lr=LR, T_0=9, eta_min=0.001),
         lambda o: TS.CosineAnnealingWarmRestarts(o, T_0=9, eta_min=0.001)),
        ("sgdr2", L.CosineAnnealingWarmRestarts(lr=LR, T_0=3, T_mult=2, eta_min=0.001),
         lambda o: TS.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
        ("sgdr3", L.CosineAnnealingWarmRestarts(lr=LR, T_0=1, T_mult=3),
         lambda o: TS.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3)),
        ("linear", L.LinearLR(lr=LR), lambda o: TS.LinearLR(o)),
        ("linear2", L.LinearLR(lr=LR, start_factor=0.9, end_factor=0.1, total_iters=40),
         lambda o: TS.LinearLR(o, start_factor=0.9, end_factor=0.1, total_iters=40)),
        ("const", L.ConstantLR(lr=LR, factor=0.25, total_iters=12), lambda o: TS.ConstantLR(o, 0.25, 12)),
        ("poly", L.PolynomialLR(lr=LR, total_iters=60, power=2.5), lambda o: TS.PolynomialLR(o, 60, 2.5)),
        ("onecycle", L.OneCycleLR(lr=LR, max_lr=1.0, total_steps=STEPS), lambda o: TS.OneCycleLR(o, 1.0, STEPS)),
        ("onecycle-lin3", L.OneCycleLR(lr=LR, max_lr=0.5, epochs=10, steps_per_epoch=10, pct_start=0.25,
                                       anneal_strategy="linear", three_phase=True, div_factor=10.0),
         lambda o: TS.OneCycleLR(o, 0.5, epochs=10, steps_per_epoch=10, pct_start=0.25, anneal_strategy="linear",
                                 three_phase=True, div_factor=10.0)),
        ("onecycle-cos3", L.OneCycleLR(max_lr=0.5, total_steps=STEPS, three_phase=True, final_div_factor=100.0),
         lambda o: TS.OneCycleLR(o, 0.5, STEPS, three_phase=True, final_div_factor=100.0)),
        ("lambda", L.LambdaLR(lr=LR, lr_lambda=lam), lambda o: TS.LambdaLR(o, lam)),
        ("mult", L.MultiplicativeLR(lr=LR, lr_lambda=jmult), lambda o: TS.MultiplicativeLR(o, mult)),
        ("seq", L.SequentialLR(lr=LR, schedulers=[L.LinearLR(lr=LR, start_factor=0.1, total_iters=10),
                                                  L.CosineAnnealingLR(lr=LR, T_max=30),
                                                  L.ExponentialLR(lr=LR, gamma=0.9)], milestones=[10, 50]),
         lambda o: TS.SequentialLR(o, [TS.LinearLR(o, start_factor=0.1, total_iters=10),
                                       TS.CosineAnnealingLR(o, T_max=30), TS.ExponentialLR(o, gamma=0.9)],
                                   milestones=[10, 50])),
        ("chain", L.ChainedScheduler(lr=LR, schedulers=[L.ConstantLR(lr=LR, factor=0.5, total_iters=20),
                                                        L.ExponentialLR(lr=LR, gamma=0.97),
                                                        L.MultiStepLR(lr=LR, milestones=[40, 70])]),
         lambda o: TS.ChainedScheduler([TS.ConstantLR(o, factor=0.5, total_iters=20),
                                        TS.ExponentialLR(o, gamma=0.97), TS.MultiStepLR(o, [40, 70])])),
    ]


def torch_lrs(make):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=LR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()"
        sched = make(opt)
        out = [sched.get_last_lr()[0]]
        for _ in range(STEPS):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr()[0])
    return np.array(out)


def test_schedulers_match_torch_eager_and_jit():
    ts = jnp.arange(STEPS + 1)
    for name, ours, make in ours_and_torch():
        want = torch_lrs(make)
        got = np.array([float(ours(t)) for t in range(STEPS + 1)])
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-14, err_msg=name)
        # A traced jnp step inside jit: one compiled function over all the steps (vmap of the traced step).
        traced = np.asarray(jax.jit(jax.vmap(ours))(ts))
        np.testing.assert_allclose(traced, want, rtol=1e-11, atol=1e-14, err_msg=f"{name} (jit)")


def test_onecycle_past_total_steps():
    sched = L.OneCycleLR(max_lr=1.0, total_steps=10)
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 11 times"):
        sched(11)
    assert np.isnan(float(jax.jit(sched)(jnp.asarray(11))))


def test_plateau_matches_torch():
    rng = np.random.RandomState(0)
    metrics = np.cumsum(rng.standard_normal(100)) * 0.1 + 5.0
    configs = [
        dict(),
        dict(mode="max", factor=0.5, patience=2, cooldown=3, threshold=0.01, threshold_mode="abs"),
        dict(patience=1, factor=0.3, min_lr=0.002, cooldown=1),
        dict(mode="max", patience=0, factor=0.9, eps=1e-3),
    ]
    for kw in configs:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=LR)
        ts = TS.ReduceLROnPlateau(opt, **kw)
        ours = L.ReduceLROnPlateau(lr=LR, **kw)
        state = ours.init()
        step = jax.jit(ours.step)
        for k, m in enumerate(metrics):
            ts.step(float(m))
            lr, state = step(m, state)
            assert float(lr) == pytest.approx(ts.get_last_lr()[0], rel=1e-12), (kw, k)
            assert int(state.num_bad_epochs) == ts.num_bad_epochs and int(state.cooldown_counter) == ts.cooldown_counter


def test_bad_arguments_raise():
    cases = [
        (lambda: L.StepLR(lr=0.1, step_size=0), r"StepLR: step_size must be a positive integer"),
        (lambda: L.CosineAnnealingLR(lr=0.1, T_max=0), r"CosineAnnealingLR: T_max"),
        (lambda: L.OneCycleLR(max_lr=1.0), r"OneCycleLR: you must define either total_steps"),
        (lambda: L.SequentialLR(lr=0.1, schedulers=[L.StepLR(lr=0.1, step_size=2)], milestones=[3]),
         r"SequentialLR: expects number of schedulers"),
        (lambda: L.SequentialLR(lr=0.1, schedulers=[L.StepLR(lr=0.2, step_size=2)], milestones=[]),
         r"SequentialLR: schedulers\[0\] has lr=0.2"),
        (lambda: L.ChainedScheduler(lr=0.1, schedulers=[L.CosineAnnealingLR(lr=0.1, T_max=3)]),
         r"ChainedScheduler: schedulers\[0\] is CosineAnnealingLR"),
        (lambda: L.ReduceLROnPlateau(lr=0.1, factor=1.0), r"ReduceLROnPlateau: factor should be < 1.0"),
        (lambda: L.StepLR(lr=0.1, step_size=2)(-1), r"StepLR: step must be >= 0"),
        (lambda: L.StepLR(lr=0.1, step_size=2)(jnp.ones(2, jnp.int32)), r"StepLR: step must be an integer scalar"),
    ]
    for make, match in cases:
        with pytest.raises((ValueError, TypeError), match=match):
            make()
