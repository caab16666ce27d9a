"""Data-parallel training with JAX's sharding: an MLP on scikit-learn's bundled 8x8 digits (no download).

Every batch is split over a 1-D mesh named "data" of all `jax.devices()`, the parameters and the
optimizer state are replicated on every device, and one `jax.jit` step does the rest: XLA
partitions the forward and backward pass over the batch and inserts the all-reduce that sums the
gradient. The step is the single-device step of examples/train.py, unchanged.

Run it on 4 simulated CPU devices (the flag must be set before JAX starts):

    XLA_FLAGS=--xla_force_host_platform_device_count=4 JAX_PLATFORMS=cpu python examples/data_parallel.py

On a machine with several GPUs, `python examples/data_parallel.py` uses all of them. The batch size
must be a multiple of the device count; the last, smaller batch of each epoch is dropped.

Several hosts: call `jax.distributed.initialize()` first thing on every host, build the mesh over the
global `jax.devices()`, and feed each process's part of the batch with
`jax.make_array_from_process_local_data`; docs/guide/scaling.md ("Several hosts") shows how.
tests/test_data_parallel.py checks that training on 4 devices gives the single-device losses and
parameters.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import tapegrad as tg
from tapegrad import data, nn, optim
from tapegrad.nn import functional as F

Params = dict[str, Any]
Step = Callable[[Params, Any, jax.Array, jax.Array], tuple[Params, Any, jax.Array]]


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh whose one axis, "data", runs over `devices` (default: all of `jax.devices()`)."""
    return Mesh(np.array(jax.devices() if devices is None else list(devices)), ("data",))


def make_model(hidden: int = 128) -> nn.Module:
    """A small MLP for the 8x8 digits: Flatten, Linear(64, hidden), ReLU, Linear(hidden, 10)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def make_train_step(model: nn.Module, opt: optim.Optimizer) -> Step:
    """The jitted training step `(params, opt_state, x, y) -> (params, opt_state, loss)`.

    Nothing in it mentions devices: the shardings of its arguments decide how XLA partitions it.
    The parameters and the optimizer state are donated, so each step updates them in place.
    """

    def loss_fn(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        return F.cross_entropy(model(params, x), y)

    def step(params: Params, opt_state: Any, x: jax.Array, y: jax.Array) -> tuple[Params, Any, jax.Array]:
        loss, grads = tg.value_and_grad(loss_fn)(params, x, y)
        params, opt_state = opt.step(params, grads, opt_state)
        return params, opt_state, loss

    return jax.jit(step, donate_argnums=(0, 1))


def make_predict(model: nn.Module) -> Callable[[Params, jax.Array], jax.Array]:
    """The jitted class prediction `(params, x) -> labels`."""
    return jax.jit(lambda params, x: jnp.argmax(model(params, x), axis=1))


def evaluate(predict: Callable[[Params, jax.Array], jax.Array], params: Params, loader: data.DataLoader) -> float:
    """The fraction of `loader`'s samples that `predict` labels correctly."""
    correct = total = 0
    for x, y in loader:
        correct += int(jnp.sum(predict(params, x) == y))
        total += len(y)
    return correct / total


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Train on all devices; print the device count, each epoch's mean loss and the test accuracy.

    Returns the final `params`, the per-batch `losses`, the per-epoch `epoch_losses` and `accuracy`.
    """
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64, help="the global batch, split over the devices")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    mesh = data_mesh()
    n = mesh.size
    if args.batch_size % n:
        p.error(f"--batch-size {args.batch_size} does not divide evenly over {n} devices; "
                f"use a multiple of {n}")
    batch_sharding = NamedSharding(mesh, P("data"))  # axis 0, the batch, split over "data"
    replicated = NamedSharding(mesh, P())            # a full copy on every device
    print(f"devices: {n} ({jax.devices()[0].platform}), mesh {dict(mesh.shape)}, "
          f"{args.batch_size // n} samples per device per step")

    train_set, test_set = data.datasets.digits(train=True), data.datasets.digits(train=False)
    # drop_last: every batch must split evenly over the devices, the last, smaller one would not.
    train_loader = data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed,
                                   drop_last=True, sharding=batch_sharding)
    # The test set is small, so each device scores all of it (replicated batches): no batch has to
    # divide over the devices. A large test set would be sharded like the training batches.
    test_loader = data.DataLoader(test_set, batch_size=512, sharding=replicated)

    model = make_model(args.hidden)
    opt = optim.Adam(lr=args.lr)
    params = jax.device_put(model.init(args.seed), replicated)
    opt_state = jax.device_put(opt.init(params), replicated)
    step, predict = make_train_step(model, opt), make_predict(model)

    losses: list[float] = []
    epoch_losses: list[float] = []
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        batch_losses = []
        for x, y in train_loader:
            params, opt_state, loss = step(params, opt_state, x, y)
            batch_losses.append(loss)  # no float() here: that would wait for each step to finish
        values = [float(v) for v in batch_losses]
        losses += values
        epoch_losses.append(float(np.mean(values)))
        print(f"epoch {epoch + 1:2d}/{args.epochs}  mean train loss {epoch_losses[-1]:.4f}")
    elapsed = time.perf_counter() - t0
    accuracy = evaluate(predict, params, test_loader)
    print(f"trained in {elapsed:.1f}s on {n} device{'s' if n > 1 else ''}")
    print(f"test accuracy: {100 * accuracy:.2f}%")
    return {"params": params, "losses": losses, "epoch_losses": epoch_losses, "accuracy": accuracy}


if __name__ == "__main__":
    main(sys.argv[1:])
