"""tapegrad.data: loader batching, shuffling, collation, sharding, prefetch, datasets and transforms."""
import functools
import gzip
import hashlib
import http.server
import importlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, SingleDeviceSharding
from jax.sharding import PartitionSpec as P

from tapegrad import data
from tapegrad.data import transforms as T
from tapegrad.data.datasets import MNIST, digits

X = np.arange(30, dtype=np.float32).reshape(10, 3)
Y = np.arange(10, dtype=np.int32)


class DictDataset(data.Dataset):
    """No get_batch: exercises the per-sample path and nested collation."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": X[i], "meta": (int(Y[i]), float(Y[i]) / 2), "name": f"s{i}"}


class PlainDataset(data.Dataset):
    def __init__(self, fail_at=None):
        self.fail_at = fail_at

    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == self.fail_at:
            raise RuntimeError(f"bad sample {i}")
        return X[i], Y[i]


def _epoch_order(loader):
    return np.concatenate([np.asarray(y) for _, y in loader]).tolist()


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "tapegrad-prefetch"]


def _wait_no_prefetch_threads():
    deadline = time.monotonic() + 5
    while _prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _prefetch_threads() == []


# --- DataLoader ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", [data.TensorDataset(X, Y), PlainDataset()], ids=["fast", "per-sample"])
def test_batching_len_and_drop_last(dataset):
    loader = data.DataLoader(dataset, batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [x.shape for x, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert all(isinstance(x, jax.Array) and isinstance(y, jax.Array) for x, y in batches)
    assert batches[0][0].dtype == jnp.float32 and batches[0][1].dtype == jnp.int32
    np.testing.assert_array_equal(np.concatenate([np.asarray(x) for x, _ in batches]), X)
    dropped = data.DataLoader(dataset, batch_size=4, drop_last=True)
    assert len(dropped) == len(list(dropped)) == 2
    assert len(data.DataLoader(dataset, batch_size=5, drop_last=True)) == 2
    assert len(data.DataLoader(dataset, batch_size=20, drop_last=True)) == 0
    assert len(data.DataLoader(dataset)) == 10


def test_shuffle_is_reproducible_per_epoch():
    ds = data.TensorDataset(X, Y)
    a = data.DataLoader(ds, batch_size=3, shuffle=True, seed=7)
    b = data.DataLoader(ds, batch_size=3, shuffle=True, seed=7)
    epochs_a = [_epoch_order(a) for _ in range(3)]
    epochs_b = [_epoch_order(b) for _ in range(3)]
    assert epochs_a == epochs_b
    assert all(sorted(e) == list(range(10)) for e in epochs_a)
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]
    resumed = data.DataLoader(ds, batch_size=3, shuffle=True, seed=7)
    resumed.set_epoch(2)
    assert _epoch_order(resumed) == epochs_a[2]
    assert _epoch_order(data.DataLoader(ds, batch_size=3, shuffle=True, seed=8)) != epochs_a[0]
    # An abandoned iteration still advances the epoch.
    c = data.DataLoader(ds, batch_size=3, shuffle=True, seed=7)
    next(iter(c))
    assert _epoch_order(c) == epochs_a[1]
    unseeded = data.DataLoader(ds, batch_size=3, shuffle=True)
    assert sorted(_epoch_order(unseeded)) == list(range(10))
    assert _epoch_order(data.DataLoader(ds, batch_size=3)) == list(range(10))


def test_fast_path_matches_per_sample_path():
    fast = data.DataLoader(data.TensorDataset(X, Y), batch_size=4, shuffle=True, seed=1)
    slow = data.DataLoader(PlainDataset(), batch_size=4, shuffle=True, seed=1)
    for (xa, ya), (xb, yb) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_dict_and_nested_tuple_collation():
    batch = next(iter(data.DataLoader(DictDataset(), batch_size=4)))
    assert set(batch) == {"x", "meta", "name"}
    assert batch["x"].shape == (4, 3) and isinstance(batch["x"], jax.Array)
    ids, halves = batch["meta"]
    assert jnp.issubdtype(ids.dtype, jnp.integer) and ids.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(halves, [0.0, 0.5, 1.0, 1.5])
    assert batch["name"] == ["s0", "s1", "s2", "s3"]
    with pytest.raises(TypeError, match="structure"):
        data.default_collate([(1, 2), (1, 2, 3)])


def test_custom_collate_fn():
    loader = data.DataLoader(data.TensorDataset(X, Y), batch_size=5,
                             collate_fn=lambda samples: {"sum": np.stack([x for x, _ in samples]).sum(0)})
    sums = [b["sum"] for b in loader]
    assert isinstance(sums[0], jax.Array)
    np.testing.assert_array_equal(sums[0], X[:5].sum(0))


@pytest.mark.parametrize("kind", ["single", "mesh"])
def test_sharding_is_applied_to_every_leaf(kind):
    device = jax.devices()[0]
    if kind == "single":
        sharding = SingleDeviceSharding(device)
    else:
        sharding = NamedSharding(Mesh(np.array([device]), ("data",)), P("data"))
    for ds in (data.TensorDataset(X, Y), DictDataset()):
        batch = next(iter(data.DataLoader(ds, batch_size=4, sharding=sharding)))
        for leaf in jax.tree.leaves(batch):
            if isinstance(leaf, jax.Array):
                assert leaf.sharding == sharding


def test_named_sharding_splits_batch_across_devices():
    # Several devices need a fresh process: XLA fixes the CPU device count at startup.
    script = textwrap.dedent("""
        import jax, numpy as np
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        from tapegrad import data
        assert len(jax.devices()) == 4
        mesh = Mesh(np.array(jax.devices()), ("data",))
        ds = data.TensorDataset(np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20))
        loader = data.DataLoader(ds, batch_size=8, drop_last=True, sharding=NamedSharding(mesh, P("data")))
        x, y = next(iter(loader))
        assert [s.data.shape for s in x.addressable_shards] == [(2, 2)] * 4
        assert len({s.device for s in y.addressable_shards}) == 4
        np.testing.assert_array_equal(np.asarray(y), np.arange(8))
        print("ok")
    """)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def test_prefetch_matches_plain_iteration():
    ds = data.TensorDataset(X, Y)
    plain = data.DataLoader(ds, batch_size=3, shuffle=True, seed=3)
    ahead = data.DataLoader(ds, batch_size=3, shuffle=True, seed=3, prefetch=2)
    for _ in range(2):
        a, b = list(plain), list(ahead)
        assert len(a) == len(b) == 4
        for (xa, ya), (xb, yb) in zip(a, b, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    _wait_no_prefetch_threads()


def test_prefetch_early_break_leaves_no_thread():
    loader = data.DataLoader(data.TensorDataset(X, Y), batch_size=1, prefetch=2)
    for _ in loader:
        assert len(_prefetch_threads()) == 1
        break
    _wait_no_prefetch_threads()
    it = iter(loader)
    next(it)
    it.close()
    assert _prefetch_threads() == []
    it = iter(loader)
    next(it)
    del it
    _wait_no_prefetch_threads()


def test_prefetch_reraises_worker_errors():
    loader = data.DataLoader(PlainDataset(fail_at=5), batch_size=2, prefetch=1)
    with pytest.raises(RuntimeError, match="bad sample 5"):
        list(loader)
    _wait_no_prefetch_threads()


def test_invalid_arguments():
    with pytest.raises(ValueError):
        data.DataLoader(data.TensorDataset(X), batch_size=0)
    with pytest.raises(ValueError):
        data.DataLoader(data.TensorDataset(X), prefetch=-1)
    with pytest.raises(ValueError):
        data.TensorDataset(X, Y[:5])


# --- random_split -------------------------------------------------------------------------------


# Expected sizes are torch.utils.data.random_split's for the same lengths.
@pytest.mark.parametrize("lengths, sizes", [([7, 3], [7, 3]), ([0.8, 0.2], [8, 2]),
                                            ([0.33, 0.33, 0.34], [4, 3, 3]), ([0.5, 0.5, 0.0], [5, 5, 0])])
def test_random_split(lengths, sizes):
    ds = data.TensorDataset(np.arange(10))
    parts = data.random_split(ds, lengths, seed=0)
    assert [len(p) for p in parts] == sizes
    items = sorted(int(p[i][0]) for p in parts for i in range(len(p)))
    assert items == list(range(10))
    again = data.random_split(ds, lengths, seed=0)
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(parts, again, strict=True))
    loader = data.DataLoader(parts[0], batch_size=4)
    loaded = np.concatenate([np.asarray(b[0]) for b in loader])
    assert sorted(loaded.tolist()) == sorted(parts[0].indices.tolist())


def test_random_split_rejects_bad_lengths():
    ds = data.TensorDataset(np.arange(10))
    for bad in ([5, 4], [0.5, 0.6], [-1, 11]):
        with pytest.raises(ValueError):
            data.random_split(ds, bad, seed=0)


# --- transforms ---------------------------------------------------------------------------------


def test_transforms():
    image = np.full((1, 2, 2), 0.5, np.float32)
    norm = T.Compose([T.Normalize((0.1307,), (0.3081,))])
    out = norm(image)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2)
    np.testing.assert_allclose(out, (0.5 - 0.1307) / 0.3081, rtol=1e-6)
    jax_out = norm(jnp.asarray(image))
    assert isinstance(jax_out, jax.Array)
    np.testing.assert_allclose(jax_out, out, rtol=1e-6)
    rgb = T.Normalize((0.0, 1.0, 2.0), (1.0, 2.0, 4.0))(np.ones((3, 1, 1), np.float64))
    assert rgb.dtype == np.float64
    np.testing.assert_allclose(rgb.ravel(), [1.0, 0.0, -0.25])
    assert T.Compose([T.Lambda(lambda x: x + 1), T.ToArray(np.int32)])(np.float64(1.0)).dtype == np.int32
    with pytest.raises(ValueError):
        T.Normalize((0.5,), (0.0,))


# --- digits -------------------------------------------------------------------------------------


def test_digits():
    train, test = digits(train=True), digits(train=False)
    assert (len(train), len(test)) == (1438, 359)
    image, label = train[0]
    assert image.shape == (1, 8, 8) and image.dtype == np.float32
    assert np.issubdtype(np.asarray(label).dtype, np.integer)
    for ds in (train, test):
        images, labels = ds.arrays
        assert images.min() >= 0 and images.max() <= 1 and images.max() == 1
        assert set(np.unique(labels)) == set(range(10))
    again = digits(train=True)
    np.testing.assert_array_equal(again.arrays[0], train.arrays[0])
    np.testing.assert_array_equal(again.arrays[1], train.arrays[1])
    from sklearn.datasets import load_digits

    y = load_digits().target
    assert np.array_equal(np.bincount(train.arrays[1]) + np.bincount(test.arrays[1]), np.bincount(y))
    x, yb = next(iter(data.DataLoader(train, batch_size=32, shuffle=True, seed=0)))
    assert x.shape == (32, 1, 8, 8) and yb.shape == (32,)


def test_digits_without_sklearn(monkeypatch):
    module = importlib.import_module("tapegrad.data.datasets.digits")
    module._load.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    try:
        with pytest.raises(ImportError, match="pip install"):
            digits()
    finally:
        module._load.cache_clear()


# --- MNIST --------------------------------------------------------------------------------------


def _idx(magic: int, array: np.ndarray) -> bytes:
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


def _mnist_files(n=6, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels, {
        "train-images-idx3-ubyte": _idx(2051, images),
        "train-labels-idx1-ubyte": _idx(2049, labels),
        "t10k-images-idx3-ubyte": _idx(2051, images[::-1]),
        "t10k-labels-idx1-ubyte": _idx(2049, labels[::-1]),
    }


def _write(directory: Path, files: dict, gz: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(blob, mtime=0))
        else:
            (directory / name).write_bytes(blob)


def _check(ds, images, labels):
    assert len(ds) == len(labels)
    image, label = ds[1]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and type(label) is int
    np.testing.assert_allclose(image[0], images[1] / 255.0, rtol=1e-6)
    assert label == labels[1]
    assert 0.0 <= image.min() and image.max() <= 1.0


@pytest.mark.parametrize("layout", ["raw", "gz", "torchvision"])
def test_mnist_reads_idx_files(tmp_path, layout):
    images, labels, files = _mnist_files()
    directory = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    _write(directory, files, gz=layout != "raw")
    _check(MNIST(tmp_path, train=True), images, labels)
    _check(MNIST(str(tmp_path), train=False), images[::-1], labels[::-1])


def test_mnist_transform_and_loader(tmp_path):
    images, labels, files = _mnist_files()
    _write(tmp_path, files, gz=True)
    norm = T.Compose([T.Normalize((0.1307,), (0.3081,))])
    ds = MNIST(tmp_path, transform=norm)
    np.testing.assert_allclose(ds[0][0], (images[0][None] / 255.0 - 0.1307) / 0.3081, rtol=1e-5, atol=1e-6)
    plain = MNIST(tmp_path)
    for with_t, without in zip(data.DataLoader(ds, batch_size=4), data.DataLoader(plain, batch_size=4),
                               strict=True):
        assert with_t[0].shape == without[0].shape and with_t[0].dtype == jnp.float32
        np.testing.assert_allclose(with_t[0], norm(np.asarray(without[0])), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(with_t[1], without[1])


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_rejects_bad_files(tmp_path, gz):
    images, labels, files = _mnist_files()
    suffix = ".gz" if gz else ""
    cases = {
        "magic": {**files, "train-images-idx3-ubyte": _idx(2049, images)},
        "truncated": {**files, "train-labels-idx1-ubyte": files["train-labels-idx1-ubyte"][:-2]},
        "trailing": {**files, "train-images-idx3-ubyte": files["train-images-idx3-ubyte"] + b"\0"},
        "count": {**files, "train-labels-idx1-ubyte": _idx(2049, labels[:-1])},
    }
    for case, broken in cases.items():
        root = tmp_path / case
        _write(root, broken, gz=gz)
        with pytest.raises(ValueError, match=r"train-(images|labels)-idx\d-ubyte" + suffix):
            MNIST(root)
    if gz:  # a cut-off gzip stream
        root = tmp_path / "cut"
        _write(root, files, gz=True)
        path = root / "train-images-idx3-ubyte.gz"
        path.write_bytes(path.read_bytes()[:100])
        with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
            MNIST(root)


def test_mnist_missing_files_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        MNIST(tmp_path, train=False)
    message = str(info.value)
    for part in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", str(tmp_path / "MNIST" / "raw"),
                 str(tmp_path), "download=True"):
        assert part in message


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def mnist_server(tmp_path, monkeypatch):
    """Serve generated gz IDX files on 127.0.0.1 under /mnist/; records the requested paths."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    images, labels, files = _mnist_files(n=5, seed=1)
    served = tmp_path / "served"
    _write(served / "mnist", files, gz=True)
    checksums = {name + ".gz": hashlib.md5((served / "mnist" / (name + ".gz")).read_bytes()).hexdigest()
                 for name in files}
    requests = []

    class Handler(_Handler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    handler = functools.partial(Handler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    yield {"base": base, "checksums": checksums, "requests": requests, "images": images, "labels": labels}
    server.shutdown()
    server.server_close()
    thread.join()


def test_mnist_download(tmp_path, mnist_server):
    root = tmp_path / "root"
    mirrors = [mnist_server["base"] + "/missing/", mnist_server["base"] + "/mnist"]  # first one 404s
    ds = MNIST(root, download=True, mirrors=mirrors, checksums=mnist_server["checksums"])
    _check(ds, mnist_server["images"], mnist_server["labels"])
    raw = root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(mnist_server["checksums"])
    assert len([r for r in mnist_server["requests"] if r.startswith("/mnist/")]) == 4
    test = MNIST(root, train=False, download=True, mirrors=mirrors, checksums=mnist_server["checksums"])
    assert len(test) == 5
    assert len(mnist_server["requests"]) == 8  # nothing fetched again


def test_mnist_download_bad_checksum(tmp_path, mnist_server):
    checksums = {**mnist_server["checksums"], "train-images-idx3-ubyte.gz": "0" * 32}
    root = tmp_path / "root"
    with pytest.raises(RuntimeError, match="(?i)md5.*train-images|train-images.*md5"):
        MNIST(root, download=True, mirrors=[mnist_server["base"] + "/mnist/"], checksums=checksums)
    # Nothing half-written or unverified is left behind under the final name.
    assert "train-images-idx3-ubyte.gz" not in [p.name for p in (root / "MNIST" / "raw").iterdir()]
    assert not [p for p in (root / "MNIST" / "raw").iterdir() if p.name.startswith(".")]
