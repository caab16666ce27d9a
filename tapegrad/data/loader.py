"""`DataLoader`: batches, shuffles and moves samples of a map-style dataset to the device."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np

from tapegrad.core.foreign import is_foreign, owned_host_array

from .dataset import default_collate, owns_batches

__all__ = ["DataLoader"]

_END = object()  # the worker's "no more batches" marker


class _Raised:
    """An exception from the worker thread, carried through the queue and re-raised in the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    # A bounded wait, so that a worker blocked on a full queue notices an abandoned iteration.
    while not stop.is_set():
        try:
            q.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


def _worker(make: Callable[[np.ndarray], Any], batches: list[np.ndarray], q: queue.Queue,
            stop: threading.Event) -> None:
    try:
        for idx in batches:
            if stop.is_set() or not _put(q, make(idx), stop):
                return
        last: Any = _END
    except BaseException as e:  # handed to the consumer, which re-raises it in its own thread
        last = _Raised(e)
    _put(q, last, stop)


class _PrefetchIterator:
    """Iterates batches made `k` ahead by a daemon thread; `close()` (also on garbage collection)
    stops and joins the thread, so breaking out of a loop leaks nothing."""

    def __init__(self, make: Callable[[np.ndarray], Any], batches: list[np.ndarray], k: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=k)
        self._stop = threading.Event()
        # The thread must not reference `self`, or an abandoned iterator would never be collected.
        self._thread = threading.Thread(target=_worker, args=(make, batches, self._queue, self._stop),
                                        name="tapegrad-prefetch", daemon=True)
        self._thread.start()

    def __iter__(self) -> _PrefetchIterator:
        return self

    def __next__(self) -> Any:
        if self._stop.is_set():
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self.close()
            raise StopIteration
        if isinstance(item, _Raised):
            self.close()
            raise item.error
        return item

    def close(self) -> None:
        """Stop the worker thread and wait for it; safe to call more than once."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def __del__(self) -> None:
        if hasattr(self, "_thread"):  # __init__ may have failed before the thread existed
            self.close()


class DataLoader:
    """Iterate over `dataset` in batches of JAX arrays with a leading batch axis.

    Each batch has the structure of one sample (tuple, dict, nested). Without `collate_fn`, samples
    are stacked with numpy (datasets with a `get_batch` method, e.g. `TensorDataset`, are indexed
    with the whole batch at once) and every array leaf is moved with `jax.device_put`, onto
    `sharding` if given (e.g. `NamedSharding(mesh, P("data"))` to split the batch axis across
    devices; use `drop_last=True` when the last batch would not divide evenly).

    A batch never shares memory with the dataset: the built-in datasets' `get_batch` and
    `default_collate` gather into new arrays, which go to JAX as they are; what a `collate_fn` or
    another `get_batch` returns (perhaps the dataset's own arrays, or views of them) is copied once
    first. Changing the source later never changes a batch already drawn.

    Shuffling with a `seed` is reproducible: epoch `e` is permuted by a generator derived from
    `(seed, e)`, each new iteration advances the epoch, and `set_epoch(e)` resumes at epoch `e`.
    `prefetch=k` prepares up to `k` batches ahead in a background thread while the step runs.

    Example:
        >>> from tapegrad.data import TensorDataset
        >>> ds = TensorDataset(np.zeros((10, 3), np.float32), np.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> len(loader), [x.shape for x, _ in loader]
        (3, [(4, 3), (4, 3), (2, 3)])
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None, collate_fn: Callable[[list[Any]], Any] | None = None,
                 sharding: jax.sharding.Sharding | None = None, prefetch: int = 0) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, float, np.integer, np.floating)) \
                or not np.isfinite(batch_size) or int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if int(prefetch) != prefetch or prefetch < 0:
            raise ValueError(f"prefetch must be a non-negative integer, got {prefetch!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.sharding = sharding
        self.prefetch = int(prefetch)
        # Without a seed, draw one now: epochs still differ, and set_epoch still replays them.
        if seed is not None and int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(np.random.SeedSequence().entropy) if seed is None else int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch `epoch`'s shuffle order (e.g. when resuming training)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _batch_indices(self, epoch: int) -> list[np.ndarray]:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(n)
        else:
            order = np.arange(n)
        bs = self.batch_size
        return [order[i : i + bs] for i in range(0, len(self) * bs, bs)]

    def _make_batch(self, indices: np.ndarray) -> Any:
        get_batch = getattr(self.dataset, "get_batch", None)
        if self.collate_fn is None and get_batch is not None:
            batch = get_batch(indices)
            owned = owns_batches(self.dataset)
        else:
            samples = [self.dataset[int(i)] for i in indices]
            batch = (self.collate_fn or default_collate)(samples)
            owned = self.collate_fn is None  # default_collate stacks into new arrays
        leaves, treedef = jax.tree.flatten(batch)
        where = [i for i, x in enumerate(leaves) if isinstance(x, (np.generic, jax.Array)) or is_foreign(x)]
        if where:
            arrays = [leaves[i] for i in where]
            if not owned:
                # A collate_fn or get_batch of the user's may return its own arrays or views of them, and
                # device_put adopts aligned host memory on CPU: copy (and canonicalize the dtype) once.
                arrays = [x if isinstance(x, (np.generic, jax.Array)) else owned_host_array(x) for x in arrays]
            # One device_put call for all leaves lets JAX batch the transfers.
            moved = jax.device_put(arrays, self.sharding)
            for i, x in zip(where, moved, strict=True):
                leaves[i] = x
        return jax.tree.unflatten(treedef, leaves)

    def __iter__(self) -> Iterator[Any]:
        # The order is fixed here, not lazily, so that the epoch advances even if no batch is taken.
        batches = self._batch_indices(self.epoch)
        self.epoch += 1
        if self.prefetch > 0 and batches:
            return _PrefetchIterator(self._make_batch, batches, self.prefetch)
        return (self._make_batch(idx) for idx in batches)
