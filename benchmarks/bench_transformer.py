"""Issue 15 (numbers): the training step of examples/transformer.py's model, tapegrad against PyTorch.

The model is the example's ``CharTransformer`` (token + learned positional embeddings, pre-norm
``TransformerEncoderLayer(norm_first=True, activation="gelu")`` blocks with causal self-attention, a final
LayerNorm, a Linear head), by default at the example's size (d_model 128, 4 heads, 4 layers,
feed-forward 512, context 128, batch 32, vocabulary 96), dropout off so that both sides compute the
same numbers. One step is the gradient of the next-character cross-entropy and an AdamW update (weight
decay on the matrices only, two parameter groups on both sides). In one run:

* ``jax.jit`` of tapegrad's step (``tg.value_and_grad`` + ``optim.AdamW.step``): compile + first call,
  then the steady step;
* ``jax.jit`` of the same step with the model written directly in jax.numpy and ``jax.value_and_grad``
  (what XLA makes of this model: the anchor for tapegrad's own overhead);
* tapegrad eager, the same step without ``jax.jit``;
* PyTorch eager (one thread): the same model built from ``torch.nn.TransformerEncoderLayer(norm_first=True,
  batch_first=True)`` with the same weights loaded, ``zero_grad``, forward, ``backward``, ``AdamW.step``.

The loss and every gradient are checked equal to PyTorch's first; steady steps are timed interleaved
(``common.median_times``), ratios against PyTorch eager. JAX uses the CPU cores it is given (XLA's
intra-op threads); PyTorch is held to one thread, as in the other benchmarks.

    python benchmarks/bench_transformer.py [--quick] [--d-model 128] [--layers 4] [--batch 32] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
import common  # noqa: E402
import text_corpus  # noqa: E402
import transformer as example  # noqa: E402

import tapegrad as tg  # noqa: E402
from tapegrad import nn, optim  # noqa: E402
from tapegrad.nn import functional as F  # noqa: E402

LR, WEIGHT_DECAY, BETAS = 1e-3, 0.1, (0.9, 0.99)


def jax_forward(params: dict, x: jax.Array, nhead: int) -> jax.Array:
    """The same model written directly in jax.numpy (the anchor for what XLA makes of it), on tapegrad's params."""
    T = x.shape[1]

    def norm(h, p):
        mu = h.mean(-1, keepdims=True)
        var = ((h - mu) ** 2).mean(-1, keepdims=True)
        return (h - mu) * jax.lax.rsqrt(var + 1e-5) * p["weight"] + p["bias"]

    def linear(h, p):
        return h @ p["weight"].T + p["bias"]

    h = params["tok"]["weight"][x] + params["pos"]["weight"][:T]
    causal = jnp.tril(jnp.ones((T, T), bool))
    for p in (params["encoder"]["layers"][str(i)] for i in range(len(params["encoder"]["layers"]))):
        a, sa = norm(h, p["norm1"]), p["self_attn"]
        qkv = a @ sa["in_proj_weight"].T + sa["in_proj_bias"]
        n, _, e = qkv.shape
        q, k, v = (t.reshape(n, T, nhead, e // 3 // nhead).transpose(0, 2, 1, 3) for t in jnp.split(qkv, 3, -1))
        logits = jnp.where(causal, q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1]), -jnp.inf)
        o = (jax.nn.softmax(logits, axis=-1) @ v).transpose(0, 2, 1, 3).reshape(n, T, e // 3)
        h = h + linear(o, sa["out_proj"])
        f = jax.nn.gelu(linear(norm(h, p["norm2"]), p["linear1"]), approximate=False)
        h = h + linear(f, p["linear2"])
    return linear(norm(h, params["encoder"]["norm"]), params["head"])


def torch_model(vocab: int, context: int, d_model: int, nhead: int, layers: int):
    """The example's model written with torch.nn, the same children and hence the same state_dict keys."""
    import torch

    class TorchCharTransformer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok = torch.nn.Embedding(vocab, d_model)
            self.pos = torch.nn.Embedding(context, d_model)
            layer = torch.nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, 0.0, activation="gelu",
                                                     batch_first=True, norm_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, layers, norm=torch.nn.LayerNorm(d_model),
                                                       enable_nested_tensor=False)
            self.head = torch.nn.Linear(d_model, vocab)

        def forward(self, x):
            T = x.shape[1]
            h = self.tok(x) + self.pos(torch.arange(T))
            mask = torch.nn.Transformer.generate_square_subsequent_mask(T)
            return self.head(self.encoder(h, mask=mask, is_causal=True))

    return TorchCharTransformer()


def torch_optimizer(model):
    """torch's AdamW with the example's two groups: no weight decay on biases, norms and embeddings."""
    import fnmatch

    import torch

    no_decay = tuple(example.NO_DECAY)
    groups = {"decay": [], "no_decay": []}
    for name, p in model.named_parameters():
        groups["no_decay" if any(fnmatch.fnmatchcase(name, pat) for pat in no_decay) else "decay"].append(p)
    return torch.optim.AdamW([{"params": groups["decay"], "weight_decay": WEIGHT_DECAY},
                              {"params": groups["no_decay"], "weight_decay": 0.0}], lr=LR, betas=BETAS)


def run(d_model: int, nhead: int, layers: int, batch: int, seq: int, repeat: int, out_dir: str | None) -> dict:
    import torch

    torch.set_num_threads(1)
    vocab = len(text_corpus.VOCAB)
    model = example.CharTransformer(vocab, seq, d_model, nhead, layers, 4 * d_model, dropout=0.0)
    params = model.init(0)
    x, y = text_corpus.sample_batch(text_corpus.load().train, batch, seq, np.random.default_rng(0))
    x, y = jnp.asarray(x), jnp.asarray(y)
    opt = optim.AdamW(lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY, groups=example.NO_DECAY)

    def loss_fn(params, x, y):
        return F.cross_entropy(model(params, x, train=False).reshape(-1, vocab), y.reshape(-1))

    def step(params, opt_state, x, y):
        loss, grads = tg.value_and_grad(loss_fn)(params, x, y)
        params, opt_state = opt.step(params, grads, opt_state)
        return params, opt_state, loss

    tmodel = torch_model(vocab, seq, d_model, nhead, layers)
    names = [n for n, _ in nn.named_parameters(params)]
    assert names == [n for n, _ in tmodel.named_parameters()], "state_dict keys differ"
    tmodel.load_state_dict({n: torch.tensor(np.asarray(v)) for n, v in nn.named_parameters(params)})
    topt = torch_optimizer(tmodel)
    tx, ty = torch.tensor(np.asarray(x), dtype=torch.long), torch.tensor(np.asarray(y), dtype=torch.long)

    def torch_loss():
        return torch.nn.functional.cross_entropy(tmodel(tx).reshape(-1, vocab), ty.reshape(-1))

    # Same numbers first: the loss and every gradient at the initial parameters.
    loss_tg, grads_tg = jax.jit(tg.value_and_grad(loss_fn))(params, x, y)
    tmodel.zero_grad()
    loss_t = torch_loss()
    loss_t.backward()
    common.check_close(float(loss_tg), loss_t.item(), rtol=1e-5, what="tapegrad vs torch loss")
    tgrads = {n: p.grad.numpy() for n, p in tmodel.named_parameters()}
    for name, g in nn.named_parameters(grads_tg):
        scale = float(np.max(np.abs(tgrads[name]))) or 1.0
        common.check_close(np.asarray(g), tgrads[name], rtol=2e-3, atol=2e-5 * scale, what=f"grad of {name}")
    print(f"checked: loss {float(loss_tg):.6f} (torch {loss_t.item():.6f}) and {len(tgrads)} gradients equal")

    def jax_loss(params, x, y):
        logits = jax_forward(params, x, nhead).reshape(-1, vocab)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y.reshape(-1, 1), axis=1))

    def jax_step(params, opt_state, x, y):  # jax.grad, and the same (pure jnp) AdamW update
        loss, grads = jax.value_and_grad(jax_loss)(params, x, y)
        params, opt_state = opt.step(params, grads, opt_state)
        return params, opt_state, loss

    jit_step, jax_jit_step = jax.jit(step), jax.jit(jax_step)
    t = time.perf_counter()
    common.block(jit_step(params, opt.init(params), x, y))
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    _, _, loss_jax = common.block(jax_jit_step(params, opt.init(params), x, y))
    compile_jax_s = time.perf_counter() - t
    common.check_close(float(loss_jax), float(loss_tg), rtol=1e-5, what="jax vs tapegrad loss")

    # Each timed call starts from the same parameters and state: the work per step does not change.
    state0 = opt.init(params)

    def torch_step():
        topt.zero_grad()
        loss = torch_loss()
        loss.backward()
        topt.step()
        return loss

    fns = {"jax.jit(tapegrad step)": lambda: jit_step(params, state0, x, y),
           "jax.jit(jax.grad step), same model in jnp": lambda: jax_jit_step(params, state0, x, y),
           "tapegrad eager step": lambda: step(params, state0, x, y),
           "PyTorch eager (1 thread)": torch_step}
    times = common.median_times(fns, repeat=repeat, warmup=5)
    rows = [("compile + first: jax.jit(tapegrad step)", compile_s),
            ("compile + first: jax.jit(jax.grad step)", compile_jax_s), *times.items()]
    title = (f"char transformer step (d_model {d_model}, {nhead} heads, {layers} layers, ff {4 * d_model}, "
             f"context {seq}, batch {batch}; {nn.count_parameters(params):,} params): grad + AdamW")
    table = common.print_table(title, rows, {"PyTorch": "PyTorch eager (1 thread)",
                                             "jax.jit(jax.grad)": "jax.jit(jax.grad step), same model in jnp"})
    print(f"  JAX ran on {len(os.sched_getaffinity(0))} CPU(s) (XLA's own threads); PyTorch on 1 thread")
    payload = {"config": {"d_model": d_model, "nhead": nhead, "layers": layers, "batch": batch, "context": seq,
                          "vocab": vocab, "params": nn.count_parameters(params)},
               "loss": float(loss_tg), "rows": table}
    print("saved", common.save("transformer", payload, out_dir))
    return payload


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--nhead", type=int, default=4)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a device run, a loaded machine)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    run(args.d_model, args.nhead, args.layers, args.batch, args.seq, repeat=5 if args.quick else 15,
        out_dir=args.out)
    common.exit_on_failures()


if __name__ == "__main__":
    main()
