"""F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch (float64): values,
gradients w.r.t. inputs and every parameter, masks of both conventions, jit, dropout."""
import jax
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.nn as nn
from tapegrad.nn.attention import scaled_dot_product_attention
from tapegrad.nn.attention_layers import MultiheadAttention

torch.manual_seed(0)
T = torch.float64


def _np(t):
    return t.detach().numpy()


def _r(*shape):
    return torch.randn(*shape, dtype=T)


SDPA_CASES = [
    {}, {"is_causal": True}, {"attn_mask": torch.rand(5, 6) > 0.3}, {"attn_mask": torch.randn(5, 6, dtype=T)},
    {"attn_mask": torch.rand(2, 1, 5, 6) > 0.5, "scale": 0.3},
    {"attn_mask": torch.zeros(5, 6, dtype=torch.bool)},  # every row masked: zeros, as torch's math backend
]


@pytest.mark.parametrize("kw", SDPA_CASES)
def test_sdpa_matches_torch_values_and_grads(kw):
    q, k, v = _r(2, 3, 5, 4), _r(2, 3, 6, 4), _r(2, 3, 6, 7)
    g = _r(2, 3, 5, 7)
    qt, kt, vt = (t.clone().requires_grad_() for t in (q, k, v))
    out = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **kw)
    out.backward(g)
    tkw = {a: (_np(b) if isinstance(b, torch.Tensor) else b) for a, b in kw.items()}
    f = lambda q, k, v: tg.numpy.sum(scaled_dot_product_attention(q, k, v, **tkw) * _np(g))
    np.testing.assert_allclose(scaled_dot_product_attention(_np(q), _np(k), _np(v), **tkw), _np(out), atol=1e-12)
    grads = tg.grad(f, argnums=(0, 1, 2))(_np(q), _np(k), _np(v))
    for a, b in zip(grads, (qt, kt, vt)):
        np.testing.assert_allclose(a, _np(b.grad), atol=1e-12)
    assert np.all(np.isfinite(grads[0]))


def test_sdpa_gqa_jit_and_errors():
    q, k, v = _r(2, 4, 5, 8), _r(2, 2, 6, 8), _r(2, 2, 6, 3)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    got = jax.jit(lambda q, k, v: scaled_dot_product_attention(q, k, v, enable_gqa=True))(_np(q), _np(k), _np(v))
    np.testing.assert_allclose(got, _np(ref), atol=1e-12)
    with pytest.raises(ValueError, match="scaled_dot_product_attention.*key"):
        scaled_dot_product_attention(_np(q), _np(k)[..., :3], _np(v))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        scaled_dot_product_attention(_np(q), _np(q), _np(q), attn_mask=np.ones((5, 5), bool), is_causal=True)
    with pytest.raises(ValueError, match="dropout_key"):
        scaled_dot_product_attention(_np(q), _np(q), _np(q), dropout_p=0.5)


def test_sdpa_dropout_is_the_formula_with_the_keys_mask():
    q, k, v = (np.asarray(_r(3, 4, 5)) for _ in range(3))
    key = jax.random.key(3)
    got = scaled_dot_product_attention(q, k, v, dropout_p=0.4, dropout_key=key)
    w = np.asarray(scaled_dot_product_attention(q, k, np.broadcast_to(np.eye(4), (3, 4, 4))))
    keep = np.asarray(jax.random.bernoulli(key, 0.6, w.shape))
    np.testing.assert_allclose(got, (np.where(keep, w / 0.6, 0)) @ v, atol=1e-12)


MHA_CASES = [
    ({}, {}),
    ({"batch_first": True}, {"attn_mask": "bool", "average_attn_weights": False}),
    ({"kdim": 5, "vdim": 3}, {"key_padding_mask": "bool"}),
    ({"add_bias_kv": True, "add_zero_attn": True}, {"attn_mask": "float", "key_padding_mask": "float"}),
    ({"bias": False}, {"attn_mask": "causal", "is_causal": True, "need_weights": False}),
    ({"batch_first": True}, {"attn_mask": "heads", "unbatched": True}),
]


@pytest.mark.parametrize("ctor,call", MHA_CASES)
def test_mha_matches_torch(ctor, call):
    E, H, N, L, S = 8, 2, 3, 4, 6
    call = dict(call)
    unbatched = call.pop("unbatched", False)
    ref = torch.nn.MultiheadAttention(E, H, **ctor).double()
    mha = MultiheadAttention(E, H, dtype=np.float64, **ctor)
    params = nn.load_state_dict(mha.init(0), {a: _np(b) for a, b in ref.state_dict().items()})
    assert list(nn.state_dict(params)) == list(ref.state_dict())
    kd, vd = ctor.get("kdim", E), ctor.get("vdim", E)
    if ctor.get("attn_mask") == "causal" or call.get("attn_mask") == "causal":
        S = L
    lead = (lambda n, s: (s,)) if unbatched else ((lambda n, s: (n, s)) if ctor.get("batch_first")
                                                   else (lambda n, s: (s, n)))
    q, k, v = _r(*lead(N, L), E), _r(*lead(N, S), kd), _r(*lead(N, S), vd)
    masks = {"bool": lambda: torch.rand(L, S) > 0.7, "float": lambda: torch.randn(L, S, dtype=T),
             "causal": lambda: torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=T),
             "heads": lambda: torch.rand((1 if unbatched else N) * H, L, S) > 0.7}
    if "attn_mask" in call:
        call["attn_mask"] = masks[call["attn_mask"]]()
    if "key_padding_mask" in call:
        kind = call["key_padding_mask"]
        call["key_padding_mask"] = torch.rand(N, S) > 0.7 if kind == "bool" else torch.randn(N, S, dtype=T)
    qt, kt, vt = (t.clone().requires_grad_() for t in (q, k, v))
    out, w = ref(qt, kt, vt, **call)
    g = _r(*out.shape)
    ((out * g).sum() + (0 if w is None else w.sum())).backward()
    tcall = {a: (_np(b) if isinstance(b, torch.Tensor) else b) for a, b in call.items()}

    def loss(params, q, k, v):
        o, w = mha(params, q, k, v, **tcall)
        return tg.numpy.sum(o * _np(g)) + (0 if w is None else tg.numpy.sum(w))

    o, wt = jax.jit(lambda p, q, k, v: mha(p, q, k, v, **tcall))(params, _np(q), _np(k), _np(v))
    np.testing.assert_allclose(o, _np(out), atol=1e-12)
    assert (wt is None) == (w is None)
    if w is not None:
        np.testing.assert_allclose(wt, _np(w), atol=1e-12)
    gp, gq, gk, gv = tg.grad(loss, argnums=(0, 1, 2, 3))(params, _np(q), _np(k), _np(v))
    for a, b in zip((gq, gk, gv), (qt, kt, vt)):
        np.testing.assert_allclose(a, _np(b.grad), atol=1e-11)
    tgrads = {n: _np(p.grad) for n, p in ref.named_parameters()}
    for name, val in nn.state_dict(gp).items():
        np.testing.assert_allclose(val, tgrads[name], atol=1e-11, err_msg=name)


def test_mha_dropout_train_and_eval():
    mha = MultiheadAttention(8, 2, dropout=0.5)
    p = mha.init(0)
    x = np.asarray(_r(4, 2, 8))
    ev, w_ev = mha(p, x, x, x, train=False)
    with pytest.raises(ValueError, match="dropout_key"):
        mha(p, x, x, x)
    tr, w_tr = mha(p, x, x, x, dropout_key=1, average_attn_weights=False)
    w = np.asarray(w_tr)
    assert np.all((w == 0) | (w > 0)) and 0.2 < np.mean(w == 0) < 0.8
    assert not np.allclose(tr, ev)
    with pytest.raises(ValueError, match="divisible"):
        MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="MultiheadAttention: expected query"):
        mha(p, x, x[..., :5], x)
