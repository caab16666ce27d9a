"""Samplers: the order in which a `DataLoader` visits a map-style dataset, with PyTorch's names and arguments.

Randomness is deterministic and explicit. A `generator` is an int seed, a `jax.random` key (typed or raw
`uint32`) or a `torch.Generator` (its `initial_seed()`); `None` draws a seed once, at construction. Epoch
`e` of a sampler draws from `np.random.default_rng([*seed, e])`, where `seed` is the int (or the key's
words): the same generator always gives the same sequence of epochs, whichever process or worker count
iterates it. `RandomSampler`, `SubsetRandomSampler` and `WeightedRandomSampler` advance their `epoch` on
each `iter()` (as a `torch.Generator`'s state advances), and `set_epoch(e)` replays epoch `e`;
`DistributedSampler` changes epoch only through `set_epoch`, as in PyTorch. The draws themselves are
NumPy's, so they differ from torch's for the same seed; the structure (permutation blocks, padding, the
split between replicas, batching) is torch's.

Example:
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import jax
import numpy as np

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler"]


def seed_words(generator: Any) -> tuple[int, ...]:
    """The non-negative integers that seed every draw of `generator`: an int seed, a `jax.random` key,
    a `torch.Generator`, or `None` (a fresh seed from the OS's entropy).

    Example:
        >>> seed_words(3), seed_words(jax.random.key(3))
        ((3,), (0, 3))
    """
    if generator is None:
        return (int(np.random.SeedSequence().entropy),)
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        if generator < 0:
            raise ValueError(f"a seed must be a non-negative integer, got {generator!r}")
        return (int(generator),)
    if isinstance(generator, jax.Array) or (hasattr(generator, "dtype") and hasattr(generator, "shape")):
        if jax.dtypes.issubdtype(generator.dtype, jax.dtypes.prng_key):
            generator = jax.random.key_data(generator)
        words = np.asarray(generator)
        if words.dtype == np.uint32 and words.size:
            return tuple(int(w) for w in words.ravel())
    if type(generator).__module__.partition(".")[0] == "torch" and hasattr(generator, "initial_seed"):
        return (int(generator.initial_seed()),)
    raise TypeError(f"generator must be an int seed, a jax.random key or a torch.Generator, got {generator!r}")


def _rng(words: tuple[int, ...], epoch: int) -> np.random.Generator:
    return np.random.default_rng([*words, int(epoch)])


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _bool(name: str, value: Any, error: type[Exception] = ValueError) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{name} should be a boolean value, but got {name}={value!r}")
    return bool(value)


class Sampler:
    """Base class of samplers: subclasses define `__iter__` (indices or, for batch samplers, lists of
    indices) and, where they can, `__len__`. Any iterable of indices can stand in for a sampler."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class _Epochs(Sampler):
    """A sampler whose `iter()` draws epoch `self.epoch` (eagerly, so the epoch advances even if no index
    is taken) and then moves on to the next epoch."""

    epoch: int = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next `iter()` draw epoch `epoch` (e.g. to resume training)."""
        self.epoch = int(epoch)

    def _draw(self, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        drawn = self._draw(_rng(self._words, self.epoch))
        self.epoch += 1
        return iter(drawn.tolist())


class SequentialSampler(Sampler):
    """`0, 1, ..., len(data_source) - 1`, always in that order.

    Example:
        >>> list(SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(_Epochs):
    """Indices of `data_source` in random order: a permutation per `len(data_source)` samples (as torch,
    `num_samples > len` chains several permutations), or, with `replacement`, `num_samples` independent
    uniform draws. Epoch `e` draws from `np.random.default_rng([seed, e])` (see the module's docstring).

    Example:
        >>> s = RandomSampler(range(5), generator=0)
        >>> sorted(s) == [0, 1, 2, 3, 4], list(s) != list(RandomSampler(range(5), generator=0))
        (True, True)
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = _bool("replacement", replacement, TypeError)
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None:
            _positive_int("num_samples", num_samples)
        self._words = seed_words(generator)
        self.epoch = 0

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def _draw(self, rng: np.random.Generator) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        if self.replacement:
            return rng.integers(0, n, size=k) if n else np.zeros(0, np.int64)
        if n == 0:
            return np.zeros(0, np.int64)
        blocks = [rng.permutation(n) for _ in range(k // n)] + [rng.permutation(n)[: k % n]]
        return np.concatenate(blocks)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(_Epochs):
    """The given `indices`, in a new random order each epoch (without replacement).

    Example:
        >>> sorted(SubsetRandomSampler([4, 7, 9], generator=1))
        [4, 7, 9]
    """

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator
        self._words = seed_words(generator)
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        perm = self._draw(_rng(self._words, self.epoch))
        self.epoch += 1
        return iter([self.indices[i] for i in perm.tolist()])

    def _draw(self, rng: np.random.Generator) -> np.ndarray:
        return rng.permutation(len(self.indices))

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(_Epochs):
    """`num_samples` indices of `weights`, index `i` drawn with probability `weights[i] / sum(weights)`;
    without `replacement` each index is drawn at most once (so `num_samples` may not exceed the number of
    non-zero weights).

    Example:
        >>> list(WeightedRandomSampler([0.0, 1.0, 0.0], 3, generator=0))
        [1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        self.num_samples = _positive_int("num_samples", num_samples)
        self.replacement = _bool("replacement", replacement)
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {w.shape}")
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero, got "
                             f"{np.array2string(w, threshold=8)}")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"cannot draw num_samples={self.num_samples} without replacement from "
                             f"{np.count_nonzero(w)} non-zero weights")
        self.weights = w
        self.generator = generator
        self._words = seed_words(generator)
        self.epoch = 0

    def _draw(self, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(self.weights.size, size=self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of `sampler` (any iterable) into lists of `batch_size`; the last, shorter one is
    kept unless `drop_last`.

    Example:
        >>> list(BatchSampler(range(5), batch_size=2, drop_last=True))
        [[0, 1], [2, 3]]
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = _positive_int("batch_size", batch_size)
        self.drop_last = _bool("drop_last", drop_last)

    def __iter__(self) -> Iterator[list[int]]:
        # iter(sampler) now, not at the first batch: a random sampler's epoch advances with the loader's.
        return self._batches(iter(self.sampler))

    def _batches(self, indices: Iterator[int]) -> Iterator[list[int]]:
        while batch := list(itertools.islice(indices, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DistributedSampler(Sampler):
    """This replica's share of `dataset`: replica `rank` of `num_replicas` takes every `num_replicas`-th
    index from position `rank` of one common order, as torch's.

    The common order is `0..n-1`, or with `shuffle` a permutation from `np.random.default_rng([seed,
    epoch])` (every replica draws the same one); call `set_epoch(e)` before each epoch for a new order.
    Unless `drop_last`, the order is padded by repeating its start so that every replica gets
    `ceil(n / num_replicas)` indices; with `drop_last` the tail is cut so that each gets
    `floor(n / num_replicas)`. `num_replicas` and `rank` default to `jax.process_count()` and
    `jax.process_index()`.

    Example:
        >>> [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False)) for r in (0, 1)]
        [[0, 2, 4], [1, 3, 0]]
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        num_replicas = jax.process_count() if num_replicas is None else num_replicas
        rank = jax.process_index() if rank is None else rank
        num_replicas = _positive_int("num_replicas", num_replicas)
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = int(rank)
        self.epoch = 0
        self.drop_last = bool(drop_last)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self._words = seed_words(seed)
        n = len(dataset)
        if self.drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use epoch `epoch`'s order from the next `iter()` on (the order does not change otherwise)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        order = _rng(self._words, self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.drop_last:
            order = order[: self.total_size]
        elif n and self.total_size > n:
            order = np.resize(order, self.total_size)  # repeats the order from its start, as torch pads
        return iter(order[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples
