"""Core benchmarks (issue 2): the seed MLP's gradient and long elementwise chains.

Prints ratio tables measured in one run and saves JSON under benchmarks/results/.
Anchors: hand-written jax.numpy forward+backward (the backend's floor),
jax.grad eager, jax.jit(jax.grad), PyTorch eager, and HIPS autograd when installed.
When JAX runs on a GPU and PyTorch sees CUDA, the PyTorch anchor runs on CUDA
("PyTorch eager CUDA", synchronized inside the timed function) and the tables
add the issue's GPU targets.

Run: ``python benchmarks/bench_core.py [--quick] [--out DIR]``
"""
from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (  # noqa: E402
    check_close,
    exit_on_failures,
    guarded,
    median_time,
    median_times,
    on_gpu,
    print_reference,
    print_table,
    print_targets,
    save,
    torch_device,
    torch_sync,
    with_lazy,
)

import tapegrad as tg  # noqa: E402
import tapegrad.numpy as tnp  # noqa: E402

# ---- the seed's MLP: 784-512-512-10, ReLU, cross-entropy, batch 64 ---------------


def mlp_params(key=0, dtype=jnp.float32):
    rng = np.random.default_rng(key)
    sizes = [(784, 512), (512, 512), (512, 10)]
    params = {}
    for i, (n_in, n_out) in enumerate(sizes):
        b = 1 / np.sqrt(n_in)
        params[str(2 * i)] = {"weight": jnp.asarray(rng.uniform(-b, b, (n_out, n_in)), dtype),
                              "bias": jnp.asarray(rng.uniform(-b, b, (n_out,)), dtype)}
    return params


def mlp_loss(np_, params, x, y):
    """The same loss for any numpy-like namespace (tnp or jnp)."""
    h = x
    for i, name in enumerate(("0", "2", "4")):
        h = h @ params[name]["weight"].T + params[name]["bias"]
        if i < 2:
            h = np_.maximum(h, 0.0)
    m = np_.max(h, axis=1, keepdims=True)
    z = h - m
    logp = z - np_.log(np_.sum(np_.exp(z), axis=1, keepdims=True))
    return -np_.mean(np_.sum(logp * y, axis=1))


def mlp_handwritten_grad(params, x, y):
    """Forward and backward written by hand in jax.numpy: the backend's floor."""
    w0, b0 = params["0"]["weight"], params["0"]["bias"]
    w1, b1 = params["2"]["weight"], params["2"]["bias"]
    w2, b2 = params["4"]["weight"], params["4"]["bias"]
    a0 = x @ w0.T + b0
    h0 = jnp.maximum(a0, 0.0)
    a1 = h0 @ w1.T + b1
    h1 = jnp.maximum(a1, 0.0)
    logits = h1 @ w2.T + b2
    z = logits - jnp.max(logits, axis=1, keepdims=True)
    e = jnp.exp(z)
    s = jnp.sum(e, axis=1, keepdims=True)
    loss = -jnp.mean(jnp.sum((z - jnp.log(s)) * y, axis=1))
    n = x.shape[0]
    d_logits = (e / s - y) / n
    d_h1 = d_logits @ w2
    d_a1 = d_h1 * (a1 > 0)
    d_h0 = d_a1 @ w1
    d_a0 = d_h0 * (a0 > 0)
    grads = {"0": {"weight": d_a0.T @ x, "bias": d_a0.sum(0)},
             "2": {"weight": d_a1.T @ h0, "bias": d_a1.sum(0)},
             "4": {"weight": d_logits.T @ h1, "bias": d_logits.sum(0)}}
    return loss, grads


def bench_mlp(repeat: int) -> list:
    params = mlp_params()
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(64, 784)), jnp.float32)
    y = jax.nn.one_hot(jnp.asarray(rng.integers(0, 10, 64)), 10, dtype=jnp.float32)
    tg_loss = lambda p, x, y: mlp_loss(tnp, p, x, y)
    jnp_loss = lambda p, x, y: mlp_loss(jnp, p, x, y)
    # Same numbers first: a benchmark of wrong gradients is worthless.
    ref = mlp_handwritten_grad(params, x, y)[1]
    check_close(tg.grad(tg_loss)(params, x, y), ref, rtol=2e-3, atol=1e-5, what="tapegrad and hand-written gradients")
    tg_eager = tg.value_and_grad(tg_loss)
    tg_jit = jax.jit(tg.value_and_grad(tg_loss))
    jax_eager = jax.value_and_grad(jnp_loss)
    jax_jit = jax.jit(jax.value_and_grad(jnp_loss))
    # The pairs whose ratios are targets are timed interleaved (see common.median_times).
    eager = median_times({"tapegrad eager value_and_grad (lazy)": with_lazy(True, lambda: tg_eager(params, x, y)),
                          "tapegrad eager value_and_grad (lazy off)": with_lazy(False, lambda: tg_eager(params, x, y)),
                          "hand-written jax.numpy fwd+bwd (eager)": lambda: mlp_handwritten_grad(params, x, y)},
                         repeat)
    jitted = median_times({"jax.jit(tg.value_and_grad)": lambda: tg_jit(params, x, y),
                           "jax.jit(jax.value_and_grad)": lambda: jax_jit(params, x, y)}, repeat)
    rows = [*eager.items(),
            ("jax.grad eager", median_time(lambda: jax_eager(params, x, y), max(5, repeat // 3))),
            *jitted.items()]
    torch_rows = torch_mlp(params, np.asarray(x), np.asarray(y), repeat)
    rows += torch_rows
    anchors = {"hand-written": "hand-written jax.numpy fwd+bwd (eager)",
               "jax.jit(jax.grad)": "jax.jit(jax.value_and_grad)",
               "jax.grad eager": "jax.grad eager"}
    if torch_rows:
        anchors["PyTorch"] = torch_rows[0][0]
    out = print_table("seed MLP 784-512-512-10, batch 64: loss and gradient", rows, anchors)
    # Issue 2's target on any device; issue 5 adds <= 0.3x PyTorch eager CUDA on a GPU.
    targets = [("jax.jit(jax.value_and_grad)", 1.05)]
    if torch_rows and on_gpu():
        targets.append((torch_rows[0][0], 0.3))
    targets = print_targets(out, "jax.jit(tg.value_and_grad)", targets)
    if torch_rows:  # issue 16: lazy eager <= 1.0x PyTorch eager
        targets += print_targets(out, "tapegrad eager value_and_grad (lazy)", [(torch_rows[0][0], 1.0)])
    print_reference("jax.jit(jax.grad) 0.27 ms, PyTorch eager 1.28 ms, jax.grad eager 16 ms")
    return out, targets


def torch_mlp(params, x, y, repeat):
    try:
        import torch
    except ImportError:
        print("  (PyTorch not installed: its anchor is skipped)")
        return []
    # One intra-op thread: on a shared 2-core box OpenMP's barriers make torch with
    # 2 threads 10-30x slower whenever anything else runs (measured). Override with
    # TORCH_THREADS.
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    dev = torch_device()
    tp = {k: {n: torch.tensor(np.asarray(v), device=dev, requires_grad=True) for n, v in d.items()}
          for k, d in params.items()}
    tx, ty = torch.tensor(x, device=dev), torch.tensor(y, device=dev)

    def step():
        h = tx
        for i, name in enumerate(("0", "2", "4")):
            h = torch.nn.functional.linear(h, tp[name]["weight"], tp[name]["bias"])
            if i < 2:
                h = torch.relu(h)
        loss = -(torch.log_softmax(h, 1) * ty).sum(1).mean()
        grads = torch.autograd.grad(loss, [p for d in tp.values() for p in d.values()])
        torch_sync(dev)
        return loss, grads

    return [("PyTorch eager CUDA" if dev.startswith("cuda") else "PyTorch eager", median_time(step, repeat))]


# ---- chains of small elementwise ops --------------------------------------------

def chain(np_, x, n):
    for _ in range(n // 3):
        x = np_.sin(x) * 0.9 + 0.1
    return np_.sum(x)


def bench_chain(repeat: int) -> list:
    x = jnp.linspace(0.0, 1.0, 16, dtype=jnp.float32)
    n = 300
    tg_g = tg.grad(lambda x: chain(tnp, x, n))
    check_close(tg_g(x), jax.grad(lambda x: chain(jnp, x, n))(x), rtol=1e-5, what="chain gradients")
    check_close(with_lazy(True, lambda: tg_g(x))(), jax.grad(lambda x: chain(jnp, x, n))(x), rtol=1e-5,
                what="lazy chain gradients")
    jax_jit = jax.jit(jax.grad(lambda x: chain(jnp, x, n)))
    torch_fn = torch_chain_step(n)
    timed = {"tapegrad eager grad, 300 ops (lazy)": with_lazy(True, lambda: tg_g(x)),
             "tapegrad eager grad, 300 ops (lazy off)": with_lazy(False, lambda: tg_g(x)),
             "jax.numpy forward alone, 300 ops": lambda: chain(jnp, x, n)}
    if torch_fn is not None:  # timed interleaved with tapegrad: the issue-16 ratios are between these
        timed[torch_fn[0]] = torch_fn[1]
    try:
        import autograd
        import autograd.numpy as anp

        xa = np.asarray(x)
        ag = autograd.grad(lambda x: chain(anp, x, n))
        timed["HIPS autograd grad, 300 ops"] = lambda: ag(xa)
    except ImportError:
        print("  (HIPS autograd not installed: its anchor is skipped)")
    rows = [
        *median_times(timed, repeat).items(),
        ("jax.grad eager, 300 ops", median_time(lambda: jax.grad(lambda x: chain(jnp, x, n))(x), 5)),
        ("jax.jit(tg.grad), 300 ops", median_time(jax.jit(tg_g).__call__ and (lambda f=jax.jit(tg_g): f(x)),
                                                   repeat)),
        ("jax.jit(jax.grad), 300 ops", median_time(lambda: jax_jit(x), repeat)),
    ]
    fwd = dict(rows)["jax.numpy forward alone, 300 ops"]
    rows.insert(2, ("2 x jax.numpy forward (anchor)", 2 * fwd))
    anchors = {"2x jnp fwd": "2 x jax.numpy forward (anchor)", "jax.grad eager": "jax.grad eager, 300 ops"}
    if torch_fn is not None:
        anchors["PyTorch"] = torch_fn[0]
    out = print_table("300-op elementwise chain on a 16-vector: gradient", rows, anchors)
    print_reference("jnp forward eager 25 ms, PyTorch eager 10.5 ms")
    # Issue 16: lazy eager <= 1.0x PyTorch eager and <= HIPS autograd.
    limits = [(torch_fn[0], 1.0)] if torch_fn is not None else []
    if "HIPS autograd grad, 300 ops" in dict(rows):
        limits.append(("HIPS autograd grad, 300 ops", 1.0))
    targets = print_targets(out, "tapegrad eager grad, 300 ops (lazy)", limits)
    return {"rows": out, "targets": targets}


def torch_chain_step(n):
    """(label, one PyTorch gradient of the chain), or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    dev = torch_device()
    xt = torch.linspace(0.0, 1.0, 16, device=dev, requires_grad=True)

    def step():
        y = xt
        for _ in range(n // 3):
            y = torch.sin(y) * 0.9 + 0.1
        g = torch.autograd.grad(y.sum(), xt)
        torch_sync(dev)
        return g

    label = "PyTorch eager CUDA" if dev.startswith("cuda") else "PyTorch eager"
    return f"{label}, 300 ops", step


def bench_scaling(repeat: int) -> list:
    x = jnp.linspace(0.0, 1.0, 16, dtype=jnp.float32)
    sizes = (3_000, 30_000)
    grads = {n: tg.grad(lambda x, n=n: chain(tnp, x, n)) for n in sizes}
    times = median_times({n: (lambda g=grads[n]: g(x)) for n in sizes}, max(5, repeat // 8), warmup=1)
    rows = [(f"tapegrad eager grad per op, {n} ops", times[n] / n) for n in sizes]
    out = print_table("cost per op as the tape grows", rows,
                      {"per-op at 3,000": "tapegrad eager grad per op, 3000 ops"})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    args = ap.parse_args()
    repeat = 10 if args.quick else 40
    # Saved after each part, so a run cut short by a timeout (gpu.sh) keeps what it measured.
    # Each part guarded: a failure on some device must not lose the other parts.
    results = {}
    mlp = guarded("seed MLP", lambda: bench_mlp(repeat))
    if mlp is not None:
        results["mlp"], results["targets"] = mlp
    save("core", results, args.out)
    results["chain"] = guarded("300-op chain", lambda: bench_chain(repeat))
    save("core", results, args.out)
    results["scaling"] = guarded("cost per op", lambda: bench_scaling(repeat))
    print("\nsaved", save("core", results, args.out))
    exit_on_failures()


if __name__ == "__main__":
    main()
