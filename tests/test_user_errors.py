"""Errors as users meet them (issue 11, section 6): a wrong params tree and a nested-list cotangent.

Each message names what was expected and what was given, in the user's terms (paths like
``2.weight``, shapes, "pass an array"), not JAX's internals (a bare ``KeyError``, ``PyTreeDef``).
"""
import re

import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn

X = jnp.ones((2, 4))


def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 10))


def _error(model, params, x=X):
    with pytest.raises(KeyError) as info:
        model(params, x)
    return str(info.value)


@pytest.mark.parametrize("leaf, present, shape", [("weight", "bias", "(10, 8)"), ("bias", "weight", "(10,)")])
def test_missing_leaf_names_its_path_expected_and_given(leaf, present, shape):
    model = _mlp()
    params = model.init(0)
    del params["2"][leaf]
    message = _error(model, params)
    assert message.startswith("Sequential: the params tree does not match the model")
    assert f"'2.{leaf}' is missing: expected a float32 array of shape {shape}" in message
    assert f"params['2'] holds ['{present}']" in message
    assert "model.init(key)" in message
    assert "PyTreeDef" not in message and not re.fullmatch(r"'\w+'", message)


def test_missing_bias_is_an_error_not_a_silently_different_output():
    # Linear reads its bias with .get: without the check it would compute x @ W.T and return it.
    layer = nn.Linear(4, 3)
    params = layer.init(0)
    del params["bias"]
    assert "'bias' is missing" in _error(layer, params)


def test_missing_child_and_nested_paths():
    model = _mlp()
    params = model.init(0)
    del params["2"]
    message = _error(model, params)
    assert "'2' is missing: expected the params of Linear(in_features=8, out_features=10, bias=True)" in message
    assert "params holds ['0', '1']" in message

    class Net(nn.Module):
        def __init__(self):
            self.body = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 4)))
            self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])

        def forward(self, params, x):
            x = self.body(params["body"], x)
            for i, layer in enumerate(self.layers):
                x = layer(params["layers"][str(i)], x)
            return x

    net = Net()
    params = net.init(0)
    del params["body"]["1"]["0"]["weight"]
    assert "'body.1.0.weight' is missing: expected a float32 array of shape (4, 4); " \
           "params['body']['1']['0'] holds ['bias']" in _error(net, params)
    params = net.init(0)
    del params["layers"]["1"]  # looked up by the custom forward itself: found after the KeyError
    message = _error(net, params)
    assert message.startswith("Net:") and "'layers.1' is missing: expected a dict of ['weight', 'bias']" in message
    assert "params['layers'] holds ['0']" in message


def test_params_errors_under_transforms_and_apply():
    model = _mlp()
    params = model.init(0)
    del params["0"]["weight"]
    with pytest.raises(KeyError, match="'0.weight' is missing"):
        tg.grad(lambda p: model(p, X).sum())(params)
    with pytest.raises(KeyError, match="'0.weight' is missing"):
        model.apply(params, X)


def test_unrelated_key_errors_pass_through_unchanged():
    class Lookup(nn.Module):
        def forward(self, params, x):
            return {"a": x}["b"]

    with pytest.raises(KeyError) as info:
        Lookup()({}, X)
    assert type(info.value) is KeyError and info.value.args == ("b",)
    model = _mlp()  # and a correct tree still runs, with or without extra entries
    assert model(model.init(0), X).shape == (2, 10)


def test_nested_list_cotangent_says_pass_an_array():
    _, vjp_fn = tg.vjp(lambda x: x * 2, jnp.ones((2, 2), jnp.float32))
    with pytest.raises(ValueError) as info:
        vjp_fn([[1.0, 1.0], [1.0, 1.0]])
    message = str(info.value)
    assert "nested Python list" in message and "pass an array" in message
    assert "shape (2, 2) and dtype float32" in message and "PyTreeDef" not in message
    np.testing.assert_array_equal(vjp_fn(jnp.asarray([[1.0, 1.0], [1.0, 1.0]], jnp.float32))[0], 2 * np.ones((2, 2)))


def test_cotangent_of_another_structure_shows_both_in_user_terms():
    _, vjp_fn = tg.vjp(lambda x: (x * 2, x.sum()), jnp.ones(3, jnp.float32))
    with pytest.raises(ValueError) as info:
        vjp_fn(([1.0, 2.0, 3.0], 1.0))
    assert "nested Python list where the output has an array of shape (3,)" in str(info.value)
    with pytest.raises(ValueError) as info:
        vjp_fn(jnp.ones(3, jnp.float32))
    message = str(info.value)
    assert "structure of the output, (float32[3], float32[])" in message and "got float32[3]" in message
    assert "PyTreeDef" not in message
    with pytest.raises(TypeError, match=r"not an array; pass an array .*shape \(3,\), dtype float32"):
        vjp_fn(("abc", 1.0))
