"""tapegrad.nn against torch.nn as the oracle: names, shapes, init, outputs, gradients, state, repr."""
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn, optim

torch = pytest.importorskip("torch", reason="torch is the numerical oracle for tapegrad.nn")
tnn = torch.nn

TOL = dict(rtol=1e-5, atol=1e-5)


class NeuralNetwork(nn.Module):
    """API.md's example, verbatim."""

    def __init__(self):
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(),
            nn.Linear(512, 512), nn.ReLU(),
            nn.Linear(512, 10))

    def forward(self, params, x):
        x = self.flatten(params["flatten"], x)
        return self.linear_relu_stack(params["linear_relu_stack"], x)


class TorchNeuralNetwork(tnn.Module):
    """The seed tutorial's model."""

    def __init__(self):
        super().__init__()
        self.flatten = tnn.Flatten()
        self.linear_relu_stack = tnn.Sequential(
            tnn.Linear(28 * 28, 512), tnn.ReLU(),
            tnn.Linear(512, 512), tnn.ReLU(),
            tnn.Linear(512, 10))

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def numpy_state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def randn(*shape, seed=0):
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


def torch_run(module, x, **kw):
    return module(torch.from_numpy(x), **kw).detach().numpy()


# --- the seed model: names, shapes, order, outputs, gradients ------------------------------------------


def test_init_names_and_shapes_equal_torch_state_dict():
    params = NeuralNetwork().init(0)
    ours = [(k, tuple(v.shape), np.dtype(v.dtype)) for k, v in nn.named_parameters(params)]
    theirs = [(k, tuple(v.shape), np.dtype("float32")) for k, v in TorchNeuralNetwork().state_dict().items()]
    assert ours == theirs
    assert params["flatten"] == {}
    assert list(params["linear_relu_stack"]) == ["0", "1", "2", "3", "4"]


def test_named_parameters_order_equals_torch():
    model, params = NeuralNetwork(), NeuralNetwork().init(1)
    theirs = [k for k, _ in TorchNeuralNetwork().named_parameters()]
    assert [k for k, _ in nn.named_parameters(params)] == theirs
    assert [k for k, _ in model.named_parameters(params)] == theirs
    assert theirs[0] == "linear_relu_stack.0.weight"


def test_torch_state_dict_loads_and_outputs_match():
    torch.manual_seed(0)
    tmodel, model = TorchNeuralNetwork(), NeuralNetwork()
    params = nn.load_state_dict(model.init(0), numpy_state(tmodel))
    x = randn(16, 1, 28, 28)
    np.testing.assert_allclose(model(params, x), torch_run(tmodel, x), **TOL)
    # Raw torch tensors (even ones requiring grad) load as well.
    again = nn.load_state_dict(model.init(5), dict(tmodel.named_parameters()))
    stack, loaded = again["linear_relu_stack"], params["linear_relu_stack"]
    np.testing.assert_array_equal(stack["4"]["bias"], loaded["4"]["bias"])


def test_gradients_equal_torch_param_grad():
    torch.manual_seed(1)
    tmodel, model = TorchNeuralNetwork(), NeuralNetwork()
    params = nn.load_state_dict(model.init(0), numpy_state(tmodel))
    x, y = randn(8, 1, 28, 28, seed=2), np.arange(8) % 10
    loss_fn = nn.CrossEntropyLoss()
    loss, grads = tg.value_and_grad(lambda p: loss_fn(model(p, x), y))(params)
    tloss = tnn.CrossEntropyLoss()(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    np.testing.assert_allclose(loss, tloss.item(), rtol=1e-5)
    ours = dict(nn.named_parameters(grads))
    for name, p in tmodel.named_parameters():
        np.testing.assert_allclose(ours[name], p.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def test_jit_and_vmap_of_a_model():
    model = NeuralNetwork()
    params, x = model.init(0), randn(4, 1, 28, 28)
    eager = model(params, x)
    np.testing.assert_allclose(jax.jit(model.__call__)(params, x), eager, rtol=1e-5, atol=1e-6)
    per_sample = jax.vmap(lambda xi: model(params, xi[None])[0])(x)
    np.testing.assert_allclose(per_sample, eager, rtol=1e-5, atol=1e-6)


# --- initialisation ----------------------------------------------------------------------------------


QUANTILES = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]


def assert_same_distribution(ours, theirs, scale):
    ours, theirs = np.ravel(ours), np.ravel(theirs)
    np.testing.assert_allclose(np.quantile(ours, QUANTILES), np.quantile(theirs, QUANTILES),
                               atol=0.03 * scale)
    np.testing.assert_allclose(ours.std(), theirs.std(), rtol=0.03)
    assert abs(ours.mean()) < 0.02 * scale


@pytest.mark.parametrize("ours, theirs, fan_in", [
    (nn.Linear(1000, 300), lambda: tnn.Linear(1000, 300), 1000),
    (nn.Conv2d(16, 64, 5, groups=4), lambda: tnn.Conv2d(16, 64, 5, groups=4), 4 * 25),
    (nn.Conv1d(3, 600, 7), lambda: tnn.Conv1d(3, 600, 7), 21),
])
def test_default_init_matches_torch_distribution(ours, theirs, fan_in):
    torch.manual_seed(0)
    params, tparams = ours.init(0), numpy_state(theirs())
    bound = 1 / np.sqrt(fan_in)
    for name in ("weight", "bias"):
        w = np.asarray(params[name])
        assert w.shape == tparams[name].shape and w.dtype == np.float32
        assert np.abs(w).max() <= bound and np.abs(tparams[name]).max() <= bound
    w = np.asarray(params["weight"])
    assert np.abs(w).max() > 0.99 * bound  # uniform up to the bound, not narrower
    assert_same_distribution(w, tparams["weight"], bound)


@pytest.mark.parametrize("name, kwargs", [
    ("kaiming_uniform", dict(a=0.0, mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal", dict(nonlinearity="tanh")), ("xavier_uniform", dict(gain=2.0)),
    ("xavier_normal", {}), ("trunc_normal", dict(mean=0.5, std=2.0, a=-1.0, b=3.0)),
])
def test_init_functions_match_torch_distribution(name, kwargs):
    torch.manual_seed(0)
    shape = (300, 40, 3)
    ours = np.asarray(getattr(nn.init, name)(0, shape, **kwargs))
    theirs = getattr(torch.nn.init, name + "_")(torch.empty(shape), **kwargs).numpy()
    assert ours.shape == shape and ours.dtype == np.float32
    if "normal" not in name or name == "trunc_normal":  # bounded: the same support as torch's
        slack = 0.01 * (theirs.max() - theirs.min())
        assert theirs.min() - slack <= ours.min() and ours.max() <= theirs.max() + slack
    # 8% of a std covers the sampling noise of the 1% and 99% quantiles at this size.
    np.testing.assert_allclose(np.quantile(ours, QUANTILES), np.quantile(theirs, QUANTILES),
                               atol=0.08 * theirs.std())
    np.testing.assert_allclose(ours.std(), theirs.std(), rtol=0.03)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain("leaky_relu", 0.2)


def test_embedding_and_norm_init_match_torch():
    torch.manual_seed(0)
    emb, temb = nn.Embedding(2000, 50, padding_idx=-1), tnn.Embedding(2000, 50, padding_idx=-1)
    w = np.asarray(emb.init(0)["weight"])
    assert emb.padding_idx == temb.padding_idx == 1999
    np.testing.assert_array_equal(w[1999], 0)
    assert_same_distribution(w[:-1], temb.weight.detach().numpy()[:-1], 1.0)
    for ours, theirs in [(nn.LayerNorm((3, 4)), tnn.LayerNorm((3, 4))),
                         (nn.BatchNorm2d(7), tnn.BatchNorm2d(7))]:
        got, want = nn.state_dict(ours.init(0)), numpy_state(theirs)
        assert list(got) == list(want)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_init_is_deterministic_and_children_get_distinct_keys():
    model = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))
    a, b = model.init(3), model.init(jax.random.key(3))
    c = model.init(jax.random.PRNGKey(3))
    triples = zip(nn.named_parameters(a), nn.named_parameters(b), nn.named_parameters(c), strict=True)
    for (_, x), (_, y), (_, z) in triples:
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    assert not np.allclose(a["0"]["weight"], a["1"]["weight"])
    assert not np.allclose(a["0"]["weight"], model.init(4)["0"]["weight"])
    # Documented scheme: child i from fold_in(key, i + 1), so appending a child changes nothing before it.
    longer = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8), nn.ReLU()).init(3)
    np.testing.assert_array_equal(longer["1"]["weight"], a["1"]["weight"])
    child_key = jax.random.fold_in(jax.random.key(3), 2)
    np.testing.assert_array_equal(a["1"]["weight"], nn.Linear(8, 8).init(child_key)["weight"])
    with pytest.raises(TypeError, match="seed"):
        model.init(1.5)


# --- convolutions, pooling, the layer zoo --------------------------------------------------------------


def test_conv1d_seed_example():
    torch.manual_seed(0)
    tconv = tnn.Conv1d(in_channels=3, out_channels=6, kernel_size=5)
    conv = nn.Conv1d(in_channels=3, out_channels=6, kernel_size=5)
    x = randn(10, 3, 50)
    out = conv(nn.load_state_dict(conv.init(0), numpy_state(tconv)), x)
    assert out.shape == (10, 6, 46)
    np.testing.assert_allclose(out, torch_run(tconv, x), **TOL)


def test_linear_seed_example():
    torch.manual_seed(0)
    tlinear, linear = tnn.Linear(20, 30), nn.Linear(20, 30)
    x = randn(128, 20)
    out = linear(nn.load_state_dict(linear.init(0), numpy_state(tlinear)), x)
    assert out.shape == (128, 30)
    np.testing.assert_allclose(out, torch_run(tlinear, x), **TOL)


@pytest.mark.parametrize("args, kwargs", [
    ((4, 8, 3), {}),
    ((4, 8, (3, 2)), dict(stride=2, padding=1, dilation=(2, 1), groups=2)),
    ((6, 9, 3), dict(groups=3, bias=False)),
    ((4, 4, 3), dict(padding="same", groups=4)),
    ((4, 5, (2, 3)), dict(padding="valid", stride=(1, 2))),
])
def test_conv2d_shapes_and_values_equal_torch(args, kwargs):
    torch.manual_seed(0)
    tconv, conv = tnn.Conv2d(*args, **kwargs), nn.Conv2d(*args, **kwargs)
    params = conv.init(0)
    shapes = {k: v.shape for k, v in numpy_state(tconv).items()}
    assert {k: v.shape for k, v in params.items()} == shapes
    assert params["weight"].shape == (args[1], args[0] // kwargs.get("groups", 1), *conv.kernel_size)
    x = randn(2, args[0], 9, 10)
    out = conv(nn.load_state_dict(params, numpy_state(tconv)), x)
    np.testing.assert_allclose(out, torch_run(tconv, x), **TOL)
    assert repr(conv) == repr(tconv)


def test_conv_argument_errors_match_torch():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 3, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 3, (3, 3, 3))


def zoo(lib):
    return lib.Sequential(
        lib.Conv2d(3, 8, 3, padding=1), lib.BatchNorm2d(8), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(8, 8, 3, groups=2), lib.GELU(), lib.AvgPool2d(2, stride=1, padding=1), lib.Tanh(),
        lib.Flatten(), lib.Dropout(0.3), lib.Linear(8 * 3 * 3, 16), lib.LayerNorm(16), lib.Sigmoid(),
        lib.Linear(16, 5), lib.Softmax(dim=1))


def test_layer_zoo_in_eval_mode_equals_torch():
    torch.manual_seed(0)
    tmodel, model = zoo(tnn), zoo(nn)
    tmodel.train()
    for seed in range(3):  # non-trivial running statistics to load
        tmodel(torch.from_numpy(randn(4, 3, 8, 8, seed=seed)))
    tmodel.eval()
    params = nn.load_state_dict(model.init(0), numpy_state(tmodel))
    x = randn(5, 3, 8, 8, seed=9)
    forward = jax.jit(lambda p, x: model(p, x, train=False))  # one compilation for the whole zoo
    np.testing.assert_allclose(forward(params, x), torch_run(tmodel, x), rtol=1e-5, atol=1e-6)
    assert repr(model) == repr(tmodel)
    assert [k for k, _ in model.named_parameters(params)] == [k for k, _ in tmodel.named_parameters()]
    assert [k for k, _ in model.named_buffers(params)] == [k for k, _ in tmodel.named_buffers()]


def test_embedding_values_and_padding_gradient_equal_torch():
    torch.manual_seed(0)
    temb, emb = tnn.Embedding(10, 4, padding_idx=2), nn.Embedding(10, 4, padding_idx=2)
    params = nn.load_state_dict(emb.init(0), numpy_state(temb))
    idx = np.array([[1, 2, 3], [2, 2, 9]])
    out = emb(params, idx)
    tout = temb(torch.from_numpy(idx))
    np.testing.assert_array_equal(out, tout.detach().numpy())
    g = tg.grad(lambda p: (emb(p, idx) ** 2).sum())(params)
    (tout ** 2).sum().backward()
    np.testing.assert_allclose(g["weight"], temb.weight.grad.numpy(), **TOL)
    assert float(np.abs(g["weight"][2]).sum()) == 0.0


# --- key / train ---------------------------------------------------------------------------------------


def test_dropout_identity_in_eval_and_needs_key_in_train():
    drop, x = nn.Dropout(0.25), jnp.ones((200, 100), jnp.float32)
    np.testing.assert_array_equal(drop({}, x, train=False), x)
    with pytest.raises(ValueError, match="key"):
        drop({}, x)
    y = np.asarray(drop({}, x, key=jax.random.key(0)))
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(drop({}, x, key=0), drop({}, x, key=jax.random.key(0)))
    assert not np.array_equal(drop({}, x, key=0), drop({}, x, key=1))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_sequential_passes_train_and_distinct_keys():
    model = nn.Sequential(nn.Dropout(0.5), nn.Identity(), nn.Dropout(0.5))
    x = jnp.ones((64, 64), jnp.float32)
    np.testing.assert_array_equal(model(model.init(0), x, train=False), x)
    with pytest.raises(ValueError, match="key"):
        model(model.init(0), x)
    y = model(model.init(0), x, key=7)
    key = jax.random.key(7)
    drop = nn.Dropout(0.5)
    want = drop({}, drop({}, x, key=jax.random.fold_in(key, 0)), key=jax.random.fold_in(key, 2))
    np.testing.assert_array_equal(y, want)


class Custom(nn.Module):
    def __init__(self):
        self.fc = nn.Linear(6, 6)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 2))

    def forward(self, params, x, *, key=None, train=True):
        k1, k2 = jax.random.split(nn.as_key(key)) if key is not None else (None, None)
        x = self.drop(params["drop"], self.fc(params["fc"], x), key=k1, train=train)
        return self.head(params["head"], x, key=k2, train=train)


def test_custom_forward_passes_key_and_train():
    model, x = Custom(), randn(32, 6)
    params = model.init(0)
    assert list(params) == ["fc", "drop", "head"] and params["drop"] == {}
    evaluated = model(params, x, train=False)
    manual = nn.Linear(6, 2)(params["head"]["2"], jax.nn.relu(nn.Linear(6, 6)(params["fc"], x)))
    np.testing.assert_allclose(evaluated, manual, rtol=1e-6)
    a, b = model(params, x, key=0), model(params, x, key=0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, model(params, x, key=1))
    with pytest.raises(ValueError, match="key"):
        model(params, x)
    g = tg.grad(lambda p: model(p, x, key=3).sum())(params)
    assert g["fc"]["weight"].shape == (6, 6)


# --- BatchNorm state ---------------------------------------------------------------------------------


def bn_net(lib, **bn_kwargs):
    return lib.Sequential(lib.Conv2d(3, 4, 3), lib.BatchNorm2d(4, **bn_kwargs), lib.ReLU(), lib.Flatten(),
                          lib.Linear(4 * 6 * 6, 5))


@pytest.mark.parametrize("bn_kwargs", [{}, {"momentum": None}])
def test_batchnorm_two_sgd_steps_equal_torch(bn_kwargs):
    torch.manual_seed(0)
    tmodel, model = bn_net(tnn, **bn_kwargs), bn_net(nn, **bn_kwargs)
    params = nn.load_state_dict(model.init(0), numpy_state(tmodel))
    topt, opt = torch.optim.SGD(tmodel.parameters(), lr=0.1), optim.SGD(lr=0.1)
    trainable, buffers = model.partition(params)
    assert list(nn.state_dict(buffers)) == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    state = opt.init(trainable)
    loss_fn = nn.CrossEntropyLoss()

    def loss_and_state(trainable, buffers, x, y):
        logits, new_params = model.apply(nn.merge(trainable, buffers), x, train=True)
        return loss_fn(logits, y), model.partition(new_params)[1]

    # Under jax.jit: one compilation instead of one per eager op, and the pattern must be jit-able anyway.
    train_step = jax.jit(tg.value_and_grad(loss_and_state, has_aux=True))
    for step in range(2):
        x, y = randn(6, 3, 8, 8, seed=step), np.arange(6) % 5
        (loss, buffers), grads = train_step(trainable, buffers, x, y)
        trainable, state = opt.step(trainable, grads, state)
        topt.zero_grad()
        tloss = tnn.CrossEntropyLoss()(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        topt.step()
        np.testing.assert_allclose(loss, tloss.item(), rtol=1e-5)
        got, want = nn.state_dict(nn.merge(trainable, buffers)), numpy_state(tmodel)
        assert list(got) == list(want)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6, err_msg=f"step {step}: {k}")
    assert int(buffers["1"]["num_batches_tracked"]) == 2
    tmodel.eval()
    x = randn(3, 3, 8, 8, seed=5)
    np.testing.assert_allclose(model(nn.merge(trainable, buffers), x, train=False), torch_run(tmodel, x),
                               rtol=1e-5, atol=1e-5)


def test_batchnorm_training_needs_apply_and_stops_gradients():
    model = bn_net(nn)
    params, x = model.init(0), randn(4, 3, 8, 8)
    with pytest.raises(RuntimeError, match="apply"):
        model(params, x)
    y, new = model.apply(params, x, train=True)
    assert y.shape == (4, 5) and int(new["1"]["num_batches_tracked"]) == 1
    assert int(params["1"]["num_batches_tracked"]) == 0  # inputs are never mutated
    stats_grad = tg.grad(lambda x: model.apply(params, x, train=True)[1]["1"]["running_mean"].sum())(x)
    np.testing.assert_array_equal(stats_grad, 0)
    # Evaluation needs no apply; apply in eval mode leaves the state unchanged.
    y_eval, same = model.apply(params, x, train=False)
    np.testing.assert_array_equal(y_eval, model(params, x, train=False))
    np.testing.assert_array_equal(same["1"]["running_var"], params["1"]["running_var"])


def test_batchnorm_layer_used_twice_updates_twice_and_jit():
    bn, tbn = nn.BatchNorm2d(2), tnn.BatchNorm2d(2)

    class Twice(nn.Module):
        def __init__(self):
            self.bn = bn

        def forward(self, params, x, *, train=True):
            return self.bn(params["bn"], self.bn(params["bn"], x, train=train) * 2.0, train=train)

    x = randn(3, 2, 4, 4)
    y, new = jax.jit(lambda p, x: Twice().apply(p, x, train=True))(Twice().init(0), x)
    ty = tbn(tbn(torch.from_numpy(x)) * 2.0)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    for k, v in numpy_state(tbn).items():
        np.testing.assert_allclose(new["bn"][k], v, rtol=1e-5, atol=1e-6, err_msg=k)


def test_batchnorm_without_running_stats_and_input_checks():
    torch.manual_seed(0)
    bn, tbn = nn.BatchNorm2d(3, affine=False, track_running_stats=False), tnn.BatchNorm2d(
        3, affine=False, track_running_stats=False)
    assert bn.init(0) == {} and repr(bn) == repr(tbn)
    x = randn(4, 3, 5, 5)
    tbn.eval()
    for train in (True, False):
        np.testing.assert_allclose(bn({}, x, train=train), torch_run(tbn, x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(nn.BatchNorm2d(3).init(0), x[0], train=False)


# --- params helpers, printing, immutability ----------------------------------------------------------


def test_load_state_dict_reports_every_offending_key():
    params = NeuralNetwork().init(0)
    sd = nn.state_dict(params)
    del sd["linear_relu_stack.0.bias"]
    sd["linear_relu_stack.2.weight"] = np.zeros((512, 511), np.float32)
    sd["extra.weight"] = np.zeros(3)
    with pytest.raises(ValueError) as err:
        nn.load_state_dict(params, sd)
    msg = str(err.value)
    assert "missing key 'linear_relu_stack.0.bias' (expected shape (512,))" in msg
    assert "unexpected key 'extra.weight' (shape (3,))" in msg
    assert "'linear_relu_stack.2.weight': expected (512, 512), got (512, 511)" in msg
    with pytest.raises(ValueError, match="shape mismatch"):
        nn.load_state_dict(params, sd, strict=False)
    # Nested params load too, cast to the existing dtype.
    half = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64) * 0.5, params)
    loaded = nn.load_state_dict(params, half)
    assert loaded["linear_relu_stack"]["0"]["weight"].dtype == jnp.float32
    np.testing.assert_allclose(loaded["linear_relu_stack"]["0"]["weight"],
                               params["linear_relu_stack"]["0"]["weight"] * 0.5)


def many_layers(lib):
    return [lib.ReLU(inplace=True), lib.GELU("tanh"), lib.Softmax(), lib.LogSoftmax(dim=0), lib.Dropout(0.2),
            lib.LayerNorm((4, 5), eps=1e-6, elementwise_affine=False), lib.Embedding(10, 3, padding_idx=0),
            lib.MaxPool2d(3, 1, 1), lib.AvgPool2d(2), lib.Linear(3, 4, bias=False), lib.Sequential(),
            lib.BatchNorm2d(8, momentum=None, bias=False), lib.CrossEntropyLoss(), lib.MSELoss(),
            lib.Identity(),
            lib.Conv2d(8, 8, (3, 5), stride=2, padding=1, dilation=2, groups=2, bias=False),
            lib.BatchNorm1d(3, eps=1e-3, affine=False), lib.NLLLoss(), lib.BCEWithLogitsLoss()]


def test_print_matches_torch_repr_with_parameter_count():
    model = NeuralNetwork()
    assert repr(model) == repr(TorchNeuralNetwork()).replace("TorchNeuralNetwork", "NeuralNetwork")
    printed = str(model).splitlines()
    assert printed[:3] == ["NeuralNetwork(", "  (flatten): Flatten(start_dim=1, end_dim=-1)",
                           "  (linear_relu_stack): Sequential("]
    assert printed[3] == "    (0): Linear(in_features=784, out_features=512, bias=True)"
    assert printed[-1] == "# 669,706 parameters"
    assert model.num_parameters() == sum(p.numel() for p in TorchNeuralNetwork().parameters())
    n_bn = sum(p.numel() for p in bn_net(tnn).parameters())
    assert str(bn_net(nn)).splitlines()[-1] == f"# {n_bn:,} parameters (+ 9 buffer elements)"
    assert repr(nn.Sequential(*many_layers(nn))) == repr(tnn.Sequential(*many_layers(tnn)))
    named = nn.Sequential(OrderedDict(conv=nn.Conv1d(3, 6, 5), act=nn.ReLU()))
    assert repr(named) == repr(tnn.Sequential(OrderedDict(conv=tnn.Conv1d(3, 6, 5), act=tnn.ReLU())))
    assert list(named.init(0)) == ["conv", "act"]


def test_modules_are_immutable_and_called_with_params():
    model = NeuralNetwork()
    with pytest.raises(AttributeError, match="immutable"):
        model.flatten = nn.Flatten()
    with pytest.raises(AttributeError, match="immutable"):
        nn.Linear(2, 3).in_features = 4

    class HoldsArray(nn.Module):
        def __init__(self):
            self.w = jnp.ones(3)

    with pytest.raises(TypeError, match="no arrays"):
        HoldsArray()
    with pytest.raises(TypeError, match=r"module\(params, x"):
        model(randn(1, 28, 28))


class Scale(nn.Module):
    """A custom module with an array of its own and a buffer."""

    buffer_names = ("calls",)

    def __init__(self, n):
        self.n = n
        self.inner = nn.Linear(n, n)

    def init_params(self, key):
        return {"scale": jax.random.uniform(key, (self.n,)), "calls": jnp.zeros((), jnp.int32)}

    def forward(self, params, x, *, train=True):
        if train:
            self.record_state(params, {"calls": self.current_state(params)["calls"] + 1})
        return self.inner(params["inner"], x) * params["scale"]


def test_custom_params_buffers_and_partition():
    model = nn.Sequential(Scale(3), Scale(3))
    params = model.init(0)
    assert list(nn.state_dict(params)) == ["0.scale", "0.calls", "0.inner.weight", "0.inner.bias",
                                            "1.scale", "1.calls", "1.inner.weight", "1.inner.bias"]
    assert [k for k, _ in model.named_buffers(params)] == ["0.calls", "1.calls"]
    assert model.num_parameters() == 2 * (3 + 9 + 3)
    _, new = model.apply(params, jnp.ones((2, 3)), train=True)
    assert int(new["0"]["calls"]) == int(new["1"]["calls"]) == 1
    trainable, buffers = model.partition(params)
    g = tg.grad(lambda t: model(nn.merge(t, buffers), jnp.ones((2, 3)), train=False).sum())(trainable)
    assert set(nn.state_dict(g)) == {k for k, _ in model.named_parameters(params)}


# --- losses ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{}, dict(reduction="sum"), dict(reduction="none"),
                                    dict(weight=[1.0, 2.0, 0.5, 1.0], ignore_index=1),
                                    dict(label_smoothing=0.1)])
def test_cross_entropy_loss_module_equals_torch(kwargs):
    logits, target = randn(7, 4), np.array([0, 1, 2, 3, 1, 0, 2])
    tkwargs = {k: torch.tensor(v, dtype=torch.float32) if k == "weight" else v for k, v in kwargs.items()}
    want = tnn.CrossEntropyLoss(**tkwargs)(torch.from_numpy(logits), torch.from_numpy(target)).numpy()
    np.testing.assert_allclose(nn.CrossEntropyLoss(**kwargs)(logits, target), want, rtol=1e-5, atol=1e-6)


def test_mse_loss_module_equals_torch():
    a, b = randn(5, 3), randn(5, 3, seed=1)
    for reduction in ("mean", "sum", "none"):
        want = tnn.MSELoss(reduction=reduction)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
        np.testing.assert_allclose(nn.MSELoss(reduction=reduction)(a, b), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


class Stack(nn.Module):
    def __init__(self, lib_list):
        self.layers = lib_list([nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4), nn.ReLU()])

    def forward(self, params, x):
        for i, layer in enumerate(self.layers):
            x = layer(params["layers"][str(i)], x)
        return x


class TorchStack(tnn.Module):
    def __init__(self):
        super().__init__()
        self.layers = tnn.ModuleList([tnn.Linear(4, 4), tnn.Linear(4, 4), tnn.Linear(4, 4), tnn.ReLU()])


def test_module_list_names_repr_and_plain_lists_rejected():
    model = Stack(nn.ModuleList)
    params = jax.jit(model.init)(0)  # init is jit-able, seed included
    assert [k for k, _ in nn.named_parameters(params)] == [k for k, _ in TorchStack().named_parameters()]
    assert repr(model) == repr(TorchStack()).replace("TorchStack", "Stack")
    assert model(params, jnp.ones((2, 4))).shape == (2, 4)
    with pytest.raises(TypeError, match="ModuleList"):
        Stack(list).init(0)
    assert str(nn.ReLU()) == "ReLU()"  # no parameter footer on a parameterless layer


def test_nll_and_bce_with_logits_loss_modules_equal_torch():
    logp = np.log(np.random.RandomState(0).dirichlet(np.ones(3), size=6)).astype(np.float32)
    target = np.array([0, 1, 2, 2, 1, 0])
    w = np.array([0.2, 1.0, 3.0], np.float32)
    want = tnn.NLLLoss(weight=torch.from_numpy(w), ignore_index=2)(
        torch.from_numpy(logp), torch.from_numpy(target))
    got = nn.NLLLoss(weight=w, ignore_index=2)(logp, target)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5)
    logits, labels = randn(4, 3), (randn(4, 3, seed=1) > 0).astype(np.float32)
    pos = np.array([1.0, 2.0, 0.5], np.float32)
    want = tnn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(pos), reduction="sum")(
        torch.from_numpy(logits), torch.from_numpy(labels))
    got = nn.BCEWithLogitsLoss(pos_weight=pos, reduction="sum")(logits, labels)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5)


def test_definition_order_survives_transforms_and_save_load(tmp_path):
    model = NeuralNetwork()
    params = model.init(0)
    names = [k for k, _ in nn.named_parameters(params)]
    grads = tg.grad(lambda p: model(p, randn(2, 1, 28, 28)).sum())(params)
    assert [k for k, _ in nn.named_parameters(grads)] == names  # JAX would sort a plain dict's keys
    jitted = jax.jit(lambda p: jax.tree_util.tree_map(lambda a: a * 2, p))(params)
    assert [k for k, _ in nn.named_parameters(jitted)] == names
    tg.save(tmp_path / "model.tg", params)
    restored = nn.load_state_dict(model.init(1), tg.load(tmp_path / "model.tg"))
    assert [k for k, _ in nn.named_parameters(restored)] == names
    np.testing.assert_array_equal(restored["linear_relu_stack"]["2"]["weight"],
                                  params["linear_relu_stack"]["2"]["weight"])


def to_plain(tree):
    return {k: to_plain(v) for k, v in tree.items()} if isinstance(tree, dict) else tree


def test_apply_keeps_plain_dicts_so_params_can_be_a_scan_carry():
    model = bn_net(nn)
    xs = np.stack([randn(4, 3, 8, 8, seed=s) for s in range(3)])
    step = lambda p, x: (model.apply(p, x, train=True)[1], None)
    final, _ = jax.lax.scan(step, to_plain(model.init(0)), xs)
    assert type(final) is dict and type(final["1"]) is dict
    assert int(final["1"]["num_batches_tracked"]) == 3
    ordered, _ = jax.lax.scan(step, model.init(0), xs)
    np.testing.assert_allclose(final["1"]["running_var"], ordered["1"]["running_var"], rtol=1e-6)
