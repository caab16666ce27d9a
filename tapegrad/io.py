"""Save and load pytrees of arrays (checkpoints) as one `.npz` file, safely and atomically.

Format: a numpy `.npz` archive (written and read with `allow_pickle=False`) holding one entry per
array leaf, `a0`, `a1`, ..., plus `__tapegrad__`: a uint8 array of UTF-8 JSON with a format marker,
a version and the tree structure. Loading parses only that JSON and raw array bytes, so a crafted
file can make `load` fail with ValueError but never run code.

What round-trips:

- dicts (str or int keys, insertion order kept), lists, tuples, None, and python bool, int,
  float, complex and str leaves, which come back as the same python objects;
- numpy and JAX arrays and numpy scalars of any bool, int, uint, float or complex dtype,
  including ml_dtypes types such as bfloat16, float8_* and int4; they come back as JAX arrays
  with the same shape, dtype and bits. (Without `jax_enable_x64`, JAX itself turns 64-bit arrays
  into 32-bit ones.)
- NamedTuples (e.g. optimizer states) are stored as tuples with their class name and field names
  recorded, and come back as plain tuples, since a file must not choose which class to build. Pass
  `like=` a tree of the right structure (e.g. `opt.init(params)`) to get the NamedTuples back.

Other pytree node types and object arrays raise TypeError on `save`.
"""
from __future__ import annotations

import json
import math
import os
import uuid
import zipfile
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

__all__ = ["save", "load"]

FORMAT = "tapegrad.io"
VERSION = 1
_META = "__tapegrad__"

# Dtypes numpy stores natively in .npy; anything else (ml_dtypes) is stored as unsigned ints
# of the same width and viewed back by name, because numpy cannot describe it in the file header.
_NATIVE = {np.dtype(t).name: np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128)}
_EXTENDED = {name: np.dtype(getattr(ml_dtypes, name)) for name in (
    "bfloat16", "float8_e3m4", "float8_e4m3", "float8_e4m3b11fnuz", "float8_e4m3fn", "float8_e4m3fnuz",
    "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn", "int2", "int4", "uint2", "uint4")
    if hasattr(ml_dtypes, name)}
_BITS = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _encode(x: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The JSON description of `x`; array leaves are added to `arrays` under their entry names."""
    if x is None:
        return {"t": "none"}
    if isinstance(x, (bool, int, float, complex, str)) and not isinstance(x, np.generic):
        kind = type(x).__name__ if type(x) in (bool, int, float, complex, str) else None
        if kind is None:  # an int or float subclass (e.g. an IntEnum) might not load back
            raise TypeError(f"cannot save leaf of type {type(x).__name__}")
        return {"t": kind, "v": [x.real, x.imag] if kind == "complex" else x}
    if isinstance(x, (np.ndarray, np.generic, jax.Array)):
        a = np.asarray(x)
        name = a.dtype.name
        if name in _NATIVE and a.dtype == _NATIVE[name]:
            stored = a.astype(_NATIVE[name], copy=False)  # native byte order
        elif name in _EXTENDED and a.dtype == _EXTENDED[name]:
            stored = a.view(_BITS[a.dtype.itemsize])
        else:
            raise TypeError(f"cannot save array of dtype {a.dtype}")
        key = f"a{len(arrays)}"
        arrays[key] = stored
        return {"t": "array", "key": key, "dtype": name, "shape": list(a.shape)}
    if isinstance(x, dict):
        keys = list(x)
        if not all(type(k) in (str, int) for k in keys):
            raise TypeError(f"dict keys must be str or int, got {[type(k).__name__ for k in keys]}")
        return {"t": "dict", "keys": keys, "values": [_encode(x[k], arrays) for k in keys]}
    if _is_namedtuple(x):
        return {"t": "tuple", "items": [_encode(v, arrays) for v in x],
                "namedtuple": type(x).__name__, "fields": list(type(x)._fields)}
    if type(x) in (list, tuple):
        return {"t": type(x).__name__, "items": [_encode(v, arrays) for v in x]}
    raise TypeError(f"cannot save pytree node of type {type(x).__name__}; use dicts, lists and tuples")


class _Reader:
    """Rebuilds a tree from its JSON description and an open archive; anything unexpected in
    either raises ValueError."""

    def __init__(self, archive: Any, limit: int) -> None:
        self.archive = archive
        self.limit = limit  # no entry can hold more bytes than the whole file
        self.entries = set(archive.files)
        self.used: set[str] = set()

    def entry(self, key: str, dtype: np.dtype, shape: tuple[int, ...] | None) -> np.ndarray:
        """Entry `key`, checked first: numpy would allocate whatever size a crafted header claims."""
        info = self.archive.zip.getinfo(key + ".npy")
        if info.compress_type != zipfile.ZIP_STORED or info.file_size > self.limit:
            raise ValueError(f"entry {key} is compressed or larger than the file")  # np.savez never is
        with self.archive.zip.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"entry {key} has unsupported .npy version {version}")
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            found_shape, _, found_dtype = read_header(f)
        if shape is None and len(found_shape) == 1:  # None: any vector
            shape = found_shape
        same_dtype = found_dtype.newbyteorder("<") == dtype.newbyteorder("<")
        if not same_dtype or found_shape != shape or math.prod(shape) * dtype.itemsize > info.file_size:
            raise ValueError(f"entry {key} is {found_dtype}{list(found_shape)} in {info.file_size} bytes, "
                             f"expected {dtype}{list(shape or ['n'])}")
        return self.archive[key].astype(dtype, copy=False)  # native byte order, for JAX

    def tree(self, node: Any) -> Any:
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise ValueError(f"malformed tree node {node!r:.80}")
        t = node["t"]
        if t == "none":
            return None
        if t in ("bool", "int", "float", "str"):
            v = node.get("v")
            ok = {"bool": bool, "int": int, "float": (int, float), "str": str}[t]
            if not isinstance(v, ok) or (t != "bool" and isinstance(v, bool)):
                raise ValueError(f"malformed {t} leaf {v!r:.80}")
            return {"bool": bool, "int": int, "float": float, "str": str}[t](v)
        if t == "complex":
            v = node.get("v")
            if not (isinstance(v, list) and len(v) == 2 and all(type(p) in (int, float) for p in v)):
                raise ValueError(f"malformed complex leaf {v!r:.80}")
            return complex(v[0], v[1])
        if t == "array":
            key, name, shape = node.get("key"), node.get("dtype"), node.get("shape")
            if not isinstance(key, str) or key == _META or key not in self.entries or key in self.used:
                raise ValueError(f"array entry {key!r:.80} is missing or used twice")
            if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
                raise ValueError(f"malformed shape {shape!r:.80}")
            if name not in _NATIVE and name not in _EXTENDED:
                raise ValueError(f"unknown dtype {name!r:.80}")
            self.used.add(key)
            if name in _NATIVE:
                return jnp.asarray(self.entry(key, _NATIVE[name], tuple(shape)))
            bits = self.entry(key, _BITS[_EXTENDED[name].itemsize], tuple(shape))
            return jnp.asarray(bits.view(_EXTENDED[name]))
        if t == "dict":
            keys, values = node.get("keys"), node.get("values")
            if not (isinstance(keys, list) and isinstance(values, list) and len(keys) == len(values)
                    and all(type(k) in (str, int) for k in keys) and len(set(keys)) == len(keys)):
                raise ValueError("malformed dict node")
            return {k: self.tree(v) for k, v in zip(keys, values, strict=True)}
        if t in ("list", "tuple"):
            items = node.get("items")
            if not isinstance(items, list):
                raise ValueError(f"malformed {t} node")
            out = [self.tree(v) for v in items]
            return out if t == "list" else tuple(out)
        raise ValueError(f"unknown tree node type {t!r:.80}")


def save(path: str | os.PathLike, tree: Any) -> None:
    """Write `tree` to `path` (exactly that name; no suffix is added), replacing it atomically.

    The file is written to a temporary file in the same directory, flushed and fsynced, then
    moved over `path` with `os.replace` and the directory fsynced: a crash or error leaves
    either the old file or the new one, never a torn mix.

    Example:
        >>> save("ckpt.npz", {"params": {"w": jnp.ones((2, 2))}, "step": 10})  # doctest: +SKIP
        >>> load("ckpt.npz")["step"]  # doctest: +SKIP
        10
    """
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    header = {"format": FORMAT, "version": VERSION, "tree": _encode(tree, arrays)}
    arrays[_META] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    # os.open rather than tempfile.mkstemp: the file gets the usual umask permissions, not 0600.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=False, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable; not possible on every platform (e.g. Windows)
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def load(path: str | os.PathLike, like: Any = None) -> Any:
    """Read a tree written by `save`; array leaves come back as JAX arrays.

    With `like` (a tree of the saved structure, e.g. a freshly initialized optimizer state), the
    loaded leaves are put into `like`'s structure, which restores NamedTuples and other node types.
    A truncated, foreign or tampered file raises ValueError; a missing one FileNotFoundError.

    Example:
        >>> save("ckpt.npz", (jnp.zeros(3, jnp.bfloat16), None))  # doctest: +SKIP
        >>> load("ckpt.npz")[0].dtype  # doctest: +SKIP
        dtype(bfloat16)
    """
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a .npy file gives a plain array
            raise ValueError("not an .npz archive")
        with archive:
            if _META not in archive.files:
                raise ValueError("no tapegrad marker entry")
            reader = _Reader(archive, os.path.getsize(path))
            meta = reader.entry(_META, np.dtype(np.uint8), None)
            header = json.loads(meta.tobytes().decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ValueError("unknown format marker")
            if type(header.get("version")) is not int or header["version"] > VERSION:
                raise ValueError(f"unsupported format version {header.get('version')!r:.40}")
            tree = reader.tree(header.get("tree"))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, RecursionError) as e:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
        raise ValueError(f"{path}: not a valid tapegrad checkpoint: {e}") from e
    if like is None:
        return tree
    treedef = jax.tree.structure(like)
    leaves = jax.tree.leaves(tree)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"{path}: holds {len(leaves)} leaves, but `like` has {treedef.num_leaves}")
    return jax.tree.unflatten(treedef, leaves)
