"""Train a character-level LSTM on the Zen of Python (the ``this`` module, shipped with Python; no download).

Embedding -> nn.LSTM -> Linear, Adam, a jitted step, a tqdm progress bar; prints the loss and a sample.

    python examples/char_lstm.py               # default: 300 steps, under a minute on CPU
    python examples/char_lstm.py --steps 50
"""
from __future__ import annotations

import argparse
import codecs
import contextlib
import io

import jax
import jax.numpy as jnp
import numpy as np

import tapegrad as tg
from tapegrad import nn, optim
from tapegrad.nn import functional as F
from tapegrad.nn.recurrent import LSTM

with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen; we only want its text
    import this
TEXT = codecs.decode(this.s, "rot13")


class CharLSTM(nn.Module):
    def __init__(self, vocab: int, embed: int = 32, hidden: int = 128) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, params, x, hx=None):
        out, hx = self.lstm(params["lstm"], self.embed(params["embed"], x), hx)
        return self.head(params["head"], out), hx


def progress(iterable, total, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, leave=False, dynamic_ncols=True)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    chars = sorted(set(TEXT))
    idx = {c: i for i, c in enumerate(chars)}
    data = np.array([idx[c] for c in TEXT], dtype=np.int32)
    model = CharLSTM(len(chars))
    params = model.init(0)
    opt = optim.Adam(lr=args.lr)
    opt_state = opt.init(params)

    @jax.jit
    def step(params, opt_state, x, y):
        def loss_fn(params):
            logits, _ = model(params, x)
            return F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        loss, grads = tg.value_and_grad(loss_fn)(params)
        params, opt_state = opt.step(params, grads, opt_state)
        return params, opt_state, loss

    rng = np.random.default_rng(0)
    bar = progress(range(args.steps), args.steps, not args.no_progress)
    loss = float("nan")
    for _ in bar:
        starts = rng.integers(0, len(data) - args.seq - 1, args.batch)
        x = np.stack([data[s:s + args.seq] for s in starts])
        y = np.stack([data[s + 1:s + args.seq + 1] for s in starts])
        params, opt_state, loss = step(params, opt_state, x, y)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{float(loss):.3f}", refresh=False)
    print(f"loss after {args.steps} steps: {float(loss):.3f}")

    # Sampling: one character at a time, the LSTM state carried in hx.
    key = jax.random.key(1)
    text, hx = "Beautiful", None
    x = np.array([[idx[c] for c in text]], dtype=np.int32)
    for i in range(120):
        logits, hx = model(params, x, hx)
        c = int(jax.random.categorical(jax.random.fold_in(key, i), jnp.asarray(logits[0, -1]) / 0.8))
        text += chars[c]
        x = np.array([[c]], dtype=np.int32)
    print(text)
    return {"loss": float(loss), "sample": text}


if __name__ == "__main__":
    main()
