"""The PyTorch-flag optimizers (Adagrad, Adadelta, Adamax, NAdam, RAdam; amsgrad, maximize on all)
against torch.optim step for step in float64, and optimizer state through tg.save/tg.load."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import optim

torch = pytest.importorskip("torch", reason="torch is the numerical oracle for tapegrad.optim")

SHAPES = {"enc": {"w": (4, 3), "b": (3,)}, "scale": ()}
STEPS = 50

# (tapegrad/torch name, kwargs): every flag that changes the arithmetic, alone and combined.
CASES = [
    ("SGD", dict(lr=0.05, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), maximize=True)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.6, eps=1e-4, weight_decay=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),  # rho_t > 5 from step 2 on
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def problem(seed=0):
    rng = np.random.RandomState(seed)
    draw = lambda: jax.tree_util.tree_map(
        lambda s: rng.standard_normal(s), SHAPES, is_leaf=lambda x: isinstance(x, tuple)
    )
    return draw(), [draw() for _ in range(STEPS)]


def torch_trajectory(name, kw, params, grads_seq):
    # torch keeps its scalar state (step, NAdam's mu_product) in the default dtype; float64 here, as
    # ours is with x64 on (under float32 NAdam's mu_product rounds to float32 in torch).
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _torch_trajectory(name, kw, params, grads_seq)
    finally:
        torch.set_default_dtype(old)


def _torch_trajectory(name, kw, params, grads_seq):
    leaves = [torch.tensor(np.array(p), requires_grad=True) for p in jax.tree_util.tree_leaves(params)]
    opt = getattr(torch.optim, name)(leaves, **kw)
    out = []
    for grads in grads_seq:
        for p, g in zip(leaves, jax.tree_util.tree_leaves(grads), strict=True):
            p.grad = torch.tensor(np.array(g))
        opt.step()
        out.append([p.detach().numpy().copy() for p in leaves])
    return out


def test_flags_and_new_optimizers_match_torch_float64():
    params0, grads_seq = problem()
    jgrads = [jax.tree_util.tree_map(jnp.asarray, g) for g in grads_seq]
    for name, kw in CASES:
        want = torch_trajectory(name, kw, params0, grads_seq)
        opt = getattr(optim, name)(**kw)
        params = jax.tree_util.tree_map(jnp.asarray, params0)
        state = opt.init(params)
        step = jax.jit(opt.step)
        for k, grads in enumerate(jgrads):
            params, state = step(params, grads, state)
            for got, exp in zip(jax.tree_util.tree_leaves(params), want[k], strict=True):
                msg = f"{name} {kw} step {k}"
                np.testing.assert_allclose(np.asarray(got), exp, rtol=1e-10, atol=1e-12, err_msg=msg)
        assert int(state.step) == STEPS


def test_defaults_are_torchs():
    # Every default torch has (other than kernel switches) is ours, by name and value.
    import inspect

    skip = {"params", "foreach", "fused", "capturable", "differentiable"}
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]:
        sig = inspect.signature(getattr(torch.optim, name).__init__)
        want = {k: p.default for k, p in sig.parameters.items() if k not in skip | {"self"}}
        ours = dict(inspect.signature(getattr(optim, name)).parameters)
        assert ours.pop("groups").default is None
        assert set(ours) == set(want), (name, set(ours) ^ set(want))
        for k, v in want.items():
            assert ours[k].default == v, (name, k, ours[k].default, v)


def test_unknown_arguments_are_refused():
    with pytest.raises(TypeError, match="foreach"):
        optim.Adam(lr=0.1, foreach=True)
    with pytest.raises(ValueError, match="Adadelta: invalid rho"):
        optim.Adadelta(rho=1.5)
    with pytest.raises(ValueError, match="NAdam: invalid momentum_decay"):
        optim.NAdam(momentum_decay=-1.0)
    with pytest.raises(ValueError, match="Adamax: invalid beta parameter at index 1"):
        optim.Adamax(betas=(0.9, 1.0))


def test_state_round_trips_through_save_load(tmp_path):
    params0, grads_seq = problem(1)
    params = jax.tree_util.tree_map(jnp.asarray, params0)
    for name, kw in [("Adam", dict(amsgrad=True)), ("NAdam", {}), ("SGD", dict(momentum=0.9)), ("Adagrad", {})]:
        opt = getattr(optim, name)(lr=0.01, **kw)
        state = opt.init(params)
        p = params
        for g in grads_seq[:3]:
            p, state = opt.step(p, jax.tree_util.tree_map(jnp.asarray, g), state)
        path = tmp_path / f"{name}.npz"
        tg.save(path, {"params": p, "state": state})
        back = tg.load(path)
        assert type(back["state"]) is type(state)
        p2, s2 = opt.step(back["params"], jax.tree_util.tree_map(jnp.asarray, grads_seq[3]), back["state"])
        p1, s1 = opt.step(p, jax.tree_util.tree_map(jnp.asarray, grads_seq[3]), state)
        for a, b in zip(jax.tree_util.tree_leaves((p1, s1)), jax.tree_util.tree_leaves((p2, s2)), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# --- parameter groups ----------------------------------------------------------------------------

GROUP_PARAMS = {"encoder": {"layer": {"weight": (3, 2), "bias": (2,)}}, "head": {"weight": (2,), "bias": ()}}


def test_groups_match_torch_param_groups():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch's scalar state in float64, as in torch_trajectory
    try:
        _groups_match_torch_param_groups()
    finally:
        torch.set_default_dtype(old)


def _groups_match_torch_param_groups():
    """First matching pattern wins; the rest use the optimizer's own values; frozen params don't move."""
    rng = np.random.RandomState(3)
    draw = lambda: jax.tree_util.tree_map(
        lambda s: rng.standard_normal(s), GROUP_PARAMS, is_leaf=lambda x: isinstance(x, tuple)
    )
    params0, grads_seq = draw(), [draw() for _ in range(STEPS)]
    # Paths in flattening order (sorted dict keys): encoder.layer.bias, encoder.layer.weight, head.bias, head.weight.
    configs = [
        ("Adam", dict(lr=0.01, weight_decay=0.1),
         {"encoder.*": {"lr": 1e-3, "amsgrad": True}, "*.bias": {"weight_decay": 0.0}},
         [{"lr": 1e-3, "amsgrad": True}, {"lr": 1e-3, "amsgrad": True}, {"weight_decay": 0.0}, {}]),
        ("SGD", dict(lr=0.05, momentum=0.9), {"head.weight": {"frozen": True}, "*": {"nesterov": True}},
         [{"nesterov": True}, {"nesterov": True}, {"nesterov": True}, None]),
        ("NAdam", dict(lr=0.01), {"*.weight": {"betas": (0.5, 0.9), "momentum_decay": 0.01}},
         [{}, {"betas": (0.5, 0.9), "momentum_decay": 0.01}, {}, {"betas": (0.5, 0.9), "momentum_decay": 0.01}]),
    ]
    for name, kw, groups, per_leaf in configs:
        leaves = [torch.tensor(np.array(p), requires_grad=True) for p in jax.tree_util.tree_leaves(params0)]
        tgroups = [dict(params=[p], **extra) for p, extra in zip(leaves, per_leaf, strict=True) if extra is not None]
        topt = getattr(torch.optim, name)(tgroups, **kw)
        opt = getattr(optim, name)(**kw, groups=groups)
        params = jax.tree_util.tree_map(jnp.asarray, params0)
        state = opt.init(params)
        step = jax.jit(opt.step)
        for k, grads in enumerate(grads_seq):
            for p, g in zip(leaves, jax.tree_util.tree_leaves(grads), strict=True):
                p.grad = torch.tensor(np.array(g))
            topt.step()
            params, state = step(params, jax.tree_util.tree_map(jnp.asarray, grads), state)
            for got, want in zip(jax.tree_util.tree_leaves(params), leaves, strict=True):
                np.testing.assert_allclose(np.asarray(got), want.detach().numpy(), rtol=1e-10, atol=1e-12,
                                           err_msg=f"{name} {groups} step {k}")
        if name == "SGD":  # the frozen leaf is exactly its initial value and its group has no state
            np.testing.assert_array_equal(np.asarray(params["head"]["weight"]), params0["head"]["weight"])
            assert state.groups[0] is None


def test_group_lr_schedule_and_save_load(tmp_path):
    from tapegrad.optim import lr_scheduler as L

    params = {"a": jnp.ones(2), "b": jnp.ones(2)}
    opt = optim.SGD(lr=0.1, groups={"a": {"lr": L.StepLR(lr=1.0, step_size=1, gamma=0.5)}})
    state = opt.init(params)
    for _ in range(3):
        params, state = opt.step(params, {"a": jnp.ones(2), "b": jnp.ones(2)}, state)
    np.testing.assert_allclose(np.asarray(params["a"]), 1 - (1 + 0.5 + 0.25))
    np.testing.assert_allclose(np.asarray(params["b"]), 1 - 0.3)
    tg.save(tmp_path / "g.npz", state)
    back = tg.load(tmp_path / "g.npz")
    assert type(back) is optim.GroupedState and int(back.groups[0].step) == 3
    p1, _ = opt.step(params, {"a": jnp.ones(2), "b": jnp.ones(2)}, back)
    np.testing.assert_allclose(np.asarray(p1["a"]), 1 - (1 + 0.5 + 0.25 + 0.125))


def test_group_errors():
    params = {"enc": {"w": jnp.ones(2)}}
    no_match = r"Adam: group pattern 'dec\.\*' matches no parameter; the paths are \['enc.w'\]"
    with pytest.raises(ValueError, match=no_match):
        optim.Adam(groups={"dec.*": {"lr": 0.1}}).init(params)
    with pytest.raises(ValueError, match=r"Adam: group 'enc.\*' sets \['momentum'\], which are not Adam hyperpa"):
        optim.Adam(groups={"enc.*": {"momentum": 0.9}})
    with pytest.raises(ValueError, match=r"Adam: invalid learning rate: -1"):
        optim.Adam(groups={"enc.*": {"lr": -1.0}})
    with pytest.raises(ValueError, match=r"'frozen' takes a bool and no other entries"):
        optim.SGD(groups={"enc.*": {"frozen": True, "lr": 0.1}})
    with pytest.raises(TypeError, match=r"SGD.step: with groups the state is a GroupedState"):
        optim.SGD(groups={"enc.*": {"lr": 0.1}}).step(params, params, optim.SGD().init(params))


def test_float32_params_stay_float32_and_near_torch():
    params0, grads_seq = problem(2)
    f32 = lambda t: jax.tree_util.tree_map(lambda x: np.asarray(x, np.float32), t)
    params0, grads_seq = f32(params0), [f32(g) for g in grads_seq[:10]]
    for name in ["Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"]:
        want = _torch_trajectory(name, {}, params0, grads_seq)  # torch's float32 default dtype
        opt = getattr(optim, name)(maximize=True)
        want_max = _torch_trajectory(name, dict(maximize=True), params0, grads_seq)
        for o, w in ((getattr(optim, name)(), want), (opt, want_max)):
            params = jax.tree_util.tree_map(jnp.asarray, params0)
            state = o.init(params)
            for k, g in enumerate(grads_seq):
                params, state = o.step(params, jax.tree_util.tree_map(jnp.asarray, g), state)
                for got, exp in zip(jax.tree_util.tree_leaves(params), w[k], strict=True):
                    assert got.dtype == np.float32, (name, k, got.dtype)
                    np.testing.assert_allclose(np.asarray(got), exp, rtol=2e-5, atol=2e-6, err_msg=f"{name} {k}")
