"""Training-step benchmark (issue 3): one SGD step of the seed MLP and of a small CNN, batch 64.

Compares tapegrad eager, tapegrad under jax.jit, jax.jit(jax.grad) of the same
model written in jax.numpy, and PyTorch eager on the CPU, as ratios measured
in one run. Saves JSON under benchmarks/results/.

Run: ``python benchmarks/bench_training.py [--quick] [--out DIR]``
"""
from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import median_time, print_table, save  # noqa: E402

import tapegrad as tg  # noqa: E402
from tapegrad import nn, optim  # noqa: E402
from tapegrad.nn import functional as F  # noqa: E402

LR = 1e-3


def models():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                        nn.Linear(512, 10))
    cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    return {"seed MLP": mlp, "small CNN": cnn}


def jax_forward(kind, p, x):
    """The same networks in plain jax.numpy/lax (the jax.jit(jax.grad) anchor)."""
    if kind == "seed MLP":
        h = x.reshape(x.shape[0], -1)
        for i in ("1", "3", "5"):
            h = h @ p[i]["weight"].T + p[i]["bias"]
            if i != "5":
                h = jnp.maximum(h, 0)
        return h
    h = x
    for i in ("0", "3"):
        h = jax.lax.conv_general_dilated(h, p[i]["weight"], (1, 1), ((1, 1), (1, 1)),
                                         dimension_numbers=("NCHW", "OIHW", "NCHW")) + p[i]["bias"][:, None, None]
        h = jnp.maximum(h, 0)
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    h = h.reshape(h.shape[0], -1)
    return h @ p["7"]["weight"].T + p["7"]["bias"]


def jax_loss(kind, p, x, y):
    logits = jax_forward(kind, p, x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def torch_step(kind, params, x, y, repeat):
    try:
        import torch
    except ImportError:
        print("  (PyTorch not installed: its anchor is skipped)")
        return []
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    tnn = torch.nn
    if kind == "seed MLP":
        model = tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 512), tnn.ReLU(), tnn.Linear(512, 512), tnn.ReLU(),
                               tnn.Linear(512, 10))
    else:
        model = tnn.Sequential(tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Flatten(), tnn.Linear(32 * 7 * 7, 10))
    model.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in nn.named_parameters(params)})
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    tx, ty = torch.tensor(np.asarray(x)), torch.tensor(np.asarray(y), dtype=torch.long)

    def step():
        opt.zero_grad()
        loss = tnn.functional.cross_entropy(model(tx), ty)
        loss.backward()
        opt.step()
        return loss

    return [("PyTorch eager (CPU)", median_time(step, repeat))]


def bench(kind, model, repeat):
    rng = np.random.default_rng(0)
    shape = (64, 1, 28, 28)
    x = jnp.asarray(rng.normal(size=shape), jnp.float32)
    y = jnp.asarray(rng.integers(0, 10, 64))
    params = model.init(0)
    opt = optim.SGD(lr=LR)
    state = opt.init(params)

    def tg_step(params, state, x, y):
        loss, grads = tg.value_and_grad(lambda p: F.cross_entropy(model(p, x), y))(params)
        params, state = opt.step(params, grads, state)
        return params, state, loss

    def jax_step(params, x, y):
        loss, grads = jax.value_and_grad(lambda p: jax_loss(kind, p, x, y))(params)
        return jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads), loss

    # Same numbers first.
    np.testing.assert_allclose(tg_step(params, state, x, y)[2], jax_step(params, x, y)[1], rtol=1e-4)
    tg_jit = jax.jit(tg_step)
    jax_jit = jax.jit(jax_step)
    rows = [
        ("tapegrad eager step", median_time(lambda: tg_step(params, state, x, y), repeat)),
        ("jax.jit(tapegrad step)", median_time(lambda: tg_jit(params, state, x, y), repeat)),
        ("jax.jit(jax.grad) step", median_time(lambda: jax_jit(params, x, y), repeat)),
    ]
    rows += torch_step(kind, params, x, y, repeat)
    return print_table(f"{kind}, batch 64: one SGD training step", rows, {
        "jax.jit(jax.grad)": "jax.jit(jax.grad) step", "PyTorch eager": "PyTorch eager (CPU)"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    repeat = 10 if args.quick else 40
    results = {kind: bench(kind, m, repeat) for kind, m in models().items()}
    print("\nsaved", save("training", results, args.out))


if __name__ == "__main__":
    main()
