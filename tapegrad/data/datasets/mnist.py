"""MNIST from the standard IDX files, with an optional checksummed download (urllib only)."""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import urllib.request
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..dataset import Dataset, default_collate, owning_batches

__all__ = ["MNIST"]

# torchvision's mirrors and the MD5 sums of the published files.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
CHECKSUMS: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049  # unsigned bytes; 3 and 1 dimensions


def _read_idx(path: str, magic: int) -> np.ndarray:
    """Parse an IDX file (raw or gzip), checking the magic number and that the size fits the header."""
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
            data = f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from e
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < 4 or int.from_bytes(data[:4], "big") != magic:
        found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
        raise ValueError(f"{path}: bad magic number {found}, expected {magic}; not an MNIST IDX file")
    if len(data) < header:
        raise ValueError(f"{path}: truncated header ({len(data)} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise ValueError(f"{path}: {what}: {len(data)} bytes, but the header {dims} implies {expected}")
    # Read-only, over the bytes just read: nothing else holds them, and no sample can write back.
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _fetch(url: str, dest: str, md5: str | None) -> None:
    """Download `url` to `dest` atomically: a temp file beside it, checked, then `os.replace`d."""
    directory = os.path.dirname(dest)
    tmp = os.path.join(directory, f".{os.path.basename(dest)}.{uuid.uuid4().hex[:12]}.part")
    # os.open rather than tempfile.mkstemp: the file gets the usual umask permissions, not 0600.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        digest = hashlib.md5(usedforsecurity=False)  # a checksum, not security; allowed under FIPS
        request = urllib.request.Request(url, headers={"User-Agent": "tapegrad"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=60) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if md5 is not None and digest.hexdigest() != md5.lower():
            raise ValueError(f"MD5 checksum mismatch: got {digest.hexdigest()}, expected {md5}")
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class MNIST(Dataset):
    """The MNIST handwritten digits: `(image, label)` with image float32 `(1, 28, 28)` in [0, 1]
    (then `transform(image)` if given) and label an int.

    Reads `train-images-idx3-ubyte`, `train-labels-idx1-ubyte` (or `t10k-...` when `train=False`),
    raw or `.gz`, from `root/MNIST/raw` (torchvision's layout) or `root`. With `download=True`,
    missing files are fetched into `root/MNIST/raw` from the first working base URL of `mirrors`
    (default: torchvision's) and checked against MD5 `checksums` (default: the published files').

    Example:
        >>> from tapegrad.data import DataLoader, transforms
        >>> ds = MNIST("~/data", train=True, download=True,  # doctest: +SKIP
        ...            transform=transforms.Compose([transforms.Normalize((0.1307,), (0.3081,))]))
        >>> images, labels = next(iter(DataLoader(ds, batch_size=64)))  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable[[np.ndarray], Any] | None = None, download: bool = False,
                 mirrors: Sequence[str] | None = None, checksums: Mapping[str, str] | None = None) -> None:
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        mirrors = MIRRORS if mirrors is None else mirrors
        self.mirrors = (mirrors,) if isinstance(mirrors, str) else tuple(mirrors)
        self.checksums = {**CHECKSUMS, **(checksums or {})}
        if download:
            self.download()
        prefix = "train" if train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        paths = [self._find(name) for name in names]
        if None in paths:
            missing = [n for n, p in zip(names, paths, strict=True) if p is None]
            raise FileNotFoundError(
                f"MNIST {'training' if train else 'test'} files not found: looked for "
                f"{', '.join(n + '[.gz]' for n in missing)} in {' and '.join(self._search_dirs)}. "
                "Pass download=True to fetch them, or place the IDX files in one of those directories."
            )
        self.images = _read_idx(paths[0], _IMAGES_MAGIC)
        self.labels = _read_idx(paths[1], _LABELS_MAGIC).astype(np.int64)
        if len(self.images) != len(self.labels):
            raise ValueError(f"{paths[0]} holds {len(self.images)} images but {paths[1]} "
                             f"holds {len(self.labels)} labels")

    @property
    def raw_folder(self) -> str:
        """Where downloads go: `root/MNIST/raw`, as in torchvision."""
        return os.path.join(self.root, "MNIST", "raw")

    @property
    def _search_dirs(self) -> tuple[str, str]:
        return (self.raw_folder, self.root)

    def _find(self, name: str) -> str | None:
        for directory in self._search_dirs:
            for candidate in (name, name + ".gz"):
                path = os.path.join(directory, candidate)
                if os.path.isfile(path):
                    return path
        return None

    def download(self) -> None:
        """Fetch the four MNIST files that are not present yet into `raw_folder`."""
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename in CHECKSUMS:
            if self._find(filename.removesuffix(".gz")) is not None:
                continue
            errors = []
            for base in self.mirrors:
                url = base.rstrip("/") + "/" + filename
                try:
                    _fetch(url, os.path.join(self.raw_folder, filename), self.checksums.get(filename))
                    break
                except (OSError, ValueError, http.client.HTTPException) as e:  # URLError is an OSError
                    errors.append(f"{url}: {e}")
            else:
                tried = "\n  ".join(errors)
                raise RuntimeError(f"could not download {filename} from any mirror:\n  {tried}")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = self.images[index].astype(np.float32)[None] / np.float32(255)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])

    @owning_batches
    def get_batch(self, indices: np.ndarray) -> tuple[Any, np.ndarray]:
        """Samples at `indices`, batched; without a transform, in one vectorized step (new arrays either way)."""
        if self.transform is not None:
            return default_collate([self[int(i)] for i in indices])
        # uint8 / float32 in float32 is the cast-then-divide of __getitem__, in one pass.
        images = np.true_divide(np.take(self.images, indices, axis=0)[:, None], np.float32(255), dtype=np.float32)
        return images, np.take(self.labels, indices, axis=0)
