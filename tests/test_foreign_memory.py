"""Foreign memory is copied: a later in-place change to a NumPy array, a torch tensor or a file never
changes an array tapegrad returned.

On CPU, JAX adopts a 64-byte aligned host buffer instead of copying it (``jax.device_put``,
``jnp.asarray(x, dtype=...)``), and even ``jnp.asarray(x)``'s copy runs asynchronously, reading
``x`` after the call has returned. So the sources here are aligned (NumPy aligns only some
allocations), and before each conversion a matmul is dispatched that keeps the CPU client busy:
work queued behind it runs late, after the test has changed the source (measured: ``jnp.asarray``
then sees the change 27 times in 30).
"""
import gzip
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad import data, nn
from tapegrad.core.foreign import host_copy, owned_array
from tapegrad.data.dataset import owns_batches

torch = pytest.importorskip("torch", reason="torch tensors are one kind of foreign memory under test")

TRIALS = 12
_BUSY = jnp.ones((400, 400), jnp.float32)


def aligned(shape, dtype=np.float32, offset=0):
    """A new array whose data starts ``offset`` bytes past a 64-byte boundary, filled with a pattern."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.zeros(nbytes + 128, np.uint8)
    start = -raw.ctypes.data % 64 + offset
    a = raw[start : start + nbytes].view(dtype).reshape(shape)
    a[...] = (np.arange(a.size) % 7).reshape(shape)
    return a


def keep_busy():
    """Queue ~3 ms of work, so that the next asynchronous JAX operation runs after the caller moved on."""
    return _BUSY @ _BUSY


def fresh_sources(n=1000, dtype=np.float32):
    """New arrays, mostly 64-byte aligned (what JAX adopts), each yielded right after keep_busy()."""
    for i in range(TRIALS):
        a = aligned((n,), dtype, offset=16 if i % 4 == 3 else 0)
        keep_busy()
        yield a


def assert_unchanged(result, snapshot):
    np.testing.assert_array_equal(np.asarray(result), snapshot)


# --- the helpers everything else uses ----------------------------------------------------------


def test_host_copy_and_owned_array_never_share():
    for a in fresh_sources():
        c, j = host_copy(a), owned_array(a)
        assert not np.shares_memory(c, a) and c.ctypes.data % 64 == 0 and c.flags.c_contiguous
        snapshot = a.copy()
        a[...] = -1
        assert_unchanged(c, snapshot)
        assert_unchanged(j, snapshot)
    # Fortran order, strided views, 0-d and empty arrays keep their values and shapes.
    base = np.arange(24.0).reshape(4, 6)
    for a in (np.asfortranarray(base), base[::2, ::3], np.array(5.0), np.zeros((0, 3))):
        snapshot = a.copy()
        j = owned_array(a)
        a[...] = -1
        assert j.shape == snapshot.shape
        assert_unchanged(j, snapshot)


def test_owned_array_casts_in_one_pass_like_jnp():
    a = np.linspace(-2, 2, 7)
    for dtype in (None, np.float32, jnp.bfloat16, np.int32, bool):
        assert owned_array(a, dtype).dtype == jnp.asarray(a, dtype=dtype).dtype
        np.testing.assert_array_equal(owned_array(a, dtype), jnp.asarray(a, dtype=dtype))


# --- tnp.asarray / tnp.array and NumPy inputs to primitives ------------------------------------


@pytest.mark.parametrize("convert", [
    lambda a: tnp.asarray(a), lambda a: tnp.asarray(a, dtype=a.dtype), lambda a: tnp.asarray(a, "float32"),
    lambda a: tnp.array(a), lambda a: tnp.array(a, dtype=a.dtype), lambda a: tnp.array(a, copy=None),
], ids=["asarray", "asarray-same-dtype", "asarray-cast", "array", "array-same-dtype", "array-copy-None"])
def test_tnp_constructors_copy_numpy(convert):
    for a in fresh_sources():
        snapshot = a.copy()
        x = convert(a)
        a[...] = 7
        assert_unchanged(x, snapshot)


def test_tnp_constructors_copy_torch_and_buffers():
    t = torch.arange(6.0, requires_grad=True)
    x = tnp.asarray(t)
    with torch.no_grad():
        t.add_(1)
    assert_unchanged(x, np.arange(6.0, dtype=np.float32))
    b16 = torch.ones(3, dtype=torch.bfloat16)  # no NumPy dtype: read through ml_dtypes
    y = tnp.asarray(b16)
    b16.add_(1)
    assert y.dtype == jnp.bfloat16 and y.tolist() == [1.0, 1.0, 1.0]
    buffer = bytearray(b"\x01\x02\x03")
    z = tnp.asarray(buffer)
    buffer[0] = 9
    assert z.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="copy=False.*ndarray"):
        tnp.array(np.ones(2), copy=False)
    assert tnp.array(jnp.ones(2), copy=False).tolist() == [1.0, 1.0]


def test_numpy_constant_inside_a_traced_function_is_copied():
    # The tape saves the constant for the backward pass, which runs when vjp_fn is called.
    for w in fresh_sources():
        snapshot = w.copy()
        x = jnp.ones(w.shape, jnp.float32)
        out, vjp_fn = tg.vjp(lambda x, w=w: x * w, x)
        eager = tnp.multiply(w, 2.0)
        w[...] = 5
        assert_unchanged(out, snapshot)
        assert_unchanged(eager, snapshot * 2)
        assert_unchanged(vjp_fn(jnp.ones_like(x))[0], snapshot)


def test_numpy_inputs_and_cotangents_are_copied():
    for a in fresh_sources():
        snapshot = a.copy()
        g = tg.grad(lambda x: (x * x).sum())(a)
        out, vjp_fn = tg.vjp(lambda x: x * 3, jnp.asarray(snapshot))
        grad = vjp_fn(a)[0]
        a[...] = 9
        assert_unchanged(g, 2 * snapshot)
        assert_unchanged(grad, 3 * snapshot)


# --- nn.load_state_dict ------------------------------------------------------------------------


def _models():
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    return tmodel, nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))


def test_load_state_dict_from_numpy_copies():
    tmodel, model = _models()
    expected = {k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()}
    for cast in (False, True):  # same dtype (the path JAX could adopt) and a float64 -> float32 cast
        sd = {k: aligned(v.shape, np.float64 if cast else np.float32) for k, v in expected.items()}
        for k, v in sd.items():
            v[...] = expected[k]
        keep_busy()
        params = nn.load_state_dict(model.init(0), sd)
        for v in sd.values():
            v[...] = 7
        for k, v in nn.named_parameters(params):
            assert_unchanged(v, expected[k])


def test_load_state_dict_from_torch_survives_an_optimizer_step():
    tmodel, model = _models()
    for source in (tmodel.state_dict(), dict(tmodel.named_parameters()),
                   {k: v.detach().numpy() for k, v in tmodel.state_dict().items()}):
        before = {k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()}
        keep_busy()
        params = nn.load_state_dict(model.init(0), source)
        sgd = torch.optim.SGD(tmodel.parameters(), lr=1.0)
        loss = tmodel(torch.randn(8, 16)).pow(2).sum()
        loss.backward()
        sgd.step()  # changes every torch parameter in place
        with torch.no_grad():
            for t in tmodel.state_dict().values():
                t.add_(1)
        assert not np.allclose(tmodel.state_dict()["0.weight"].numpy(), before["0.weight"])
        for k, v in nn.named_parameters(params):
            assert_unchanged(v, before[k])


# --- data --------------------------------------------------------------------------------------


def _batches(loader):
    batches = list(loader)
    return [jax.tree.map(np.array, b) for b in batches], batches


class ViewBatches(data.Dataset):
    """A get_batch of the user's that returns views of its own array."""

    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]

    def get_batch(self, indices):
        return self.x[indices[0] : indices[-1] + 1]


class ViewSamples(ViewBatches):
    get_batch = None  # per-sample path: default_collate stacks the views


@pytest.mark.parametrize("case", ["tensor-dataset", "torch-tensors", "subset", "collate_fn-views",
                                  "get_batch-views", "per-sample-views", "prefetch"])
def test_loader_batches_never_change_with_the_source(case):
    x = aligned((1000, 4))
    y = aligned((1000,), np.int32)
    if case == "tensor-dataset":
        loader = data.DataLoader(data.TensorDataset(x, y), batch_size=250)
    elif case == "torch-tensors":
        x = torch.arange(4000.0).reshape(1000, 4).requires_grad_()
        loader = data.DataLoader(data.TensorDataset(x, torch.arange(1000)), batch_size=250)
    elif case == "subset":
        loader = data.DataLoader(data.Subset(data.TensorDataset(x, y), range(0, 1000, 2)), batch_size=100)
    elif case == "collate_fn-views":
        loader = data.DataLoader(data.TensorDataset(x), batch_size=250,
                                 collate_fn=lambda samples: x[: len(samples)])  # the user's own array
    elif case == "get_batch-views":
        loader = data.DataLoader(ViewBatches(x), batch_size=250)
    elif case == "per-sample-views":
        loader = data.DataLoader(ViewSamples(x), batch_size=250)
    else:
        loader = data.DataLoader(data.TensorDataset(x, y), batch_size=100, prefetch=3, shuffle=True, seed=0)
    keep_busy()
    snapshots, batches = _batches(loader)
    with torch.no_grad() if isinstance(x, torch.Tensor) else np.errstate():
        x[...] = -1
    for snapshot, batch in zip(snapshots, batches, strict=True):
        jax.tree.map(assert_unchanged, batch, snapshot)


def test_which_batches_go_to_jax_without_a_copy():
    # Batches our own datasets gather are new arrays; a user's get_batch may return views.
    ds = data.TensorDataset(np.zeros((4, 2)))

    class Overriding(data.TensorDataset):
        def get_batch(self, indices):
            return (self.arrays[0][: len(indices)],)

    assert owns_batches(ds) and owns_batches(data.Subset(ds, [0, 1]))
    assert owns_batches(ViewSamples(np.zeros(3)))  # no get_batch: default_collate stacks
    assert not owns_batches(ViewBatches(np.zeros(3)))
    assert not owns_batches(Overriding(np.zeros((4, 2))))
    assert not owns_batches(data.Subset(ViewBatches(np.zeros(3)), [0]))
    assert owns_batches(data.datasets.digits())


def test_tensor_dataset_gather_copies_for_any_index():
    x = np.arange(12.0).reshape(6, 2)
    ds = data.TensorDataset(x)
    for index in (np.array([1, 2]), np.array(3), [0, 5]):
        (batch,) = ds.get_batch(index)
        assert not np.shares_memory(batch, x)


def _idx(magic, array):
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_batches_and_samples_survive_the_files_changing(tmp_path, gz):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (8, 28, 28), dtype=np.uint8), rng.integers(0, 10, 8, dtype=np.uint8)
    files = {"train-images-idx3-ubyte": _idx(2051, images), "train-labels-idx1-ubyte": _idx(2049, labels)}
    for name, blob in files.items():
        (tmp_path / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(blob) if gz else blob)
    ds = data.datasets.MNIST(tmp_path)
    sample = ds[3][0]
    batch = next(iter(data.DataLoader(ds, batch_size=8)))
    for name in files:  # overwrite the source files with other pixels and labels
        other = _idx(2051, 255 - images) if "images" in name else _idx(2049, (labels + 1) % 10)
        (tmp_path / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(other) if gz else other)
    np.testing.assert_allclose(sample[0], images[3] / 255, rtol=1e-6)
    np.testing.assert_allclose(batch[0][:, 0], images / 255, rtol=1e-6)
    np.testing.assert_array_equal(batch[1], labels)
    with pytest.raises(ValueError, match="read-only"):
        ds.images[0, 0, 0] = 1  # what the dataset read cannot be written back through a sample either


def test_digits_never_share_scikit_learns_arrays(monkeypatch):
    from sklearn import datasets as skdatasets

    digits_module = sys.modules["tapegrad.data.datasets.digits"]  # the package re-exports the function
    x, y = skdatasets.load_digits(return_X_y=True)
    x, y = x.copy(), y.copy()
    monkeypatch.setattr(skdatasets, "load_digits", lambda return_X_y: (x, y))
    digits_module._load.cache_clear()
    try:
        ds = data.datasets.digits(train=True)
        images, labels = (a.copy() for a in ds.arrays)
        batch = next(iter(data.DataLoader(ds, batch_size=64)))
        x[...], y[...] = 0, 0
        np.testing.assert_array_equal(ds.arrays[0], images)
        np.testing.assert_array_equal(ds.arrays[1], labels)
        np.testing.assert_array_equal(batch[1], labels[:64])
    finally:
        digits_module._load.cache_clear()


# --- tg.load -----------------------------------------------------------------------------------


def test_loaded_checkpoint_survives_the_file_and_the_saved_arrays_changing(tmp_path):
    arrays = {"w": next(fresh_sources(4096)), "b": np.arange(3, dtype=np.int32)}
    snapshot = {k: v.copy() for k, v in arrays.items()}
    path = tmp_path / "ckpt.npz"
    tg.save(path, arrays)
    loaded, like = tg.load(path), tg.load(path, like={"b": 0, "w": 0})
    for v in arrays.values():
        v[...] = 0
    tg.save(path, arrays)  # the file now holds other values
    for tree in (loaded, like):
        for k in arrays:
            assert_unchanged(tree[k], snapshot[k])
    assert "torch" in sys.modules  # (the torch checks above really ran)
