"""tapegrad.io: round trips of structures and dtypes, atomic writes, and rejection of bad files."""
import ast
import collections
import gzip
import io as pyio
import json
import math
import os
import pickle
import sys
import types
import warnings
import zipfile
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tapegrad import io as tio
from tapegrad import nn, optim

State = collections.namedtuple("State", ["mu", "nu", "count"])

NATIVE = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
          np.float16, np.float32, np.float64, np.complex64, np.complex128]
EXTENDED = [ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2]


def assert_same(original, loaded):
    """Same structure, node types (NamedTuple classes, OrderedDict), dtypes and bits."""
    assert jax.tree.structure(loaded) == jax.tree.structure(original)
    if isinstance(original, jax.Array) and jnp.issubdtype(original.dtype, jax.dtypes.prng_key):
        assert loaded.dtype == original.dtype and loaded.shape == original.shape
        assert_same(jax.random.key_data(original), jax.random.key_data(loaded))
    elif isinstance(original, (np.ndarray, np.generic, jax.Array)):
        expected = np.asarray(original)
        assert isinstance(loaded, jax.Array)
        assert loaded.dtype == expected.dtype and loaded.shape == expected.shape
        assert np.asarray(loaded).tobytes() == np.ascontiguousarray(expected).tobytes()
    elif isinstance(original, dict):
        assert type(loaded) is type(original) and list(loaded) == list(original)
        for k in original:
            assert_same(original[k], loaded[k])
    elif isinstance(original, (list, tuple)):
        assert type(loaded) is type(original)
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
    st.integers(min_value=0, max_value=2**32 - 1).map(jax.random.key),
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
        st.dictionaries(st.text(max_size=4), children, max_size=3).map(collections.OrderedDict),
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
    assert type(loaded["opt"]) is State and loaded["opt"].count.dtype == np.int32


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
    with pytest.raises(TypeError, match="defaultdict.*dict or an OrderedDict"):
        tio.save(tmp_path / "o.npz", {"x": collections.defaultdict(list)})
    assert list(tmp_path.iterdir()) == []


# --- what training code saves ------------------------------------------------------------------


OPTIMIZERS = {
    "sgd": lambda: optim.SGD(lr=0.1, momentum=0.9),
    "adam": lambda: optim.Adam(lr=1e-2),
    "rmsprop": lambda: optim.RMSprop(lr=1e-2, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_checkpoint_round_trips_and_keeps_stepping(tmp_path, name):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    params = model.init(0)  # OrderedDicts
    opt = OPTIMIZERS[name]()
    grads = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
    params, state = opt.step(params, grads, opt.init(params))  # a state that is not all zeros
    checkpoint = {"params": params, "opt": state, "epoch": 3, "lr": 1e-2, "best": False,
                  "key": jax.random.key(7), "raw_key": jax.random.PRNGKey(8),
                  "ema": jax.tree.map(lambda p: p.astype(jnp.bfloat16), params)}
    tio.save(tmp_path / "ckpt.npz", checkpoint)
    loaded = tio.load(tmp_path / "ckpt.npz")
    assert jax.tree.structure(loaded) == jax.tree.structure(checkpoint)
    assert_same(checkpoint, loaded)
    assert type(loaded["opt"]) is type(state) and type(loaded["params"]) is collections.OrderedDict
    # The loaded state is interchangeable with the original, eagerly and under jit.
    for step in (opt.step, jax.jit(opt.step)):  # (jit fuses differently: compare like with like)
        expected, got = step(params, grads, state), step(loaded["params"], grads, loaded["opt"])
        assert jax.tree.structure(got) == jax.tree.structure(expected)
        jax.tree.map(np.testing.assert_array_equal, got, expected)
    np.testing.assert_array_equal(jax.random.normal(loaded["key"], (3,)), jax.random.normal(checkpoint["key"], (3,)))


def test_optax_states_come_back_as_optax_classes(tmp_path):
    optax = pytest.importorskip("optax")  # a test oracle only; tapegrad never imports it
    params = collections.OrderedDict(w=jnp.arange(6.0).reshape(2, 3), b=jnp.zeros(3))
    grads = jax.tree.map(jnp.ones_like, params)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-2))
    _, state = tx.update(grads, tx.init(params), params)
    tio.save(tmp_path / "optax.npz", state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every class is found: no fallback warning
        loaded = tio.load(tmp_path / "optax.npz")
    assert jax.tree.structure(loaded) == jax.tree.structure(state)
    assert type(loaded[1][0]) is optax.ScaleByAdamState
    expected, got = tx.update(grads, state, params), tx.update(grads, loaded, params)
    assert jax.tree.structure(got) == jax.tree.structure(expected)
    jax.tree.map(np.testing.assert_array_equal, got, expected)
    # tree_map over the loaded and the live state together: the failure the issue reported.
    jax.tree.map(lambda a, b: a + b, loaded, state)


def test_prng_keys_round_trip(tmp_path):
    keys = {"threefry": jax.random.key(0), "rbg": jax.random.key(1, impl="rbg"),
            "batch": jax.random.split(jax.random.key(2), (2, 3)), "raw": jax.random.PRNGKey(4)}
    tio.save(tmp_path / "k.npz", keys)
    loaded = tio.load(tmp_path / "k.npz")
    assert_same(keys, loaded)
    assert str(jax.random.key_impl(loaded["rbg"])) == "rbg" and loaded["batch"].shape == (2, 3)
    assert loaded["raw"].dtype == np.uint32 and loaded["raw"].shape == (2,)
    for name in keys:
        np.testing.assert_array_equal(jax.random.uniform(loaded[name], (4,)) if name != "batch" else 0,
                                      jax.random.uniform(keys[name], (4,)) if name != "batch" else 0)


def _namedtuple_file(path, module, qualname, fields, version=2):
    node = {"t": "tuple", "items": [{"t": "int", "v": i} for i in range(len(fields))],
            "namedtuple": "Thing", "fields": fields}
    if version > 1:
        node.update(module=module, qualname=qualname)
    return _crafted(path, {"format": "tapegrad.io", "version": version, "tree": node})


class Point(NamedTuple):
    x: int
    y: int


@pytest.mark.parametrize("module, qualname, fields, version, why", [
    ("tapegrad_never_imported_mod", "Point", ["x", "y"], 2, "not imported"),
    (__name__, "Point", ["x", "y", "z"], 2, "has fields"),
    (__name__, "assert_same", ["x"], 2, "not a NamedTuple"),
    ("collections", "OrderedDict", ["x"], 2, "not a NamedTuple"),
    ("builtins", "tuple", ["x"], 2, "has fields None"),
    (__name__, "test_x.<locals>.Point", ["x"], 2, "inside a function"),
    (__name__, "Point.__class__.__subclasses__", ["x"], 2, "does not exist"),
    (__name__, "Point.x", ["x"], 2, "not a NamedTuple"),
    (None, None, ["x", "y"], 1, "version 1"),
], ids=["not imported", "fields changed", "function", "not a tuple", "tuple", "local", "dunder", "field", "v1"])
def test_unknown_namedtuple_loads_as_tuple_with_warning(tmp_path, module, qualname, fields, version, why):
    path = _namedtuple_file(tmp_path / "nt.npz", module, qualname, fields, version)
    with pytest.warns(UserWarning, match=f"Thing comes back as a plain tuple: .*{why}.*like="):
        loaded = tio.load(path)
    assert type(loaded) is tuple and loaded == tuple(range(len(fields)))
    assert "tapegrad_never_imported_mod" not in sys.modules  # looked up, never imported
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert type(tio.load(path, like=tuple(fields))) is tuple


def test_known_namedtuple_is_built_without_running_its_code(tmp_path, monkeypatch):
    calls = []

    class Noisy(collections.namedtuple("NoisyBase", ["a", "b"])):
        def __new__(cls, *args):
            calls.append("__new__")
            return super().__new__(cls, *args)

        def __init__(self, *args):
            calls.append("__init__")

    module = types.ModuleType("tapegrad_fake_mod")
    module.__getattr__ = lambda name: calls.append(f"getattr {name}")  # PEP 562 hook: must not run
    Noisy.__module__, Noisy.__qualname__ = module.__name__, "Noisy"
    module.Noisy = Noisy
    monkeypatch.setitem(sys.modules, module.__name__, module)
    tio.save(tmp_path / "n.npz", Noisy(1, jnp.ones(2)))
    calls.clear()
    loaded = tio.load(tmp_path / "n.npz")
    assert type(loaded) is Noisy and loaded.a == 1 and calls == []
    _namedtuple_file(tmp_path / "m.npz", module.__name__, "Missing", ["a", "b"])
    with pytest.warns(UserWarning, match="Missing does not exist"):
        tio.load(tmp_path / "m.npz")
    assert calls == []


def test_version_1_files_still_load(tmp_path):
    # Exactly what version 1 wrote for {"opt": State(mu=array, nu=None, count=3), "step": 5}.
    state = {"t": "tuple", "items": [_array_node("a0", "float32", (2,)), {"t": "none"}, {"t": "int", "v": 3}],
             "namedtuple": "State", "fields": ["mu", "nu", "count"]}
    header = {"format": "tapegrad.io", "version": 1,
              "tree": {"t": "dict", "keys": ["opt", "step"], "values": [state, {"t": "int", "v": 5}]}}
    path = _crafted(tmp_path / "v1.npz", header, {"a0": np.arange(2, dtype=np.float32)})
    with pytest.warns(UserWarning, match="version 1"):
        loaded = tio.load(path)
    assert type(loaded) is dict and loaded["step"] == 5 and type(loaded["opt"]) is tuple
    np.testing.assert_array_equal(loaded["opt"][0], [0.0, 1.0])
    restored = tio.load(path, like={"opt": State(jnp.zeros(2), None, 0), "step": 0})
    assert type(restored["opt"]) is State and restored["opt"].count == 3


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
        with pytest.raises(ValueError, match=name) as info:
            tio.load(tmp_path / name)
        assert "pickle" not in str(info.value)


def test_foreign_files_say_what_they_are_not(tmp_path):
    torch = pytest.importorskip("torch")
    (tmp_path / "obj.pkl").write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    torch.save({"w": torch.ones(2)}, tmp_path / "model.pt")
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    np.save(tmp_path / "single.npy", np.ones(3))
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    (tmp_path / "c.gz").write_bytes(gzip.compress(b"data"))
    (tmp_path / "notes.json").write_text('{"lr": 0.1}')
    (tmp_path / "empty.npz").write_bytes(b"")
    cases = {"obj.pkl": ["Python pickle", "never unpickles"], "model.pt": ["PyTorch checkpoint", "torch.load"],
             "legacy.pt": ["Python pickle"], "single.npy": ["single .npy array"],
             "plain.npz": ["no tapegrad marker entry", "'w.npy'"], "c.gz": ["gzip"], "notes.json": ["text"],
             "empty.npz": ["empty file"]}
    for name, fragments in cases.items():
        with pytest.raises(ValueError) as info:
            tio.load(tmp_path / name)
        message = str(info.value)
        assert name in message and "not a valid tapegrad checkpoint (the .npz archive tg.save writes)" in message
        assert all(f in message for f in fragments), message
        assert "allow_pickle" not in message


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
    "bad dict", "tree not a node", "object entry", "version 0", "bad key impl", "key impl path",
    "key data shape", "key data dtype", "bad namedtuple",
])
def test_crafted_headers_raise_value_error(tmp_path, case):
    w = {"a0": np.ones(2, np.float32)}
    head = {"format": "tapegrad.io", "version": 1}
    none = {"t": "none"}
    k = {"a0": np.zeros(2, np.uint32)}
    key_data = _array_node(dtype="uint32")
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
        "version 0": dict(header={**head, "version": 0, "tree": {"t": "none"}}),
        "bad key impl": dict(header={**head, "tree": {"t": "key", "impl": "nope", "data": key_data}}, entries=k),
        "key impl path": dict(header={**head, "tree": {"t": "key", "impl": "os.system", "data": key_data}},
                              entries=k),
        "key data shape": dict(header={**head, "tree": {"t": "key", "impl": "rbg", "data": key_data}}, entries=k),
        "key data dtype": dict(header={**head, "tree": {"t": "key", "impl": "rbg", "data": _array_node()}},
                               entries=w),
        "bad namedtuple": dict(header={**head, "tree": {"t": "tuple", "items": [none], "namedtuple": "T",
                                                        "fields": ["a", "b"], "module": __name__, "qualname": "T"}}),
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
            assert not {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "importlib",
                        "import_module"} & set(names)
        if isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", "")
            assert name not in {"eval", "exec", "compile", "__import__", "literal_eval", "import_module"}
            if name in {"load", "savez", "savez_compressed", "save"} and isinstance(func, ast.Attribute) \
                    and isinstance(func.value, ast.Name) and func.value.id == "np":
                kw = {k.arg: k.value for k in node.keywords}
                assert isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False
    assert "pickle.load" not in source and "import pickle" not in source
