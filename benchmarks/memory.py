"""Memory benchmarks (issue 6): peak memory of a gradient, memory over a long training run, and
what ``tg.checkpoint`` saves on a deep MLP.

How memory is measured. On CPU ``jax.devices()[0].memory_stats()`` is ``None`` (the CPU client
keeps no allocator statistics), and RSS is a poor proxy for a single gradient: it includes XLA's
compiled code and the C allocator's cached free pages, and it never goes down. So the peaks below
are *live JAX buffer bytes*: the sum of ``nbytes`` over ``jax.live_arrays()``, sampled after every
primitive application (forward, and the recomputation inside checkpointed blocks) and after every
pullback in the backward sweep, minus the bytes live just before the call (parameters, inputs).
This counts exactly the arrays that tapegrad keeps alive (residuals, cotangents, gradients); it
does not see scratch memory inside a single XLA call. Where ``memory_stats()`` exists (GPU/TPU),
its ``peak_bytes_in_use`` is reported as well. The long run reports the Python heap (tracemalloc)
and the process RSS (/proc/self/statm) at intervals.

Residual totals come from the tape itself: ``tg.make_tape`` and ``Entry.saved()`` /
``Entry.saved_bytes()``, counted once per distinct buffer and without the inputs' own buffers
(a weight saved by a matmul is not extra memory).

Run: ``python benchmarks/memory.py [--quick] [--out DIR]``; prints tables and saves
``benchmarks/results/memory.json``.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import block, exit_on_failures, guarded, save  # noqa: E402

import tapegrad as tg  # noqa: E402
import tapegrad.numpy as tnp  # noqa: E402
from tapegrad import accel, nn, optim  # noqa: E402
from tapegrad.core.primitive import Primitive  # noqa: E402
from tapegrad.core.tape import Entry, Tape  # noqa: E402
from tapegrad.core.tracer import Trace, Tracer  # noqa: E402

MB = 1 << 20


# --- measuring --------------------------------------------------------------------------------------

def live_bytes() -> int:
    return sum(a.nbytes for a in jax.live_arrays())


def device_peak() -> int | None:
    stats = jax.devices()[0].memory_stats()
    return None if not stats else stats.get("peak_bytes_in_use")


class PeakSampler:
    """Peak of live JAX buffer bytes while the block runs, sampled at every primitive and pullback."""

    def __init__(self) -> None:
        self.base = self.peak = 0
        self.samples = 0

    def sample(self) -> None:
        b = live_bytes()
        self.samples += 1
        if b > self.peak:
            self.peak = b

    @contextlib.contextmanager
    def watch(self) -> Iterator[PeakSampler]:
        gc.collect()
        self.base = self.peak = live_bytes()
        call, pullback = Primitive.__call__, Primitive.pullback
        sampler = self

        def sampled_call(prim: Primitive, *args: Any, **params: Any) -> Any:
            out = call(prim, *args, **params)
            sampler.sample()
            return out

        def sampled_pullback(prim: Primitive, g: Any, entry: Entry) -> Any:
            out = pullback(prim, g, entry)
            sampler.sample()
            return out

        Primitive.__call__, Primitive.pullback = sampled_call, sampled_pullback
        try:
            yield self
        finally:
            Primitive.__call__, Primitive.pullback = call, pullback
        self.sample()

    @property
    def delta(self) -> int:
        return self.peak - self.base


def peak_of(fn: Callable[[], Any], warmup: int = 3) -> tuple[int, Any]:
    """Live-buffer peak above the starting point of one call of ``fn`` (after ``warmup`` calls, so
    that compiled rules and caches exist already and are not counted).

    The backward sweep is kept interpreted here (``tapegrad.accel`` off): a sweep compiled as a
    whole runs as one XLA call, inside which no live buffer can be sampled on the CPU.
    """
    accel.enable(False)
    try:
        for _ in range(warmup):
            block(fn())
        sampler = PeakSampler()
        with sampler.watch():
            out = block(fn())
    finally:
        accel.enable(True)
    return sampler.delta, out


def residuals(fun: Callable, *args: Any) -> dict[str, int]:
    """Residual bytes on the tape ``fun(*args)`` records: all saved values, and distinct buffers
    that are not the inputs' own."""
    tape = tg.make_tape(fun)(*args)
    inputs = {id(a) for a in jax.tree.leaves(args)}
    total = 0
    unique: dict[int, int] = {}
    for e in tape:
        total += e.saved_bytes()
        for _, v in e.saved():
            if id(v) not in inputs:
                unique[id(v)] = int(v.size) * v.dtype.itemsize
    return {"entries": len(tape), "saved_bytes": total, "distinct_non_input_bytes": sum(unique.values())}


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def tree_bytes(tree: Any) -> int:
    return sum(int(np.size(a)) * np.asarray(a).dtype.itemsize for a in jax.tree.leaves(tree))


# --- models -----------------------------------------------------------------------------------------

def seed_mlp(batch: int = 64) -> tuple[Callable, tuple]:
    """The seed's MLP (784-512-512-10, ReLU, cross-entropy), float32."""
    rng = np.random.default_rng(0)
    params = {}
    for i, (n_in, n_out) in enumerate([(784, 512), (512, 512), (512, 10)]):
        b = 1 / np.sqrt(n_in)
        params[str(2 * i)] = {"weight": jnp.asarray(rng.uniform(-b, b, (n_out, n_in)), jnp.float32),
                              "bias": jnp.asarray(rng.uniform(-b, b, (n_out,)), jnp.float32)}
    x = jnp.asarray(rng.uniform(0, 1, (batch, 784)), jnp.float32)
    y = jax.nn.one_hot(jnp.asarray(rng.integers(0, 10, batch)), 10, dtype=jnp.float32)

    def loss(params, x, y):
        h = x
        for i, name in enumerate(("0", "2", "4")):
            h = h @ params[name]["weight"].T + params[name]["bias"]
            if i < 2:
                h = tnp.maximum(h, 0.0)
        m = tnp.max(h, axis=1, keepdims=True)
        z = h - m
        logp = z - tnp.log(tnp.sum(tnp.exp(z), axis=1, keepdims=True))
        return -tnp.mean(tnp.sum(logp * y, axis=1))

    return loss, (params, x, y)


def deep_mlp(depth: int = 32, width: int = 256, batch: int = 256, every: int = 0) -> tuple[Callable, tuple]:
    """``depth`` tanh layers of ``width``; ``every`` = 0: no checkpointing, 1: each layer
    checkpointed, k: each block of k layers checkpointed."""
    rng = np.random.default_rng(1)
    params = [{"w": jnp.asarray(rng.normal(0, 1 / np.sqrt(width), (width, width)), jnp.float32),
               "b": jnp.asarray(rng.normal(0, 0.01, (width,)), jnp.float32)} for _ in range(depth)]
    x = jnp.asarray(rng.normal(0, 1, (batch, width)), jnp.float32)

    def layers(ps: list, h: Any) -> Any:
        for p in ps:
            h = tnp.tanh(h @ p["w"] + p["b"])
        return h

    run = tg.checkpoint(layers) if every else layers
    step = every or depth

    def loss(params, x):
        h = x
        for i in range(0, len(params), step):
            h = run(params[i:i + step], h)
        return tnp.mean(h * h)

    return loss, (params, x)


def elementwise_chain(n_ops: int = 1000, size: int = 256) -> tuple[Callable, tuple]:
    x = jnp.linspace(-1.0, 1.0, size * size, dtype=jnp.float32).reshape(size, size)

    def loss(x):
        for _ in range(n_ops // 2):
            x = tnp.sin(x) * 1.01
        return tnp.sum(x)

    return loss, (x,)


# --- (a) peak of an eager grad vs its residuals ------------------------------------------------------

def bench_peak_vs_residuals(quick: bool) -> list[dict[str, Any]]:
    cases = [("seed MLP 784-512-512-10, batch 64", seed_mlp()),
             ("deep MLP 32x256, batch 256", deep_mlp()),
             ("elementwise chain, 1000 ops on 256x256", elementwise_chain(200 if quick else 1000))]
    rows = []
    print("\n(a) eager tg.grad: peak live JAX buffers vs residual bytes on the tape")
    print(f"  {'':42s} {'entries':>8s} {'saved':>10s} {'distinct':>10s} {'grads':>9s} {'peak':>10s} "
          f"{'peak/distinct':>14s}")
    for name, (loss, args) in cases:
        res = residuals(loss, *args)
        argnums = tuple(range(len(args) - 1)) if len(args) > 1 else 0
        if name.startswith("seed"):
            argnums = 0
        grad = tg.grad(loss, argnums=argnums)
        peak, g = peak_of(lambda grad=grad, args=args: grad(*args))
        row = {"case": name, **res, "grad_bytes": tree_bytes(g), "peak_live_bytes": peak,
               "peak_over_distinct_residuals": peak / res["distinct_non_input_bytes"],
               "device_peak_bytes": device_peak()}
        rows.append(row)
        print(f"  {name:42s} {res['entries']:8d} {res['saved_bytes'] / MB:8.2f}MB "
              f"{res['distinct_non_input_bytes'] / MB:8.2f}MB {row['grad_bytes'] / MB:7.2f}MB "
              f"{peak / MB:8.2f}MB {row['peak_over_distinct_residuals']:13.2f}x")
    print("  saved: Entry.saved_bytes() summed; distinct: each residual buffer once, inputs' own buffers "
          "excluded; peak: live-buffer peak during the call above what was live before it (grads included)")
    if rows and rows[0]["device_peak_bytes"] is not None:
        print("  device memory_stats() peak_bytes_in_use after each case (the process's high-water mark so far, "
              "XLA scratch included): " + ", ".join(f"{r['device_peak_bytes'] / MB:.1f}MB" for r in rows))
    return rows


# --- (b) memory over a long training run ---------------------------------------------------------

def bench_training_steps(steps: int, every: int, warmup: int) -> list[dict[str, Any]]:
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    params = model.init(0)
    opt = optim.Adam(lr=1e-3)
    state = opt.init(params)
    rng = np.random.default_rng(0)
    xs = jnp.asarray(rng.normal(size=(16, 32, 64)), jnp.float32)
    ys = jnp.asarray(rng.integers(0, 10, size=(16, 32)))

    def loss_fn(p, x, y):
        return nn.functional.cross_entropy(model(p, x), y)

    batches = [(xs[i], ys[i]) for i in range(16)]
    vg = tg.value_and_grad(loss_fn)
    for i in range(warmup):  # warm-up: compiled rules, XLA executables, JAX's caches
        loss, g = vg(params, *batches[i % 16])
        params, state = opt.step(params, g, state)
    rows = []
    print(f"\n(b) {steps:,d} training steps (MLP 64-128-10, Adam, batch 32), cyclic gc disabled")
    print(f"  {'step':>7s} {'heap (tracemalloc)':>20s} {'RSS':>12s} {'live JAX':>12s} {'tapegrad objs':>14s} "
          f"{'loss':>8s}")
    gc.collect()
    gc.disable()
    tracemalloc.start()
    heap0, rss0 = tracemalloc.get_traced_memory()[0], rss_bytes()
    t0 = time.perf_counter()
    try:
        for i in range(steps + 1):
            if i % every == 0:
                n_objs = sum(type(o) in (Tracer, Tape, Entry, Trace) for o in gc.get_objects())
                row = {"step": i, "heap_bytes": tracemalloc.get_traced_memory()[0] - heap0,
                       "rss_bytes": rss_bytes() - rss0, "live_jax_bytes": live_bytes(),
                       "tapegrad_objects": n_objs, "loss": float(loss)}
                rows.append(row)
                print(f"  {i:7d} {row['heap_bytes'] / 1024:+17.1f}KB {row['rss_bytes'] / MB:+10.2f}MB "
                      f"{row['live_jax_bytes'] / MB:10.2f}MB {n_objs:14d} {row['loss']:8.4f}")
            if i == steps:
                break
            loss, g = vg(params, *batches[i % 16])
            params, state = opt.step(params, g, state)
    finally:
        tracemalloc.stop()
        gc.enable()
    elapsed = time.perf_counter() - t0
    print(f"  ({elapsed:.1f}s with tracemalloc on; heap and RSS relative to step 0, after {warmup} warm-up "
          "steps. The one-off heap rise over the first interval is CPython's tuple/float free lists\n"
          "  filling up, which tracemalloc counts as allocated; flat after that.)")
    return rows


# --- (c) checkpointing a deep MLP ----------------------------------------------------------------

def bench_checkpoint(quick: bool) -> list[dict[str, Any]]:
    """Peaks of the training gradient (w.r.t. the params) and of the gradient w.r.t. the input only,
    which leaves out the 8 MB of weight gradients and so shows the activation memory alone. Times are
    medians over rounds that run the three configurations in turn, so that load drift on a shared
    machine hits them alike."""
    configs = [("no checkpointing", 0), ("checkpoint each layer", 1), ("checkpoint each block of 4", 4)]
    rows = []
    for batch in (256,) if quick else (256, 1024):
        built = []
        for name, every in configs:
            loss, (params, x) = deep_mlp(batch=batch, every=every)
            built.append((name, every, loss, params, x, tg.grad(loss), tg.grad(loss, argnums=1)))
        times: dict[str, list[float]] = {name: [] for name, *_ in built}
        for _ in range(3 if quick else 9):
            for name, _, _, params, x, grad, _ in built:
                t = time.perf_counter()
                block(grad(params, x))
                times[name].append(time.perf_counter() - t)
        ref = None
        first = len(rows)
        print(f"\n(c) tg.checkpoint on a deep MLP: 32 tanh layers of width 256, batch {batch}, float32")
        print(f"  {'':28s} {'residuals':>10s} {'peak d/dparams':>15s} {'vs none':>8s} {'peak d/dx':>10s} "
              f"{'vs none':>8s} {'time/grad':>10s} {'vs none':>8s} {'max |dg|':>9s}")
        for name, every, loss, params, x, grad, grad_x in built:
            res = residuals(loss, params, x)
            peak, g = peak_of(lambda grad=grad, params=params, x=x: grad(params, x))
            peak_x, _ = peak_of(lambda grad_x=grad_x, params=params, x=x: grad_x(params, x))
            if ref is None:
                ref = g
            pairs = zip(jax.tree.leaves(g), jax.tree.leaves(ref), strict=True)
            diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in pairs)
            row = {"batch": batch, "config": name, "every": every,
                   "distinct_residual_bytes": res["distinct_non_input_bytes"], "grad_bytes": tree_bytes(g),
                   "peak_live_bytes": peak, "peak_live_bytes_grad_x_only": peak_x,
                   "seconds_per_grad": statistics.median(times[name]), "max_abs_grad_diff": diff}
            rows.append(row)
            base = rows[first]
            print(f"  {name:28s} {row['distinct_residual_bytes'] / MB:8.2f}MB {peak / MB:13.2f}MB "
                  f"{peak / base['peak_live_bytes']:7.2f}x {peak_x / MB:8.2f}MB "
                  f"{peak_x / base['peak_live_bytes_grad_x_only']:7.2f}x "
                  f"{row['seconds_per_grad'] * 1e3:8.1f}ms "
                  f"{row['seconds_per_grad'] / base['seconds_per_grad']:7.2f}x {diff:9.1e}")
        print(f"  peaks: live-buffer peak above the parameters and input; d/dparams includes the "
              f"{rows[first]['grad_bytes'] / MB:.1f} MB of gradients it returns")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 training steps, fewer repeats")
    parser.add_argument("--out", default=None, help="results directory (default benchmarks/results)")
    args = parser.parse_args()
    stats = jax.devices()[0].memory_stats()
    method = ("jax device memory_stats() peak_bytes_in_use, plus live-buffer sampling" if stats else
              "live JAX buffer bytes (jax.live_arrays) sampled after every primitive and pullback; "
              "memory_stats() is None on this device")
    print(f"device: {jax.devices()[0]}; peak memory method: {method}")
    # Saved after each part, so a run cut short by a timeout (benchmarks/gpu.sh) keeps what it measured.
    payload: dict[str, Any] = {"method": method}
    payload["peak_vs_residuals"] = guarded("(a) peak vs residuals", lambda: bench_peak_vs_residuals(args.quick))
    save("memory", payload, args.out)
    payload["training_steps"] = guarded("(b) training steps", lambda: bench_training_steps(
        2_000 if args.quick else 10_000, 200 if args.quick else 1_000, 200 if args.quick else 1_000))
    save("memory", payload, args.out)
    payload["checkpoint"] = guarded("(c) checkpoint", lambda: bench_checkpoint(args.quick))
    path = save("memory", payload, args.out)
    print(f"\nsaved {path}")
    exit_on_failures()


if __name__ == "__main__":
    main()
