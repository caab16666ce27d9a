"""Module conveniences (issue 15 §1): nn.ModuleDict, nn.count_parameters, nn.utils.parameters_to_vector /
vector_to_parameters / clip_grad_value / clip_grad_norm against torch.nn.utils, and the error naming the
path when a params leaf has the wrong shape."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad import nn
from tapegrad.nn.module import ParamsError, ParamsShapeError


class Heads(nn.Module):
    def __init__(self):
        self.trunk = nn.Linear(4, 6)
        self.heads = nn.ModuleDict({"cls": nn.Linear(6, 3), "reg": nn.Sequential(nn.BatchNorm1d(6), nn.Linear(6, 1))})

    def forward(self, params, x, head, *, train=True):
        h = self.trunk(params["trunk"], x)
        kwargs = {"train": train} if head == "reg" else {}  # the Sequential with BatchNorm takes train=
        return self.heads[head](params["heads"][head], h, **kwargs)


class TorchHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = torch.nn.Linear(4, 6)
        self.heads = torch.nn.ModuleDict({"cls": torch.nn.Linear(6, 3),
                                          "reg": torch.nn.Sequential(torch.nn.BatchNorm1d(6), torch.nn.Linear(6, 1))})


def test_module_dict_matches_torch():
    model, ref = Heads(), TorchHeads()
    params = nn.load_state_dict(model.init(0), {k: v.numpy() for k, v in ref.state_dict().items()})
    assert list(nn.state_dict(params)) == list(ref.state_dict())
    assert repr(model.heads) == repr(ref.heads)
    md = model.heads
    assert list(md) == md.keys() == ["cls", "reg"] and len(md) == 2 and "reg" in md and "x" not in md
    assert md["cls"] is md.values()[0] and md.items()[1][0] == "reg"
    x = np.random.RandomState(0).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        ref.eval()
        np.testing.assert_allclose(model(params, x, "cls", train=False), ref.heads["cls"](ref.trunk(torch.tensor(x))),
                                   atol=1e-6)
    # Trainable count as PyTorch's sum(p.numel() for p in model.parameters()); the tree's count has buffers too.
    n_trainable = sum(p.numel() for p in ref.parameters())
    assert model.num_parameters() == n_trainable == nn.count_parameters(model.partition(params)[0])
    assert nn.count_parameters(params) == sum(v.numel() for v in ref.state_dict().values())
    bigger = nn.ModuleDict({**md, "aux": nn.Linear(6, 2)})  # immutable: build a new one
    assert bigger.keys() == ["cls", "reg", "aux"]
    with pytest.raises(KeyError, match="ModuleDict has no module 'nope'; it holds \\['cls', 'reg'\\]"):
        md["nope"]
    with pytest.raises(KeyError, match="be empty or contain"):
        nn.ModuleDict({"a.b": nn.ReLU()})
    with pytest.raises(TypeError, match="ModuleDict: 'a' is int, not an nn.Module"):
        nn.ModuleDict({"a": 3})
    with pytest.raises(NotImplementedError, match="ModuleDict has no forward"):
        md(params["heads"], x)


def test_parameters_vector_round_trip_and_gradients():
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    model = nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh(), nn.Linear(4, 2, dtype=np.float64))
    params = nn.load_state_dict(model.init(0), {k: v.numpy() for k, v in ref.state_dict().items()})
    vec = nn.utils.parameters_to_vector(params)
    np.testing.assert_array_equal(vec, torch.nn.utils.parameters_to_vector(ref.parameters()).detach().numpy())
    new = np.arange(vec.shape[0], dtype=np.float64) / 10
    back = nn.utils.vector_to_parameters(new, params)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), ref.parameters())
    assert list(nn.state_dict(back)) == list(nn.state_dict(params)) and type(back) is type(params)
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(nn.state_dict(back)[k], v.numpy())
    # Differentiable both ways: the gradient w.r.t. the flat vector is the flattened params gradient.
    x = np.random.RandomState(1).standard_normal((5, 3))
    loss = lambda p: tnp.sum(model(p, x) ** 2)  # noqa: E731
    g_vec = tg.grad(lambda v: loss(nn.utils.vector_to_parameters(v, params)))(new)
    np.testing.assert_allclose(g_vec, nn.utils.parameters_to_vector(tg.grad(loss)(back)), atol=1e-12)
    assert [a.shape for a in nn.utils.vector_to_parameters(new[:12], [np.ones((3, 4))])] == [(3, 4)]
    with pytest.raises(ValueError, match="vector_to_parameters: expected a 1-d vector of 26 elements"):
        nn.utils.vector_to_parameters(new[:5], params)


def test_clip_grad_value_and_norm_match_torch():
    rs = np.random.RandomState(2)
    grads = {"a": {"weight": rs.standard_normal((3, 4)) * 3}, "b": rs.standard_normal(5)}
    leaves = [torch.tensor(grads["a"]["weight"]), torch.tensor(grads["b"])]

    def torch_params():
        ps = [torch.nn.Parameter(torch.zeros_like(t)) for t in leaves]
        for p, t in zip(ps, leaves):
            p.grad = t.clone()
        return ps

    ps = torch_params()
    torch.nn.utils.clip_grad_value_(ps, 1.5)
    clipped = nn.utils.clip_grad_value(grads, 1.5)
    np.testing.assert_array_equal(clipped["a"]["weight"], ps[0].grad.numpy())
    np.testing.assert_array_equal(clipped["b"], ps[1].grad.numpy())
    for norm_type in (2.0, 1.0, float("inf")):
        ps = torch_params()
        total = torch.nn.utils.clip_grad_norm_(ps, 2.0, norm_type=norm_type)
        clipped, got = nn.utils.clip_grad_norm(grads, 2.0, norm_type=norm_type)
        np.testing.assert_allclose(got, total.numpy(), rtol=1e-12)
        np.testing.assert_allclose(clipped["a"]["weight"], ps[0].grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(clipped["b"], ps[1].grad.numpy(), rtol=1e-12)
    clipped, total = jax.jit(lambda g: nn.utils.clip_grad_norm(g, 1.0, 1.0))(grads)
    assert np.isclose(float(total), sum(np.abs(g).sum() for g in jax.tree_util.tree_leaves(grads)))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm({"w": jnp.array([np.nan, 1.0])}, 1.0, error_if_nonfinite=True)


def test_wrong_shapes_name_the_path():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2)))
    params = model.init(0)
    params["0"]["weight"] = params["0"]["weight"].T
    params["2"]["1"]["bias"] = jnp.zeros(5)
    x = jnp.ones((2, 4))
    with pytest.raises(ParamsShapeError) as info:
        model(params, x)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ParamsError)
    assert message.startswith("Sequential: the params tree does not match the model")
    assert "'0.weight' has shape (4, 3): expected a float32 array of shape (3, 4)" in message
    params["0"]["weight"] = params["0"]["weight"].T  # the first layer right: the nested one is found
    with pytest.raises(ValueError, match="'2.1.bias' has shape \\(5,\\): expected a float32 array of shape \\(2,\\)"):
        jax.jit(model)(params, x)
    params["2"]["1"]["bias"] = jnp.zeros(2)
    # Right shapes pass: directly, under tg.grad, and per model under jax.vmap over stacked params.
    assert model(params, x).shape == (2, 2)
    assert tg.grad(lambda p: tnp.sum(model(p, x)))(params)["0"]["weight"].shape == (3, 4)
    stacked = jax.tree_util.tree_map(lambda *v: jnp.stack(v), params, model.init(1))
    assert jax.vmap(model, in_axes=(0, None))(stacked, x).shape == (2, 2, 2)
    assert tg.vmap(model, in_axes=(0, None))(stacked, x).shape == (2, 2, 2)
