"""Convolution and pooling primitives against torch.nn.functional, plus higher-order checks.

Outputs and gradients (input, weight, bias) are compared in float32 with PyTorch
over hypothesis-drawn shapes, strides, paddings, dilations and groups; second
order is checked with finite differences in float64 (``tg.check_grads``).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jax import lax

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.checking import check_vjp
from tapegrad.rules import conv as conv_rules

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the convolution and pooling tests")
TF = torch.nn.functional

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

RTOL, ATOL = 1e-4, 1e-5


def _close(ours, theirs, rtol=RTOL, atol=ATOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    # The scale of the finite values only: an inf would make atol infinite and the check vacuous.
    # assert_allclose compares NaN and inf positions exactly.
    finite = np.abs(theirs[np.isfinite(theirs)])
    scale = max(1.0, float(np.max(finite, initial=0.0)))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol * scale)


def _leaf(a):
    return torch.tensor(np.asarray(a), requires_grad=True)


# ---- convolution vs torch ------------------------------------------------------------------

@st.composite
def conv_cases(draw, nsp):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(nsp))
    kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    stride = (1,) * nsp if kind == "same" else tuple(draw(st.integers(1, 3)) for _ in range(nsp))
    if kind == "int":
        p = draw(st.integers(0, 2))
        padding, pads = p, (p,) * nsp
    elif kind == "tuple":
        pads = tuple(draw(st.integers(0, 2)) for _ in range(nsp))
        padding = pads
    else:
        padding, pads = kind, None
    ext = [d * (kk - 1) + 1 for d, kk in zip(dil, k, strict=True)]
    p_eff = pads or (0,) * nsp  # 'same' pads, so its smallest legal input is the unpadded one's
    size = tuple(max(1, e - 2 * q) + draw(st.integers(0, 4)) for e, q in zip(ext, p_eff, strict=True))
    return dict(n=draw(st.integers(1, 2)), cin=cin, cout=cout, k=k, size=size, stride=stride, pads=pads,
                padding=padding, dilation=dil, groups=groups, bias=draw(st.booleans()),
                seed=draw(st.integers(0, 2 ** 16)))


def _check_conv_vs_torch(case, nsp):
    rng = np.random.RandomState(case["seed"])
    x = rng.randn(case["n"], case["cin"], *case["size"]).astype(np.float32)
    w = rng.randn(case["cout"], case["cin"] // case["groups"], *case["k"]).astype(np.float32)
    b = rng.randn(case["cout"]).astype(np.float32) if case["bias"] else None
    ours_f = F.conv1d if nsp == 1 else F.conv2d
    theirs_f = TF.conv1d if nsp == 1 else TF.conv2d
    kw = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"],
              groups=case["groups"])

    args = (x, w) if b is None else (x, w, b)
    out, vjp_fn = tg.vjp(lambda *a: ours_f(*a, **kw), *args)
    targs = [_leaf(a) for a in args]
    tout = theirs_f(*targs, **kw)
    _close(out, tout)
    assert out.dtype == jnp.float32
    if case["pads"] is not None:
        # The seed's size formula O = floor((I + 2P - D(K-1) - 1) / S) + 1.
        want = tuple((i + 2 * p - d * (kk - 1) - 1) // s + 1 for i, p, d, kk, s in zip(
            case["size"], case["pads"], case["dilation"], case["k"], case["stride"], strict=True))
        assert out.shape[2:] == want
    else:
        assert case["padding"] == "valid" or out.shape[2:] == case["size"]
    ct = rng.randn(*out.shape).astype(np.float32)
    grads = vjp_fn(jnp.asarray(ct))
    tout.backward(torch.tensor(ct))
    for g, t in zip(grads, targs, strict=True):
        _close(g, t.grad)


# Each example compiles three XLA convolutions for its new shapes: keep the count modest.
@settings(max_examples=10)
@given(conv_cases(nsp=2))
def test_conv2d_matches_torch(case):
    _check_conv_vs_torch(case, 2)


@settings(max_examples=10)
@given(conv_cases(nsp=1))
def test_conv1d_matches_torch(case):
    _check_conv_vs_torch(case, 1)


def test_conv1d_seed_shape():
    x = jnp.ones((10, 3, 50), jnp.float32)
    w = jnp.ones((6, 3, 5), jnp.float32)
    assert F.conv1d(x, w, jnp.zeros(6, jnp.float32)).shape == (10, 6, 46)


def test_unbatched_input_and_asymmetric_same_padding():
    rng = np.random.RandomState(0)
    x = rng.randn(3, 7, 6).astype(np.float32)
    w = rng.randn(4, 3, 2, 4).astype(np.float32)  # even kernels: torch pads the extra element high
    ours = F.conv2d(x, w, padding="same", dilation=(1, 2))
    _close(ours, TF.conv2d(torch.tensor(x), torch.tensor(w), padding="same", dilation=(1, 2)))
    assert ours.shape == (4, 7, 6)


def test_conv2d_second_order():
    kw = dict(stride=(1, 2), padding=(2, 0), dilation=(2, 1), groups=2)
    rng = np.random.RandomState(1)
    x = rng.randn(2, 4, 5, 6)
    w = rng.randn(4, 4 // kw["groups"], 2, 3)
    b = rng.randn(4)
    tg.check_grads(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b), order=2)


def test_conv1d_up_to_third_order():
    rng = np.random.RandomState(2)
    x, w = rng.randn(2, 3, 9), rng.randn(3, 1, 3)
    f = lambda x, w: F.conv1d(x, w, stride=2, padding=2, dilation=2, groups=3)  # noqa: E731
    check_vjp(f, (x, w), order=3, modes=("rev",))


def test_conv_primitive_general_dilation_against_jax():
    """The rules also handle input dilation and negative padding, which their own derivatives use."""
    rng = np.random.RandomState(3)
    x, w = rng.randn(2, 4, 7, 6), rng.randn(6, 2, 3, 2)
    kw = dict(strides=(2, 1), padding=((1, -1), (2, 0)), lhs_dilation=(2, 1), rhs_dilation=(1, 2), groups=2)
    ref = lambda x, w: lax.conv_general_dilated(  # noqa: E731
        x, w, kw["strides"], kw["padding"], kw["lhs_dilation"], kw["rhs_dilation"], feature_group_count=2)
    check_vjp(lambda x, w: conv_rules.conv(x, w, **kw), (x, w), order=2, reference=ref)


def test_conv_primitive_batch_groups_and_layouts_against_jax():
    """Batch groups and permuted layouts: what the rules of grouped convolutions emit."""
    rng = np.random.RandomState(8)
    dn = ((0, 3, 1, 2), (3, 2, 0, 1), (2, 0, 3, 1))  # lhs NHWC, rhs HWIO, out in yet another order
    x, w = rng.randn(6, 7, 5, 2), rng.randn(3, 2, 2, 6)
    kw = dict(strides=(1, 2), padding=((1, 0), (0, 1)), lhs_dilation=(2, 1), rhs_dilation=(1, 1))
    ref = lambda x, w: lax.conv_general_dilated(  # noqa: E731
        x, w, kw["strides"], kw["padding"], kw["lhs_dilation"], kw["rhs_dilation"],
        dimension_numbers=lax.ConvDimensionNumbers(*dn), batch_group_count=3)
    ours = lambda x, w: conv_rules.conv(x, w, dimension_numbers=dn, batch_group_count=3, **kw)  # noqa: E731
    check_vjp(ours, (x, w), order=2, modes=("rev",), reference=ref)


def test_conv_under_jit():
    rng = np.random.RandomState(4)
    x, w = jnp.asarray(rng.randn(1, 2, 5, 5)), jnp.asarray(rng.randn(3, 2, 3, 3))
    loss = lambda x: (F.conv2d(x, w, padding=1) ** 2).sum()  # noqa: E731
    ref = jax.grad(lambda x: (lax.conv_general_dilated(x, w, (1, 1), ((1, 1), (1, 1))) ** 2).sum())
    np.testing.assert_allclose(jax.jit(tg.grad(loss))(x), ref(x), rtol=1e-10)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(jnp.ones((2, 3, 8, 8), jnp.float32), jnp.ones((6, 4, 3, 3), jnp.float32)),
     "conv2d: input has 3 channels but weight expects 4 (groups=1): input f32[2,3,8,8], weight f32[6,4,3,3]"),
    (lambda: F.conv2d(jnp.ones((1, 3, 8, 8)), jnp.ones((6, 3, 3, 3)), stride=2, padding="same"),
     "not supported for strided"),
    (lambda: F.conv2d(jnp.ones((1, 3, 2, 2)), jnp.ones((6, 3, 3, 3))), "smaller than the dilated kernel"),
    (lambda: F.conv2d(jnp.ones((1, 4, 5, 5)), jnp.ones((3, 2, 3, 3)), groups=2), "not divisible by groups=2"),
    (lambda: F.conv2d(jnp.ones((1, 3, 5, 5)), jnp.ones((2, 3, 3, 3)), jnp.ones(3)),
     "bias must have shape (2,)"),
    (lambda: F.conv2d(jnp.ones((1, 3, 5, 5)), jnp.ones((2, 3, 3, 3)), padding="full"), "padding must be"),
    (lambda: F.conv2d(jnp.ones((1, 3, 5, 5)), jnp.ones((2, 3, 3, 3)), padding=-1), "non-negative"),
    (lambda: F.conv1d(jnp.ones((1, 3, 5, 5)), jnp.ones((2, 3, 3))), "expected 2-d (unbatched) or 3-d"),
    (lambda: F.conv2d(jnp.ones((1, 3, 5, 5)), jnp.ones((2, 3, 3))), "weight must be 4-d"),
    (lambda: F.conv1d(jnp.ones((1, 3, 5)), jnp.ones((2, 3, 3)), stride=(1, 2)), "stride must be an int"),
])
def test_conv_errors(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


# ---- pooling vs torch ------------------------------------------------------------------------

@st.composite
def pool_cases(draw, with_dilation):
    k = tuple(draw(st.integers(1, 3)) for _ in range(2))
    d = tuple(draw(st.integers(1, 2)) for _ in range(2)) if with_dilation else (1, 1)
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ceil_mode = draw(st.booleans())
    size = tuple(max(1, dd * (kk - 1) + 1 - 2 * pp) + draw(st.integers(0, 4))
                 for kk, dd, pp in zip(k, d, p, strict=True))
    values = draw(st.sampled_from(["normal", "ties", "constant", "special"]))
    return dict(k=k, d=d, p=p, stride=stride, ceil_mode=ceil_mode, size=size, values=values,
                batched=draw(st.booleans()), seed=draw(st.integers(0, 2 ** 16)))


def _pool_input(case):
    rng = np.random.RandomState(case["seed"])
    shape = ((2,) if case["batched"] else ()) + (3,) + case["size"]
    if case["values"] == "ties":  # few distinct values: many windows hold several maxima
        return rng.randint(0, 3, size=shape).astype(np.float32), rng
    if case["values"] == "constant":
        return np.full(shape, 1.5, np.float32), rng
    if case["values"] == "special":  # ties among NaN, -inf and signed zeros
        x = rng.randint(-1, 2, size=shape).astype(np.float32)
        m = rng.rand(*shape)
        x[m < 0.1] = np.nan
        x[(m >= 0.1) & (m < 0.25)] = -np.inf
        x[(m >= 0.25) & (m < 0.4)] = -0.0
        return x, rng
    return rng.randn(*shape).astype(np.float32), rng


def _window_in_padding(case):
    """Whether dilation puts every tap of some window in the padding."""
    stride = case["k"] if case["stride"] is None else case["stride"]
    stride = (stride,) * 2 if isinstance(stride, int) else stride
    for size, k, s, p, d in zip(case["size"], case["k"], stride, case["p"], case["d"], strict=True):
        out = conv_rules.pool_output_size(size, k, s, p, d, case["ceil_mode"])
        taps = np.arange(out)[:, None] * s - p + np.arange(k)[None, :] * d
        if not np.all(np.any((taps >= 0) & (taps < size), axis=1)):
            return True
    return False


def _check_max_pool_vs_torch(case):
    x, rng = _pool_input(case)
    kw = dict(kernel_size=case["k"], stride=case["stride"], padding=case["p"], dilation=case["d"],
              ceil_mode=case["ceil_mode"])
    (out, idx), vjp_fn = tg.vjp(lambda x: F.max_pool2d(x, return_indices=True, **kw), x)
    tx = _leaf(x)
    tout, tidx = TF.max_pool2d(tx, return_indices=True, **kw)
    _close(out, tout, rtol=0, atol=0)
    np.testing.assert_array_equal(np.asarray(idx), tidx.numpy())
    ct = rng.randn(*out.shape).astype(np.float32)
    (gx,) = vjp_fn((jnp.asarray(ct), jnp.zeros(idx.shape, idx.dtype)))
    tout.backward(torch.tensor(ct))
    _close(gx, tx.grad)  # ties: the whole gradient goes to the first maximum, as torch


def _check_max_pool_forward_vs_torch(case):
    x, _ = _pool_input(case)
    kw = dict(kernel_size=case["k"], stride=case["stride"], padding=case["p"], dilation=case["d"],
              ceil_mode=case["ceil_mode"])
    out, idx = F.max_pool2d(jnp.asarray(x), return_indices=True, **kw)
    tout, tidx = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    np.testing.assert_array_equal(np.asarray(out), tout.numpy())  # NaN where torch has NaN
    np.testing.assert_array_equal(np.signbit(np.asarray(out)), np.signbit(tout.numpy()))
    if not _window_in_padding(case):  # there torch's index is undefined (we give H*W)
        np.testing.assert_array_equal(np.asarray(idx), tidx.numpy())


def _check_avg_pool_vs_torch(case, count_include_pad, divisor_override):
    x, rng = _pool_input(case)
    kw = dict(kernel_size=case["k"], stride=case["stride"], padding=case["p"], ceil_mode=case["ceil_mode"],
              count_include_pad=count_include_pad, divisor_override=divisor_override)
    out, vjp_fn = tg.vjp(lambda x: F.avg_pool2d(x, **kw), x)
    tx = _leaf(x)
    tout = TF.avg_pool2d(tx, **kw)
    _close(out, tout)
    ct = rng.randn(*out.shape).astype(np.float32)
    (gx,) = vjp_fn(jnp.asarray(ct))
    tout.backward(torch.tensor(ct))
    _close(gx, tx.grad)


@settings(max_examples=12)
@given(pool_cases(with_dilation=True))
def test_max_pool2d_matches_torch(case):
    # Such windows give -inf in both, but torch's backward then writes the gradient past
    # the end of the plane (into the next channel); they are tested on their own below.
    assume(not _window_in_padding(case))
    _check_max_pool_vs_torch(case)


@settings(max_examples=40, deadline=None)
@given(pool_cases(with_dilation=True))
def test_max_pool2d_forward_picks_torchs_element(case):
    # Forward only (cheap, so many examples): the value, its sign and the index of the element
    # chosen, with ties among NaN, -inf and signed zeros, any stride, padding, dilation, ceil mode.
    _check_max_pool_forward_vs_torch(case)


@settings(max_examples=12)
@given(pool_cases(with_dilation=False), st.booleans(), st.sampled_from([None, 1, 5]))
def test_avg_pool2d_matches_torch(case, count_include_pad, divisor_override):
    _check_avg_pool_vs_torch(case, count_include_pad, divisor_override)


def test_max_pool2d_ties_route_to_first_maximum():
    x = jnp.ones((1, 1, 4, 4), jnp.float32)
    g = tg.grad(lambda x: F.max_pool2d(x, 2, stride=1).sum())(x)
    want = np.zeros((4, 4), np.float32)
    want[:3, :3] = 1  # each window's top-left element is its first maximum
    np.testing.assert_array_equal(np.asarray(g)[0, 0], want)


def test_max_pool2d_nan_is_picked_like_torch():
    x = np.array([[[[1.0, np.nan, 2.0, np.nan, 0.5, 3.0]]]], np.float32)
    out, idx = F.max_pool2d(x, (1, 6), return_indices=True)
    tout, tidx = TF.max_pool2d(torch.tensor(x), (1, 6), return_indices=True)
    assert np.isnan(np.asarray(out)).all() and np.isnan(tout.numpy()).all()
    assert int(idx.ravel()[0]) == int(tidx.ravel()[0]) == 3  # the last NaN


def test_max_pool2d_window_entirely_in_padding():
    # Dilation can place every tap of a window in the padding: -inf out (as torch), no gradient.
    x = jnp.asarray(np.random.RandomState(0).randn(1, 1, 2, 2))
    out = F.max_pool2d(x, 2, stride=1, padding=1, dilation=3)
    assert out.shape == (1, 1, 1, 1) and float(out.ravel()[0]) == -np.inf
    assert np.all(np.asarray(tg.grad(lambda x: F.max_pool2d(x, 2, 1, 1, 3).sum())(x)) == 0)


@pytest.mark.parametrize("kw", [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=1, padding=(1, 0), dilation=(2, 1)),
])
def test_max_pool2d_second_order(kw):
    x = np.random.RandomState(5).permutation(2 * 2 * 6 * 7).reshape(2, 2, 6, 7) / 10.0  # distinct values
    tg.check_grads(lambda x: F.max_pool2d(x, **kw) ** 2, (x,), order=2)


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), divisor_override=4),
])
def test_avg_pool2d_second_order(kw):
    x = np.random.RandomState(6).randn(2, 2, 6, 7)
    tg.check_grads(lambda x: F.avg_pool2d(x, **kw) ** 2, (x,), order=2)


def test_pools_under_jit():
    x = jnp.asarray(np.random.RandomState(7).randn(2, 3, 6, 5))
    loss = lambda x: (F.max_pool2d(x, 2, ceil_mode=True) ** 2).sum() + (F.avg_pool2d(x, 3, 2, 1) ** 2).sum()  # noqa
    np.testing.assert_allclose(jax.jit(tg.grad(loss))(x), tg.grad(loss)(x), rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(jnp.ones((1, 1, 4, 4)), 2, padding=2), "pad should be at most half of kernel size"),
    (lambda: F.max_pool2d(jnp.ones((1, 1, 1, 1)), 3), "is too small"),
    (lambda: F.max_pool2d(jnp.ones((4, 4)), 2), "expected 3-d (C, H, W) or 4-d"),
    (lambda: F.avg_pool2d(jnp.ones((1, 1, 4, 4)), 3, padding=2), "at most half"),
    (lambda: F.avg_pool2d(jnp.ones((1, 1, 4, 4)), 2, divisor_override=0), "divisor_override"),
    (lambda: F.avg_pool2d(jnp.ones((1, 1, 4, 4)), 0), "must be positive"),
])
def test_pool_errors(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


def test_pool_rejects_integer_input():
    with pytest.raises(TypeError, match="floating point"):
        F.max_pool2d(jnp.ones((1, 1, 4, 4), jnp.int32), 2)


# ---- fast paths: each must give exactly what the general implementation gives ----------------------

@settings(deadline=None)
@given(nd=st.integers(1, 2), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 2),
       lo=st.integers(-1, 2), hi=st.integers(-1, 2), n=st.integers(3, 9), o=st.integers(1, 4),
       dtype=st.sampled_from(["float32", "float64"]))
def test_single_channel_conv_equals_lax(nd, k, s, d, lo, hi, n, o, dtype):
    assume(n + lo + hi >= 1 + d * (k - 1))
    rng = np.random.default_rng(n * 31 + k)
    x = jnp.asarray(rng.normal(size=(2, 1) + (n,) * nd), dtype)
    w = jnp.asarray(rng.normal(size=(o, 1) + (k,) * nd), dtype)
    kw = dict(strides=(s,) * nd, padding=((lo, hi),) * nd, lhs_dilation=(1,) * nd, rhs_dilation=(d,) * nd,
              dimension_numbers=(tuple(range(nd + 2)),) * 3, feature_group_count=1, batch_group_count=1)
    got = conv_rules.conv_p(x, w, **kw)
    want = lax.conv_general_dilated(x, w, (s,) * nd, ((lo, hi),) * nd, rhs_dilation=(d,) * nd,
                                    dimension_numbers=lax.ConvDimensionNumbers(*kw["dimension_numbers"]),
                                    precision=lax.Precision.HIGHEST)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)
