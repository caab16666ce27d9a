"""Explicit running state (issue 12 §5): ``model.apply`` threads BatchNorm's buffers by params path.

Nothing is looked up by object identity, so copied params, aliased sub-dicts, ``jax.jit``,
``jax.vmap`` over independent models and ``tg.grad`` through ``apply`` all behave as the pure
function ``params, x -> (y, new_params)``, checked against torch.nn as the oracle.
"""
import copy
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad import nn
from tapegrad.nn import functional as F

torch = pytest.importorskip("torch", reason="torch is the numerical oracle for tapegrad.nn")
tnn = torch.nn

TOL = dict(rtol=1e-5, atol=1e-5)


def randn(*shape, seed=0):
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


def numpy_state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def assert_trees_close(got, want, **tol):
    got, want = nn.state_dict(got), nn.state_dict(want)
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], err_msg=k, **(tol or TOL))


# --- a model with BatchNorm at depths 1, 2 and 3, and its torch twin ---------------------------------


class Block(nn.Module):
    def __init__(self, c):
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, params, x, *, train=True):
        return F.relu(self.bn(params["bn"], self.conv(params["conv"], x), train=train)) + x


class Net(nn.Module):
    def __init__(self):
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))  # stem.1
        self.blocks = nn.Sequential(Block(4), Block(4))                   # blocks.0.bn, blocks.1.bn
        self.head_bn = nn.BatchNorm1d(4, momentum=None)                   # head_bn
        self.fc = nn.Linear(4, 5)

    def forward(self, params, x, *, train=True):
        x = self.stem(params["stem"], x, train=train)
        x = self.blocks(params["blocks"], x, train=train)
        x = self.head_bn(params["head_bn"], tnp.mean(x, axis=(2, 3)), train=train)
        return self.fc(params["fc"], x)


class TorchBlock(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv, self.bn = tnn.Conv2d(c, c, 3, padding=1), tnn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))) + x


class TorchNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.stem = tnn.Sequential(tnn.Conv2d(3, 4, 3), tnn.BatchNorm2d(4))
        self.blocks = tnn.Sequential(TorchBlock(4), TorchBlock(4))
        self.head_bn = tnn.BatchNorm1d(4, momentum=None)
        self.fc = tnn.Linear(4, 5)

    def forward(self, x):
        return self.fc(self.head_bn(self.blocks(self.stem(x)).mean(dim=(2, 3))))


BN_PATHS = ["stem.1", "blocks.0.bn", "blocks.1.bn", "head_bn"]


@pytest.fixture(scope="module")
def twins():
    torch.manual_seed(0)
    tmodel, model = TorchNet(), Net()
    return tmodel, model, nn.load_state_dict(model.init(0), numpy_state(tmodel))


def test_batchnorms_at_several_depths_update_like_torch(twins):
    tmodel, model, params = twins
    tmodel = copy.deepcopy(tmodel).train()
    assert [k.rsplit(".", 1)[0] for k, _ in model.named_buffers(params)][::3] == BN_PATHS
    for step in range(2):
        x = randn(6, 3, 8, 8, seed=step)
        y, params = model.apply(params, x, train=True)
        with torch.no_grad():
            np.testing.assert_allclose(y, tmodel(torch.from_numpy(x)).numpy(), **TOL)
        assert_trees_close(params, numpy_state(tmodel))
    for path in BN_PATHS:
        node = functools.reduce(lambda p, k: p[k], path.split("."), params)
        assert int(node["num_batches_tracked"]) == 2, path
    x = randn(3, 3, 8, 8, seed=9)
    with torch.no_grad():
        want = tmodel.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(params, x, train=False), want, **TOL)


def test_copied_params_give_the_same_result(twins, tmp_path):
    _, model, params = twins
    x = randn(6, 3, 8, 8, seed=1)
    y, new = model.apply(params, x, train=True)
    tg.save(tmp_path / "p.tg", params)
    copies = {"tree_map(jnp.copy)": jax.tree_util.tree_map(jnp.copy, params),
              "deepcopy": copy.deepcopy(params),
              "tg.load": tg.load(tmp_path / "p.tg"),
              "numpy leaves": jax.tree_util.tree_map(np.asarray, params)}
    for how, copied in copies.items():
        y2, new2 = model.apply(copied, x, train=True)
        np.testing.assert_array_equal(y2, y, err_msg=how)
        assert_trees_close(new2, new, rtol=0, atol=0)
        assert int(copied["stem"]["1"]["num_batches_tracked"]) == 0, how  # never mutated
    assert int(new["blocks"]["1"]["bn"]["num_batches_tracked"]) == 1


def test_apply_under_jit_matches_eager(twins):
    _, model, params = twins
    step = jax.jit(model.apply, static_argnames="train")
    eager = params
    for s in range(2):
        x = randn(6, 3, 8, 8, seed=s)
        y, params = step(params, x, train=True)
        y_eager, eager = model.apply(eager, x, train=True)
        np.testing.assert_allclose(y, y_eager, **TOL)
        assert_trees_close(params, eager)
    assert list(nn.state_dict(params)) == list(nn.state_dict(eager))  # definition order kept
    y_eval, same = step(params, x, train=False)
    np.testing.assert_allclose(y_eval, model(eager, x, train=False), **TOL)
    assert_trees_close(same, params, rtol=0, atol=0)


def test_apply_under_vmap_over_independent_models():
    model = Net()
    models = [model.init(seed) for seed in range(3)]
    stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *models)
    xs = np.stack([randn(4, 3, 8, 8, seed=s) for s in range(3)])
    ys, news = jax.vmap(functools.partial(model.apply, train=True))(stacked, xs)
    assert ys.shape == (3, 4, 5)
    for i, params in enumerate(models):
        y, new = model.apply(params, xs[i], train=True)
        np.testing.assert_allclose(ys[i], y, **TOL)
        assert_trees_close(jax.tree_util.tree_map(lambda a, i=i: a[i], news), new)
    # Each model kept its own statistics: the three running means differ.
    means = news["blocks"]["0"]["bn"]["running_mean"]
    assert not np.allclose(means[0], means[1]) and not np.allclose(means[1], means[2])


def test_grad_through_apply_matches_torch(twins):
    tmodel, model, params = twins
    tmodel = copy.deepcopy(tmodel).train()
    x, labels = randn(6, 3, 8, 8, seed=3), np.arange(6) % 5
    trainable, buffers = model.partition(params)

    def loss_fn(trainable, buffers):
        logits, new = model.apply(nn.merge(trainable, buffers), x, train=True)
        return F.cross_entropy(logits, labels), model.partition(new)[1]

    (loss, new_buffers), grads = tg.value_and_grad(loss_fn, has_aux=True)(trainable, buffers)
    tloss = tnn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(labels))
    tloss.backward()
    np.testing.assert_allclose(loss, tloss.item(), rtol=1e-5)
    want = {k: p.grad.numpy() for k, p in tmodel.named_parameters()}
    got = nn.state_dict(grads)
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert_trees_close(new_buffers, {k: v for k, v in numpy_state(tmodel).items() if k in nn.state_dict(buffers)})


# --- sharing, calling twice -------------------------------------------------------------------------


class TwoBN(nn.Module):
    def __init__(self, bn_a, bn_b):
        self.a, self.b = bn_a, bn_b

    def forward(self, params, x, *, train=True):
        return self.a(params["a"], x, train=train) + self.b(params["b"], x * 3.0 + 1.0, train=train)


def test_two_batchnorms_share_nothing_even_when_their_params_are_one_object():
    model = TwoBN(nn.BatchNorm1d(3), nn.BatchNorm1d(3))
    x = randn(8, 3)
    expected = model.apply(model.init(0), x)[1]
    aliased = model.init(0)
    aliased["b"] = aliased["a"]  # one dict object at two paths: still two layers' state
    _, new = model.apply(aliased, x)
    assert_trees_close(new, expected, rtol=0, atol=0)
    assert int(new["a"]["num_batches_tracked"]) == int(new["b"]["num_batches_tracked"]) == 1
    assert not np.allclose(new["a"]["running_mean"], new["b"]["running_mean"])
    # One module instance at two places has two params entries, each with its own state.
    bn = nn.BatchNorm1d(3)
    same = TwoBN(bn, bn)
    _, new_same = same.apply(same.init(0), x)
    assert_trees_close(new_same, expected, rtol=0, atol=0)
    seq = nn.Sequential(bn, nn.Linear(3, 3), bn)
    _, new_seq = seq.apply(seq.init(0), x)
    assert int(new_seq["0"]["num_batches_tracked"]) == int(new_seq["2"]["num_batches_tracked"]) == 1


class CallsTwice(nn.Module):
    """Calls one child twice on one params entry: the second call starts from the first's update."""

    def __init__(self, second_train):
        self.bn = nn.BatchNorm2d(2)
        self.second_train = second_train

    def forward(self, params, x, *, train=True):
        y = self.bn(params["bn"], x, train=train)
        return self.bn(params["bn"], y * 2.0, train=self.second_train)


@pytest.mark.parametrize("second_train", [True, False])
def test_a_child_called_twice_updates_like_two_torch_calls(second_train):
    x = randn(3, 2, 4, 4)
    model = CallsTwice(second_train)
    for run in (model.apply, jax.jit(model.apply)):
        y, new = run(model.init(0), x)
        tbn = tnn.BatchNorm2d(2)  # weight ones, bias zeros, statistics 0 and 1: as model.init
        with torch.no_grad():
            ty = tbn.train()(torch.from_numpy(x))
            ty = tbn.train(second_train)(ty * 2.0)  # eval mode uses the statistics just updated
        np.testing.assert_allclose(y, ty.numpy(), **TOL)
        assert_trees_close(new["bn"], numpy_state(tbn))
        assert int(new["bn"]["num_batches_tracked"]) == (2 if second_train else 1)


# --- the params view and the errors ---------------------------------------------------------------


def test_forward_sees_a_params_view_that_reads_like_the_dict():
    seen = {}

    class Probe(nn.Module):
        def __init__(self):
            self.body = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))

        def forward(self, params, x, *, train=True):
            body = params["body"]
            seen.update(kind=type(params).__name__, path=body["1"].path, keys=list(dict(body)),
                        has="1" in body and "9" not in body, leaf=type(body["0"]["weight"]))
            with pytest.raises(TypeError):
                body["0"] = {}  # read-only: the tree passed to the model is never changed
            halved = jax.tree_util.tree_map(lambda a: a / 2, body["0"])  # a pytree, giving a plain dict
            seen["tree_map"] = type(halved).__name__
            paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(body["0"])[0]]
            seen["keystr"] = paths
            # Rebuilding a container's dict is fine: its entries are still views with their paths.
            return self.body({**body}, x, train=train)

    model = Probe()
    _, new = model.apply(model.init(0), randn(5, 3))
    assert seen == {"kind": "ParamsView", "path": ("body", "1"), "keys": ["0", "1"], "has": True,
                    "leaf": type(model.init(0)["body"]["0"]["weight"]), "tree_map": "OrderedDict",
                    "keystr": ["['weight']", "['bias']"]}
    assert int(new["body"]["1"]["num_batches_tracked"]) == 1


def test_state_errors_name_the_layer_and_the_fix(twins):
    _, model, params = twins
    x = randn(2, 3, 8, 8)
    with pytest.raises(RuntimeError, match=r"BatchNorm2d\(4.*\(at 'stem\.1'\).*model\.apply"):
        model(params, x, train=True)  # training mode outside apply: the new statistics would be lost

    class Rebuilds(nn.Module):
        def __init__(self):
            self.bn = nn.BatchNorm1d(3)

        def forward(self, params, x):
            return self.bn({**params["bn"]}, x)  # a new dict for the stateful layer itself

    with pytest.raises(RuntimeError, match="rebuilt in forward"):
        Rebuilds().apply(Rebuilds().init(0), randn(4, 3))
    with pytest.raises(RuntimeError, match="given a plain dict"):
        nn.BatchNorm1d(3).record_state(nn.BatchNorm1d(3).init(0), {})

    class Keeps(nn.Module):
        def __init__(self):
            self.bn = nn.BatchNorm1d(3)

        def forward(self, params, x):
            kept.append(params["bn"])
            return self.bn(params["bn"], x)

    kept = []
    Keeps().apply(Keeps().init(0), randn(4, 3))
    with pytest.raises(RuntimeError, match=r"\(at 'bn'\).*not running under Module.apply"):
        nn.BatchNorm1d(3)(kept[0], randn(4, 3))  # that apply has returned: nowhere to put an update

    class Bad(nn.Module):
        buffer_names = ("count",)

        def __init__(self, new):
            self.new = new

        def init_params(self, key):
            return {"w": jnp.ones(2), "count": jnp.zeros((), jnp.int32)}

        def forward(self, params, x):
            self.record_state(params, self.new)
            return x

    for new, message in [({"w": jnp.zeros(2)}, r"'w' is not a buffer of this module \(buffer_names = \('count',\)\)"),
                         ({"count": jnp.zeros(2, jnp.int32)}, r"is int32 of shape \(\), got int32 of shape \(2,\)"),
                         ({"count": jnp.zeros((), jnp.float32)}, r"is int32 of shape \(\), got float32"),
                         ([("count", 1)], "expected a dict of buffer name")]:
        bad = nn.Sequential(Bad(new))
        with pytest.raises((ValueError, TypeError), match=message) as info:
            bad.apply(bad.init(0), 1.0)
        assert "Bad.record_state" in str(info.value)
    ok = nn.Sequential(Bad({"count": jnp.ones((), jnp.int32)}))
    assert int(ok.apply(ok.init(0), 1.0)[1]["0"]["count"]) == 1
