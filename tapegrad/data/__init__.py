"""Datasets and batching, with PyTorch's names: `Dataset`, `IterableDataset`, `TensorDataset`, `Subset`,
`ConcatDataset`, `StackDataset`, `random_split`, the samplers, and `DataLoader` (with worker threads and
`get_worker_info`); plus `transforms` and ready-made `datasets` (`digits`, `MNIST`).

Example:
    >>> import numpy as np
    >>> from tapegrad import data
    >>> ds = data.TensorDataset(np.zeros((6, 2), np.float32), np.arange(6))
    >>> [y.shape for _, y in data.DataLoader(ds, batch_size=4)]
    [(4,), (2,)]
"""
from . import datasets, transforms
from .dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)
from .loader import DataLoader
from .samplers import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .workers import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "datasets",
    "default_collate",
    "get_worker_info",
    "random_split",
    "transforms",
]
