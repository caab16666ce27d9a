# ruff: noqa: B023, E501  (the loops call their lambdas at once; the module table reads best one pair per entry)
"""PyTorch's activations (nn.functional + modules) against torch, and jax.nn's names against jax.nn:
values, first and second derivatives in float64, on inputs that straddle every kink."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.numpy as tnp
from tapegrad.nn import functional as F
from tapegrad.testing import assert_vjp

KINKS = (0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 2.5)


def _points(shape, seed=0, scale=4.5):
    """Values in [-scale, scale], none within 1e-2 of a kink (finite differences stay on one side)."""
    x = np.random.default_rng(seed).uniform(-scale, scale, size=shape)
    for k in KINKS:
        near = np.abs(x - k) < 1e-2
        x[near] = k + np.where(x[near] >= k, 2e-2, -2e-2)
    return x


# name: (tapegrad F function, torch function, jax reference or None)
TORCH = {
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: torch.nn.functional.leaky_relu(x, 0.2),
                   lambda x: jax.nn.leaky_relu(x, 0.2)),
    "elu": (lambda x: F.elu(x, 1.3), lambda x: torch.nn.functional.elu(x, 1.3), lambda x: jax.nn.elu(x, 1.3)),
    "selu": (F.selu, torch.nn.functional.selu, jax.nn.selu),
    "celu": (lambda x: F.celu(x, 0.5), lambda x: torch.nn.functional.celu(x, 0.5), lambda x: jax.nn.celu(x, 0.5)),
    "silu": (F.silu, torch.nn.functional.silu, jax.nn.silu),
    "softplus": (lambda x: F.softplus(x, 2.0, 5.0), lambda x: torch.nn.functional.softplus(x, 2.0, 5.0), None),
    "mish": (F.mish, torch.nn.functional.mish, jax.nn.mish),
    "hardtanh": (lambda x: F.hardtanh(x, -1.0, 2.5), lambda x: torch.nn.functional.hardtanh(x, -1.0, 2.5), None),
    "relu6": (F.relu6, torch.nn.functional.relu6, jax.nn.relu6),
    "hardsigmoid": (F.hardsigmoid, torch.nn.functional.hardsigmoid, jax.nn.hard_sigmoid),
    "hardswish": (F.hardswish, torch.nn.functional.hardswish, jax.nn.hard_swish),
    "logsigmoid": (F.logsigmoid, torch.nn.functional.logsigmoid, jax.nn.log_sigmoid),
    "softsign": (F.softsign, torch.nn.functional.softsign, jax.nn.soft_sign),
    "tanhshrink": (F.tanhshrink, torch.nn.functional.tanhshrink, lambda x: x - jnp.tanh(x)),
    "glu": (lambda x: F.glu(x, 0), lambda x: torch.nn.functional.glu(x, 0), lambda x: jax.nn.glu(x, 0)),
    "threshold": (lambda x: F.threshold(x, 1.0, -2.0), lambda x: torch.nn.functional.threshold(x, 1.0, -2.0),
                  None),
}


def _torch_derivatives(fn, x, u, w):
    """``f(x)``, ``J^T u`` and the derivative of ``<J^T u, w>`` (second order), by torch autograd."""
    t = torch.tensor(x, requires_grad=True)
    out = fn(t)
    (g,) = torch.autograd.grad(out, t, torch.tensor(u), create_graph=True)
    try:
        (h,) = torch.autograd.grad(g, t, torch.tensor(w), allow_unused=True)
    except RuntimeError:  # torch has no second derivative of hardsigmoid/hardswish: their own is 0 there
        h = None
    h = torch.zeros_like(t) if h is None else h
    return out.detach().numpy(), g.detach().numpy(), h.numpy()


def _tg_derivatives(fn, x, u, w):
    out, vjp = tg.vjp(fn, jnp.asarray(x))
    (g,) = vjp(jnp.asarray(u))
    h = tg.grad(lambda y: tnp.sum(tg.vjp(fn, y)[1](jnp.asarray(u))[0] * jnp.asarray(w)))(jnp.asarray(x))
    return np.asarray(out), np.asarray(g), np.asarray(h)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_torch_activation_matches_torch_to_second_order(name):
    fn, tfn, ref = TORCH[name]
    x = _points((4, 6), seed=len(name))
    out_shape = np.asarray(tfn(torch.tensor(x))).shape
    rng = np.random.default_rng(1)
    u, w = rng.normal(size=out_shape), rng.normal(size=x.shape)
    for got, want in zip(_tg_derivatives(fn, x, u, w), _torch_derivatives(tfn, x, u, w), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)  # torch keeps 1/6, 1/alpha in float32
    assert_vjp(fn, (jnp.asarray(x),), order=2, reference=ref)


@settings(max_examples=6, deadline=None)
@given(shape=st.sampled_from([(3, 2), (5,), (2, 1, 4), (), (0, 2)]), seed=st.integers(0, 2**16),
       dtype=st.sampled_from(["float64", "float32"]))
def test_torch_activations_on_drawn_shapes(shape, seed, dtype):
    x = _points(shape, seed).astype(dtype)
    for name, (fn, tfn, _) in TORCH.items():
        if name == "glu" and (not shape or shape[0] % 2):
            continue
        got = np.asarray(tg.grad(lambda y: tnp.sum(fn(y) ** 2))(jnp.asarray(x)))
        t = torch.tensor(x, requires_grad=True)
        (tfn(t) ** 2).sum().backward()
        tol = 1e-7 if dtype == "float64" else 1e-4
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=tol, atol=tol, err_msg=name)
        assert got.dtype == x.dtype


def test_gradients_at_the_kinks_are_torchs():
    x = np.array([-3.0, -1.0, 0.0, 1.0, 2.5, 3.0, 6.0])
    for name, (fn, tfn, _) in TORCH.items():
        if name == "glu":
            continue
        t = torch.tensor(x, requires_grad=True)
        tfn(t).sum().backward()
        got = tg.grad(lambda y: tnp.sum(fn(y)))(jnp.asarray(x))
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-7, atol=1e-9, err_msg=name)


def test_no_nan_gradient_from_the_unused_exponential_branch():
    x = jnp.array([800.0, -800.0, 50.0])
    for fn in (F.elu, F.celu, F.selu, F.softplus, F.mish, F.silu):
        assert np.all(np.isfinite(tg.grad(lambda y: tnp.sum(fn(y)))(x)))


def test_prelu_matches_torch_per_channel():
    x = _points((2, 3, 4), seed=3)
    m = torch.nn.PReLU(3)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([0.1, -0.2, 0.3]))
    m = m.double()
    t = torch.tensor(x, requires_grad=True)
    (m(t) ** 2).sum().backward()
    model = nn.PReLU(3)
    params = {"weight": jnp.asarray(m.weight.detach().numpy())}
    gp, gx = tg.grad(lambda p, y: tnp.sum(model(p, y) ** 2), argnums=(0, 1))(params, jnp.asarray(x))
    np.testing.assert_allclose(gx, t.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gp["weight"], m.weight.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"prelu: weight has 2 entries.*shape \(2, 3, 4\).*3 channels"):
        F.prelu(jnp.asarray(x), jnp.ones(2))


MODULES = [
    (nn.LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)), (nn.ELU(0.5), torch.nn.ELU(0.5)), (nn.SELU(), torch.nn.SELU()),
    (nn.CELU(2.0), torch.nn.CELU(2.0)), (nn.SiLU(), torch.nn.SiLU()), (nn.Softplus(0.5, 3.0), torch.nn.Softplus(0.5, 3.0)),
    (nn.Mish(), torch.nn.Mish()), (nn.Hardtanh(-2.0, 2.0), torch.nn.Hardtanh(-2.0, 2.0)), (nn.ReLU6(), torch.nn.ReLU6()),
    (nn.Hardsigmoid(), torch.nn.Hardsigmoid()), (nn.Hardswish(), torch.nn.Hardswish()),
    (nn.LogSigmoid(), torch.nn.LogSigmoid()), (nn.Softsign(), torch.nn.Softsign()),
    (nn.Tanhshrink(), torch.nn.Tanhshrink()), (nn.GLU(1), torch.nn.GLU(1)),
    (nn.Threshold(0.5, 7.0), torch.nn.Threshold(0.5, 7.0)),
]


def test_modules_match_torch_modules():
    x = _points((3, 4), seed=5)
    for ours, theirs in MODULES:
        np.testing.assert_allclose(ours(ours.init(0), jnp.asarray(x)), theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-12, atol=1e-12, err_msg=repr(ours))
    assert repr(nn.LeakyReLU(0.3)) == "LeakyReLU(negative_slope=0.3)"
    with pytest.raises(TypeError, match="LeakyReLU"):
        nn.LeakyReLU(slope=0.3)
    with pytest.raises(ValueError, match="inplace"):
        F.elu(jnp.ones(2), inplace=True)


# ---- jax.nn's names ------------------------------------------------------------------------

JAX_NN = ["relu", "relu6", "sigmoid", "log_sigmoid", "softplus", "silu", "swish", "elu", "celu", "selu",
          "leaky_relu", "hard_tanh", "hard_sigmoid", "hard_silu", "hard_swish", "mish", "soft_sign",
          "squareplus", "glu"]


@pytest.mark.parametrize("name", JAX_NN)
def test_jax_nn_function_matches_jax_nn(name):
    x = jnp.asarray(_points((2, 4), seed=len(name)))
    assert_vjp(getattr(nn, name), (x,), order=2, reference=getattr(jax.nn, name))


@pytest.mark.parametrize("approximate", [True, False])
def test_jax_nn_gelu(approximate):
    x = jnp.asarray(_points((2, 3), seed=7))
    assert_vjp(lambda v: nn.gelu(v, approximate), (x,), order=2, reference=lambda v: jax.nn.gelu(v, approximate))


def test_jax_nn_softmax_family_with_axes_and_where():
    x = jnp.asarray(_points((2, 3, 4), seed=8))
    where = jnp.asarray(np.random.default_rng(0).uniform(size=(2, 3, 4)) > 0.3)
    for axis in (-1, 0, (1, 2)):
        assert_vjp(lambda v: nn.softmax(v, axis), (x,), order=2, reference=lambda v: jax.nn.softmax(v, axis))
        assert_vjp(lambda v: nn.log_softmax(v, axis), (x,), order=2,
                   reference=lambda v: jax.nn.log_softmax(v, axis))
    np.testing.assert_allclose(nn.softmax(x, where=where), jax.nn.softmax(x, where=where), rtol=1e-12)
    got = nn.log_softmax(x, where=where)
    want = jax.nn.log_softmax(x, where=where)
    np.testing.assert_allclose(np.where(where, got, 0), np.where(where, want, 0), rtol=1e-12)
    g = tg.grad(lambda v: tnp.sum(tnp.where(where, nn.softmax(v, where=where), 0.0) ** 2))(x)
    want = jax.grad(lambda v: jnp.sum(jnp.where(where, jax.nn.softmax(v, where=where), 0.0) ** 2))(x)
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)
    assert_vjp(lambda v: nn.logsumexp(v, axis=1), (x,), order=2, reference=lambda v: jax.nn.logsumexp(v, axis=1))


def test_jax_nn_standardize_and_one_hot():
    x = jnp.asarray(_points((3, 5), seed=9))
    assert_vjp(nn.standardize, (x,), order=2, reference=jax.nn.standardize)
    assert_vjp(lambda v: nn.standardize(v, axis=0, epsilon=1e-3), (x,), order=2,
               reference=lambda v: jax.nn.standardize(v, axis=0, epsilon=1e-3))
    labels = jnp.array([[0, 2], [1, 5]])
    for axis in (-1, 0, 1):
        got, want = nn.one_hot(labels, 4, axis=axis), jax.nn.one_hot(labels, 4, axis=axis)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert nn.one_hot(labels, 3, dtype=jnp.int32).dtype == jnp.int32


@pytest.mark.parametrize("case", ["plain", "gqa_mask_bias", "causal_window", "seq_lengths", "unbatched"])
def test_jax_nn_dot_product_attention(case):
    rng = np.random.default_rng(10)
    B, T, S, N, K, H = 2, 3, 4, 4, 2, 5
    q = jnp.asarray(rng.normal(size=(B, T, N, H)))
    k, v = (jnp.asarray(rng.normal(size=(B, S, K if case == "gqa_mask_bias" else N, H))) for _ in range(2))
    kw = {}
    if case == "gqa_mask_bias":
        kw = {"bias": jnp.asarray(rng.normal(size=(1, N, T, S))),
              "mask": jnp.asarray(rng.uniform(size=(B, 1, T, S)) > 0.3), "scale": 0.7}
    elif case == "causal_window":
        k, v = k[:, :T], v[:, :T]
        kw = {"is_causal": True, "local_window_size": (1, 0)}
    elif case == "seq_lengths":
        kw = {"query_seq_lengths": jnp.array([3, 2], jnp.int32), "key_value_seq_lengths": jnp.array([2, 4], jnp.int32)}
    elif case == "unbatched":
        q, k, v = q[0], k[0], v[0]

    def ours(q, k, v):
        return nn.dot_product_attention(q, k, v, **kw)

    def ref(q, k, v):
        return jax.nn.dot_product_attention(q, k, v, **kw)

    # jax.nn runs the softmax in float32 even for float64 inputs: values agree to float32 rounding, and the
    # derivatives are checked against float64 finite differences (and forward against reverse mode).
    np.testing.assert_allclose(ours(q, k, v), ref(q, k, v), rtol=1e-5, atol=1e-6)
    assert_vjp(ours, (q, k, v), order=2 if case == "plain" else 1)
    with pytest.raises(ValueError, match=r"dot_product_attention: .*N a multiple of K"):
        nn.dot_product_attention(q, q[..., :3], q)


def test_jax_nn_identity_tanh_sparse_log1mexp_logmeanexp():
    # jax.nn's later additions (issue 13 §3), against jax.nn to order 2; JAX's gradients at the kinks
    x = jnp.asarray(_points((2, 4), seed=31))
    names = ["identity", "tanh", "sparse_plus", "sparse_sigmoid"]
    assert_vjp(lambda v: [getattr(nn, n)(v) for n in names], (x,), order=2,
               reference=lambda v: [getattr(jax.nn, n)(v) for n in names])
    for name in ["sparse_plus", "sparse_sigmoid"]:
        for edge in (-1.0, 1.0):
            assert float(tg.grad(getattr(nn, name))(edge)) == float(jax.grad(getattr(jax.nn, name))(edge))
    # log1mexp on both sides of its branch point log 2, and far out
    p = jnp.asarray([1e-3, 0.3, 0.69, 0.7, 2.0, 30.0])
    assert_vjp(nn.log1mexp, (p,), order=2, reference=jax.nn.log1mexp)
    where = x > -2.0
    assert_vjp(lambda v: nn.logmeanexp(v, axis=1, where=where), (x,), order=2,
               reference=lambda v: jax.nn.logmeanexp(v, axis=1, where=where))
    cases = [{}, {"axis": 0, "keepdims": True}, {"axis": (0, 1), "where": where}]
    for kw in cases:
        np.testing.assert_allclose(nn.logmeanexp(x, **kw), jax.nn.logmeanexp(x, **kw), rtol=1e-12)
