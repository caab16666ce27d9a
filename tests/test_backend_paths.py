"""Backend-specific fast paths (tapegrad.accel.backend) are chosen by platform and agree with the
general implementations they stand in for, bit for bit (max pooling) or to rounding (convolution)."""
import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from test_conv import _pool_input, _window_in_padding, pool_cases

import tapegrad as tg
from tapegrad.accel import backend
from tapegrad.nn import functional as F


@contextlib.contextmanager
def on_platform(name: str):
    saved = backend.platform
    backend.platform = lambda x: name
    try:
        yield
    finally:
        backend.platform = saved


def _primitives(fn, *args):
    """The primitives of ``fn``'s jaxpr, one level into nested jits. A fresh function each time:
    ``make_jaxpr`` reuses a cached trace of the same function, which would hide the choice."""
    eqns = jax.make_jaxpr(lambda *a: fn(*a))(*args).eqns
    inner = [i for e in eqns for i in (e.params["jaxpr"].eqns if "jaxpr" in e.params else [])]
    return {str(e.primitive) for e in eqns + inner}


def test_the_platform_is_read_from_the_array_and_from_the_default_backend_under_jit():
    x = jnp.ones(3)
    assert backend.platform(x) == next(iter(x.devices())).platform == "cpu"
    seen = []
    jax.jit(lambda v: seen.append(backend.platform(v)) or v)(x)
    assert seen == [jax.default_backend()]


def test_single_channel_conv_takes_the_slices_only_where_measured():
    x, w = jnp.ones((2, 1, 9, 9)), jnp.ones((4, 1, 3, 3))
    conv = lambda x, w: F.conv2d(x, w, padding=1)
    with on_platform("cpu"):
        assert "conv_general_dilated" not in _primitives(conv, x, w)
    for other in ("gpu", "tpu"):
        with on_platform(other):
            assert "conv_general_dilated" in _primitives(conv, x, w)
    # Several input channels: one lax.conv everywhere.
    with on_platform("cpu"):
        assert "conv_general_dilated" in _primitives(conv, jnp.ones((2, 3, 9, 9)), jnp.ones((4, 3, 3, 3)))


def test_single_channel_conv_gives_the_same_numbers_and_gradients_on_both_paths():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(2, 1, 8, 7)))
    w = jnp.asarray(rng.normal(size=(3, 1, 3, 2)))
    f = lambda x, w: (F.conv2d(x, w, stride=2, padding=1, dilation=(1, 2)) ** 2).sum()
    results = []
    for name in ("cpu", "gpu"):
        with on_platform(name):
            results.append((f(x, w), *tg.grad(f, (0, 1))(x, w)))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_max_pool_takes_the_tap_loop_only_where_measured():
    x = jnp.ones((1, 2, 6, 6))
    pool = lambda x: F.max_pool2d(x, 3, stride=1)
    with on_platform("cpu"):
        assert "argmax" not in _primitives(pool, x)
    with on_platform("gpu"):
        assert "argmax" in _primitives(pool, x)


@settings(max_examples=20, deadline=None)  # 20 derandomized cases in CI: ~11 s
@given(pool_cases(with_dilation=True))
def test_max_pool_windows_choose_exactly_what_the_tap_loop_chooses(case):
    # NaN, -inf and signed-zero ties, padding, dilation, ceil mode: the same value bits and index.
    x, _ = _pool_input(case)
    kw = dict(kernel_size=case["k"], stride=case["stride"], padding=case["p"], dilation=case["d"],
              ceil_mode=case["ceil_mode"])
    outs = []
    for name in ("cpu", "gpu"):
        with on_platform(name):
            outs.append(F.max_pool2d(jnp.asarray(x), return_indices=True, **kw))
    (v1, i1), (v2, i2) = outs
    assert np.asarray(v1).tobytes() == np.asarray(v2).tobytes()
    np.testing.assert_array_equal(np.asarray(i1), np.asarray(i2))


@settings(max_examples=10, deadline=None)
@given(pool_cases(with_dilation=True))
def test_max_pool_windows_match_torch_with_gradients(case):
    if _window_in_padding(case):  # torch's index (and gradient) are undefined there
        return
    x, rng = _pool_input(case)
    kw = dict(kernel_size=case["k"], stride=case["stride"], padding=case["p"], dilation=case["d"],
              ceil_mode=case["ceil_mode"])
    with on_platform("gpu"):
        (out, idx), vjp_fn = tg.vjp(lambda x: F.max_pool2d(x, return_indices=True, **kw), jnp.asarray(x))
        ct = rng.randn(*out.shape).astype(np.float32)
        (gx,) = vjp_fn((jnp.asarray(ct), jnp.zeros(idx.shape, idx.dtype)))
    tx = torch.tensor(x, requires_grad=True)
    tout, tidx = TF.max_pool2d(tx, return_indices=True, **kw)
    tout.backward(torch.tensor(ct))
    np.testing.assert_array_equal(np.asarray(out), tout.detach().numpy())
    np.testing.assert_array_equal(np.asarray(idx), tidx.numpy())
    np.testing.assert_allclose(np.asarray(gx), tx.grad.numpy(), rtol=1e-6, atol=1e-6)
