"""scikit-learn's bundled 8x8 handwritten digits (1797 images, no download needed)."""
from __future__ import annotations

import functools

import numpy as np

from ..dataset import TensorDataset

__all__ = ["digits"]

_TEST_FRACTION = 0.2


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits  # lazy: scikit-learn is only needed here
    except ImportError as e:
        raise ImportError(
            "tapegrad.data.datasets.digits needs scikit-learn: pip install scikit-learn "
            "(or pip install tapegrad[train])"
        ) from e
    x, y = load_digits(return_X_y=True)
    # Copies (the division makes one): the cached arrays must not share scikit-learn's memory.
    images = (np.asarray(x, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)
    labels = np.array(y, dtype=np.int64, copy=True)
    # The split comes from a fixed hash of the index (splitmix64) rather than an RNG, so it can
    # never change with the numpy version and test-split accuracies stay comparable.
    z = np.arange(len(labels), dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[np.argsort(z ^ (z >> np.uint64(31)), kind="stable")[: round(len(labels) * _TEST_FRACTION)]] = True
    for a in (images, labels, is_test):
        a.flags.writeable = False  # cached and shared by every call
    return images, labels, is_test


def digits(train: bool = True) -> TensorDataset:
    """The 8x8 digits as a `TensorDataset` of `(image, label)`.

    Images are float32 `(1, 8, 8)` in [0, 1] (pixel / 16), labels int64 in 0..9. The 80/20
    train/test split is fixed: 1438 training and 359 test images, the same on every call.
    Needs scikit-learn (`pip install tapegrad[train]`).

    Example:
        >>> train = digits(train=True)
        >>> image, label = train[0]
        >>> len(train), image.shape, image.dtype
        (1438, (1, 8, 8), dtype('float32'))
    """
    images, labels, is_test = _load()
    keep = ~is_test if train else is_test
    return TensorDataset(images[keep], labels[keep])
