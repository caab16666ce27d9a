"""Timing helpers shared by the benchmarks: medians of repeated runs, ratio tables, JSON results.

These machines are noisy: every figure is a median, and every comparison is a
ratio against an anchor measured in the same run.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def block(x: Any) -> Any:
    return jax.tree_util.tree_map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, x)


# What failed in this run (see ``guarded``): the scripts exit non-zero when it is not empty.
FAILURES: list[str] = []


def guarded(what: str, fn: Callable[[], Any], default: Any = None) -> Any:
    """``fn()``, or ``default`` after printing the exception: one op that a device lacks must not lose a
    one-off device run's other figures. The failure is kept in ``FAILURES``."""
    try:
        return fn()
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0][:300]
        msg = f"{what}: FAILED: {type(e).__name__}: {first}"
        print(f"  {msg}")
        FAILURES.append(msg)
        return default


def runs(fn: Callable[[], Any]) -> bool:
    """True once ``fn()`` has run to completion (an exception propagates: wrap it in ``guarded``)."""
    block(fn())
    return True


def exit_on_failures() -> None:
    if FAILURES:
        print(f"\n{len(FAILURES)} failure(s):\n  " + "\n  ".join(FAILURES))
        sys.exit(1)


def median_times(fns: dict[Any, Callable[[], Any]], repeat: int = 30, warmup: int = 5) -> dict[Any, float]:
    """Median wall time of each ``fn()`` in seconds, measured **interleaved**: round after round,
    each function once, in a rotating order. On a shared machine the load drifts over seconds; timed
    one after the other, two equal functions can differ by 20%, interleaved they see the same load.
    Five warm-up calls: tapegrad compiles its hot rules on the 3rd call and whole sweeps on the 4th.
    """
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            block(fns[name]())
    times: dict[Any, list[float]] = {name: [] for name in names}
    for r in range(repeat):
        for k in range(len(names)):
            name = names[(r + k) % len(names)]
            t = time.perf_counter()
            block(fns[name]())
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def median_time(fn: Callable[[], Any], repeat: int = 30, warmup: int = 3, min_time: float = 0.0) -> float:
    """Median wall time of ``fn()`` in seconds (results blocked on, so async dispatch is counted)."""
    for _ in range(warmup):
        block(fn())
    times = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        block(fn())
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def with_lazy(on: bool, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` run with tapegrad's lazy segments switched ``on`` or off (the setting restored after), so
    both modes can be timed interleaved in one process (issue 16)."""
    import tapegrad as tg

    def run() -> Any:
        before = tg.config.read("lazy")
        tg.config.update("lazy", on)
        try:
            return block(fn())
        finally:
            tg.config.update("lazy", before)

    return run


def on_gpu() -> bool:
    """Whether JAX runs on a GPU (its default device)."""
    return jax.devices()[0].platform == "gpu"


def torch_device() -> str:
    """Where the PyTorch anchor runs: ``"cuda"`` when JAX is on a GPU and PyTorch sees CUDA, else ``"cpu"``.

    ``TORCH_DEVICE`` overrides. Call only once torch is importable.
    """
    import torch

    forced = os.environ.get("TORCH_DEVICE")
    if forced:
        return forced
    return "cuda" if on_gpu() and torch.cuda.is_available() else "cpu"


def torch_sync(device: str) -> None:
    """Wait for PyTorch's queued GPU work, so that a timed function's wall time is real."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def check_close(actual: Any, expected: Any, rtol: float, atol: float = 0.0, what: str = "results") -> None:
    """Same numbers first: a benchmark of wrong results is worthless.

    On the CPU this asserts as before. On a GPU, XLA may run float32 matmuls and convolutions in TF32
    (about 3 decimal digits), so two correct programs that order their contractions differently
    disagree beyond CPU tolerances: there the tolerance widens to rtol 2e-2 and a mismatch is printed
    as a warning, not raised, so that the timings still come back from a one-off device run.
    """
    if not on_gpu():
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=rtol, atol=atol), actual, expected)
        return
    rtol, atol = max(rtol, 2e-2), max(atol, 1e-4)
    pairs = zip(jax.tree_util.tree_leaves(actual), jax.tree_util.tree_leaves(expected), strict=True)
    for a, b in pairs:
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if not np.allclose(a, b, rtol=rtol, atol=atol):
            err = float(np.max(np.abs(a - b)))
            print(f"  WARNING: {what} differ beyond rtol={rtol:g}, atol={atol:g} on the GPU: max |diff| {err:.3g}, "
                  f"max |expected| {float(np.max(np.abs(b))):.3g}")
            return


def machine() -> dict[str, Any]:
    dev = jax.devices()[0]
    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "jax": jax.__version__, "device": f"{dev.platform}:{dev.device_kind}",
            "jax_devices": [str(d) for d in jax.devices()]}
    try:
        import jaxlib

        info["jaxlib"] = jaxlib.__version__
    except (ImportError, AttributeError):
        pass
    torch = sys.modules.get("torch")  # only when a benchmark used it: importing torch here costs seconds
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_cuda_available"] = torch.cuda.is_available()
        info["torch_device"] = torch_device()
        if info["torch_device"].startswith("cuda"):
            info["torch_gpu"] = torch.cuda.get_device_name(0)
    return info


def print_table(title: str, rows: list[tuple[str, float]], anchors: dict[str, str]) -> list[dict[str, Any]]:
    """Print ``rows`` (name, seconds) with ratios against the named anchor rows."""
    times = dict(rows)
    print(f"\n{title}")
    header = f"  {'':44s} {'median':>10s}" + "".join(f" {'/ ' + a:>18s}" for a in anchors)
    print(header)
    out = []
    for name, t in rows:
        ratios = {a: t / times[ref] for a, ref in anchors.items() if ref in times}
        print(f"  {name:44s} {t * 1e3:8.3f}ms" + "".join(f" {ratios.get(a, float('nan')):17.2f}x"
                                                         for a in anchors))
        out.append({"name": name, "seconds": t, "ratios": ratios})
    return out


def print_targets(rows: list[dict[str, Any]], subject: str, targets: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """Print ``subject``'s time over each anchor row against its ceiling: ``targets`` is [(anchor, max ratio)]."""
    times = {r["name"]: r["seconds"] for r in rows}
    out = []
    for ref, limit in targets:
        if subject not in times or ref not in times:
            continue
        ratio = times[subject] / times[ref]
        met = ratio <= limit
        print(f"  target: {subject} <= {limit:.2f}x {ref}: {ratio:.2f}x {'met' if met else 'NOT met'}")
        out.append({"subject": subject, "anchor": ref, "limit": limit, "ratio": ratio, "met": met})
    return out


def print_reference(text: str) -> None:
    """On a GPU, print the issue's GPU figures (another machine: compare ratios, not milliseconds)."""
    if on_gpu():
        print(f"  issue 5 GPU reference (another machine, compare ratios not ms): {text}")


def save(name: str, payload: dict[str, Any], out_dir: str | None = None) -> str:
    """Write results JSON atomically to ``out_dir`` (default benchmarks/results/)."""
    out_dir = out_dir or RESULTS_DIR
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.json")
    payload = {"machine": machine(), "time": time.strftime("%Y-%m-%d %H:%M:%S"), **payload}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=2)
    os.replace(tmp, path)
    return path
