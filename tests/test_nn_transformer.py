"""nn.TransformerEncoderLayer / DecoderLayer / Encoder / Decoder / Transformer against torch.nn (float64).

Each model loads the torch twin's state_dict (same keys, same order), then the output and the gradients
w.r.t. every input and every parameter are compared: post- and pre-norm, relu / gelu / a module as
activation, causal and key-padding masks (bool and float), batch_first, unbatched inputs, train and eval.
"""
import jax
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.numpy as tnp

T = torch.float64
E, H, FF = 8, 2, 12


def _np(t):
    return t.detach().numpy()


def _sd(module):
    return {k: _np(v) for k, v in module.state_dict().items()}


def _check(model, ref, inputs, tcall, call, train, atol=1e-10):
    """Load ref's weights into model; compare output and the gradients of sum(out * g) w.r.t. inputs and params
    (one jitted function: a single compilation per case)."""
    params = nn.load_state_dict(model.init(0), _sd(ref))
    assert list(nn.state_dict(params)) == list(ref.state_dict())
    leaves = [t.clone().requires_grad_() for t in inputs]
    out = ref(*leaves, **tcall)
    g = torch.randn(out.shape, dtype=T)
    (out * g).sum().backward()

    def loss(params, *xs):
        return tnp.sum(model(params, *xs, **call, train=train) * _np(g))

    run = jax.jit(lambda params, *xs: (model(params, *xs, **call, train=train),
                                       tg.grad(loss, argnums=tuple(range(len(xs) + 1)))(params, *xs)))
    got_out, grads = run(params, *[_np(t) for t in inputs])
    np.testing.assert_allclose(got_out, _np(out), atol=atol)
    for got, leaf in zip(grads[1:], leaves):
        np.testing.assert_allclose(got, _np(leaf.grad), atol=atol)
    want = {k: _np(p.grad) for k, p in ref.named_parameters()}
    got = nn.state_dict(grads[0])
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=atol, err_msg=k)


def _bool_causal(n):
    return torch.triu(torch.ones(n, n, dtype=torch.bool), 1)


CASES = {
    # post-norm, relu, (S, N, E), evaluation (dropout 0.1 off), float causal and key-padding masks everywhere
    "post-relu-eval-float-masks": dict(kw=dict(dropout=0.1), batch_first=False, train=False),
    # pre-norm, gelu, no biases, batch_first, training mode (dropout 0), bool key padding, causal masks
    # from the is_causal hints alone (torch needs the mask too)
    "pre-gelu-train-bool-masks-hints": dict(kw=dict(dropout=0.0, norm_first=True, bias=False, activation="gelu"),
                                            batch_first=True, train=True),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_transformer_matches_torch(case):
    c = CASES[case]
    torch.manual_seed(2)
    bf = c["batch_first"]
    kw = dict(c["kw"], dim_feedforward=FF, batch_first=bf)
    ref = torch.nn.Transformer(E, H, num_encoder_layers=2, num_decoder_layers=1, **kw).double().train(c["train"])
    model = nn.Transformer(E, H, num_encoder_layers=2, num_decoder_layers=1, dtype=np.float64, **kw)
    S, L, N = 5, 4, 2
    src = torch.randn(*((N, S, E) if bf else (S, N, E)), dtype=T)
    tgt = torch.randn(*((N, L, E) if bf else (L, N, E)), dtype=T)
    kpm_src = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    kpm_tgt = torch.tensor([[False] * 4, [False, True, False, False]])
    if c["train"]:
        tcall = dict(src_mask=_bool_causal(S), src_is_causal=True, tgt_mask=_bool_causal(L), tgt_is_causal=True,
                     src_key_padding_mask=kpm_src, tgt_key_padding_mask=kpm_tgt, memory_key_padding_mask=kpm_src)
        call = dict(src_is_causal=True, tgt_is_causal=True, **{k: _np(v) for k, v in tcall.items() if "padding" in k})
    else:
        as_float = lambda m: torch.zeros(m.shape, dtype=T).masked_fill(m, -np.inf)  # noqa: E731
        tcall = dict(tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=T),
                     src_key_padding_mask=as_float(kpm_src), tgt_key_padding_mask=as_float(kpm_tgt),
                     memory_key_padding_mask=as_float(kpm_src))
        call = {k: _np(v) for k, v in tcall.items()}
    _check(model, ref, [src, tgt], tcall, call, train=c["train"])


def test_dropout_keys_train_eval_and_unbatched():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.5), 2)
    params = enc.init(0)
    x = np.random.RandomState(0).standard_normal((5, 3, E)).astype(np.float32)
    with pytest.raises(ValueError, match="TransformerEncoderLayer in training mode with dropout=0.5 needs a random"):
        enc(params, x)
    # Jitted training mode: the same key gives the same output, another key another, evaluation neither.
    run = jax.jit(lambda p, k: enc(p, x, key=k))
    a, b, c = run(params, 1), run(params, 1), run(params, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    ev = enc(params, x, train=False)
    assert not np.allclose(a, ev)
    # Evaluation ignores dropout: the same as a dropout-free twin in either mode; unbatched input works.
    twin = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, dropout=0.0), 2)
    np.testing.assert_allclose(twin(params, x), ev, atol=1e-6)
    np.testing.assert_allclose(enc(params, x[:, 1], train=False), ev[:, 1], atol=1e-6)


def test_init_names_masks_and_errors():
    model = nn.Transformer(E, H, 2, 2, FF)
    ref = torch.nn.Transformer(E, H, 2, 2, FF)
    params = model.init(0)
    assert list(nn.state_dict(params)) == list(ref.state_dict())
    assert model.num_parameters() == sum(p.numel() for p in ref.parameters())
    sd = nn.state_dict(params)
    # PyTorch's _reset_parameters: xavier_uniform on every matrix (each its own draw), ones/zeros for norms.
    w = sd["encoder.layers.0.linear1.weight"]
    assert np.abs(w).max() <= np.sqrt(6 / (E + FF)) and w.std() > 0.5 * np.sqrt(2 / (E + FF))
    assert not np.allclose(w, sd["encoder.layers.1.linear1.weight"])
    np.testing.assert_array_equal(sd["decoder.norm.weight"], np.ones(E))
    np.testing.assert_array_equal(sd["encoder.layers.0.self_attn.in_proj_bias"], np.zeros(3 * E))
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(4),
                                  torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        model(params, np.ones((5, 2, E), np.float32), np.ones((4, 3, E), np.float32), train=False)
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to d_model=8"):
        model(params, np.ones((5, 2, 6), np.float32), np.ones((4, 2, 6), np.float32), train=False)
    # A module as activation is a child with empty params (as in PyTorch), a function is used as is.
    x = np.random.RandomState(1).standard_normal((3, 1, E)).astype(np.float32)
    layer = nn.TransformerEncoderLayer(E, H, FF, activation="gelu", dropout=0.0)
    p = layer.init(0)
    as_module = nn.TransformerEncoderLayer(E, H, FF, activation=nn.GELU(), dropout=0.0)
    np.testing.assert_allclose(as_module(dict(p, activation={}), x), layer(p, x), atol=1e-6)
    as_function = nn.TransformerEncoderLayer(E, H, FF, activation=nn.F.gelu, dropout=0.0)
    np.testing.assert_allclose(as_function(p, x), layer(p, x), atol=1e-6)
