"""Train a character-level LSTM language model on Python's own standard-library source (no download).

Embedding -> nn.LSTM -> Linear, Adam with gradient clipping, one jitted training step, tqdm progress
bars, a validation loss next to the unigram baseline, a loss plot, and sampled text at the end. The
corpus (examples/text_corpus.py) is the source of 18 stdlib modules, ~630 KB; the last 10% is the
validation split.

    python examples/char_lstm.py                  # default: 400 steps, a minute or two on 2 CPU cores
    python examples/char_lstm.py --quick          # 60 steps of a smaller model, a smoke run
    python examples/char_lstm.py --steps 2000 --plot runs/lstm.png

The LSTM's time loop is one ``tg.lax.scan``: the tape holds one entry for it whatever the sequence
length, and ``jax.jit`` compiles one XLA loop (see docs/guide/rnn.md).
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
from tapegrad import nn, optim  # noqa: E402
from tapegrad.nn import functional as F  # noqa: E402


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear; ``forward`` returns the logits and the LSTM state ``(h, c)``."""

    def __init__(self, vocab: int, embed: int = 64, hidden: int = 256, num_layers: int = 1) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, params, x, hx=None):
        out, hx = self.lstm(params["lstm"], self.embed(params["embed"], x), hx)
        return self.head(params["head"], out), hx


def make_step(model: CharLSTM, opt, vocab: int, clip: float):
    def loss_fn(params, x, y):
        logits, _ = model(params, x)
        return F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))

    @jax.jit
    def step(params, opt_state, x, y):
        loss, grads = tg.value_and_grad(loss_fn)(params, x, y)
        grads, _ = optim.clip_grad_norm(grads, clip)
        params, opt_state = opt.step(params, grads, opt_state)
        return params, opt_state, loss

    return step, jax.jit(loss_fn)


def evaluate(loss_fn, params, windows: tuple[np.ndarray, np.ndarray], batch: int) -> float:
    """Mean cross-entropy over the fixed validation windows (equal-sized chunks, so one compilation)."""
    x, y = windows
    losses = [float(loss_fn(params, x[i:i + batch], y[i:i + batch])) for i in range(0, len(x), batch)]
    return float(np.mean(losses))


def sample(model: CharLSTM, params, prompt: str, length: int, temperature: float, seed: int) -> str:
    """Generate ``length`` characters after ``prompt``, one at a time, the LSTM state carried in ``hx``."""
    forward = jax.jit(lambda params, x, hx: model(params, x, hx))  # one character in, one compilation
    zeros = jnp.zeros((model.lstm.num_layers, 1, model.lstm.hidden_size), model.lstm.dtype)
    hx = (zeros, zeros)
    for c in text_corpus.encode(prompt):  # read the prompt one character at a time too
        logits, hx = forward(params, jnp.asarray([[c]], jnp.int32), hx)
    key = jax.random.key(seed)
    out = []
    for i in range(length):
        c = jax.random.categorical(jax.random.fold_in(key, i), jnp.asarray(logits[0, -1]) / temperature)
        out.append(int(c))
        logits, hx = forward(params, jnp.asarray([[c]], jnp.int32), hx)
    return prompt + text_corpus.decode(out)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=None, help="training steps (default 400; 60 with --quick)")
    p.add_argument("--quick", action="store_true", help="a smoke run: fewer steps, a smaller model")
    p.add_argument("--seq", type=int, default=128, help="characters per training window")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=None, help="LSTM hidden size (default 256; 64 with --quick)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    text_corpus.add_run_arguments(p, "char_lstm.png")
    args = p.parse_args(argv)
    steps = args.steps if args.steps is not None else (60 if args.quick else 400)
    hidden = args.hidden or (64 if args.quick else 256)
    eval_every = args.eval_every or max(1, steps // 8)

    corpus, vocab, baseline = text_corpus.load_and_describe()

    model = CharLSTM(vocab, args.embed, hidden)
    params = model.init(args.seed)
    print(model)  # the repr ends with the parameter count
    opt = optim.Adam(lr=args.lr)
    opt_state = opt.init(params)
    step, loss_fn = make_step(model, opt, vocab, args.clip)
    val = text_corpus.eval_windows(corpus.val, args.seq, args.val_windows)
    rng = np.random.default_rng(args.seed)

    history = [{"step": 0, "val": evaluate(loss_fn, params, val, args.batch)}]
    t0, cpu0 = time.perf_counter(), time.process_time()
    compile_s = None
    bar = text_corpus.progress(range(1, steps + 1), steps, "char-LSTM", not args.no_progress)
    for i in bar:
        x, y = text_corpus.sample_batch(corpus.train, args.batch, args.seq, rng)
        params, opt_state, loss = step(params, opt_state, x, y)
        if compile_s is None:
            compile_s = time.perf_counter() - t0
        history.append({"step": i, "train": float(loss)})
        if i % eval_every == 0 or i == steps:
            history.append({"step": i, "val": evaluate(loss_fn, params, val, args.batch)})
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{float(loss):.3f}", val=f"{history[-1]['val']:.3f}", refresh=False)
        elif hasattr(bar, "set_postfix") and i % 10 == 0:
            bar.set_postfix(loss=f"{float(loss):.3f}", refresh=False)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    val_loss = text_corpus.report(history, baseline, steps, elapsed, cpu, compile_s, args.plot,
                                  f"char-LSTM (hidden {hidden})")
    text = sample(model, params, "def ", args.sample_len, args.temperature, args.seed + 1)
    print("sample:\n" + text)
    return {"params": params, "history": history, "val_loss": val_loss, "baseline": baseline, "sample": text,
            "seconds": elapsed, "cpu_seconds": cpu, "steps": steps}


if __name__ == "__main__":
    main(sys.argv[1:])
