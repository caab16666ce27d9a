"""Transposed and 3-d convolutions, padding modes, 1-d and adaptive pools, F.pad, F.interpolate,
unfold/fold and pixel shuffle against PyTorch (float64): outputs, gradients w.r.t. the input and
every parameter, torch state_dicts loaded with nn.load_state_dict, a jitted training step, and
second order against jax.lax references."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from jax import lax

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.nn.functional as F
import tapegrad.numpy as tnp
from tapegrad.testing import assert_vjp

TF = torch.nn.functional
F64 = np.float64
ATOL = 1e-10


def _np(t):
    return t.detach().numpy()


def _close(ours, theirs, label=""):
    theirs = _np(theirs) if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, (label, ours.shape, theirs.shape)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=ATOL, err_msg=label)


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _loaded(tmod, mod, seed=0):
    """``mod``'s params holding ``tmod``'s (float64) state_dict, loaded by nn.load_state_dict into the
    structure that ``mod.init`` builds (its shapes only: eval_shape compiles no random draws)."""
    params = nn.load_state_dict(jax.eval_shape(mod.init, seed), {k: _np(v) for k, v in tmod.state_dict().items()})
    assert [k for k, _ in nn.named_parameters(params)] == [k for k, _ in tmod.named_parameters()]
    return params


class Checks:
    """Cases of ours against torch: the output and the gradients of ``sum(out * g)`` w.r.t. the
    input(s) and every parameter. ``run`` evaluates all of ours as ONE jitted program: XLA
    compilations, not arithmetic, are what these small cases cost."""

    def __init__(self):
        self.cases = []  # (label, f, args, g, torch output, torch gradients in flat order)

    def _torch(self, run, leaves):
        out = run()
        g = np.random.default_rng(len(self.cases)).standard_normal(tuple(out.shape))
        out.backward(torch.tensor(g))
        return out, g, [t.grad for t in leaves]

    def fn(self, ours, theirs, *args, n=1, **kw):
        """``ours(*args, **kw)``; the first ``n`` positional args are differentiated."""
        ts = [torch.tensor(a, requires_grad=True) for a in args[:n]]
        out, g, grads = self._torch(lambda: theirs(*ts, *args[n:], **kw), ts)
        self.cases.append((f"{ours.__name__} {args[n:]} {kw}", lambda *a: ours(*a, *args[n:], **kw),
                           tuple(args[:n]), g, out, grads))

    def module(self, tmod, mod, x, **call):
        tmod = tmod.double()
        params = _loaded(tmod, mod)
        xt = torch.tensor(x, requires_grad=True)
        out, g, grads = self._torch(lambda: tmod(xt, **call), [*tmod.parameters(), xt])
        self.cases.append((f"{mod!r} {x.shape} {call}", lambda p, x: mod(p, x, **call), (params, x), g, out,
                           grads))
        assert repr(mod) == repr(tmod), (repr(mod), repr(tmod))

    def run(self):
        def everything(all_args):
            results = []
            for (_, f, _, g, _, _), args in zip(self.cases, all_args):
                def loss(*a, f=f, g=g):
                    out = f(*a)
                    return tnp.sum(out * g), out

                results.append(tg.value_and_grad(loss, argnums=tuple(range(len(args))), has_aux=True)(*args))
            return results

        results = jax.jit(everything)([c[2] for c in self.cases])
        for (label, _, args, _, want, want_grads), ((_, out), grads) in zip(self.cases, results):
            _close(out, want, label)
            flat = [v for _, v in nn.named_parameters(grads[0])] + [grads[1]] if isinstance(args[0], dict) \
                else list(grads)
            assert len(flat) == len(want_grads), label
            for a, b in zip(flat, want_grads):
                _close(a, b, label)


# ---- convolutions -------------------------------------------------------------------------

TRANSPOSED = [  # (nd, in, out, kernel, kwargs, input spatial, call kwargs)
    (1, 4, 6, 3, {}, (7,), {}),
    (1, 4, 6, 3, dict(stride=3, padding=2, output_padding=1, dilation=2, groups=2, bias=False), (5,), {}),
    (2, 6, 4, (2, 3), dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2), (4, 5), {}),
    (2, 3, 2, 3, dict(stride=2, padding=1, dilation=(1, 2)), (4, 3), {"output_size": [8, 7]}),
    (3, 2, 4, (2, 1, 3), dict(stride=(1, 2, 2), padding=(0, 0, 1), output_padding=(0, 1, 1), groups=2), (3, 2, 4),
     {}),
]


def test_conv_transpose_modules_match_torch():
    checks = Checks()
    for nd, cin, cout, k, kw, spatial, call in TRANSPOSED:
        name = f"ConvTranspose{nd}d"
        mod = getattr(nn, name)(cin, cout, k, **kw, dtype=F64)
        assert jax.eval_shape(mod.init, 0)["weight"].shape == (cin, cout // kw.get("groups", 1)) + mod.kernel_size
        checks.module(getattr(torch.nn, name)(cin, cout, k, **kw), mod, _x(2, cin, *spatial), **call)
    checks.module(torch.nn.ConvTranspose2d(3, 2, 3, stride=2), nn.ConvTranspose2d(3, 2, 3, stride=2, dtype=F64),
                  _x(3, 4, 3), output_size=(10, 8))  # unbatched
    checks.run()


CONVS = {  # mode: [(nd, kwargs, input spatial)]; zeros padding of Conv1d/2d is tests/test_conv.py's
    "zeros": [(3, dict(padding=1, stride=(1, 2, 1)), (3, 4, 4))],
    "reflect": [(1, dict(padding="same", dilation=2), (7,)),
                (2, dict(padding=(1, 2), stride=(2, 1), groups=2), (5, 6))],
    "replicate": [(2, dict(padding="same"), (4, 5)), (3, dict(padding=(0, 1, 1)), (3, 4, 4))],
    "circular": [(1, dict(padding=1, groups=2), (6,)), (2, dict(padding=(2, 1), dilation=(1, 2)), (5, 6))],
}


def test_conv_padding_modes_match_torch():
    checks = Checks()
    for mode, cases in CONVS.items():
        for nd, kw, spatial in cases:
            name = f"Conv{nd}d"
            k = 3 if nd < 3 else (2, 3, 2)
            checks.module(getattr(torch.nn, name)(4, 6, k, padding_mode=mode, **kw),
                          getattr(nn, name)(4, 6, k, padding_mode=mode, **kw, dtype=F64), _x(2, 4, *spatial))
    checks.module(torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"),  # unbatched
                  nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular", dtype=F64), _x(2, 5, 4))
    checks.run()


def test_conv3d_functional_and_init_distributions():
    x, w, b = _x(2, 4, 4, 5, 3), _x(6, 2, 3, 2, 2, seed=1), _x(6, seed=2)
    kw = dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(1, 1, 2), groups=2)
    checks = Checks()
    checks.fn(F.conv3d, TF.conv3d, x, w, b, n=3, **kw)
    checks.run()
    # PyTorch's init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in from the stored weight
    # ((out // groups) * prod(kernel) for the transposed layers, whose bias has out_channels entries).
    for mod in (nn.ConvTranspose2d(32, 32, 3, groups=2), nn.Conv3d(8, 16, 3)):
        p = mod.init(0)
        shape = p["weight"].shape
        bound = 1 / np.sqrt(shape[1] * np.prod(shape[2:]))
        assert p["weight"].dtype == np.float32 and p["bias"].shape == (mod.out_channels,)
        for v in (p["weight"], p["bias"]):
            assert np.abs(v).max() <= bound and np.abs(v).max() > 0.8 * bound
        np.testing.assert_allclose(np.std(p["weight"]), bound / np.sqrt(3), rtol=0.05)


# ---- pools --------------------------------------------------------------------------------

POOLS = [  # (module name, args, kwargs, input shape)
    ("MaxPool1d", (3,), dict(stride=2, padding=1, dilation=2, ceil_mode=True), (2, 3, 9)),
    ("MaxPool1d", (2,), {}, (3, 7)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 3, 8)),
    ("AvgPool1d", (4,), dict(padding=2), (2, 9)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveAvgPool1d", (4,), {}, (3, 8)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", ((4, None),), {}, (3, 8, 5)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 6, 6)),
    ("AdaptiveAvgPool3d", ((2, 3, 1),), {}, (2, 2, 5, 6, 4)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 7)),
    ("AdaptiveMaxPool2d", ((3, 4),), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool2d", ((2, None),), {}, (3, 6, 5)),
]


def test_pool_modules_match_torch():
    checks = Checks()
    for name, args, kw, shape in POOLS:
        checks.module(getattr(torch.nn, name)(*args, **kw), getattr(nn, name)(*args, **kw), _x(*shape))
    checks.run()


def test_pool_indices_ties_and_nan_follow_torch():
    x = _x(2, 3, 7, 6)
    for ours, theirs in ((F.adaptive_max_pool2d, TF.adaptive_max_pool2d), (F.max_pool1d, TF.max_pool1d)):
        arg = x if ours is F.adaptive_max_pool2d else x[:, :, 0]
        size = (3, 4) if ours is F.adaptive_max_pool2d else 3
        out, idx = ours(arg, size, return_indices=True)
        tout, tidx = theirs(torch.tensor(arg), size, return_indices=True)
        _close(out, tout)
        np.testing.assert_array_equal(np.asarray(idx), tidx.numpy())
    out, idx = nn.AdaptiveMaxPool1d(3, return_indices=True)({}, x[0, :, 0])
    np.testing.assert_array_equal(np.asarray(idx), TF.adaptive_max_pool1d(torch.tensor(x[0, :, 0]), 3, True)[1])
    # ties (after a ReLU, zeros): the gradient goes to the first maximum, as torch; a NaN wins
    z = np.zeros((1, 1, 5, 5))
    z[0, 0, 3, 3] = np.nan
    zt = torch.tensor(z, requires_grad=True)
    TF.adaptive_max_pool2d(zt, 2).sum().backward()
    _close(tg.grad(lambda z: tnp.sum(F.adaptive_max_pool2d(z, 2)))(z), zt.grad)
    np.testing.assert_array_equal(np.asarray(F.adaptive_max_pool2d(z, 2, True)[1]),
                                  TF.adaptive_max_pool2d(torch.tensor(z), 2, True)[1])


# ---- pad, interpolate, unfold/fold, pixel shuffle -----------------------------------------

PADS = [(2, 1, 0, 3), (-1, 2, 1, -2), (1, 1, 2, 2, 0, 1)]


def test_pad_matches_torch():
    x = _x(2, 3, 4, 5)
    checks = Checks()
    for mode in ("constant", "reflect", "replicate", "circular"):
        for p in PADS:
            checks.fn(F.pad, TF.pad, x, p, mode=mode)
        checks.fn(F.pad, TF.pad, x[0, 0], (2, 3), mode=mode)  # (C, L): 2-d input, the last dimension
    checks.fn(F.pad, TF.pad, x, (1, 0, 0, 2, 1, 1, 3, 0), value=-1.5)
    checks.fn(F.pad, TF.pad, x[0, 0, 0], (-2, 3))
    for cls, arg in [("ZeroPad2d", (1, 0, 2, 1)), ("ConstantPad3d", (1, 0.5)), ("ReflectionPad1d", 2),
                     ("ReplicationPad2d", (1, 2, 0, 3)), ("CircularPad3d", (1, 2, 0, 1, 2, 0))]:
        args = arg if cls.startswith("Constant") else (arg,)
        checks.module(getattr(torch.nn, cls)(*args), getattr(nn, cls)(*args), x[0] if cls.endswith("1d") else x)
    checks.run()


INTERP = {1: ["nearest", "nearest-exact", "linear", "area"], 2: ["nearest", "nearest-exact", "bilinear", "bicubic",
                                                                 "area"], 3: ["nearest", "trilinear"]}


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_interpolate_matches_torch(dim):
    x = _x(2, 2, *(5, 7, 4)[:dim])
    calls = [dict(size=(8, 3, 6)[:dim]), dict(scale_factor=(1.7, 0.6, 2.5)[:dim]),
             dict(scale_factor=1.3, recompute_scale_factor=True), dict(scale_factor=2)]
    checks = Checks()
    for mode in INTERP[dim]:
        for ac in ([None] if mode in ("nearest", "nearest-exact", "area") else [False, True]):
            for kw in calls[:3] if ac is None else calls[1:] if ac else calls[:2]:
                checks.fn(F.interpolate, TF.interpolate, x, mode=mode, align_corners=ac, **kw)
    if dim == 1:  # long axes with no short period: gathers, not slices or a weight matrix
        for mode in ("nearest", "linear"):
            checks.fn(F.interpolate, TF.interpolate, _x(1, 2, 300), size=331, mode=mode)
    if dim == 2:
        for cls, kw in (("Upsample", dict(scale_factor=(2, 1.5), mode="bilinear")), ("UpsamplingNearest2d",
                        dict(size=6)), ("UpsamplingBilinear2d", dict(scale_factor=3))):
            checks.module(getattr(torch.nn, cls)(**kw), getattr(nn, cls)(**kw), x)
    checks.run()


def test_unfold_fold_and_pixel_shuffle_match_torch():
    x = _x(2, 3, 6, 7)
    checks = Checks()
    for k, d, p, s in [(2, 1, 0, 1), ((2, 3), (1, 2), (1, 0), (2, 1))]:
        checks.fn(F.unfold, TF.unfold, x, k, d, p, s)
        cols = _np(TF.unfold(torch.tensor(x), k, d, p, s))
        checks.fn(F.fold, TF.fold, cols, (6, 7), k, d, p, s)
        # fold(unfold(x)) is x times how many blocks cover each position
        cover = F.fold(F.unfold(np.ones((1, 1, 6, 7)), k, d, p, s), (6, 7), k, d, p, s)
        _close(F.fold(F.unfold(x, k, d, p, s), (6, 7), k, d, p, s), x * np.asarray(cover))
    checks.fn(F.unfold, TF.unfold, x[0], 2)  # unbatched
    checks.fn(F.fold, TF.fold, _x(12, 20), (5, 6), 2)
    checks.module(torch.nn.Unfold((2, 3), padding=1), nn.Unfold((2, 3), padding=1), x)
    checks.module(torch.nn.Fold((4, 5), 2, stride=(2, 1)), nn.Fold((4, 5), 2, stride=(2, 1)), _x(2, 8, 8))
    checks.module(torch.nn.PixelShuffle(2), nn.PixelShuffle(2), _x(2, 8, 3, 4))
    checks.module(torch.nn.PixelUnshuffle(3), nn.PixelUnshuffle(3), _x(2, 2, 6, 9))
    checks.fn(F.pixel_shuffle, TF.pixel_shuffle, _x(3, 2, 18, 2, 3), 3)  # extra leading dims
    checks.run()
    y = x[:, :, :4, :4].reshape(2, 12, 2, 2)
    _close(F.pixel_unshuffle(F.pixel_shuffle(y, 2), 2), y)


# ---- jit, second order, errors ------------------------------------------------------------

def test_jitted_training_step_matches_torch():
    def build(m, dt):
        return m.Sequential(
            m.Conv2d(2, 4, 3, padding=1, padding_mode="circular", dtype=dt), m.ReLU(),
            m.ConvTranspose2d(4, 8, 3, stride=2, padding=1, output_padding=1, dtype=dt), m.PixelShuffle(2),
            m.Upsample(scale_factor=0.5, mode="bilinear"), m.ReflectionPad2d(1),
            m.AdaptiveMaxPool2d((3, 2)), m.Flatten(), m.Linear(12, 1, dtype=dt))

    tmod = build(torch.nn, torch.float64)
    mod = build(nn, F64)
    params = _loaded(tmod, mod)
    x, y = _x(3, 2, 5, 6), _x(3, 1, seed=1)

    @jax.jit
    def step(p, x, y):
        loss, g = tg.value_and_grad(lambda p: tnp.mean((mod(p, x) - y) ** 2))(p)
        return loss, g, jax.tree.map(lambda a, b: a - 0.1 * b, p, g)

    loss, grads, new = step(params, x, y)
    tloss = TF.mse_loss(tmod(torch.tensor(x)), torch.tensor(y))
    tloss.backward()
    _close(loss, tloss)
    for name, v in nn.named_parameters(grads):
        _close(v, dict(tmod.named_parameters())[name].grad)
    assert float(step(new, x, y)[0]) < float(loss)


def test_second_order_against_jax_references():
    # op_by_op=False: each primitive's jitted impl compiles once, instead of every jnp op inside it.
    w, b = _x(3, 2, 3, 2, seed=1), _x(2, seed=2)
    s, p, op, d = (2, 1), (1, 0), (1, 0), (1, 2)
    pads = [(di * (k - 1) - pi, di * (k - 1) - pi + oi) for di, k, pi, oi in zip(d, w.shape[2:], p, op)]
    assert_vjp(lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op, 1, d), (_x(1, 3, 2, 3), w, b), order=2,
               op_by_op=False, reference=lambda x, w, b: lax.conv_transpose(
                   x, w, s, pads, rhs_dilation=d, dimension_numbers=("NCHW", "OIHW", "NCHW"),
                   transpose_kernel=True) + b[:, None, None])
    # interpolate's gathers: reverse mode only (forward mode goes through the same rules' transposes)
    assert_vjp(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), (_x(1, 2, 4, 5),), order=2,
               modes=("rev",), op_by_op=False, reference=lambda x: jax.image.resize(x, (1, 2, 8, 10), "bilinear"))
    assert_vjp(lambda x: F.adaptive_max_pool2d(x, (3, 2)), (_x(1, 2, 6, 4),), order=2, op_by_op=False,
               reference=lambda x: lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID"))


DILATED = [  # conv primitive configs with input dilation, whose kernel cotangent has its own form
    dict(x=(2, 3, 5), w=(4, 3, 2), strides=(2,), padding=((1, -1),), lhs_dilation=(3,), rhs_dilation=(2,)),
    dict(x=(2, 4, 4, 3), w=(6, 2, 3, 2), strides=(1, 2), padding=((2, 1), (0, 2)), lhs_dilation=(2, 3),
         rhs_dilation=(1, 2), groups=2),
    dict(x=(3, 4, 2, 10), w=(1, 10, 2, 1), strides=(1, 1), padding=((1, 1), (0, 0)), lhs_dilation=(2, 1),
         rhs_dilation=(1, 1), groups=10, dimension_numbers=((0, 3, 1, 2), (1, 0, 2, 3), (0, 3, 1, 2))),
]


def test_kernel_cotangent_of_input_dilated_conv_matches_jax():
    from tapegrad.rules import conv as conv_rules

    for i, case in enumerate(DILATED):
        kw = {k: v for k, v in case.items() if k not in ("x", "w")}
        x, w = _x(*case["x"], seed=i), _x(*case["w"], seed=i + 1)
        dn = kw.get("dimension_numbers") or (tuple(range(x.ndim)),) * 3
        ref = lambda x, w, kw=kw, dn=dn: lax.conv_general_dilated(  # noqa: E731
            x, w, kw["strides"], kw["padding"], kw["lhs_dilation"], kw["rhs_dilation"],
            lax.ConvDimensionNumbers(*dn), feature_group_count=kw.get("groups", 1))
        out, vjp = jax.vjp(ref, x, w)
        g = _x(*out.shape, seed=9)
        got = jax.jit(lambda x, w, g, kw=kw: tg.vjp(lambda x, w: conv_rules.conv(x, w, **kw), x, w)[1](g))(x, w, g)
        for a, b in zip(got, vjp(g)):
            _close(a, b, str(case))


@pytest.mark.parametrize("call,error,match", [
    (lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"), ValueError, 'Only "zeros" padding mode'),
    (lambda: nn.Conv2d(2, 2, 3, padding_mode="mirror"), ValueError, "padding_mode must be one of"),
    (lambda: F.conv_transpose2d(np.ones((1, 3, 4, 4)), np.ones((2, 2, 3, 3))), ValueError, "input has 3 channels"),
    (lambda: F.conv_transpose1d(np.ones((1, 2, 4)), np.ones((2, 2, 3)), stride=2, output_padding=2), ValueError,
     "output_padding must be smaller"),
    (lambda: nn.ConvTranspose1d(2, 2, 3, stride=2)(nn.ConvTranspose1d(2, 2, 3, stride=2).init(0), np.ones((1, 2, 4)),
                                                    output_size=[12]), ValueError, "valid sizes range from"),
    (lambda: F.pad(np.ones((2, 3, 4, 5)), (1, 1), mode="reflect"), NotImplementedError, "last 1, 2 or 3"),
    (lambda: F.pad(np.ones((2, 3, 4)), (4, 0), mode="reflect"), ValueError, "must be smaller than the size"),
    (lambda: F.pad(np.ones((2, 3, 4)), (5, 0), mode="circular"), ValueError, "more than once"),
    (lambda: F.pad(np.ones((2, 3, 4)), (1, 0, 1)), ValueError, "divisible by 2"),
    (lambda: F.pad(np.ones((2, 3, 4)), (1, 1), mode="reflect", value=1.0), ValueError, "does not take a value"),
    (lambda: F.interpolate(np.ones((1, 1, 4)), size=3, scale_factor=2), ValueError, "only one of"),
    (lambda: F.interpolate(np.ones((1, 1, 4)), size=3, mode="bilinear"), ValueError, "needs a 4-d input"),
    (lambda: F.interpolate(np.ones((1, 1, 4)), size=3, align_corners=True), ValueError, "align_corners"),
    (lambda: F.interpolate(np.ones((1, 1, 4, 4)), size=(3,)), ValueError, "needs an output size of 2"),
    (lambda: F.fold(np.ones((1, 8, 5)), (4, 4), 2), ValueError, "give 9 sliding blocks"),
    (lambda: F.fold(np.ones((1, 7, 9)), (4, 4), 2), ValueError, "divisible by the product"),
    (lambda: F.pixel_shuffle(np.ones((1, 6, 2, 2)), 2), ValueError, "pixel_shuffle"),
    (lambda: F.adaptive_avg_pool2d(np.ones((2, 3, 4, 4), np.int32), 2), TypeError, "floating point"),
    (lambda: F.adaptive_max_pool2d(np.ones((4, 4)), 2), ValueError, "expected 3-d or 4-d"),
    (lambda: F.max_pool1d(np.ones((1, 1, 1, 4)), 2), ValueError, "max_pool1d: expected 2-d"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
