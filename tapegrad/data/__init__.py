"""Datasets and batching: `Dataset`, `TensorDataset`, `random_split`, `DataLoader`, plus
`transforms` and ready-made `datasets` (`digits`, `MNIST`).

Example:
    >>> import numpy as np
    >>> from tapegrad import data
    >>> ds = data.TensorDataset(np.zeros((6, 2), np.float32), np.arange(6))
    >>> [y.shape for _, y in data.DataLoader(ds, batch_size=4)]
    [(4,), (2,)]
"""
from . import datasets, transforms
from .dataset import Dataset, Subset, TensorDataset, default_collate, random_split
from .loader import DataLoader

__all__ = [
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "datasets",
    "default_collate",
    "random_split",
    "transforms",
]
