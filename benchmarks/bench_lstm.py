"""Issue 14 §5: a one-layer LSTM (input 64, hidden 128, batch 32) at T = 50, 200, 1000.

For each T, in one run:

* compile + first call, and the steady step, of ``jax.jit(tg.grad(loss))`` (tapegrad's nn.LSTM on
  ``tg.lax.scan``);
* the same for ``jax.jit(jax.grad(loss))`` of the same LSTM hand-written with ``jax.lax.scan``;
* PyTorch eager (``torch.nn.LSTM``, one thread) forward + backward;
* tapegrad eager ``tg.grad(loss)``.

The loss is the mean of the output sequence's squares; all four give the same gradient (checked).
Steady steps are timed interleaved (``common.median_times``). Targets (issue 14): compile <= 1.5x
JAX's at every T and flat in T; jitted step <= 1.1x ``jax.jit(jax.grad)``; jitted step <= 1.0x
PyTorch eager at T = 200.

    python benchmarks/bench_lstm.py [--quick] [--T 50 200 1000] [--out DIR]
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
import common  # noqa: E402

import tapegrad as tg  # noqa: E402
import tapegrad.numpy as tnp  # noqa: E402
from tapegrad import nn  # noqa: E402

INPUT, HIDDEN, BATCH = 64, 128, 32


def jax_lstm_loss(params: dict, x: jax.Array) -> jax.Array:
    """The same LSTM in plain JAX: input projections for all steps first, then the recurrence in a scan."""
    w_ih, w_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    b = params["bias_ih_l0"] + params["bias_hh_l0"]
    xp = x @ w_ih.T + b
    h0 = jnp.zeros((x.shape[1], HIDDEN), x.dtype)

    def step(carry, xt):
        h, c = carry
        gates = xt + h @ w_hh.T
        i, f, g, o = jnp.split(gates, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    _, hs = jax.lax.scan(step, (h0, h0), xp)
    return jnp.mean(hs ** 2)


def compile_and_first(fn, *args) -> float:
    t = time.perf_counter()
    common.block(fn(*args))
    return time.perf_counter() - t


def run(ts: list[int], repeat: int, out_dir: str | None) -> dict:
    import torch

    torch.set_num_threads(1)
    lstm = nn.LSTM(INPUT, HIDDEN)
    params = lstm.init(0)

    def tg_loss(p, x):
        out, _ = lstm(p, x)
        return tnp.mean(out ** 2)

    rows_by_t = {}
    for T in ts:
        x = jnp.asarray(np.random.default_rng(T).standard_normal((T, BATCH, INPUT)), jnp.float32)
        # Fresh jitted functions per T, so each compile is measured from scratch.
        tg_jit = jax.jit(tg.grad(tg_loss))
        jax_jit = jax.jit(jax.grad(jax_lstm_loss))
        c_tg = compile_and_first(tg_jit, params, x)
        c_jax = compile_and_first(jax_jit, params, x)

        tlstm = torch.nn.LSTM(INPUT, HIDDEN)
        with torch.no_grad():
            for name, v in params.items():
                getattr(tlstm, name).copy_(torch.tensor(np.asarray(v)))
        tx = torch.tensor(np.asarray(x))

        def torch_step(tlstm=tlstm, tx=tx):
            tlstm.zero_grad()
            out, _ = tlstm(tx)
            (out ** 2).mean().backward()
            return tlstm.weight_hh_l0.grad

        g_tg, g_jax = tg_jit(params, x), jax_jit(params, x)
        common.check_close(g_tg, g_jax, rtol=2e-3, atol=1e-6, what="tapegrad vs jax grads")
        common.check_close(np.asarray(g_tg["weight_hh_l0"]), torch_step().numpy(), rtol=2e-3, atol=1e-6,
                           what="tapegrad vs torch grads")

        eager = tg.grad(tg_loss)
        fns = {"jax.jit(tg.grad)": lambda f=tg_jit, x=x: f(params, x),
               "jax.jit(jax.grad)": lambda f=jax_jit, x=x: f(params, x),
               "PyTorch eager (1 thread)": torch_step, "tapegrad eager": lambda f=eager, x=x: f(params, x)}
        times = common.median_times(fns, repeat=repeat, warmup=2)
        rows = [("compile + first: jax.jit(tg.grad)", c_tg), ("compile + first: jax.jit(jax.grad)", c_jax),
                *times.items()]
        table = common.print_table(f"LSTM T={T} (input {INPUT}, hidden {HIDDEN}, batch {BATCH})", rows,
                                   {"jax.jit(jax.grad)": "jax.jit(jax.grad)",
                                    "PyTorch": "PyTorch eager (1 thread)"})
        targets = common.print_targets(table, "compile + first: jax.jit(tg.grad)",
                                       [("compile + first: jax.jit(jax.grad)", 1.5)])
        targets += common.print_targets(table, "jax.jit(tg.grad)", [("jax.jit(jax.grad)", 1.1)]
                                        + ([("PyTorch eager (1 thread)", 1.0)] if T == 200 else []))
        rows_by_t[T] = {"rows": table, "targets": targets}
    compiles = [rows_by_t[T]["rows"][0]["seconds"] for T in ts]
    if len(ts) > 1:
        print(f"\n  tapegrad compile across T={ts}: " + ", ".join(f"{c:.2f}s" for c in compiles)
              + f" (largest / smallest {max(compiles) / min(compiles):.2f}x)")
    payload = {"T": {str(k): v for k, v in rows_by_t.items()}}
    print("saved", common.save("lstm", payload, out_dir))
    return payload


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--quick", action="store_true", help="fewer repeats (a device run)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    run(args.T, repeat=5 if args.quick else 15, out_dir=args.out)
    common.exit_on_failures()


if __name__ == "__main__":
    main()
