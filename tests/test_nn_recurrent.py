"""nn.RNN / nn.LSTM / nn.GRU and their cells against torch in float64: outputs, input and parameter gradients."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.nn import recurrent as R
from tapegrad.nn.module import load_state_dict

I, H, T, B = 3, 4, 5, 2

CONFIGS = [
    dict(),
    dict(num_layers=2, bidirectional=True),
    dict(batch_first=True, bias=False),
    dict(num_layers=2, batch_first=True),
]


def _pair(name, kw, seed=0):
    torch.manual_seed(seed)
    tm = getattr(torch.nn, name)(I, H, **kw).double()
    m = getattr(R, name)(I, H, **kw, dtype="float64")
    p = load_state_dict(m.init(0), {k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, m, p


def _flat_out(name, res):
    out, st = res
    return [out, *st] if name == "LSTM" else [out, st]


def _compare(name, kw, x, hx=None):
    tm, m, p = _pair(name, kw)
    assert [k for k, _ in tm.named_parameters()] == list(p)  # names and order as PyTorch's
    xt = torch.tensor(x, requires_grad=True)
    hxt = None
    if hx is not None:
        hxt = tuple(torch.tensor(h, requires_grad=True) for h in hx) if name == "LSTM" else \
            torch.tensor(hx, requires_grad=True)
    touts = _flat_out(name, tm(xt, hxt))
    rng = np.random.default_rng(1)
    cts = [rng.standard_normal(tuple(o.shape)) for o in touts]
    loss_t = sum((o * torch.tensor(c)).sum() for o, c in zip(touts, cts))
    tparams = dict(tm.named_parameters())
    leaves = [xt, *tparams.values()] + (list(hxt) if isinstance(hxt, tuple) else [hxt] if hxt is not None else [])
    tgrads = torch.autograd.grad(loss_t, leaves)

    def loss(x, p, hx):
        return sum(tnp.sum(o * c) for o, c in zip(_flat_out(name, m(p, x, hx)), cts))

    outs = _flat_out(name, m(p, x, hx))
    for o, t in zip(outs, touts):
        np.testing.assert_allclose(np.asarray(o), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    gx, gp, gh = tg.grad(loss, argnums=(0, 1, 2))(x, p, hx) if hx is not None else \
        (*tg.grad(loss, argnums=(0, 1))(x, p, None), None)
    ours = [gx, *gp.values()] + (list(gh) if isinstance(gh, tuple) else [gh] if gh is not None else [])
    names = ["x", *tparams] + ["hx"] * (len(ours) - 1 - len(tparams))
    for n, a, b in zip(names, ours, tgrads):
        np.testing.assert_allclose(np.asarray(a), b.numpy(), rtol=1e-9, atol=1e-11, err_msg=f"{name} {kw} d/d{n}")


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", CONFIGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_against_torch(name, kw):
    rng = np.random.default_rng(0)
    shape = (B, T, I) if kw.get("batch_first") else (T, B, I)
    _compare(name, kw, rng.standard_normal(shape))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_hx_given_and_unbatched(name):
    rng = np.random.default_rng(2)
    kw = dict(bidirectional=True)  # two layers bidirectional are covered above; here the state paths
    hshape = (2, B, H)
    hx = (rng.standard_normal(hshape), rng.standard_normal(hshape)) if name == "LSTM" else rng.standard_normal(hshape)
    _compare(name, kw, rng.standard_normal((T, B, I)), hx)
    hx1 = tuple(h[:, 0] for h in hx) if name == "LSTM" else hx[:, 0]
    _compare(name, dict(batch_first=True, **kw), rng.standard_normal((T, I)), hx1)  # 2-D: batch_first ignored


def test_rnn_relu_and_lstm_proj():
    rng = np.random.default_rng(3)
    _compare("RNN", dict(nonlinearity="relu", num_layers=2), rng.standard_normal((T, B, I)))
    _compare("LSTM", dict(proj_size=2, bidirectional=True), rng.standard_normal((T, B, I)))


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_against_torch(name):
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(I, H).double()
    m = getattr(R, name)(I, H, dtype="float64")
    p = load_state_dict(m.init(0), {k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    for x in (rng.standard_normal((B, I)), rng.standard_normal(I)):
        h = rng.standard_normal(x.shape[:-1] + (H,))
        hx = (h, 2 * h) if name == "LSTMCell" else h
        thx = tuple(torch.tensor(v) for v in hx) if name == "LSTMCell" else torch.tensor(hx)
        xt = torch.tensor(x, requires_grad=True)
        tout = tm(xt, thx)
        tout = tout if name == "LSTMCell" else (tout,)
        out = m(p, x, hx)
        out = out if name == "LSTMCell" else (out,)
        for a, b in zip(out, tout):
            np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=1e-12)
        (gt,) = torch.autograd.grad(sum(o.sum() for o in tout), [xt])
        def f(x, hx=hx):
            out = m(p, x, hx)
            return sum(tnp.sum(o) for o in (out if name == "LSTMCell" else (out,)))
        g = tg.grad(f)(x)
        np.testing.assert_allclose(np.asarray(g), gt.numpy(), rtol=1e-10)


def test_param_shapes_and_init_range():
    m = R.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=2)
    tm = torch.nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=2)
    p = m.init(0)
    assert {k: tuple(v.shape) for k, v in p.items()} == {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    assert all(v.dtype == jnp.float32 for v in p.values())
    k = 1 / np.sqrt(8)
    assert all(float(jnp.max(jnp.abs(v))) <= k for v in p.values())
    assert float(jnp.std(p["weight_ih_l0"])) > 0.5 * k / np.sqrt(3)  # genuinely spread over U(-k, k)
    assert repr(m) == repr(tm)


def test_one_scan_per_layer_and_direction():
    m = R.GRU(I, H, num_layers=2, bidirectional=True, dtype="float64")
    p = m.init(0)
    x = np.ones((T, B, I))
    jaxpr = jax.make_jaxpr(lambda p, x: tg.grad(lambda p: tnp.sum(m(p, x)[0]))(p))(p, x)
    text = str(jaxpr)
    assert text.count("scan[") >= 4  # 4 forward loops, plus the reverse sweeps; never one entry per step
    assert "scan[" in text and len(jaxpr.jaxpr.eqns) < 400


def test_jit_training_step_with_dropout():
    m = R.LSTM(I, H, num_layers=2, dropout=0.5, dtype="float64")
    p = m.init(0)
    x = np.random.default_rng(0).standard_normal((T, B, I))

    @jax.jit
    def step(p, x, key):
        loss = lambda p: tnp.mean(m(p, x, key=key)[0] ** 2)  # noqa: E731
        l, g = tg.value_and_grad(loss)(p)
        return l, jax.tree.map(lambda a, b: a - 0.1 * b, p, g)

    l0, p1 = step(p, x, jax.random.key(0))
    l1, _ = step(p1, x, jax.random.key(0))
    assert float(l1) < float(l0)
    # eager equals jit, and dropout really differs with the key and vanishes in eval mode
    l_e = tnp.mean(m(p, x, key=jax.random.key(0))[0] ** 2)
    np.testing.assert_allclose(float(l_e), float(l0), rtol=1e-12)
    a = m(p, x, key=1)[0]
    b = m(p, x, key=2)[0]
    assert not np.allclose(np.asarray(a), np.asarray(b))
    tm = torch.nn.LSTM(I, H, num_layers=2, dropout=0.5).double().eval()
    pe = load_state_dict(m.init(0), {k: v.detach().numpy() for k, v in tm.state_dict().items()})
    np.testing.assert_allclose(np.asarray(m(pe, x, train=False)[0]), tm(torch.tensor(x))[0].detach().numpy(),
                               rtol=1e-10)
    with pytest.raises(ValueError, match="needs a random key"):
        m(p, x)


def test_second_order_against_jax():
    m = R.LSTM(2, 2, dtype="float64")
    p = m.init(0)
    x = np.random.default_rng(0).standard_normal((2, 2))

    def f(x):
        return tnp.sum(m(p, x)[0] ** 2)

    def jf(x):
        w_ih, w_hh, b = p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"] + p["bias_hh_l0"]

        def body(carry, xt):
            h, c = carry
            g = xt @ w_ih.T + b + h @ w_hh.T
            i, f_, gg, o = jnp.split(g, 4)
            c = jax.nn.sigmoid(f_) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        return jnp.sum(jax.lax.scan(body, (jnp.zeros(2), jnp.zeros(2)), x)[1] ** 2)

    np.testing.assert_allclose(np.asarray(tg.hessian(f)(x)), np.asarray(jax.hessian(jf)(jnp.asarray(x))),
                               rtol=1e-9, atol=1e-12)


def test_errors():
    m = R.LSTM(I, H)
    p = m.init(0)
    with pytest.raises(ValueError, match=r"LSTM: input.size\(-1\) must be equal to input_size. Expected 3, got 7"):
        m(p, np.ones((T, B, 7)))
    with pytest.raises(ValueError, match="GRU: expected 2-D or 3-D input, got 4-D"):
        R.GRU(I, H)(R.GRU(I, H).init(0), np.ones((1, T, B, I)))
    with pytest.raises(ValueError, match=r"RNN: expected hx of shape \(1, 2, 4\), got \(1, 3, 4\)"):
        R.RNN(I, H)(R.RNN(I, H).init(0), np.ones((T, B, I)), np.ones((1, 3, H)))
    with pytest.raises(ValueError, match=r"LSTM: expected c_0 of shape \(1, 2, 4\)"):
        m(p, np.ones((T, B, I)), (np.ones((1, B, H)), np.ones((1, B, 5))))
    with pytest.raises(TypeError, match="hx must be a pair"):
        m(p, np.ones((T, B, I)), np.ones((1, B, H)))
    with pytest.raises(ValueError, match="GRUCell: input.size"):
        R.GRUCell(I, H)(R.GRUCell(I, H).init(0), np.ones((B, 2)))
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        R._RNNBase("GRU", I, H, proj_size=2)
    with pytest.raises(ValueError, match="nonlinearity"):
        R.RNN(I, H, nonlinearity="sigmoid")
