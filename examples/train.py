"""Train a classifier: the seed tutorial's training loop (chapter 5) in tapegrad.

Defaults: the seed's MLP on scikit-learn's bundled 8x8 digits (no download),
Adam, a jitted training step, a tqdm progress bar with the running loss, train
loss and test accuracy after each epoch, a checkpoint and a PNG plot.

    python examples/train.py                      # MLP on digits
    python examples/train.py --model cnn          # Conv2d network
    python examples/train.py --dataset mnist --data-dir ./data   # when you have the MNIST files
    python examples/train.py --no-jit             # eager tapegrad (slower, same numbers)
    python examples/train.py --resume             # continue from the checkpoint, exactly

Resuming gives exactly the parameters of an uninterrupted run: the data order of
epoch e is a function of (seed, e), and the checkpoint holds the parameters, the
optimizer state, the epoch and the RNG key.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import jax
import jax.numpy as jnp

import tapegrad as tg
from tapegrad import data, nn, optim
from tapegrad.nn import functional as F


class MLP(nn.Module):
    """The seed's NeuralNetwork: Flatten, then Linear-ReLU-Linear-ReLU-Linear."""

    def __init__(self, in_features: int, hidden: int = 512, classes: int = 10) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, classes))

    def forward(self, params, x):
        x = self.flatten(params["flatten"], x)
        return self.linear_relu_stack(params["linear_relu_stack"], x)


class CNN(nn.Module):
    """Two Conv2d-ReLU-MaxPool blocks, then a Linear classifier (homework 3's Conv2d at work)."""

    def __init__(self, side: int, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten())
        self.classifier = nn.Linear(64 * (side // 4) ** 2, classes)

    def forward(self, params, x):
        return self.classifier(params["classifier"], self.features(params["features"], x))


def load_data(args):
    if args.dataset == "digits":
        train, test = data.datasets.digits(train=True), data.datasets.digits(train=False)
        side = 8
    else:
        norm = data.transforms.Normalize((0.1307,), (0.3081,))
        train = data.datasets.MNIST(args.data_dir, train=True, transform=norm)
        test = data.datasets.MNIST(args.data_dir, train=False, transform=norm)
        side = 28
    return train, test, side


def make_step(model, opt, jit: bool):
    def loss_fn(params, x, y):
        return F.cross_entropy(model(params, x), y)

    def step(params, opt_state, x, y):
        loss, grads = tg.value_and_grad(loss_fn)(params, x, y)
        params, opt_state = opt.step(params, grads, opt_state)
        return params, opt_state, loss

    def predict(params, x):
        return jnp.argmax(model(params, x), axis=1)

    if jit:  # the documented fast path: one compiled step, buffers donated
        return jax.jit(step, donate_argnums=(0, 1)), jax.jit(predict)
    return step, predict


def evaluate(predict, params, loader) -> float:
    correct = total = 0
    for x, y in loader:
        correct += int(jnp.sum(predict(params, x) == y))
        total += len(y)
    return correct / total


def save_plot(history, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].plot(epochs, [h["train_loss"] for h in history], marker="o")
    ax[0].set(xlabel="epoch", ylabel="train loss", title="loss")
    ax[1].plot(epochs, [100 * h["test_acc"] for h in history], marker="o", color="tab:green")
    ax[1].set(xlabel="epoch", ylabel="test accuracy (%)", title="accuracy")
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def progress(iterable, total, desc, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--dataset", choices=["digits", "mnist"], default="digits")
    p.add_argument("--data-dir", default="./data")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=None, help="Adam's learning rate (default 1e-3 mlp, 2e-3 cnn)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--out", default="runs", help="folder for the checkpoint and the plot")
    p.add_argument("--resume", action="store_true", help="continue from <out>/<model>.ckpt")
    p.add_argument("--no-progress", action="store_true")
    # For the crash-safety test: SIGKILL this process at the given global batch.
    p.add_argument("--kill-at-batch", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    epochs = args.epochs
    lr = args.lr or (1e-3 if args.model == "mlp" else 2e-3)

    train_set, test_set, side = load_data(args)
    model = MLP(side * side) if args.model == "mlp" else CNN(side)
    opt = optim.Adam(lr=lr)
    train_loader = data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    test_loader = data.DataLoader(test_set, batch_size=256)
    step, predict = make_step(model, opt, args.jit)

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, f"{args.model}-{args.dataset}.ckpt")
    params = model.init(args.seed)
    opt_state = opt.init(params)
    history, start = [], 0
    if args.resume and os.path.exists(ckpt):
        state = tg.load(ckpt)
        params, start = state["params"], int(state["epoch"])
        opt_state = type(opt_state)(*state["opt_state"])
        history = [{k: float(v) for k, v in h.items()} for h in state["history"]]
        print(f"resumed from {ckpt} after epoch {start}")
    print(model)

    t0 = time.perf_counter()
    for epoch in range(start, epochs):
        train_loader.set_epoch(epoch)
        losses = []
        bar = progress(train_loader, len(train_loader), f"epoch {epoch + 1}/{epochs}", not args.no_progress)
        for i, (x, y) in enumerate(bar):
            params, opt_state, loss = step(params, opt_state, x, y)
            losses.append(loss)
            if hasattr(bar, "set_postfix") and i % 5 == 0:
                bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)  # tqdm refreshes with the right count
            if args.kill_at_batch is not None and epoch * len(train_loader) + i + 1 >= args.kill_at_batch:
                os.kill(os.getpid(), signal.SIGKILL)
        train_loss = float(jnp.mean(jnp.stack(losses)))
        acc = evaluate(predict, params, test_loader)
        history.append({"epoch": epoch + 1, "train_loss": train_loss, "test_acc": acc})
        print(f"epoch {epoch + 1:2d}/{epochs}  train loss {train_loss:.4f}  test accuracy {100 * acc:.2f}%")
        tg.save(ckpt, {"params": params, "opt_state": tuple(opt_state), "epoch": epoch + 1, "history": history})
    elapsed = time.perf_counter() - t0
    save_plot(history, os.path.join(args.out, f"{args.model}-{args.dataset}.png"))
    acc = history[-1]["test_acc"] if history else evaluate(predict, params, test_loader)
    print(f"trained in {elapsed:.1f}s; checkpoint {ckpt}")
    print(f"test accuracy: {100 * acc:.2f}%")
    return {"params": params, "accuracy": acc, "history": history}


if __name__ == "__main__":
    main(sys.argv[1:])
