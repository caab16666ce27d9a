"""DataLoader worker speed-up (issue 15 §3): one epoch over a dataset with a slow `__getitem__`, serial
(`num_workers=0`) against `num_workers=2` and `4` (worker threads, see `tapegrad.data.workers`).

Three kinds of slow sample, each a map-style dataset of `--samples` items, batch 8, shuffled with a seed:

* **io**: `time.sleep(--sleep-ms)` then a small array: a read from disk or a network, which waits
  outside the GIL;
* **numpy**: NumPy work on a 256x256 image per sample (FFT filtering, sorting, clipping), which
  releases the GIL: decoding and augmenting images looks like this;
* **python**: a pure-Python loop per sample, which holds the GIL: the case threads cannot speed up
  (shown for honesty; move such work into NumPy or a batched `get_batch`).

Every configuration must give the serial loader's batches (checked first). Epochs are timed
interleaved (`common.median_times`), so all configurations see the same machine load; the speed-up is
the serial median over the workers' median. The ideal is `num_workers` for io, and for numpy work
`min(num_workers, free cores)`: the script prints how many CPUs the process actually got with 4 workers
(process CPU time over wall time), which on a shared machine can be far below its core count.

Run: ``python benchmarks/bench_data.py [--samples 64] [--sleep-ms 10] [--repeat 5] [--out DIR]``
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

from tapegrad import data  # noqa: E402

WORKERS = (0, 2, 4)
BATCH = 8


class SleepingSamples(data.Dataset):
    """Waits like a read from storage, then returns a small array."""

    def __init__(self, n: int, sleep_s: float) -> None:
        self.n, self.sleep_s = n, sleep_s

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        time.sleep(self.sleep_s)
        return np.full((3, 32, 32), i, np.float32), i


class NumpySamples(data.Dataset):
    """An image made and filtered with NumPy: FFT low-pass, sort-based median clip, normalise."""

    def __init__(self, n: int, side: int = 256) -> None:
        self.n, self.side = n, side

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        rng = np.random.default_rng(i)
        image = rng.standard_normal((self.side, self.side))
        spectrum = np.fft.rfft2(image)
        spectrum[self.side // 8 :, :] = 0
        smooth = np.fft.irfft2(spectrum, s=image.shape)
        lo, hi = np.sort(smooth, axis=None)[[smooth.size // 20, -smooth.size // 20]]
        out = (np.clip(smooth, lo, hi) - lo) / (hi - lo)
        return out[None, ::8, ::8].astype(np.float32), i


class PythonSamples(data.Dataset):
    """Pure-Python arithmetic: holds the GIL the whole time."""

    def __init__(self, n: int, loops: int = 20000) -> None:
        self.n, self.loops = n, loops

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        acc = 0
        for k in range(self.loops):
            acc = (acc * 31 + k + i) % 1000003
        return np.full((4,), acc, np.float32), i


def epoch(loader: data.DataLoader) -> list:
    return [b[1] for b in loader]


def run(samples: int, sleep_ms: float, repeat: int) -> dict:
    datasets = {"io": SleepingSamples(samples, sleep_ms / 1000), "numpy": NumpySamples(samples),
                "python": PythonSamples(samples)}
    results: dict = {}
    for kind, ds in datasets.items():
        loaders = {w: data.DataLoader(ds, batch_size=BATCH, shuffle=True, seed=0, num_workers=w) for w in WORKERS}
        reference = [tuple(map(np.asarray, b)) for b in data.DataLoader(ds, batch_size=BATCH, shuffle=True, seed=0)]
        for w in WORKERS:  # same batches first
            got = [tuple(map(np.asarray, b)) for b in data.DataLoader(ds, batch_size=BATCH, shuffle=True, seed=0,
                                                                      num_workers=w)]
            common.check_close(got, reference, rtol=0, what=f"{kind} batches with num_workers={w}")
        # How much CPU the process gets on this (perhaps shared) machine: CPU-bound work cannot speed up
        # beyond it, whatever the number of workers.
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(2):
            epoch(loaders[max(WORKERS)])
        share = (time.process_time() - cpu) / (time.perf_counter() - wall)
        times = common.median_times({w: (lambda ld=loader: epoch(ld)) for w, loader in loaders.items()},
                                    repeat=repeat, warmup=1)
        rows = common.print_table(f"{kind}: one epoch of {samples} samples, batch {BATCH}",
                                  [(f"num_workers={w}", times[w]) for w in WORKERS], {"serial": "num_workers=0"})
        speedups = {w: times[0] / times[w] for w in WORKERS if w}
        for w, s in speedups.items():
            print(f"  speed-up with num_workers={w}: {s:.2f}x")
        print(f"  CPUs the process used with num_workers={max(WORKERS)}: {share:.2f} (of {os.cpu_count()})")
        results[kind] = {"rows": rows, "speedup": {str(w): s for w, s in speedups.items()},
                         "per_sample_ms_serial": times[0] / samples * 1e3, "cpu_share_max_workers": share}
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--sleep-ms", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs; worker threads; samples={args.samples}, sleep={args.sleep_ms} ms, "
          f"repeat={args.repeat}")
    results = run(args.samples, args.sleep_ms, args.repeat)
    payload = {"samples": args.samples, "batch_size": BATCH, "sleep_ms": args.sleep_ms, "repeat": args.repeat,
               "workers": list(WORKERS), "results": results}
    print("\nsaved", common.save("data", payload, args.out))


if __name__ == "__main__":
    main()
