"""Train a small character-level transformer language model on Python's standard-library source.

The same corpus, split and conveniences as examples/char_lstm.py: tqdm progress bars, a validation loss
next to the unigram baseline, a loss plot and sampled text. The model is GPT-shaped and built only
from PyTorch's layers: token and learned positional embeddings, pre-norm
``nn.TransformerEncoderLayer(norm_first=True)`` blocks with causal self-attention, a final LayerNorm,
a Linear head. AdamW (weight decay on the matrices only, by parameter groups), a linear warm-up then
cosine decay from ``tapegrad.optim.lr_scheduler``, one jitted training step, dropout keyed per step.

    python examples/transformer.py                 # default: 400 steps, a couple of minutes on 2 CPU cores
    python examples/transformer.py --quick         # 60 steps of a smaller model, a smoke run
    python examples/transformer.py --steps 2000 --plot runs/transformer.png

docs/guide/transformer.md walks through this file for PyTorch users.
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
import text_corpus  # noqa: E402

import tapegrad as tg  # noqa: E402
import tapegrad.numpy as tnp  # noqa: E402
from tapegrad import nn, optim  # noqa: E402
from tapegrad.nn import functional as F  # noqa: E402
from tapegrad.optim import lr_scheduler  # noqa: E402


class CharTransformer(nn.Module):
    """Token + position embeddings, ``num_layers`` pre-norm causal encoder layers, LayerNorm, Linear head."""

    def __init__(self, vocab: int, context: int = 128, d_model: int = 128, nhead: int = 4, num_layers: int = 4,
                 dim_feedforward: int = 512, dropout: float = 0.0) -> None:
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, params, x, *, key=None, train=True):
        T = x.shape[1]
        h = self.tok(params["tok"], x) + self.pos(params["pos"], tnp.arange(T))
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        h = self.encoder(params["encoder"], h, mask=mask, is_causal=True, key=key, train=train)
        return self.head(params["head"], h)


# No weight decay on biases, LayerNorms and embeddings (the usual choice for transformers; torch users
# build the two param_groups by hand). The first matching pattern wins; the rest decay.
NO_DECAY = {pattern: {"weight_decay": 0.0} for pattern in ("*bias", "*norm*", "tok.*", "pos.*")}


def make_optimizer(lr: float, steps: int, warmup: int, weight_decay: float) -> tuple[optim.AdamW, object]:
    """AdamW with a linear warm-up over ``warmup`` steps, then cosine decay to lr/10 at ``steps``."""
    warmup = max(1, min(warmup, steps - 1)) if steps > 1 else 1
    sched = lr_scheduler.SequentialLR(
        lr=lr,
        schedulers=[lr_scheduler.LinearLR(lr=lr, start_factor=0.05, total_iters=warmup),
                    lr_scheduler.CosineAnnealingLR(lr=lr, T_max=max(1, steps - warmup), eta_min=lr / 10)],
        milestones=[warmup])
    return optim.AdamW(lr=sched, betas=(0.9, 0.99), weight_decay=weight_decay, groups=NO_DECAY), sched


def make_step(model: CharTransformer, opt, vocab: int, clip: float):
    def loss_fn(params, x, y, key=None, train=False):
        logits = model(params, x, key=key, train=train)
        return F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))

    @jax.jit
    def step(params, opt_state, x, y, key):
        loss, grads = tg.value_and_grad(loss_fn)(params, x, y, key, True)
        grads, _ = optim.clip_grad_norm(grads, clip)
        params, opt_state = opt.step(params, grads, opt_state)
        return params, opt_state, loss

    return step, jax.jit(loss_fn)  # evaluation: train=False, no dropout


def evaluate(loss_fn, params, windows: tuple[np.ndarray, np.ndarray], batch: int) -> float:
    """Mean cross-entropy over the fixed validation windows (equal-sized chunks, so one compilation)."""
    x, y = windows
    return float(np.mean([float(loss_fn(params, x[i:i + batch], y[i:i + batch])) for i in range(0, len(x), batch)]))


def sample(model: CharTransformer, params, prompt: str, length: int, temperature: float, seed: int) -> str:
    """Generate ``length`` characters after ``prompt``. No KV cache: each character reruns the model on a
    fixed-size window of the last ``context`` characters (right-padded while shorter, which the causal
    mask makes harmless), so the jitted function compiles once."""
    ctx = model.context

    @jax.jit
    def next_logits(params, window, pos):
        return model(params, window, train=False)[0, pos]

    ids = list(text_corpus.encode(prompt))
    key = jax.random.key(seed)
    for i in range(length):
        recent = ids[-ctx:]
        window = np.zeros((1, ctx), np.int32)
        window[0, :len(recent)] = recent
        logits = next_logits(params, window, len(recent) - 1)
        ids.append(int(jax.random.categorical(jax.random.fold_in(key, i), jnp.asarray(logits) / temperature)))
    return prompt + text_corpus.decode(ids[len(prompt):])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=None, help="training steps (default 400; 60 with --quick)")
    p.add_argument("--quick", action="store_true", help="a smoke run: fewer steps, a smaller model")
    p.add_argument("--seq", type=int, default=128, help="context: characters per training window")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--d-model", type=int, default=None, help="width (default 128; 64 with --quick)")
    p.add_argument("--nhead", type=int, default=4)
    p.add_argument("--layers", type=int, default=None, help="encoder layers (default 4; 2 with --quick)")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout (default 0: the runs are short)")
    p.add_argument("--lr", type=float, default=3e-3, help="AdamW's peak learning rate")
    p.add_argument("--warmup", type=int, default=None, help="warm-up steps (default steps/10)")
    p.add_argument("--weight-decay", type=float, default=0.1)
    text_corpus.add_run_arguments(p, "transformer.png")
    args = p.parse_args(argv)
    steps = args.steps if args.steps is not None else (60 if args.quick else 400)
    d_model = args.d_model or (64 if args.quick else 128)
    layers = args.layers or (2 if args.quick else 4)
    eval_every = args.eval_every or max(1, steps // 8)

    corpus, vocab, baseline = text_corpus.load_and_describe()

    model = CharTransformer(vocab, args.seq, d_model, args.nhead, layers, 4 * d_model, args.dropout)
    params = model.init(args.seed)
    print(model)  # the repr ends with the parameter count
    opt, sched = make_optimizer(args.lr, steps, args.warmup if args.warmup is not None else steps // 10,
                                args.weight_decay)
    opt_state = opt.init(params)
    step, loss_fn = make_step(model, opt, vocab, args.clip)
    val = text_corpus.eval_windows(corpus.val, args.seq, args.val_windows)
    rng = np.random.default_rng(args.seed)
    dropout_key = jax.random.key(args.seed + 1)

    history = [{"step": 0, "val": evaluate(loss_fn, params, val, args.batch)}]
    t0, cpu0 = time.perf_counter(), time.process_time()
    compile_s = None
    bar = text_corpus.progress(range(1, steps + 1), steps, "transformer", not args.no_progress)
    for i in bar:
        x, y = text_corpus.sample_batch(corpus.train, args.batch, args.seq, rng)
        params, opt_state, loss = step(params, opt_state, x, y, jax.random.fold_in(dropout_key, i))
        if compile_s is None:
            compile_s = time.perf_counter() - t0
        history.append({"step": i, "train": float(loss)})
        if i % eval_every == 0 or i == steps:
            history.append({"step": i, "val": evaluate(loss_fn, params, val, args.batch)})
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{float(loss):.3f}", val=f"{history[-1]['val']:.3f}",
                                lr=f"{float(sched(i)):.1e}", refresh=False)
        elif hasattr(bar, "set_postfix") and i % 10 == 0:
            bar.set_postfix(loss=f"{float(loss):.3f}", lr=f"{float(sched(i)):.1e}", refresh=False)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    val_loss = text_corpus.report(history, baseline, steps, elapsed, cpu, compile_s, args.plot,
                                  f"char-transformer ({layers} x {d_model})")
    text = sample(model, params, "def ", args.sample_len, args.temperature, args.seed + 1)
    print("sample:\n" + text)
    return {"params": params, "history": history, "val_loss": val_loss, "baseline": baseline, "sample": text,
            "seconds": elapsed, "cpu_seconds": cpu, "steps": steps}


if __name__ == "__main__":
    main(sys.argv[1:])
