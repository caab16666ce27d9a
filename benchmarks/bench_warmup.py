"""Warm-up and changing shapes (issue 11): the first steps of an eager training loop, and a loop whose
batch size changes, for tapegrad eager, plain JAX eager and PyTorch eager (1 thread).

The seed MLP (784-512-512-10, ReLU) with Adam, cross-entropy on random data. Each run is a fresh
process, because most of what is measured is compilation, and JAX's caches of compiled ops would
carry from one framework's run to the next in one process. Runs are interleaved (tapegrad, JAX,
PyTorch, tapegrad, ...) so that the machine's drifting load hits all three alike; figures are
medians over ``--repeat`` runs.

* **first step**: one training step in a fresh process (imports and model setup excluded);
* **steps 2-10**: the next nine steps, each with a new batch size (16, 24, ..., 80);
* **cycling loop**: 59 steps cycling batch sizes 8, 16, ..., 80 (the first 10 are new shapes,
  the rest repeat them), first step included.

Targets on the CPU: cycling <= 1.0x plain JAX eager, first step <= 1.5x plain JAX eager's (issue 11,
``TAPEGRAD_LAZY=0``); with lazy segments, cycling <= 0.3x and first step <= 0.5x (issue 16).

Run: ``python benchmarks/bench_warmup.py [--repeat 3] [--out DIR]``
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [8 * (1 + i % 10) for i in range(59)]
FRAMEWORKS = ("tapegrad eager", "tapegrad lazy", "JAX eager", "PyTorch eager (1 thread)")
# "tapegrad lazy": the same tapegrad worker with lazy segments on (TAPEGRAD_LAZY=1, issue 16).


def _data(b: int, rng):
    import numpy as np

    return rng.standard_normal((b, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, b)


def worker(framework: str) -> list[float]:
    """Per-step wall times of the cycling loop, in this (fresh) process."""
    import numpy as np

    rng = np.random.default_rng(0)
    times: list[float] = []
    if framework == "PyTorch eager (1 thread)":
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                    torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for b in SIZES:
            x, y = _data(b, rng)
            t = time.perf_counter()
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
            loss.backward()
            opt.step()
            float(loss)
            times.append(time.perf_counter() - t)
        return times

    import jax
    import jax.numpy as jnp

    import tapegrad as tg
    from tapegrad import nn, optim
    from tapegrad.nn import functional as F

    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                        nn.Linear(512, 10))
    params = mlp.init(0)
    if framework.startswith("tapegrad"):
        opt = optim.Adam(lr=1e-3)
        state = opt.init(params)
        grad = tg.value_and_grad(lambda p, x, y: F.cross_entropy(mlp(p, x), y))

        def step(params, state, x, y):
            loss, g = grad(params, x, y)
            params, state = opt.step(params, g, state)
            return params, state, loss
    else:
        # Plain JAX eager: the same model in jax.numpy, jax.value_and_grad, and Adam written as a
        # JAX user writes it without a library (PyTorch's update, bias-corrected).
        def loss_fn(p, x, y):
            h = x.reshape(x.shape[0], -1)
            for i in ("1", "3", "5"):
                h = h @ p[i]["weight"].T + p[i]["bias"]
                if i != "5":
                    h = jnp.maximum(h, 0)
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(h), y[:, None], axis=1))

        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        state = (0, zeros, zeros)
        grad = jax.value_and_grad(loss_fn)

        def step(params, state, x, y):
            loss, g = grad(params, x, y)
            t, m, v = state
            t += 1
            m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
            v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
            c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
            params = jax.tree_util.tree_map(
                lambda p, m, v: p - 1e-3 * (m / c1) / (jnp.sqrt(v / c2) + 1e-8), params, m, v)
            return params, (t, m, v), loss

    for b in SIZES:
        x, y = _data(b, rng)
        t = time.perf_counter()
        x, y = jnp.asarray(x), jnp.asarray(y)
        params, state, loss = step(params, state, x, y)
        jax.block_until_ready((params, loss))
        times.append(time.perf_counter() - t)
    return times


def run_worker(framework: str) -> list[float]:
    env = {**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    env.pop("JAX_ENABLE_X64", None)
    env["TAPEGRAD_LAZY"] = "1" if framework == "tapegrad lazy" else "0"
    r = subprocess.run([sys.executable, __file__, "--worker", framework], capture_output=True, text=True,
                       env=env, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"{framework} worker failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--worker", default=None)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    sys.path.insert(0, HERE)
    from common import save

    runs: dict[str, list[list[float]]] = {f: [] for f in FRAMEWORKS}
    for r in range(args.repeat):
        for k in range(len(FRAMEWORKS)):
            f = FRAMEWORKS[(r + k) % len(FRAMEWORKS)]
            runs[f].append(run_worker(f))
            print(f"  run {r + 1}/{args.repeat} {f}: cycling {sum(runs[f][-1]):.2f} s", flush=True)

    def med(f: str, part) -> float:
        return statistics.median(part(ts) for ts in runs[f])

    parts = {"first step": lambda ts: ts[0], "steps 2-10 (new batch sizes)": lambda ts: sum(ts[1:10]),
             "steps 11-59 (repeated sizes)": lambda ts: sum(ts[10:]), "cycling loop (59 steps)": sum}
    table = {}
    print(f"\nSeed MLP + Adam, batch sizes cycling 8..80, medians of {args.repeat} fresh-process runs")
    print(f"  {'':32s}" + "".join(f"{f:>28s}" for f in FRAMEWORKS) + f"{'tapegrad / JAX':>18s}"
          + f"{'tapegrad / PyTorch':>20s}{'lazy / JAX':>14s}")
    for name, part in parts.items():
        row = {f: med(f, part) for f in FRAMEWORKS}
        table[name] = row
        tg_, jx, pt = row["tapegrad eager"], row["JAX eager"], row["PyTorch eager (1 thread)"]
        print(f"  {name:32s}" + "".join(f"{row[f]:26.3f} s" for f in FRAMEWORKS)
              + f"{tg_ / jx:17.2f}x{tg_ / pt:19.2f}x{row['tapegrad lazy'] / jx:13.2f}x")
    # Issue 11's targets for the step-by-step eager path, issue 16's for lazy segments (the default).
    targets = [("tapegrad eager", "cycling loop (59 steps)", 1.0), ("tapegrad eager", "first step", 1.5),
               ("tapegrad lazy", "cycling loop (59 steps)", 0.3), ("tapegrad lazy", "first step", 0.5)]
    met = []
    for who, name, limit in targets:
        ratio = table[name][who] / table[name]["JAX eager"]
        ok = ratio <= limit
        met.append({"who": who, "what": name, "limit": limit, "ratio": ratio, "met": ok})
        print(f"  target: {who}, {name} <= {limit:.1f}x plain JAX eager: {ratio:.2f}x {'met' if ok else 'NOT met'}")
    path = save("bench_warmup", {"sizes": SIZES, "repeat": args.repeat, "table": table, "targets": met,
                                 "runs": runs}, args.out)
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
