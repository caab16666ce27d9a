"""Datasets: the map-style `Dataset` protocol, in-memory `TensorDataset`, `Subset`, `ConcatDataset`,
`StackDataset`, `random_split`, and the streaming `IterableDataset`.

Samples live on the host as numpy arrays; the `DataLoader` moves whole batches to the device, so a
dataset never pays one host-to-device transfer per sample.
"""
from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from tapegrad.core.foreign import foreign_numpy

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "StackDataset", "random_split",
           "default_collate"]


def owning_batches(get_batch: Callable) -> Callable:
    """Mark a ``get_batch`` method that always returns new arrays nothing else refers to.

    The ``DataLoader`` hands such a batch to JAX as it is; any other ``get_batch`` (or a
    ``collate_fn``) may return a dataset's own arrays or views of them, which it copies first so that
    a later change to them never shows in a batch already drawn. A subclass that overrides a marked
    method gets the copy again unless it marks its own.
    """
    get_batch._tapegrad_owning = True  # type: ignore[attr-defined]
    return get_batch


def owns_batches(dataset: Any) -> bool:
    """Whether the batches the ``DataLoader`` builds from ``dataset`` (without a ``collate_fn``) are new
    arrays: a marked ``get_batch``, a ``Subset`` of such a dataset, or no ``get_batch`` at all
    (``default_collate`` stacks the samples into new arrays)."""
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is None:
        return True
    func = getattr(get_batch, "__func__", get_batch)
    if func is Subset.get_batch:
        return owns_batches(dataset.dataset)
    return getattr(func, "_tapegrad_owning", False) is True


class Dataset:
    """Base class of map-style datasets: subclasses define `__len__` and `__getitem__`.

    A subclass may also define `get_batch(indices)` returning an already batched sample; the
    `DataLoader` then calls it once per batch instead of `__getitem__` once per index.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self): return 4
        ...     def __getitem__(self, i): return np.float32(i * i)
        >>> Squares()[3]
        np.float32(9.0)
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of streaming datasets: subclasses define `__iter__`, yielding samples (and may define
    `__len__`). The `DataLoader` batches what `iter(dataset)` yields, without sampler or shuffling.

    With `num_workers > 0`, as in PyTorch, every worker iterates the dataset on its own (each calls
    `iter(dataset)`), and the loader takes one batch from each worker in turn: split the stream inside
    `__iter__` with `get_worker_info()`, or every sample comes `num_workers` times.

    Example:
        >>> class Count(IterableDataset):
        ...     def __iter__(self): return iter(range(3))
        >>> list(Count())
        [0, 1, 2]
    """

    def __iter__(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        # TypeError, as for any object without a length (list() and length_hint() then do without it).
        raise TypeError(f"{type(self).__name__} defines no __len__")

    def __getitem__(self, index: int) -> Any:
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate it, it has no __getitem__")


def default_collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples with one structure (tuples, lists, dicts, nested) into one batch.

    Each array or number leaf becomes a new numpy array with a leading batch axis (``np.stack``
    always copies, so a batch never shares a sample's memory); string leaves become lists of strings.

    Example:
        >>> b = default_collate([(np.zeros(2), 0), (np.ones(2), 1)])
        >>> b[0].shape, b[1].tolist()
        ((2, 2), [0, 1])
    """
    if len(samples) == 0:
        raise ValueError("default_collate needs at least one sample")
    leaves0, treedef = jax.tree.flatten(samples[0])
    columns: list[list[Any]] = [[leaf] for leaf in leaves0]
    for k, sample in enumerate(samples[1:], start=1):
        leaves, other = jax.tree.flatten(sample)
        if other != treedef:
            raise TypeError(f"sample {k} has structure {other}, but sample 0 has {treedef}")
        for column, leaf in zip(columns, leaves, strict=True):
            column.append(leaf)
    out = []
    for column in columns:
        if all(isinstance(leaf, str) for leaf in column):
            out.append(list(column))
        else:
            out.append(np.stack([foreign_numpy(leaf) for leaf in column]))
    return jax.tree.unflatten(treedef, out)


class TensorDataset(Dataset):
    """Samples are slices along the first axis of equally long arrays: `ds[i] == (a[i], b[i], ...)`.

    Arrays are kept as host numpy arrays (torch tensors are detached), used in place as torch's
    `TensorDataset` does rather than duplicated in memory; `get_batch` indexes all of them with a
    whole batch of indices at once, which is what makes the `DataLoader` fast on in-memory data.
    That gather is a copy: a batch already drawn never changes when an array is changed later, and
    the `DataLoader` hands it to JAX without copying it again.

    Example:
        >>> ds = TensorDataset(np.zeros((5, 3), np.float32), np.arange(5))
        >>> len(ds), ds[2][1]
        (5, np.int64(2))
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(foreign_numpy(a) for a in arrays)
        lengths = {a.shape[0] if a.ndim else None for a in self.arrays}
        if None in lengths or len(lengths) != 1:
            shapes = [a.shape for a in self.arrays]
            raise ValueError(f"TensorDataset arrays need one common leading length, got shapes {shapes}")

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)

    @owning_batches
    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """All samples at `indices`, batched: one gathering copy per array."""
        # np.take copies for every kind of index; a[indices] would give a view for a slice or a 0-d index.
        return tuple(np.take(a, indices, axis=0) for a in self.arrays)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order.

    Example:
        >>> sub = Subset(TensorDataset(np.arange(10)), [7, 2])
        >>> [int(sub[i][0]) for i in range(len(sub))]
        [7, 2]
    """

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> Any:
        """Batched samples; uses the wrapped dataset's `get_batch` when it has one."""
        inner = self.indices[np.asarray(indices)]
        get_batch: Callable[[np.ndarray], Any] | None = getattr(self.dataset, "get_batch", None)
        if get_batch is not None:
            return get_batch(inner)
        return default_collate([self.dataset[int(i)] for i in inner])


class ConcatDataset(Dataset):
    """The samples of several map-style datasets one after the other: index `i` of the whole is index
    `i - cumulative_sizes[k - 1]` of `datasets[k]` (negative indices count from the end, as torch's).

    Example:
        >>> both = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
        >>> len(both), both.cumulative_sizes, int(both[3][0]), int(both[-1][0])
        (5, [3, 5], 10, 11)
    """

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError(f"ConcatDataset: absolute value of index {index} should not exceed "
                                 f"dataset length {n}")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[k][index - (self.cumulative_sizes[k - 1] if k else 0)]


class StackDataset(Dataset):
    """Samples of equally long datasets side by side: `StackDataset(a, b)[i] == (a[i], b[i])`, and
    `StackDataset(image=a, label=b)[i] == {"image": a[i], "label": b[i]}`.

    Example:
        >>> ds = StackDataset(x=TensorDataset(np.arange(3)), y=TensorDataset(np.arange(3) * 2))
        >>> len(ds), sorted(ds[2]), int(ds[2]["y"][0])
        (3, ['x', 'y'], 4)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: supported either tuple- (via args) or dict- (via kwargs) like "
                             "input/output, but both types are given")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        parts = list(args) if args else list(kwargs.values())
        lengths = [len(d) for d in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: size mismatch between datasets, lengths {lengths}")
        self._length = lengths[0]
        self.datasets: tuple[Any, ...] | dict[str, Any] = tuple(args) if args else dict(kwargs)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)


def random_split(dataset: Any, lengths: Sequence[int | float], seed: int = 0) -> list[Subset]:
    """Split `dataset` into non-overlapping random `Subset`s of the given lengths.

    `lengths` are either sample counts summing to `len(dataset)` or fractions summing to 1; as in
    torch, fractional sizes are floored and the leftover samples go one each to the first splits.
    The same `seed` always gives the same split.

    Example:
        >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in lengths):
        sizes = [int(x) for x in lengths]
    else:
        total = sum(float(x) for x in lengths)
        if any(not 0 <= float(x) <= 1 for x in lengths) or not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"fractional lengths must lie in [0, 1] and sum to 1, got {lengths}")
        sizes = [math.floor(n * float(x)) for x in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise ValueError(f"lengths {lengths} do not add up to the dataset's length {n}")
    perm = np.random.default_rng(seed).permutation(n)
    offsets = np.cumsum([0, *sizes])
    return [Subset(dataset, perm[offsets[i] : offsets[i + 1]]) for i in range(len(sizes))]
