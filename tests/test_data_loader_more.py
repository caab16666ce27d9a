"""tapegrad.data's PyTorch toolbox: samplers, ConcatDataset/StackDataset/IterableDataset, and the DataLoader's
worker threads (serial order and seeds kept, errors with the worker's traceback, nothing hangs)."""
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import jax
import numpy as np
import pytest
import torch
import torch.utils.data as tud
from jax.sharding import SingleDeviceSharding

from tapegrad import data

N = 11
X = np.arange(N * 2, dtype=np.float32).reshape(N, 2)
Y = np.arange(N, dtype=np.int32)


class Samples(data.Dataset):
    """Per-sample path, with a little NumPy work and a dict sample."""

    def __len__(self):
        return N

    def __getitem__(self, i):
        return {"x": np.sin(X[i]) * 2, "y": Y[i]}


class Items(data.Dataset):
    """torch's batched fetch protocol: __getitems__ gets the batch's index list."""

    def __len__(self):
        return N

    def __getitem__(self, i):
        raise AssertionError("the loader should call __getitems__")

    def __getitems__(self, indices):
        return [(X[i], Y[i]) for i in indices]


class Slow(data.Dataset):
    def __init__(self, n=40, sleep=0.02):
        self.n, self.sleep = n, sleep

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.sleep)
        return np.float64(i)


def _workers():
    return [t for t in threading.enumerate() if t.name.startswith(("tapegrad-worker", "tapegrad-prefetch"))]


def _no_workers_left(within=5.0):
    deadline = time.monotonic() + within
    while _workers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _workers() == []


def _host(batches):
    return [jax.tree.map(np.asarray, b) for b in batches]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        jax.tree.map(np.testing.assert_array_equal, x, y)


# --- order and reproducibility: workers == serial -----------------------------------------------


def _configs():
    """name -> (dataset, kwargs factory): a fresh sampler per loader, since random samplers count epochs."""
    tensors = data.TensorDataset(X, Y)
    return {
        "sequential": (tensors, lambda: dict(batch_size=3)),
        "shuffle-seed": (tensors, lambda: dict(batch_size=3, shuffle=True, seed=5)),
        "shuffle-jax-key": (Samples(), lambda: dict(batch_size=4, shuffle=True, generator=jax.random.key(1))),
        "shuffle-drop_last": (Items(), lambda: dict(batch_size=4, shuffle=True, generator=3, drop_last=True)),
        "random-replacement": (tensors, lambda: dict(batch_size=3, sampler=data.RandomSampler(
            tensors, replacement=True, num_samples=20, generator=2))),
        "random-num_samples": (Samples(), lambda: dict(batch_size=5, sampler=data.RandomSampler(
            tensors, num_samples=25, generator=jax.random.PRNGKey(4)))),
        "subset-random": (tensors, lambda: dict(batch_size=2, sampler=data.SubsetRandomSampler(
            [1, 3, 5, 7, 9], generator=torch.Generator().manual_seed(6)))),
        "weighted": (Samples(), lambda: dict(batch_size=3, sampler=data.WeightedRandomSampler(
            np.linspace(0, 1, N), 15, generator=7))),
        "weighted-no-replacement": (tensors, lambda: dict(batch_size=3, sampler=data.WeightedRandomSampler(
            np.linspace(0, 1, N), 8, replacement=False, generator=7))),
        "batch_sampler": (Items(), lambda: dict(batch_sampler=data.BatchSampler(
            data.RandomSampler(tensors, generator=8), 4, drop_last=False))),
        "distributed": (tensors, lambda: dict(batch_size=2, sampler=data.DistributedSampler(
            tensors, num_replicas=3, rank=1, seed=9))),
        "list-sampler": (Samples(), lambda: dict(batch_size=3, sampler=[10, 0, 4, 4, 2])),
        "no-batching": (Samples(), lambda: dict(batch_size=None, shuffle=True, seed=1)),
    }


@pytest.mark.parametrize("name", list(_configs()))
def test_workers_give_the_serial_batches_for_every_sampler(name):
    dataset, kwargs = _configs()[name]
    serial = data.DataLoader(dataset, **kwargs())
    expected = [_host(serial) for _ in range(2)]  # two epochs: random samplers move on
    assert len(expected[0]) == len(serial) > 0
    if name.startswith(("shuffle", "random", "subset", "weighted", "batch_sampler", "no-batching")):
        assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(expected[0]),
                                                             jax.tree.leaves(expected[1]), strict=False))
    for workers, factor in ((1, None), (2, 1), (3, 4)):
        loader = data.DataLoader(dataset, num_workers=workers, prefetch_factor=factor, **kwargs())
        for epoch in range(2):
            got = list(loader)
            assert all(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(got))
            _assert_same(_host(got), expected[epoch])
    again = data.DataLoader(dataset, prefetch=2, **kwargs())
    _assert_same(_host(again), expected[0])
    _no_workers_left()


def test_set_epoch_and_persistent_workers_replay_the_serial_epochs():
    ds = data.TensorDataset(X, Y)
    serial = data.DataLoader(ds, batch_size=4, shuffle=True, seed=11)
    epochs = [_host(serial) for _ in range(3)]
    calls = []
    loader = data.DataLoader(ds, batch_size=4, shuffle=True, seed=11, num_workers=2, persistent_workers=True,
                             worker_init_fn=lambda i: calls.append((i, threading.current_thread().name)))
    idents = set()
    for epoch in range(3):
        _assert_same(_host(loader), epochs[epoch])
        idents.add(frozenset(t.ident for t in _workers()))
    assert len(idents) == 1 and len(next(iter(idents))) == 2  # the same two threads every epoch
    assert sorted(calls) == [(0, "tapegrad-worker-0"), (1, "tapegrad-worker-1")]  # initialised once
    # An abandoned epoch does not disturb the next one; set_epoch replays.
    it = iter(loader)
    next(it)
    loader.set_epoch(1)
    _assert_same(_host(loader), epochs[1])
    del it, loader
    gc.collect()
    _no_workers_left()


def test_distributed_sampler_epochs_through_the_loader():
    ds = data.TensorDataset(X, Y)
    sampler = data.DistributedSampler(ds, num_replicas=2, rank=0, seed=3)
    loader = data.DataLoader(ds, batch_size=3, sampler=sampler, num_workers=2)
    first, same = _host(loader), _host(loader)
    _assert_same(first, same)  # as torch: the order changes only through set_epoch
    loader.set_epoch(1)
    assert sampler.epoch == 1
    assert np.concatenate([y for _, y in _host(loader)]).tolist() == list(sampler)


# --- torch comparisons where the semantics are deterministic --------------------------------------


def test_samplers_and_datasets_match_torch():
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True), (0, 2, False)]:
        ours = data.BatchSampler(data.SequentialSampler(range(n)), bs, drop)
        theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert list(data.BatchSampler([5, 1, 4], 2, drop)) == list(tud.BatchSampler([5, 1, 4], 2, drop))
    assert list(data.SequentialSampler(X)) == list(tud.SequentialSampler(X))
    for n in (1, 5, 7, 10, 11):
        for replicas in (1, 2, 3, 4):
            for drop in (False, True):
                for rank in range(replicas):
                    ours = data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop)
                    theirs = tud.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs), (n, replicas, rank, drop)
                    assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)
                # Shuffled: each epoch a partition of one common permutation, padded or cut as torch's.
                parts = [list(data.DistributedSampler(range(n), replicas, r, seed=4, drop_last=drop))
                         for r in range(replicas)]
                every = [i for p in parts for i in p]
                assert [len(p) for p in parts] == [len(tud.DistributedSampler(range(n), replicas, r, drop_last=drop))
                                                   for r in range(replicas)]
                assert set(every) == set(range(n)) if not drop else len(set(every)) == len(every)

    t_x, t_y = torch.arange(N * 2.0).reshape(N, 2), torch.arange(N)
    tensors = data.TensorDataset(X, Y)
    sub, tsub = data.Subset(tensors, [9, 2, 2, 0]), tud.Subset(tud.TensorDataset(t_x, t_y), [9, 2, 2, 0])
    assert [int(sub[i][1]) for i in range(len(sub))] == [int(tsub[i][1]) for i in range(len(tsub))]
    parts = [data.TensorDataset(X[:4], Y[:4]), data.TensorDataset(X[4:5], Y[4:5]), data.TensorDataset(X[5:], Y[5:])]
    tparts = [tud.TensorDataset(t_x[:4], t_y[:4]), tud.TensorDataset(t_x[4:5], t_y[4:5]),
              tud.TensorDataset(t_x[5:], t_y[5:])]
    cat, tcat = data.ConcatDataset(parts), tud.ConcatDataset(tparts)
    assert len(cat) == len(tcat) == N and cat.cumulative_sizes == tcat.cumulative_sizes
    assert [int(cat[i][1]) for i in range(-N, N)] == [int(tcat[i][1]) for i in range(-N, N)]
    assert len(parts[0] + parts[1]) == 5
    with pytest.raises(ValueError):
        cat[-N - 1]
    with pytest.raises(IndexError):
        cat[N]
    stack, tstack = data.StackDataset(tensors, Samples()), tud.StackDataset(tud.TensorDataset(t_x, t_y), Samples())
    assert len(stack) == len(tstack) == N
    assert int(stack[3][0][1]) == int(tstack[3][0][1]) and int(stack[3][1]["y"]) == int(tstack[3][1]["y"])
    named = data.StackDataset(a=tensors, b=Samples())
    assert sorted(named[1]) == sorted(tud.StackDataset(a=tensors, b=Samples())[1]) == ["a", "b"]
    batch = next(iter(data.DataLoader(named, batch_size=4, num_workers=2)))
    assert batch["a"][1].tolist() == [0, 1, 2, 3] and batch["b"]["x"].shape == (4, 2)


def test_random_samplers_structure():
    perm_blocks = list(data.RandomSampler(range(4), num_samples=10, generator=0))
    assert len(perm_blocks) == len(tud.RandomSampler(range(4), num_samples=10)) == 10
    assert sorted(perm_blocks[:4]) == sorted(perm_blocks[4:8]) == [0, 1, 2, 3] and len(set(perm_blocks[8:])) == 2
    drawn = list(data.RandomSampler(range(3), replacement=True, num_samples=50, generator=0))
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
    weighted = list(data.WeightedRandomSampler([0, 1, 0, 3], 40, generator=1))
    assert set(weighted) == {1, 3} and weighted.count(3) > weighted.count(1)
    unique = list(data.WeightedRandomSampler([1, 1, 0, 1], 3, replacement=False, generator=1))
    assert sorted(unique) == [0, 1, 3]
    # Deterministic: the same generator gives the same epochs; set_epoch replays one.
    a, b = data.RandomSampler(range(9), generator=jax.random.key(2)), data.RandomSampler(range(9),
                                                                                          generator=jax.random.key(2))
    epochs = [list(a) for _ in range(3)]
    assert epochs == [list(b) for _ in range(3)] and epochs[0] != epochs[1]
    a.set_epoch(1)
    assert list(a) == epochs[1]
    assert list(data.RandomSampler(range(9), generator=3)) != list(data.RandomSampler(range(9), generator=4))
    assert list(data.RandomSampler(range(9), generator=torch.Generator().manual_seed(3))) == \
        list(data.RandomSampler(range(9), generator=3))


def test_loader_matches_torch_for_deterministic_orders():
    t_ds = tud.TensorDataset(torch.arange(N * 2.0).reshape(N, 2), torch.arange(N))
    ds = data.TensorDataset(X, Y)
    cases = [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=4, sampler=[3, 1, 4, 1, 5, 9]),
             dict(batch_sampler=[[0, 1], [10], [5, 6, 7]]), dict(batch_size=20)]
    for kw in cases:
        ours = [y.tolist() for _, y in data.DataLoader(ds, num_workers=2, **kw)]
        assert ours == [y.tolist() for _, y in tud.DataLoader(t_ds, **kw)], kw
        assert len(data.DataLoader(ds, **kw)) == len(tud.DataLoader(t_ds, **kw))
    unbatched = [(x.shape, int(y)) for x, y in data.DataLoader(ds, batch_size=None, num_workers=2)]
    assert unbatched == [(tuple(x.shape), int(y)) for x, y in tud.DataLoader(t_ds, batch_size=None)]
    assert len(data.DataLoader(ds, batch_size=None)) == N


class Stream(data.IterableDataset):
    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = data.get_worker_info()
        first, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(np.arange(first, self.n, step))


def test_iterable_dataset():
    serial = [b.tolist() for b in data.DataLoader(Stream(), batch_size=3)]
    assert serial == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert [b.tolist() for b in data.DataLoader(Stream(), batch_size=3, drop_last=True)] == serial[:3]
    assert len(data.DataLoader(Stream(), batch_size=3)) == 4
    # torch.utils.data's result for the same dataset with num_workers=2: one batch from each worker in turn.
    assert [b.tolist() for b in data.DataLoader(Stream(), batch_size=3, num_workers=2)] == \
        [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    assert [b.tolist() for b in data.DataLoader(Stream(7), batch_size=2, num_workers=3, prefetch_factor=1)] == \
        [[0, 3], [1, 4], [2, 5], [6]]
    assert [int(s) for s in data.DataLoader(Stream(4), batch_size=None, num_workers=2)] == [0, 1, 2, 3]
    _no_workers_left()


def test_argument_errors_match_torch():
    ds, t_ds = data.TensorDataset(X), tud.TensorDataset(torch.zeros(N))
    cases = [dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
             dict(batch_sampler=[[0]], shuffle=True), dict(batch_sampler=[[0]], sampler=[0]),
             dict(batch_sampler=[[0]], drop_last=True), dict(batch_size=None, drop_last=True),
             dict(prefetch_factor=2), dict(persistent_workers=True), dict(num_workers=-1),
             dict(num_workers=2, prefetch_factor=-1), dict(timeout=-1)]
    for kw in cases:
        with pytest.raises(ValueError):
            tud.DataLoader(t_ds, **kw)
        with pytest.raises(ValueError):
            data.DataLoader(ds, **kw)
    for kw in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="IterableDataset"):
            data.DataLoader(Stream(), **kw)
    for ours, theirs, kind in [
        (lambda: data.BatchSampler(range(3), 0, False), lambda: tud.BatchSampler(range(3), 0, False), ValueError),
        (lambda: data.BatchSampler(range(3), True, False), lambda: tud.BatchSampler(range(3), True, False), ValueError),
        (lambda: data.BatchSampler(range(3), 2, "no"), lambda: tud.BatchSampler(range(3), 2, "no"), ValueError),
        (lambda: data.RandomSampler(X, replacement=1), lambda: tud.RandomSampler(X, replacement=1), TypeError),
        (lambda: data.RandomSampler(X, num_samples=0), lambda: tud.RandomSampler(X, num_samples=0), ValueError),
        (lambda: data.WeightedRandomSampler(np.ones((2, 2)), 2), lambda: tud.WeightedRandomSampler(np.ones((2, 2)), 2),
         ValueError),
        (lambda: data.WeightedRandomSampler([1.0], 0), lambda: tud.WeightedRandomSampler([1.0], 0), ValueError),
        (lambda: data.DistributedSampler(X, 2, 2), lambda: tud.DistributedSampler(X, 2, 2), ValueError),
        (lambda: data.StackDataset(), lambda: tud.StackDataset(), ValueError),
        (lambda: data.StackDataset(X, Y[:3]), lambda: tud.StackDataset(X, Y[:3]), ValueError),
    ]:
        with pytest.raises(kind):
            theirs()
        with pytest.raises(kind):
            ours()
    with pytest.raises(ValueError):
        data.DataLoader(ds, seed=1, generator=2)
    with pytest.raises(TypeError):
        data.DataLoader(ds, shuffle=True, generator="seed")
    with pytest.raises(ValueError):
        data.DataLoader(ds, num_workers=2, prefetch=2)
    with pytest.raises(ValueError):
        data.ConcatDataset([])
    loader = data.DataLoader(ds, batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute"):
        loader.batch_size = 3
    loader.collate_fn = None  # not frozen, as in torch


# --- workers: errors, stopping, worker info --------------------------------------------------------


class Failing(data.Dataset):
    def __init__(self, error):
        self.error = error

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise self.error
        return np.float32(i)


def test_worker_errors_carry_the_worker_traceback():
    loader = data.DataLoader(Failing(ValueError("bad sample 5")), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        for _ in loader:
            pass
    message = str(info.value)
    assert message.startswith("Caught ValueError in DataLoader worker 0 (a thread).")  # batch 2 -> worker 0
    assert "Original Traceback (most recent call last):" in message and "bad sample 5" in message
    assert "in __getitem__" in message and "raise self.error" in message
    with pytest.raises(KeyError) as info:
        list(data.DataLoader(Failing(KeyError("k")), batch_size=2, num_workers=3))
    assert "\nOriginal Traceback" in str(info.value)  # line breaks kept, not a repr

    class NeedsTwo(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)

    with pytest.raises(RuntimeError, match="Caught NeedsTwo"):
        list(data.DataLoader(Failing(NeedsTwo(1, 2)), batch_size=2, num_workers=2))
    with pytest.raises(RuntimeError, match="Caught StopIteration"):  # must not end the loop silently
        list(data.DataLoader(Failing(StopIteration()), batch_size=2, num_workers=2))
    with pytest.raises(ZeroDivisionError, match="in DataLoader worker 1"):
        list(data.DataLoader(Slow(4, 0), num_workers=2, worker_init_fn=lambda i: 1 / (i - 1)))
    with pytest.raises(ValueError, match="prefetch thread"):
        list(data.DataLoader(Failing(ValueError("x")), batch_size=2, prefetch=2))
    _no_workers_left()


def test_early_break_close_and_gc_stop_the_workers_quickly():
    loader = data.DataLoader(Slow(200, 0.01), num_workers=3)
    start = time.monotonic()
    for _ in loader:
        assert len(_workers()) == 3
        break
    _no_workers_left(2.0)
    it = iter(loader)
    next(it)
    it.close()
    assert _workers() == []
    it = iter(loader)
    next(it)
    del it
    gc.collect()
    _no_workers_left(2.0)
    iter(loader)  # never advanced
    gc.collect()
    _no_workers_left(2.0)
    assert time.monotonic() - start < 5  # 200 samples of 10 ms would take 2 s per epoch
    with pytest.raises(RuntimeError, match="timed out"):
        next(iter(data.DataLoader(Slow(2, 0.5), num_workers=1, timeout=0.1)))
    _no_workers_left(2.0)  # the late worker ends after its sample


def test_keyboard_interrupt_stops_the_workers():
    # A real SIGINT in a fresh process, while the main thread waits for a slow batch.
    script = textwrap.dedent("""
        import os, signal, threading, time
        import numpy as np
        from tapegrad import data

        class Slow(data.Dataset):
            def __len__(self): return 100
            def __getitem__(self, i):
                time.sleep(0.2)
                return np.int64(i)

        workers = lambda: [t for t in threading.enumerate() if t.name.startswith("tapegrad-worker")]
        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        start = time.monotonic()
        try:
            for batch in data.DataLoader(Slow(), batch_size=2, num_workers=2):
                pass
        except KeyboardInterrupt:
            caught = time.monotonic() - start
            while workers() and time.monotonic() - start < 10:
                time.sleep(0.01)
            print("caught", round(caught, 2), "left", len(workers()), "stopped", round(time.monotonic() - start, 2))
    """)
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "caught" in result.stdout, result.stderr[-2000:]
    _, caught, _, left, _, stopped = result.stdout.split()
    assert float(caught) < 1.5 and left == "0" and float(stopped) < 3.0, result.stdout


def test_get_worker_info_inside_workers():
    assert data.get_worker_info() is None

    class Who(data.Dataset):
        def __len__(self):
            return 12

        def __getitem__(self, i):
            info = data.get_worker_info()
            assert info.dataset is ds
            return np.array([info.id, info.num_workers, info.seed], np.int64)

    ds = Who()

    def seeds(**kw):
        return np.concatenate([np.asarray(b) for b in data.DataLoader(ds, batch_size=2, num_workers=3, **kw)])

    first = seeds(seed=1)
    assert first[:, 0].tolist() == [0, 0, 1, 1, 2, 2] * 2  # batch k is made by worker k % 3
    assert set(first[:, 1].tolist()) == {3}
    base = first[0, 2]
    assert [first[first[:, 0] == w, 2][0] - base for w in range(3)] == [0, 1, 2]  # seed = base + id, as torch
    np.testing.assert_array_equal(seeds(seed=1), first)
    assert seeds(seed=2)[0, 2] != base
    loader = data.DataLoader(ds, batch_size=2, num_workers=3, seed=1)
    list(loader)
    assert np.concatenate([np.asarray(b) for b in loader])[0, 2] != base  # a new pool each epoch: new seeds
    with pytest.raises(AttributeError):
        data.WorkerInfo(0, 1, 0, None).id = 3


def test_prefetch_factor_bounds_the_batches_in_flight():
    made = []

    class Counting(data.Dataset):
        def __len__(self):
            return 30

        def __getitem__(self, i):
            made.append(i)
            return np.int64(i)

    for workers, factor in ((2, 1), (3, 2)):
        made.clear()
        ahead = workers * factor
        for consumed, _ in enumerate(data.DataLoader(Counting(), num_workers=workers, prefetch_factor=factor),
                                         start=1):
            time.sleep(0.005)
            assert consumed <= len(made) <= min(30, consumed + ahead)
        assert sorted(made) == list(range(30))


def test_thread_local_jax_settings_and_sharding_reach_the_workers():
    for x64, dtype in ((True, np.float64), (False, np.float32)):
        with jax.enable_x64(x64):  # a thread-local setting: the workers must see the main thread's
            for ds in (data.TensorDataset(np.arange(6, dtype=np.float64)), Slow(6, 0.0), list(np.arange(6.0))):
                dtypes = {jax.tree.leaves(b)[0].dtype for b in data.DataLoader(ds, batch_size=2, num_workers=2)}
                assert dtypes == {np.dtype(dtype)}, (x64, ds)
    sharding = SingleDeviceSharding(jax.devices()[0])
    ds = data.TensorDataset(np.arange(6, dtype=np.float32))
    for x, in data.DataLoader(ds, batch_size=2, num_workers=2, sharding=sharding, pin_memory=True):
        assert x.sharding == sharding


def test_worker_batches_never_share_the_source():
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    loader = data.DataLoader(data.TensorDataset(x), batch_size=5, num_workers=2,
                             collate_fn=lambda samples: x[: len(samples)])  # the user's own array
    batches = list(loader)
    x[...] = -1
    for (b,) in [(b,) for b in batches]:
        assert float(np.asarray(b).min()) >= 0
