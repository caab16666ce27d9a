"""Save and load pytrees of arrays (checkpoints) as one `.npz` file, safely and atomically.

Format: a numpy `.npz` archive (written and read with `allow_pickle=False`) holding one entry per
array leaf, `a0`, `a1`, ..., plus `__tapegrad__`: a uint8 array of UTF-8 JSON with a format marker,
a version and the tree structure. Loading parses only that JSON and raw array bytes, so a crafted
file can make `load` fail with ValueError but never run code or import a module.

What round-trips, with `jax.tree_util.tree_structure(load(path))` equal to that of what was saved:

- dicts and `OrderedDict`s (str or int keys, insertion order kept), lists, tuples, None, and python
  bool, int, float, complex and str leaves, which come back as the same python objects;
- numpy and JAX arrays and numpy scalars of any bool, int, uint, float or complex dtype,
  including ml_dtypes types such as bfloat16, float8_* and int4; they come back as JAX arrays
  with the same shape, dtype and bits. (Without `jax_enable_x64`, JAX itself turns 64-bit arrays
  into 32-bit ones.) Raw PRNG keys are such (uint32) arrays;
- typed PRNG keys (`jax.random.key`), stored as `jax.random.key_data` plus the implementation's
  name and rebuilt with `jax.random.wrap_key_data`;
- NamedTuples (optimizer states: tapegrad's, optax's), stored with their module, qualified name and
  field names. On load the class is looked up in `sys.modules` only (never imported), read from
  the module's and classes' `__dict__` (no attribute hooks run), and accepted only if it is a
  tuple subclass with exactly those fields; the instance is built with `tuple.__new__`, so no
  `__new__` or `__init__` of the class runs either. If the module is not imported yet (import
  optax before loading an optax state) or the class changed, the node comes back as a plain tuple
  and a `UserWarning` says so; `like=` restores the structure in any case.

Other pytree node types (e.g. `defaultdict`) and object arrays raise TypeError on `save`. Files
written by version 1 (which recorded a NamedTuple's name but not its module) still load, their
NamedTuples as plain tuples.
"""
from __future__ import annotations

import json
import math
import os
import sys
import types
import uuid
import warnings
import zipfile
from collections import OrderedDict
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

__all__ = ["save", "load"]

FORMAT = "tapegrad.io"
VERSION = 2  # 2: OrderedDict, typed PRNG keys, NamedTuple module and qualified name
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


def _is_typed_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _fields_of(cls: type) -> Any:
    """``_fields`` as the class defines it, read from the classes' ``__dict__`` (no descriptor runs)."""
    for klass in cls.__mro__:
        if "_fields" in vars(klass):
            return vars(klass)["_fields"]
    return None


def _namedtuple_class(module: Any, qualname: Any, fields: list[str]) -> tuple[type | None, str]:
    """The already-imported NamedTuple class ``module.qualname`` with exactly ``fields``, or None and why.

    Looks only in ``sys.modules`` and in ``__dict__``s: a file naming a module cannot import it, and
    no module ``__getattr__`` or class property runs.
    """
    if not (isinstance(module, str) and isinstance(qualname, str)):
        return None, "the file does not record its module (a version 1 file)"
    obj: Any = sys.modules.get(module)
    if obj is None:
        return None, f"module {module!r} is not imported (import it before tg.load)"
    parts = qualname.split(".")
    if not all(part.isidentifier() for part in parts):  # "<locals>": a class defined in a function
        return None, f"{module}.{qualname} is defined inside a function, where no file can reach it"
    for part in parts:
        if not isinstance(obj, (types.ModuleType, type)) or part not in vars(obj):
            return None, f"{module}.{qualname} does not exist there"
        obj = vars(obj)[part]
    if not (isinstance(obj, type) and issubclass(obj, tuple)):
        return None, f"{module}.{qualname} is not a NamedTuple class here"
    found = _fields_of(obj)
    if not isinstance(found, tuple) or list(found) != fields:
        return None, f"{module}.{qualname} has fields {found!r}, the file {tuple(fields)!r}"
    return obj, ""


def _encode(x: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The JSON description of `x`; array leaves are added to `arrays` under their entry names."""
    if x is None:
        return {"t": "none"}
    if isinstance(x, (bool, int, float, complex, str)) and not isinstance(x, np.generic):
        kind = type(x).__name__ if type(x) in (bool, int, float, complex, str) else None
        if kind is None:  # an int or float subclass (e.g. an IntEnum) might not load back
            raise TypeError(f"cannot save leaf of type {type(x).__name__}")
        return {"t": kind, "v": [x.real, x.imag] if kind == "complex" else x}
    if _is_typed_key(x):  # np.asarray refuses key arrays: store the raw bits and the impl's name
        return {"t": "key", "impl": str(jax.random.key_impl(x)), "data": _encode(jax.random.key_data(x), arrays)}
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
    if type(x) in (dict, OrderedDict):
        keys = list(x)
        if not all(type(k) in (str, int) for k in keys):
            raise TypeError(f"dict keys must be str or int, got {[type(k).__name__ for k in keys]}")
        return {"t": "dict" if type(x) is dict else "odict", "keys": keys,
                "values": [_encode(x[k], arrays) for k in keys]}
    if isinstance(x, dict):  # JAX gives other dict types their own tree structure
        raise TypeError(f"cannot save a {type(x).__name__}: it would load as another pytree node type; "
                        "convert it to a dict or an OrderedDict first")
    if _is_namedtuple(x):
        cls = type(x)
        return {"t": "tuple", "items": [_encode(v, arrays) for v in x], "namedtuple": cls.__name__,
                "fields": list(cls._fields), "module": cls.__module__, "qualname": cls.__qualname__}
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
        self.plain: dict[str, str] = {}  # NamedTuples that came back as plain tuples: name -> why

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
            # The entry was just read from the file and nothing else holds it: JAX may adopt it.
            if name in _NATIVE:
                return jax.device_put(self.entry(key, _NATIVE[name], tuple(shape)))
            bits = self.entry(key, _BITS[_EXTENDED[name].itemsize], tuple(shape))
            return jax.device_put(bits.view(_EXTENDED[name]))
        if t == "key":
            impl, data = node.get("impl"), node.get("data")
            if not (isinstance(impl, str) and impl.isidentifier() and isinstance(data, dict)
                    and data.get("t") == "array" and data.get("dtype") == "uint32"):
                raise ValueError("malformed PRNG key node")
            try:  # JAX looks the name up among the registered implementations
                return jax.random.wrap_key_data(self.tree(data), impl=impl)
            except (TypeError, ValueError) as e:
                raise ValueError(f"PRNG key of implementation {impl!r:.40}: {e}") from None
        if t in ("dict", "odict"):
            keys, values = node.get("keys"), node.get("values")
            if not (isinstance(keys, list) and isinstance(values, list) and len(keys) == len(values)
                    and all(type(k) in (str, int) for k in keys) and len(set(keys)) == len(keys)):
                raise ValueError(f"malformed {t} node")
            pairs = ((k, self.tree(v)) for k, v in zip(keys, values, strict=True))
            return dict(pairs) if t == "dict" else OrderedDict(pairs)
        if t in ("list", "tuple"):
            items = node.get("items")
            if not isinstance(items, list):
                raise ValueError(f"malformed {t} node")
            out = [self.tree(v) for v in items]
            if t == "list":
                return out
            return self.namedtuple(node, out) if "namedtuple" in node else tuple(out)
        raise ValueError(f"unknown tree node type {t!r:.80}")

    def namedtuple(self, node: dict, items: list) -> tuple:
        name, fields = node.get("namedtuple"), node.get("fields")
        if not (isinstance(name, str) and isinstance(fields, list) and all(isinstance(f, str) for f in fields)
                and len(fields) == len(items)):
            raise ValueError(f"malformed NamedTuple node {name!r:.80}")
        cls, why = _namedtuple_class(node.get("module"), node.get("qualname"), fields)
        if cls is None:
            self.plain.setdefault(name, why)
            return tuple(items)
        return tuple.__new__(cls, items)  # the tuple itself: no __new__/__init__ of the class runs


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


class _Foreign(ValueError):
    """The file is something other than a tapegrad checkpoint (as opposed to a damaged one)."""


def _what_it_is(head: bytes) -> str:
    """What a file that is not a zip archive looks like, from its first bytes."""
    if not head:
        return "an empty file"
    if head.startswith(b"\x93NUMPY"):
        return "a single .npy array (np.save output), not an .npz archive"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (pickle.dump, or torch.save in its legacy format), which tg.load never unpickles"
    if head.startswith(b"\x1f\x8b"):
        return "gzip-compressed data, not a zip archive"
    if head.lstrip()[:1] in (b"{", b"["):
        return "a text (JSON?) file, not a zip archive"
    return "not a zip archive"


def _what_archive(names: list[str]) -> str:
    """What a zip archive without tapegrad's header entry holds."""
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return ("a PyTorch checkpoint (torch.save): read it with torch.load, then pass the state dict to "
                "nn.load_state_dict")
    if names and all(n.endswith(".npy") for n in names):
        return f"an .npz archive with no tapegrad marker entry (np.savez output?), holding {names[:5]}"
    return f"a zip archive that is not an .npz, holding {names[:5]}"


def load(path: str | os.PathLike, like: Any = None) -> Any:
    """Read a tree written by `save`; array leaves come back as JAX arrays, in memory of their own.

    With `like` (a tree of the saved structure, e.g. a freshly initialized optimizer state), the
    loaded leaves are put into `like`'s structure instead of the one recorded in the file.
    A truncated, foreign or tampered file raises ValueError; a missing one FileNotFoundError.
    A NamedTuple whose class cannot be found (see the module docstring) comes back as a plain
    tuple, with a UserWarning unless `like` is given.

    Example:
        >>> save("ckpt.npz", (jnp.zeros(3, jnp.bfloat16), None))  # doctest: +SKIP
        >>> load("ckpt.npz")[0].dtype  # doctest: +SKIP
        dtype(bfloat16)
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
        # np.load would try anything that is not a zip or .npy as a pickle and talk about allow_pickle.
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            raise _Foreign(_what_it_is(head))
        archive = np.load(path, allow_pickle=False)
        with archive:
            if _META not in archive.files:
                raise _Foreign(_what_archive(archive.zip.namelist()))
            reader = _Reader(archive, os.path.getsize(path))
            meta = reader.entry(_META, np.dtype(np.uint8), None)
            header = json.loads(meta.tobytes().decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ValueError("unknown format marker")
            version = header.get("version")
            if type(version) is not int or not 1 <= version <= VERSION:
                raise ValueError(f"unsupported format version {version!r:.40} (this tapegrad reads 1 to {VERSION})")
            tree = reader.tree(header.get("tree"))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except _Foreign as e:
        raise ValueError(f"{path}: not a valid tapegrad checkpoint (the .npz archive tg.save writes): it is {e}") \
            from None
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, RecursionError) as e:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
        raise ValueError(f"{path}: not a valid tapegrad checkpoint (truncated or damaged): {e}") from e
    if like is None:
        for name, why in reader.plain.items():
            warnings.warn(f"tg.load({path!r}): NamedTuple {name} comes back as a plain tuple: {why}; "
                          "pass like=<a tree of the saved structure> to restore it", UserWarning, stacklevel=2)
        return tree
    treedef = jax.tree.structure(like)
    leaves = jax.tree.leaves(tree)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"{path}: holds {len(leaves)} leaves, but `like` has {treedef.num_leaves}")
    return jax.tree.unflatten(treedef, leaves)
