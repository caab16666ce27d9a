"""tapegrad.io: round trips of structures and dtypes, atomic writes, and rejection of bad files."""
import ast
import collections
import io as pyio
import json
import math
import os
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tapegrad import io as tio

State = collections.namedtuple("State", ["mu", "nu", "count"])

NATIVE = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
          np.float16, np.float32, np.float64, np.complex64, np.complex128]
EXTENDED = [ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2]


def assert_same(original, loaded):
    """Same structure, types, dtypes and bits; NamedTuples come back as plain tuples."""
    if isinstance(original, (np.ndarray, np.generic, jax.Array)):
        expected = np.asarray(original)
        assert isinstance(loaded, jax.Array)
        assert loaded.dtype == expected.dtype and loaded.shape == expected.shape
        assert np.asarray(loaded).tobytes() == np.ascontiguousarray(expected).tobytes()
    elif isinstance(original, dict):
        assert type(loaded) is dict and list(loaded) == list(original)
        for k in original:
            assert_same(original[k], loaded[k])
    elif isinstance(original, (list, tuple)):
        assert type(loaded) is (list if isinstance(original, list) else tuple)
        assert len(loaded) == len(original)
        for a, b in zip(original, loaded, strict=True):
            assert_same(a, b)
    else:
        assert type(loaded) is type(original)
        if isinstance(original, float) and math.isnan(original):
            assert math.isnan(loaded)
        else:
            assert loaded == original


def native_arrays():
    return st.sampled_from(NATIVE).flatmap(
        lambda t: hnp.arrays(t, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))


def extended_arrays():
    # Random bit patterns, NaNs included: the file must keep the bits, not just the values.
    def build(t):
        bits = np.dtype(t).itemsize * 8
        return hnp.arrays(np.dtype(f"uint{bits}"), hnp.array_shapes(min_dims=0, max_dims=2, max_side=4)).map(
            lambda a: a.view(t))
    return st.sampled_from(EXTENDED).flatmap(build)


leaves = st.one_of(
    native_arrays(),
    extended_arrays(),
    native_arrays().map(jnp.asarray),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=False),
    st.text(max_size=5),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), children, max_size=3),
        st.tuples(children, children, children).map(lambda t: State(*t)),
    ),
    max_leaves=8,
)


@given(tree=trees)
def test_round_trip_property(tree, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "tree.npz"
    tio.save(path, tree)
    assert_same(tree, tio.load(path))


@pytest.mark.parametrize("dtype", NATIVE + EXTENDED + [ml_dtypes.int4, ml_dtypes.uint4],
                         ids=lambda t: np.dtype(t).name)
def test_every_dtype_round_trips(tmp_path, dtype):
    values = np.arange(-3, 5).reshape(2, 4) % (2 if dtype is np.bool_ else 8)
    if dtype in (ml_dtypes.int4,):
        values = values - 4
    array = values.astype(dtype)
    tio.save(tmp_path / "a.npz", {"np": array, "jax": jnp.asarray(array), "scalar": array[0, 0]})
    loaded = tio.load(tmp_path / "a.npz")
    for key in ("np", "jax"):
        assert loaded[key].dtype == np.dtype(dtype)
        assert np.asarray(loaded[key]).tobytes() == array.tobytes()
    assert loaded["scalar"].shape == ()


def test_structures_round_trip(tmp_path):
    tree = {
        "params": {"w": jnp.ones((3, 2), jnp.float32), "b": jnp.zeros((2,), jnp.bfloat16)},
        "opt": State(mu=[np.zeros(2, np.float64)], nu=None, count=np.int32(7)),
        "step": 12, "lr": 1e-3, "done": False, "name": "run", "z": 1 - 2j,
        "empty": ({}, [], ()), "order": {"b": 1, "a": 2}, "ints": {3: "x", 1: "y"},
        "fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
        "big": 2**80, "nan": float("nan"), "inf": float("-inf"),
    }
    tio.save(tmp_path / "t.npz", tree)
    loaded = tio.load(tmp_path / "t.npz")
    assert_same(tree, loaded)
    assert type(loaded["opt"]) is tuple  # documented: NamedTuples come back as tuples


def test_like_restores_namedtuples(tmp_path):
    state = State(mu={"w": jnp.arange(3.0)}, nu=None, count=jnp.int32(2))
    tio.save(tmp_path / "s.npz", state)
    loaded = tio.load(tmp_path / "s.npz", like=state)
    assert type(loaded) is State and loaded.nu is None
    np.testing.assert_array_equal(loaded.mu["w"], np.arange(3.0))
    with pytest.raises(ValueError, match="leaves"):
        tio.load(tmp_path / "s.npz", like=(1, 2, 3, 4))


def test_unsupported_values_raise_type_error(tmp_path):
    with pytest.raises(TypeError):
        tio.save(tmp_path / "o.npz", {"x": np.array([object()], dtype=object)})
    with pytest.raises(TypeError):
        tio.save(tmp_path / "o.npz", {"x": {1.5: 2}})
    with pytest.raises(TypeError):
        tio.save(tmp_path / "o.npz", [set()])
    assert list(tmp_path.iterdir()) == []


def test_file_permissions_follow_umask(tmp_path):
    tio.save(tmp_path / "p.npz", [1])
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "p.npz").stat().st_mode & 0o777 == 0o666 & ~umask


# --- atomicity ---------------------------------------------------------------------------------


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    tio.save(path, {"w": np.arange(4, dtype=np.float32)})
    before = path.read_bytes()

    def torn_write(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a checkpoint")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(np, "savez", torn_write)
    with pytest.raises(RuntimeError, match="disk on fire"):
        tio.save(path, {"w": np.zeros(4, dtype=np.float32)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]
    np.testing.assert_array_equal(tio.load(path)["w"], np.arange(4, dtype=np.float32))


def test_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    def no_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", no_replace)
    with pytest.raises(OSError, match="rename failed"):
        tio.save(tmp_path / "new.npz", [np.ones(2, np.float32)])
    assert list(tmp_path.iterdir()) == []


# --- bad files ---------------------------------------------------------------------------------


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        tio.load(tmp_path / "nope.npz")


def test_truncated_files_raise_value_error(tmp_path):
    good = tmp_path / "good.npz"
    tio.save(good, {"w": np.arange(100, dtype=np.float64), "b": [np.ones(3, np.int8), 5]})
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    for cut in sorted({0, 1, 10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1}):
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="bad.npz"):
            tio.load(bad)


def test_foreign_files_raise_value_error(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "random.npz").write_bytes(rng.bytes(500))
    (tmp_path / "zipped.npz").write_bytes(b"PK\x03\x04" + rng.bytes(500))
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    np.save(tmp_path / "single.npy", np.ones(3))
    (tmp_path / "text.npz").write_text("{}")
    for name in ("random.npz", "zipped.npz", "plain.npz", "single.npy", "text.npz"):
        with pytest.raises(ValueError, match=name):
            tio.load(tmp_path / name)


def _crafted(path: Path, header, entries=None, raw_meta=None):
    """An npz whose marker holds `header` (JSON-encoded unless `raw_meta` bytes are given)."""
    meta = raw_meta if raw_meta is not None else json.dumps(header).encode()
    np.savez(path, __tapegrad__=np.frombuffer(meta, np.uint8), **(entries or {}))
    return path


def _array_node(key="a0", dtype="float32", shape=(2,)):
    return {"t": "array", "key": key, "dtype": dtype, "shape": list(shape)}


@pytest.mark.parametrize("case", [
    "bad json", "not utf8", "deep nesting", "wrong marker", "future version", "missing key", "meta key",
    "key used twice", "unknown dtype", "shape mismatch", "dtype mismatch", "unknown node", "bad leaf",
    "bad dict", "tree not a node", "object entry",
])
def test_crafted_headers_raise_value_error(tmp_path, case):
    w = {"a0": np.ones(2, np.float32)}
    head = {"format": "tapegrad.io", "version": 1}
    none = {"t": "none"}
    args = {
        "bad json": dict(header=None, raw_meta=b'{"format": '),
        "not utf8": dict(header=None, raw_meta=b"\xff\xfe"),
        "deep nesting": dict(header=None, raw_meta=b'{"tree": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        "wrong marker": dict(header={**head, "format": "other", "tree": {"t": "none"}}),
        "future version": dict(header={**head, "version": 99, "tree": {"t": "none"}}),
        "missing key": dict(header={**head, "tree": _array_node("a7")}, entries=w),
        "meta key": dict(header={**head, "tree": _array_node("__tapegrad__", "uint8", (0,))}),
        "key used twice": dict(header={**head, "tree": {"t": "list", "items": [_array_node()] * 2}},
                               entries=w),
        "unknown dtype": dict(header={**head, "tree": _array_node(dtype="object")}, entries=w),
        "shape mismatch": dict(header={**head, "tree": _array_node(shape=(10**12,))}, entries=w),
        "dtype mismatch": dict(header={**head, "tree": _array_node(dtype="float64")}, entries=w),
        "unknown node": dict(header={**head, "tree": {"t": "set", "items": []}}),
        "bad leaf": dict(header={**head, "tree": {"t": "int", "v": "1; import os"}}),
        "bad dict": dict(header={**head, "tree": {"t": "dict", "keys": ["a", "a"], "values": [none, none]}}),
        "tree not a node": dict(header={**head, "tree": [1, 2]}),
        "object entry": dict(header={**head, "tree": _array_node()},
                             entries={"a0": np.array([{"x": 1}, None], dtype=object)}),
    }[case]
    path = _crafted(tmp_path / "crafted.npz", **args)
    with pytest.raises(ValueError, match="crafted.npz"):
        tio.load(path)


def test_lying_npy_header_does_not_allocate(tmp_path):
    # A .npy header claiming 80 TB of float64 must be rejected before numpy allocates it.
    buf = pyio.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**13,)})
    tree = _array_node("a0", "float64", (10**13,))
    meta = json.dumps({"format": "tapegrad.io", "version": 1, "tree": tree})
    meta_npy = pyio.BytesIO()
    np.save(meta_npy, np.frombuffer(meta.encode(), np.uint8))
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a0.npy", buf.getvalue() + b"\0" * 64)
        z.writestr("__tapegrad__.npy", meta_npy.getvalue())
    with pytest.raises(ValueError, match="liar.npz"):
        tio.load(path)


def test_source_never_runs_code_from_files():
    source = Path(tio.__file__).read_text()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            assert not {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle"} & set(names)
        if isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", "")
            assert name not in {"eval", "exec", "compile", "__import__", "literal_eval"}
            if name in {"load", "savez", "savez_compressed", "save"} and isinstance(func, ast.Attribute) \
                    and isinstance(func.value, ast.Name) and func.value.id == "np":
                kw = {k.arg: k.value for k in node.keywords}
                assert isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False
    assert "pickle.load" not in source and "import pickle" not in source
