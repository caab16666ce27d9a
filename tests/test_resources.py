"""Resources stay flat: no reference cycles keep tapes, tracers or residuals alive.

With the cyclic garbage collector disabled, only reference counting frees memory, so anything a
tape leaves in a cycle would pile up step after step. The steps below must leave the Python heap
(tracemalloc) and the process RSS flat, leave no more tapegrad objects alive than before them,
and give the cycle collector nothing of tapegrad's to find.

"No more than before" rather than "none": under pytest-xdist a worker's earlier tests (a kept
traceback, a hypothesis example) may still hold objects of their own; only what the steps leave counts.
"""
from __future__ import annotations

import contextlib
import gc
import os
import tracemalloc
import weakref
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.core.tape import Entry, Tape
from tapegrad.core.tracer import Trace, Tracer

TAPEGRAD_TYPES = (Tracer, Tape, Entry, Trace)
WARMUP, STEPS = 1_000, 10_000
HEAP_BOUND = 1 << 20  # 1 MiB
RSS_BOUND = 20 << 20  # 20 MiB


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def gc_disabled() -> Iterator[None]:
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def live_tapegrad_objects() -> list[object]:
    return [o for o in gc.get_objects() if type(o) in TAPEGRAD_TYPES]


def _grown(before: list[object], after: list[object]) -> list[object]:
    old = {id(o) for o in before}
    return [o for o in after if id(o) not in old]


def cyclic_garbage() -> list[object]:
    """What the cycle collector would free now (kept in gc.garbage to look at, then released)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found


def _describe(objs: list[object]) -> str:
    kinds: dict[str, int] = {}
    for o in objs:
        kinds[type(o).__name__] = kinds.get(type(o).__name__, 0) + 1
    return ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:10])


def _loss(w, x):
    return tnp.sum(tnp.tanh(x * w) * x)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc")
def test_heap_and_rss_stay_flat_over_ten_thousand_grad_steps():
    step = tg.grad(_loss)
    w = jnp.linspace(-1.0, 1.0, 3)
    x = jnp.asarray([0.5, -1.0, 2.0])
    with gc_disabled():
        for _ in range(WARMUP):  # fills the caches: XLA executables, the fused-rule cache
            w = w - 0.01 * step(w, x)
        before = live_tapegrad_objects()
        rss0 = rss_bytes()
        tracemalloc.start()
        try:
            heap0 = tracemalloc.get_traced_memory()[0]
            for _ in range(STEPS - WARMUP):
                w = w - 0.01 * step(w, x)
            heap1 = tracemalloc.get_traced_memory()[0]
            snapshot = tracemalloc.take_snapshot() if heap1 - heap0 >= HEAP_BOUND else None
        finally:
            tracemalloc.stop()
        rss1 = rss_bytes()
        left = _grown(before, live_tapegrad_objects())
        del before
        garbage = cyclic_garbage()
    print(f"\n{STEPS} grad steps (gc disabled): heap {heap1 - heap0:+,d} B, RSS {rss1 - rss0:+,d} B "
          f"between step {WARMUP} and step {STEPS}")
    assert np.all(np.isfinite(np.asarray(w)))
    top = "" if snapshot is None else "\n".join(str(s) for s in snapshot.statistics("lineno")[:10])
    assert heap1 - heap0 < HEAP_BOUND, f"Python heap grew by {heap1 - heap0:,d} B:\n{top}"
    assert rss1 - rss0 < RSS_BOUND, f"RSS grew by {rss1 - rss0:,d} B"
    assert not left, f"tapegrad objects left alive by the steps: {_describe(left)}"
    ours = [o for o in garbage if type(o) in TAPEGRAD_TYPES]
    assert not ours, f"reference cycles hold tapegrad objects: {_describe(ours)}"


def test_nested_transforms_and_failed_calls_leave_nothing_behind():
    """Higher order (hessian, jvp), vjp_fn kept and dropped, errors raised mid-trace: all freed."""
    x = jnp.linspace(0.1, 1.0, 4)
    with gc_disabled():
        for i in range(55):
            if i == 5:  # after the fused-rule cache has compiled what it will compile
                before = live_tapegrad_objects()
            tg.hessian(lambda v: tnp.sum(tnp.sin(v) ** 3))(x)
            tg.jvp(lambda v: tnp.exp(v) * v, (x,), (x,))
            out, vjp_fn = tg.vjp(lambda v: tnp.cos(v) * v, x)
            vjp_fn(out)
            del out, vjp_fn
            with pytest.raises(TypeError):  # a shape error raised while the tape is being recorded
                tg.grad(lambda v: tnp.sum(v @ jnp.ones((3, 2))))(x)
            with pytest.raises(TypeError):  # a tracer handed to plain jax.numpy
                tg.grad(lambda v: jnp.sum(jnp.sin(v)))(x)
        left = _grown(before, live_tapegrad_objects())
        del before
        garbage = cyclic_garbage()
    assert not left, f"tapegrad objects left alive: {_describe(left)}"
    ours = [o for o in garbage if type(o) in TAPEGRAD_TYPES]
    assert not ours, f"reference cycles hold tapegrad objects: {_describe(ours)}"


N_OPS = 100_000


def test_residuals_of_a_hundred_thousand_op_tape_are_freed_when_grad_returns():
    refs: dict[int, weakref.ref] = {}
    watched = {0, N_OPS // 2, N_OPS - 1}

    def chain(x):
        for i in range(N_OPS):
            x = x * 0.99999  # multiply keeps its input: one residual per op
            if i in watched:
                refs[i] = weakref.ref(x.value)  # the next op's saved input
        return tnp.sum(x)

    with gc_disabled():
        before = live_tapegrad_objects()
        g = tg.grad(chain)(jnp.ones(3))
        dead = {i: r() is None for i, r in refs.items()}
        left = _grown(before, live_tapegrad_objects())
        del before
    np.testing.assert_allclose(np.asarray(g), np.full(3, 0.99999 ** N_OPS), rtol=1e-6)
    assert dead == {i: True for i in watched}, f"residuals still alive after grad returned: {dead}"
    assert not left, f"tapegrad objects left alive: {_describe(left)}"


def test_vjp_keeps_residuals_until_vjp_fn_is_dropped():
    refs = []

    def f(x):
        y = tnp.sin(x)
        refs.append(weakref.ref(y.primal()))  # the array (computed now if pending: lazy segments)
        return tnp.sin(y)  # sin keeps its input, y

    with gc_disabled():
        before = live_tapegrad_objects()
        out, vjp_fn = tg.vjp(f, jnp.ones(999))
        assert refs[0]() is not None  # the second sin's residual: vjp_fn may be called again
        for _ in range(4):  # the third pullback of sin compiles its rule, which must not pin y (B8, fixed)
            vjp_fn(jnp.ones(999))
            assert refs[0]() is not None  # reusable: the sweep did not consume the tape
        del vjp_fn
        assert refs[0]() is None, "the residual outlived vjp_fn without the cycle collector"
        assert not _grown(before, live_tapegrad_objects())


def test_no_residual_outlives_its_transform():
    # B8 (fixed): a compiled rule used to close over the Entry it was built from.
    # Only arrays of this test's own shapes: under xdist other tests' arrays come and go meanwhile.
    ours = {(257, 131), (67, 257), (67, 131)}

    def live_bytes() -> int:
        return sum(a.nbytes for a in jax.live_arrays() if tuple(a.shape) in ours)

    def loss(w, x):
        h = x @ w
        return tnp.sum(tnp.tanh(h) * h)

    # Shapes no other test uses: under pytest-xdist a worker's earlier tests (an xfail's kept traceback, a
    # hypothesis example) may legitimately still hold their own entries; only this test's count.
    base = live_bytes()
    for _ in range(4):  # the third pullback of the same shapes compiles the rules
        w = jnp.full((257, 131), 0.01)
        x = jnp.ones((67, 257))
        g = tg.grad(loss)(w, x)
    del w, x, g
    gc.collect()
    retained = live_bytes() - base
    watched = ("matmul", "tanh", "multiply")
    entries = [o for o in gc.get_objects() if type(o) is Entry and o.prim.name in watched
               and any(shape == (67, 131) for shape, _ in o.out_avals)]
    assert retained == 0 and not entries, (
        f"{retained:,d} bytes of arrays and {len(entries)} entries outlive the grad calls")
