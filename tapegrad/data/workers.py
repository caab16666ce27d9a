"""The `DataLoader`'s parallel loading: worker **threads**, batches yielded in the serial order.

Why threads, not processes:

* JAX is multithreaded from its first use, and `os.fork()` after that (PyTorch's default start method on
  Linux) can deadlock the child on a lock another thread held; JAX warns about exactly this. JAX arrays and
  dispatch are not usable in a forked child either.
* `spawn`/`forkserver` avoid that but start a fresh interpreter per worker, which imports JAX and the
  dataset's modules again (a second or more each time a pool starts), needs a picklable dataset,
  `collate_fn` and `worker_init_fn` (no lambdas or local classes), and sends every batch back through a pipe,
  a copy per batch.
* What `__getitem__` usually spends its time on (reading files, decompressing, decoding and resizing
  images with PIL, NumPy slicing and arithmetic, `time.sleep`-like waits on storage or a network) releases
  the GIL, so threads do run it in parallel; a batch a thread builds is already in the process's memory
  and its transfer to the device (`jax.device_put`) is started by the worker, ahead of the step.

The cost: a `__getitem__` that is pure Python bytecode holds the GIL and gains nothing from workers (on a
free-threaded CPython build it does). Move such work into NumPy, or batch it in a `get_batch` method.

The threads share one dataset object (as `get_worker_info().dataset`): its `__getitem__` runs in several
threads at once, which plain reads and per-call NumPy work are safe for; state it changes (an open file's
position, a shared `np.random.Generator`) needs a lock or one copy per worker (`threading.local`, or set up
in `worker_init_fn`).

How the order is kept: as in PyTorch, the main thread draws the batches' indices from the sampler and
sends batch `k` to worker `k % num_workers` (each worker has its own task queue, so which worker makes a
batch never depends on timing); results carry `k` and are yielded in order of `k`. At most
`prefetch_factor * num_workers` batches are in flight. An exception in a worker comes back as the result
of its batch and is raised again in the main thread with the worker's traceback in its message. The main
thread waits in short slices, so a `KeyboardInterrupt` (or `timeout`) is seen at once; it, an early
`break`, `close()` or garbage collection of the iterator cancels the batches in flight and, unless the
workers are persistent, ends them. A thread cannot be killed: one that is inside a long `__getitem__`
finishes that sample, then exits.

JAX's thread-local settings (`jax.enable_x64`, `jax.default_device` used as context managers) do not reach
other threads: each job runs under the values the main thread had when `iter(loader)` was called, so a
batch has the dtype and device the serial loader would give it.
"""
from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = ["WorkerInfo", "get_worker_info"]

_local = threading.local()
_WAIT_S = 0.05  # how long the main thread blocks at a time: the latency of KeyboardInterrupt and timeout


@dataclass(frozen=True)
class WorkerInfo:
    """What `get_worker_info()` returns inside a worker: its `id` (0-based), `num_workers`, its `seed`
    (the loader's base seed for this pool plus `id`, deterministic given the loader's `seed`/`generator`
    and epoch) and the `dataset` it loads from."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """Inside a `DataLoader` worker, that worker's `WorkerInfo`; elsewhere `None` (as
    `torch.utils.data.get_worker_info`).

    Use it to split an `IterableDataset`'s stream between workers, or to seed per-worker randomness:
    `np.random.default_rng(get_worker_info().seed)` (threads share NumPy's and Python's global generators,
    so the loader does not reseed them as PyTorch's worker processes do).

    Example:
        >>> get_worker_info() is None  # the main thread
        True
    """
    return getattr(_local, "info", None)


class _KeyErrorMessage(str):
    """A KeyError's str() is the repr of its argument: this keeps the traceback's line breaks."""

    def __repr__(self) -> str:
        return str(self)


class Failure:
    """An exception raised while making a batch, with the traceback formatted where it happened."""

    def __init__(self, error: BaseException, where: str) -> None:
        self.error = error
        self.where = where
        self.text = "".join(traceback.format_exception(type(error), error, error.__traceback__))

    def reraise(self) -> NoReturn:
        kind = type(self.error)
        message = f"Caught {kind.__name__} {self.where}.\nOriginal {self.text}"
        if issubclass(kind, StopIteration):  # would silently end the caller's loop (as PEP 479 says)
            raise RuntimeError(message) from None
        try:
            error = kind(_KeyErrorMessage(message) if kind is KeyError else message)
        except Exception:  # an exception type that needs other arguments
            raise RuntimeError(message) from None
        raise error from None


def _work(tasks: queue.SimpleQueue, info: WorkerInfo | None, init_fn: Callable[[int], Any] | None,
          where: str) -> None:
    """A worker thread: run each task's job and put its result, tagged with its order, where it asks."""
    _local.info = info
    failed = None
    if init_fn is not None:
        try:
            init_fn(info.id if info is not None else 0)
        except BaseException as e:  # reported as the result of every batch this worker gets, as torch does
            failed = Failure(e, where)
    while (task := tasks.get()) is not None:
        order, job, results, cancelled = task
        if cancelled.is_set():
            continue
        try:
            out = failed if failed is not None else job()
        except BaseException as e:
            out = Failure(e, where)
        if not cancelled.is_set():
            results.put((order, out))
        del task, job, out  # no batch stays referenced by an idle worker


class WorkerPool:
    """`num_workers` daemon threads, each with its own task queue.

    `seeds` gives each worker's `WorkerInfo.seed`; without it the threads have no `WorkerInfo` (the serial
    loader's `prefetch` thread).
    """

    def __init__(self, num_workers: int, name: str, seeds: list[int] | None = None, dataset: Any = None,
                 init_fn: Callable[[int], Any] | None = None) -> None:
        self.tasks = [queue.SimpleQueue() for _ in range(num_workers)]
        self.threads = []
        self.closed = False
        for i in range(num_workers):
            info = None if seeds is None else WorkerInfo(i, num_workers, seeds[i], dataset)
            where = f"in DataLoader worker {i} (a thread)" if seeds is not None else "in DataLoader prefetch thread"
            thread = threading.Thread(target=_work, args=(self.tasks[i], info, init_fn, where), daemon=True,
                                      name=name if num_workers == 1 and seeds is None else f"{name}-{i}")
            thread.start()
            self.threads.append(thread)

    @property
    def num_workers(self) -> int:
        return len(self.threads)

    def submit(self, worker: int, task: tuple) -> None:
        self.tasks[worker].put(task)

    def alive(self, worker: int) -> bool:
        return self.threads[worker].is_alive()

    def shutdown(self, wait: float = 5.0) -> None:
        """Ask every thread to end after its current job, and wait up to `wait` seconds for them."""
        if self.closed:
            return
        self.closed = True
        for q in self.tasks:
            q.put(None)
        deadline = time.monotonic() + wait
        for thread in self.threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))


EXHAUSTED = object()  # a job's result meaning "this worker's stream has ended" (IterableDataset)


class OrderedIterator:
    """Yields the results of the jobs `make_job(worker)` sends to `pool`, in the order they were sent.

    `make_job` returns a zero-argument callable, or `None` when there are no more jobs. A job that returns
    `EXHAUSTED` retires its worker: later jobs go to the others in turn (PyTorch's round robin for
    `IterableDataset`). The iterator holds no reference the threads could keep alive, so dropping it
    cancels its jobs (and, with `owns_pool`, ends the pool).
    """

    def __init__(self, pool: WorkerPool, owns_pool: bool, make_job: Callable[[int], Callable[[], Any] | None],
                 in_flight: int, timeout: float = 0.0) -> None:
        self._pool = pool
        self._owns_pool = owns_pool
        self._closed = False
        self._make_job: Callable[[int], Callable[[], Any] | None] | None = make_job
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._timeout = timeout
        self._active = set(range(pool.num_workers))
        self._cursor = 0
        self._sent = 0
        self._next = 0
        self._worker_of: dict[int, int] = {}
        self._buffer: dict[int, Any] = {}
        try:
            for _ in range(in_flight):
                self._send()
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> OrderedIterator:
        return self

    def _send(self) -> None:
        if self._make_job is None:
            return
        n = self._pool.num_workers
        for _ in range(n):
            worker = self._cursor % n
            self._cursor += 1
            if worker in self._active:
                break
        else:
            self._make_job = None
            return
        job = self._make_job(worker)
        if job is None:
            self._make_job = None  # drops the sampler's iterator
            return
        self._worker_of[self._sent] = worker
        self._pool.submit(worker, (self._sent, job, self._results, self._cancelled))
        self._sent += 1

    def _wait(self, order: int) -> Any:
        start = time.monotonic()
        while order not in self._buffer:
            try:
                got, out = self._results.get(timeout=_WAIT_S)
            except queue.Empty:
                if self._timeout and time.monotonic() - start > self._timeout:
                    self.close(wait=0.0)  # the late worker finishes its sample, then ends
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds") from None
                if not self._pool.alive(self._worker_of[order]) and order not in self._buffer:
                    raise RuntimeError(f"DataLoader worker {self._worker_of[order]} exited unexpectedly") from None
                continue
            self._buffer[got] = out
        return self._buffer.pop(order)

    def __next__(self) -> Any:
        try:
            while not self._closed and self._next < self._sent:
                order = self._next
                out = self._wait(order)
                self._next += 1
                worker = self._worker_of.pop(order)
                if isinstance(out, Failure):
                    self.close()
                    out.reraise()
                if out is EXHAUSTED:
                    self._active.discard(worker)
                    self._send()
                    continue
                self._send()
                return out
        except BaseException as e:
            # KeyboardInterrupt while waiting: do not wait for a worker inside a slow __getitem__.
            self.close(wait=0.0 if isinstance(e, KeyboardInterrupt) else 5.0)
            raise
        self.close()
        raise StopIteration

    def close(self, wait: float = 5.0) -> None:
        """Cancel the batches in flight and, if this iterator owns its workers, end them (waiting up to
        `wait` seconds); safe to call more than once."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        self._cancelled.set()
        self._make_job = None
        self._buffer.clear()
        if self._owns_pool:
            self._pool.shutdown(wait)

    def __del__(self) -> None:
        self.close()
