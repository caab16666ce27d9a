"""`DataLoader`: batches, shuffles and moves samples of a dataset to the device, serially or with worker
threads (see `tapegrad.data.workers` for why threads)."""
from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax
import numpy as np

from tapegrad.core.foreign import is_foreign, owned_host_array

from .dataset import IterableDataset, default_collate, owns_batches
from .samplers import BatchSampler, RandomSampler, Sampler, SequentialSampler, seed_words
from .workers import EXHAUSTED, OrderedIterator, WorkerPool

__all__ = ["DataLoader"]

# Set once in __init__; changing them afterwards would not reach a sampler or a pool already made (torch).
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"DataLoader: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"DataLoader: {name} must be >= {low}, got {value!r}")
    return int(value)


class _Stream:
    """One worker's (or the serial loader's) iterator over an IterableDataset."""

    def __init__(self) -> None:
        self.it: Iterator[Any] | None = None
        self.done = False


class _Fetcher:
    """Makes one batch from a batch of indices (or from a stream): fetch, collate, copy, device_put.

    It refers to what it needs, never to the loader, so that worker threads keep no loader alive. It also
    carries the main thread's JAX settings of the moment, which workers apply (they are thread-local).
    """

    def __init__(self, loader: DataLoader) -> None:
        self.dataset = loader.dataset
        self.collate_fn = loader.collate_fn
        self.batch_size = loader.batch_size if loader.batch_sampler is None else None
        self.auto_collation = loader.batch_sampler is not None or loader.batch_size is not None
        self.drop_last = loader.drop_last
        self.sharding = loader.sharding
        self.settings = (bool(jax.config.jax_enable_x64), jax.config.jax_default_device)

    def in_settings(self, fn: Callable[..., Any], *args: Any) -> Any:
        x64, device = self.settings
        with jax.enable_x64(x64), jax.default_device(device):
            return fn(*args)

    def __call__(self, index: Any) -> Any:
        ds = self.dataset
        if not self.auto_collation:  # batch_size=None: one sample per item, no batch axis
            sample = ds[index]
            return self.place(self.collate_fn(sample) if self.collate_fn else sample, owned=False)
        get_batch = getattr(ds, "get_batch", None)
        if self.collate_fn is None and get_batch is not None:
            return self.place(get_batch(np.asarray(index)), owns_batches(ds))
        get_items = getattr(ds, "__getitems__", None)
        samples = get_items(list(index)) if callable(get_items) else [ds[i] for i in index]
        return self.collate(samples)

    def collate(self, samples: list[Any]) -> Any:
        if self.collate_fn is None:
            return self.place(default_collate(samples), owned=True)  # np.stack made new arrays
        return self.place(self.collate_fn(samples), owned=False)

    def stream(self, state: _Stream) -> Any:
        """The next batch (or sample) of an IterableDataset, or `EXHAUSTED`."""
        if state.done:
            return EXHAUSTED
        if state.it is None:
            state.it = iter(self.dataset)
        if not self.auto_collation:
            for sample in state.it:
                return self.place(self.collate_fn(sample) if self.collate_fn else sample, owned=False)
            state.done = True
            return EXHAUSTED
        samples = list(itertools.islice(state.it, self.batch_size))
        if len(samples) < self.batch_size:
            state.done = True
            if not samples or self.drop_last:
                return EXHAUSTED
        return self.collate(samples)

    def place(self, batch: Any, owned: bool) -> Any:
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


class DataLoader:
    """Iterate over `dataset` in batches of JAX arrays with a leading batch axis; PyTorch's arguments.

    Each batch has the structure of one sample (tuple, dict, nested). Without `collate_fn`, samples
    are stacked with numpy (datasets with a `get_batch` method, e.g. `TensorDataset`, are indexed
    with the whole batch at once; one with `__getitems__` gets the batch's index list) and every array
    leaf is moved with `jax.device_put`, onto `sharding` if given (e.g. `NamedSharding(mesh, P("data"))`
    to split the batch axis across devices; use `drop_last=True` when the last batch would not divide
    evenly). `batch_size=None` yields single samples without a batch axis, as torch does.

    **Order.** `sampler` (any iterable of indices) or `batch_sampler` (of index lists) choose the order,
    as in torch; by default `SequentialSampler`, or `RandomSampler` with `shuffle=True`. `seed` (an int)
    or `generator` (an int, a `jax.random` key or a `torch.Generator`) makes shuffling reproducible:
    epoch `e` is permuted by `np.random.default_rng([seed, e])`, each new iteration advances the epoch,
    and `set_epoch(e)` resumes at epoch `e` (it also calls `set_epoch` of a `sampler` that has one, e.g.
    `DistributedSampler`). Without either, a seed is drawn once, when the loader is made.

    **Workers.** `num_workers > 0` makes batches in that many worker *threads* (why not processes: see
    `tapegrad.data.workers`): batch `k` is made by worker `k % num_workers`, and batches are yielded in
    exactly the serial loader's order, so the same seed gives the same batches for any `num_workers`.
    `prefetch_factor` (default 2) batches per worker are made ahead; `persistent_workers` keeps the
    threads (and what `worker_init_fn(worker_id)` set up in them) from one epoch to the next;
    `get_worker_info()` works inside them. The threads share the dataset, so its `__getitem__` must be safe
    to call concurrently (reads and NumPy work are). An exception in a worker is raised again here with the
    worker's traceback in its message. Breaking out of the loop, `close()` on the iterator, dropping it
    or a `KeyboardInterrupt` cancel the batches in flight and end the workers. `timeout` (seconds, 0 =
    none) bounds the wait for one batch. Without workers, `prefetch=k` (tapegrad's own) makes up to `k`
    batches ahead in one background thread.

    **pin_memory** is accepted for compatibility and changes nothing: there is no page-locked staging copy
    to make, since a batch goes from its NumPy arrays straight to `jax.device_put`, and with workers that
    transfer is already started by the worker, ahead of the step, which is what pinning buys in torch.

    A batch never shares memory with the dataset: the built-in datasets' `get_batch` and
    `default_collate` gather into new arrays, which go to JAX as they are; what a `collate_fn` or
    another `get_batch` returns (perhaps the dataset's own arrays, or views of them) is copied once
    first. Changing the source later never changes a batch already drawn.

    Example:
        >>> from tapegrad.data import TensorDataset
        >>> ds = TensorDataset(np.zeros((10, 3), np.float32), np.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> len(loader), [x.shape for x, _ in loader]
        (3, [(4, 3), (4, 3), (2, 3)])
        >>> [y.tolist() for _, y in DataLoader(ds, batch_size=4, num_workers=2)]
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None, collate_fn: Callable[[list[Any]], Any] | None = None,
                 sharding: jax.sharding.Sharding | None = None, num_workers: int = 0,
                 sampler: Sampler | Iterable[Any] | None = None,
                 batch_sampler: Sampler | Iterable[list[Any]] | None = None, generator: Any = None,
                 pin_memory: bool = False, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 worker_init_fn: Callable[[int], Any] | None = None, timeout: float = 0,
                 prefetch: int = 0) -> None:
        if batch_size is not None and (
                isinstance(batch_size, bool) or not isinstance(batch_size, (int, float, np.integer, np.floating))
                or not np.isfinite(batch_size) or int(batch_size) != batch_size or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        num_workers = _check_int("num_workers", num_workers, 0)
        if isinstance(prefetch, bool) or not isinstance(prefetch, (int, float, np.integer, np.floating)) \
                or int(prefetch) != prefetch or prefetch < 0:
            raise ValueError(f"prefetch must be a non-negative integer, got {prefetch!r}")
        if not isinstance(timeout, (int, float, np.integer, np.floating)) or isinstance(timeout, bool) \
                or not timeout >= 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0:
            if prefetch_factor is not None:
                raise ValueError("prefetch_factor option could only be specified with num_workers > 0 (worker "
                                 "threads); otherwise set prefetch_factor to None")
            if persistent_workers:
                raise ValueError("persistent_workers option needs num_workers > 0")
        else:
            prefetch_factor = 2 if prefetch_factor is None else _check_int("prefetch_factor", prefetch_factor, 1)
            if prefetch:
                raise ValueError("prefetch= is the serial loader's background thread; with num_workers > 0 "
                                 "use prefetch_factor")
        for name, fn in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"DataLoader: {name} must be callable, got {fn!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass seed or generator, not both (generator=int is the same as seed)")
        if seed is not None:
            seed_words(seed)  # validates: a non-negative int
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value!r}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")

        # Without seed or generator, draw a seed now: epochs still differ, and set_epoch still replays them.
        source = generator if generator is not None else seed
        if source is None:
            source = seed_words(None)[0]
        self._own_sampler = False
        if sampler is None and not iterable:
            if shuffle:
                sampler = RandomSampler(dataset, generator=source)
                self._own_sampler = True
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))

        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.sharding = sharding
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.worker_init_fn = worker_init_fn
        self.pin_memory = bool(pin_memory)
        self.timeout = float(timeout)
        self.prefetch = int(prefetch)
        self.generator = generator
        self.seed = int(source) if isinstance(source, (int, np.integer)) else None
        self._words = seed_words(source)
        self._pool: WorkerPool | None = None
        self._iterator: weakref.ref[OrderedIterator] | None = None
        self.epoch = 0
        self._initialized = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FROZEN and getattr(self, "_initialized", False):
            raise ValueError(f"{name} attribute should not be set after DataLoader is initialized")
        super().__setattr__(name, value)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use epoch `epoch`'s order (e.g. when resuming training); a `sampler` with
        its own `set_epoch` (such as `DistributedSampler`) is set too."""
        self.epoch = int(epoch)
        if not self._own_sampler and hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    def _worker_seeds(self, epoch: int) -> list[int]:
        """Each worker's `WorkerInfo.seed`: a base seed drawn from (seed, epoch), plus the worker id."""
        state = np.random.SeedSequence([*self._words, epoch], spawn_key=(1,)).generate_state(1, np.uint64)
        base = int(state[0] >> np.uint64(2))  # room to add worker ids within int64
        return [base + i for i in range(self.num_workers)]

    def _workers(self, epoch: int) -> tuple[WorkerPool, bool]:
        """The pool for this iteration and whether the iterator owns it (ends it when done)."""
        if self._pool is not None and not self._pool.closed:
            return self._pool, False
        pool = WorkerPool(self.num_workers, "tapegrad-worker", self._worker_seeds(epoch), self.dataset,
                          self.worker_init_fn)
        if not self.persistent_workers:
            return pool, True
        self._pool = pool
        # The threads refer to the pool's queues, never to the loader: it can be collected, which ends them.
        weakref.finalize(self, pool.shutdown, 1.0)
        return pool, False

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, not lazily, so that the epoch advances even if no batch is taken.
        epoch = self.epoch
        self.epoch += 1
        if self._own_sampler:
            self.sampler.set_epoch(epoch)
        fetch = _Fetcher(self)
        iterable = isinstance(self.dataset, IterableDataset)
        if iterable:
            streams = [_Stream() for _ in range(max(self.num_workers, 1))]

            def make_job(worker: int) -> Callable[[], Any] | None:
                return functools.partial(fetch.in_settings, fetch.stream, streams[worker])

            if self.num_workers == 0 and self.prefetch == 0:
                streams[0].it = iter(self.dataset)
                return _stream(fetch, streams[0])
        else:
            indices = iter(self._index_sampler)
            if self.num_workers == 0 and self.prefetch == 0:
                return map(fetch, indices)

            def make_job(worker: int) -> Callable[[], Any] | None:
                index = next(indices, EXHAUSTED)
                return None if index is EXHAUSTED else functools.partial(fetch.in_settings, fetch, index)

        if self.num_workers == 0:
            pool, owns, in_flight = WorkerPool(1, "tapegrad-prefetch"), True, self.prefetch
        else:
            (pool, owns), in_flight = self._workers(epoch), self.prefetch_factor * self.num_workers
            previous = self._iterator() if self._iterator is not None else None
            if not owns and previous is not None:
                previous.close()  # persistent workers serve one iteration at a time: drop the old one's jobs
        iterator = OrderedIterator(pool, owns, make_job, in_flight, self.timeout)
        self._iterator = weakref.ref(iterator)
        return iterator


def _stream(fetch: _Fetcher, state: _Stream) -> Iterator[Any]:
    while (batch := fetch.stream(state)) is not EXHAUSTED:
        yield batch
