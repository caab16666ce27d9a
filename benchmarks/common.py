"""Timing helpers shared by the benchmarks: medians of repeated runs, ratio tables, JSON results.

These machines are noisy: every figure is a median, and every comparison is a
ratio against an anchor measured in the same run.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def block(x: Any) -> Any:
    return jax.tree_util.tree_map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, x)


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


def machine() -> dict[str, Any]:
    dev = jax.devices()[0]
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "jax": jax.__version__, "device": f"{dev.platform}:{dev.device_kind}"}


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
