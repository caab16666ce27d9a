"""``tapegrad.nn.functional`` against ``torch.nn.functional``: outputs and gradients.

Every function is compared with PyTorch in float32 (output, input gradient, and
weight/bias/target gradients where PyTorch has them), for every reduction; then
second order is checked with finite differences in float64.
"""
import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from family_checks import check_against_jax

import tapegrad as tg
import tapegrad.nn.functional as F

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for tapegrad.nn.functional")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]


def _close(ours, theirs, rtol=1e-4, atol=1e-5):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    scale = max(1.0, float(np.nanmax(np.abs(theirs), initial=0.0)))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol * scale)


def _compare(ours, theirs, args, grad_args=(0,), seed=0, rtol=1e-4, atol=1e-5):
    """``ours(*args)`` vs ``theirs(*torch_args)``: the output, and one random VJP for ``grad_args``."""
    args = [None if a is None else np.asarray(a) for a in args]

    def f(*diff):
        full = list(args)
        for i, v in zip(grad_args, diff, strict=True):
            full[i] = v
        return ours(*full)

    out, vjp_fn = tg.vjp(f, *[args[i] for i in grad_args])
    targs = [None if a is None else torch.tensor(a) for a in args]
    for i in grad_args:
        targs[i].requires_grad_(True)
    tout = theirs(*targs)
    _close(out, tout, rtol, atol)
    ct = np.asarray(np.random.RandomState(seed).randn(*np.shape(out)), np.asarray(out).dtype)
    grads = vjp_fn(jnp.asarray(ct))
    tout.backward(torch.tensor(ct))
    for i, g in zip(grad_args, grads, strict=True):
        _close(g, targs[i].grad, rtol, atol)
    return out


def _randn(*shape, seed=0, scale=1.0):
    return (np.random.RandomState(seed).randn(*shape) * scale).astype(np.float32)


# ---- linear and activations --------------------------------------------------------------

@pytest.mark.parametrize("x_shape, w_shape, bias", [
    ((5, 3), (4, 3), True), ((2, 5, 3), (4, 3), True), ((5, 3), (4, 3), False), ((5, 3), (3,), False),
])
def test_linear(x_shape, w_shape, bias):
    args = [_randn(*x_shape), _randn(*w_shape, seed=1)] + ([_randn(w_shape[0], seed=2)] if bias else [])
    _compare(F.linear, TF.linear, args, grad_args=tuple(range(len(args))))


def test_linear_shape_error():
    with pytest.raises(ValueError, match=r"linear: input has \(5,\) features .* weight expects 3"):
        F.linear(jnp.ones((2, 5), jnp.float32), jnp.ones((4, 3), jnp.float32))


# Zeros (relu's kink), and tails where naive formulas overflow.
ACT_X = np.concatenate([_randn(3, 7, scale=3).ravel(),
                        [0.0, -0.0, 1e-3, -30.0, 30.0, -100.0, 100.0]]).astype(np.float32).reshape(4, 7)


@pytest.mark.parametrize("name, ours, theirs", [
    ("relu", F.relu, TF.relu),
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("softmax0", lambda x: F.softmax(x, dim=0), lambda x: TF.softmax(x, dim=0)),
    ("softmax-1", lambda x: F.softmax(x, dim=-1), lambda x: TF.softmax(x, dim=-1)),
    ("log_softmax1", lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
    ("log_softmax0", lambda x: F.log_softmax(x, dim=0), lambda x: TF.log_softmax(x, dim=0)),
])
def test_activations(name, ours, theirs):
    _compare(ours, theirs, [ACT_X])


def test_activation_details():
    assert float(tg.grad(F.relu)(0.0)) == 0.0  # torch: no gradient at the kink
    assert float(tg.grad(F.sigmoid)(0.0)) == 0.25
    assert np.isnan(float(F.relu(jnp.nan)))
    big = jnp.array([[1000.0, 1000.0, -1000.0]], jnp.float32)
    theirs = TF.log_softmax(torch.tensor(np.asarray(big)), dim=1)
    _close(F.log_softmax(big, dim=1), theirs, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="approximate must be"):
        F.gelu(jnp.ones(2), approximate="fast")
    with pytest.raises(ValueError, match="inplace=True"):
        F.relu(jnp.ones(2), inplace=True)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        F.softmax(jnp.ones((2, 2)), dim=2)


def test_softmax_dtype_and_implicit_dim():
    x = _randn(2, 3, 4)
    out = F.softmax(x, dim=2, dtype=jnp.float64)
    assert out.dtype == jnp.float64
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = F.log_softmax(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = TF.log_softmax(torch.tensor(x))
    _close(ours, theirs)


# ---- losses ---------------------------------------------------------------------------------

def _targets(shape, c, seed=0, ignore=False):
    t = np.random.RandomState(seed).randint(0, c, size=shape)
    if ignore:
        t.flat[::3] = -100
    return t


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, smoothing, ignore", [(False, 0.0, False), (True, 0.0, True),
                                                         (False, 0.2, True), (True, 0.2, False)])
def test_cross_entropy_class_indices(reduction, weighted, smoothing, ignore):
    x, t = _randn(6, 5), _targets((6,), 5, ignore=ignore)
    w = _randn(5, seed=3) ** 2 + 0.1 if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    _compare(lambda x, t, w: F.cross_entropy(x, t, w, **kw), lambda x, t, w: TF.cross_entropy(x, t, w, **kw),
             [x, t, w])


@pytest.mark.parametrize("x_shape, t_shape", [((3, 4, 2, 5), (3, 2, 5)), ((5,), ())])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_unbatched(x_shape, t_shape, reduction):
    x, t = _randn(*x_shape), _targets(t_shape, x_shape[1] if len(x_shape) > 1 else x_shape[0], ignore=True)
    w = _randn(x_shape[1] if len(x_shape) > 1 else x_shape[0], seed=4) ** 2 + 0.1
    if t.ndim == 0:
        t = np.array(2)  # a scalar target of -100 would ignore the only sample
    kw = dict(reduction=reduction, ignore_index=-100, label_smoothing=0.1)
    _compare(lambda x, t, w: F.cross_entropy(x, t, w, **kw), lambda x, t, w: TF.cross_entropy(x, t, w, **kw),
             [x, t, w])


@pytest.mark.parametrize("x_shape", [(6, 5), (2, 3, 4)])
@pytest.mark.parametrize("reduction, weighted, smoothing", [
    ("mean", False, 0.0), ("mean", True, 0.15), ("sum", True, 0.15), ("none", False, 0.15)])
def test_cross_entropy_probabilities(x_shape, reduction, weighted, smoothing):
    x = _randn(*x_shape)
    p = np.asarray(jax.nn.softmax(jnp.asarray(_randn(*x_shape, seed=5)), axis=1))
    w = _randn(x_shape[1], seed=6) ** 2 + 0.1 if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    _compare(lambda x, p, w: F.cross_entropy(x, p, w, **kw), lambda x, p, w: TF.cross_entropy(x, p, w, **kw),
             [x, p, w], grad_args=(0, 1))


def test_cross_entropy_edge_cases():
    x = _randn(3, 4)
    all_ignored = np.full(3, -100)
    assert np.isnan(float(F.cross_entropy(x, all_ignored)))  # 0 / 0, as torch
    assert np.isnan(TF.cross_entropy(torch.tensor(x), torch.tensor(all_ignored)).item())
    # -inf logits of other classes must not poison the loss or its gradient.
    x_inf = np.array([[0.0, -np.inf, 1.0]], np.float32)
    _compare(lambda x: F.cross_entropy(x, np.array([2])), lambda x: TF.cross_entropy(x, torch.tensor([2])),
             [x_inf])
    with pytest.raises(IndexError, match="target 5 is out of bounds for 4 classes"):
        F.cross_entropy(x, np.array([1, 5, 0]))
    with pytest.raises(ValueError, match=r"expected target of shape \(3,\)"):
        F.cross_entropy(x, np.array([1, 2]))
    with pytest.raises(TypeError, match="class-index targets must be integers"):
        F.cross_entropy(x, np.array([1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(x, np.array([1, 2, 0]), weight=jnp.ones(3))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(x, np.array([1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, np.array([1, 2, 0]), label_smoothing=1.5)


def test_cross_entropy_under_jit_with_traced_targets():
    x, t = jnp.asarray(_randn(4, 3), jnp.float64), jnp.array([0, 2, 1, 2])
    ours = jax.jit(tg.grad(lambda x, t: F.cross_entropy(x, t)))(x, t)
    ref = jax.grad(lambda x: -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(x), t[:, None], 1)))(x)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("x_shape, t_shape", [((6, 4), (6,)), ((2, 4, 3), (2, 3)), ((4,), ())])
def test_nll_loss(reduction, x_shape, t_shape):
    c = x_shape[1] if len(x_shape) > 1 else x_shape[0]
    x = np.asarray(jax.nn.log_softmax(jnp.asarray(_randn(*x_shape)), axis=1 if len(x_shape) > 1 else 0))
    t = _targets(t_shape, c, ignore=len(t_shape) > 0)
    w = _randn(c, seed=7) ** 2 + 0.1
    kw = dict(reduction=reduction, ignore_index=-100)
    _compare(lambda x, t, w: F.nll_loss(x, t, w, **kw), lambda x, t, w: TF.nll_loss(x, t, w, **kw), [x, t, w])
    _compare(lambda x, t: F.nll_loss(x, t, **kw), lambda x, t: TF.nll_loss(x, t, **kw), [x, t])


def test_deprecated_size_average_and_reduce():
    x, t = _randn(4, 3), _targets((4,), 3)
    with pytest.warns(DeprecationWarning):
        ours = F.nll_loss(x, t, None, None, -100, False)
    _close(ours, TF.nll_loss(torch.tensor(x), torch.tensor(t), reduction="none"))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(reduction):
    x, y, w = _randn(3, 4), _randn(3, 4, seed=1), _randn(3, 4, seed=2) ** 2
    _compare(lambda x, y: F.mse_loss(x, y, reduction=reduction),
             lambda x, y: TF.mse_loss(x, y, reduction=reduction), [x, y], grad_args=(0, 1))
    _compare(lambda x, y, w: F.mse_loss(x, y, reduction=reduction, weight=w),
             lambda x, y, w: TF.mse_loss(x, y, reduction=reduction, weight=w), [x, y, w], grad_args=(0, 1, 2))


def test_mse_loss_broadcast_warns():
    with pytest.warns(UserWarning, match="broadcast"):
        F.mse_loss(jnp.ones((3, 1)), jnp.ones(3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted, pos_weighted", list(itertools.product([False, True], repeat=2)))
def test_binary_cross_entropy_with_logits(reduction, weighted, pos_weighted):
    x = np.concatenate([_randn(5, 3, scale=3), [[-100.0, 0.0, 100.0]]]).astype(np.float32)
    y = np.random.RandomState(1).uniform(size=x.shape).astype(np.float32)
    w = _randn(6, 3, seed=2) ** 2 if weighted else None
    pw = _randn(3, seed=3) ** 2 + 0.5 if pos_weighted else None
    kw = dict(reduction=reduction)
    out = _compare(lambda x, y, w, pw: F.binary_cross_entropy_with_logits(x, y, w, pos_weight=pw, **kw),
                   lambda x, y, w, pw: TF.binary_cross_entropy_with_logits(x, y, w, pos_weight=pw, **kw),
                   [x, y, w, pw], grad_args=(0, 1))
    assert np.all(np.isfinite(np.asarray(out)))


def test_binary_cross_entropy_with_logits_shape_error():
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy_with_logits(jnp.ones(3), jnp.ones((3, 1)))


# ---- convolution and pooling through F ---------------------------------------------------------

def test_conv1d_seed_example():
    x, w, b = _randn(10, 3, 50), _randn(6, 3, 5, seed=1), _randn(6, seed=2)
    out = _compare(F.conv1d, TF.conv1d, [x, w, b], grad_args=(0, 1, 2))
    assert out.shape == (10, 6, 46)


def test_conv2d_and_pools_compose():
    x, w = _randn(2, 3, 9, 9), _randn(4, 3, 3, 3, seed=1)

    def ours(x, w):
        return F.avg_pool2d(F.relu(F.max_pool2d(F.conv2d(x, w, padding=1), 2)), 2, ceil_mode=True)

    def theirs(x, w):
        return TF.avg_pool2d(TF.relu(TF.max_pool2d(TF.conv2d(x, w, padding=1), 2)), 2, ceil_mode=True)

    _compare(ours, theirs, [x, w], grad_args=(0, 1))


# ---- dropout ----------------------------------------------------------------------------------

def test_dropout():
    x = jnp.asarray(_randn(200, 50)) + 5.0
    out, vjp_fn = tg.vjp(lambda x: F.dropout(x, 0.3, key=0), x)
    kept = np.asarray(out) != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02
    np.testing.assert_allclose(np.asarray(out)[kept], np.asarray(x)[kept] / 0.7, rtol=1e-6)
    (g,) = vjp_fn(jnp.ones_like(out))
    np.testing.assert_allclose(np.asarray(g), kept / 0.7, rtol=1e-6)
    # An int seed is the key jax.random.PRNGKey(seed); same key, same mask.
    np.testing.assert_array_equal(out, F.dropout(x, 0.3, key=jax.random.PRNGKey(0)))
    assert not np.array_equal(out, F.dropout(x, 0.3, key=1))
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0, key=None) is x
    assert np.all(np.asarray(F.dropout(x, 1.0, key=0)) == 0)
    with pytest.raises(ValueError, match="needs randomness: pass key="):
        F.dropout(x, 0.5)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5, key=0)


# ---- normalisation -----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, ns, affine", [((2, 3, 4), (4,), True), ((2, 3, 4), (3, 4), True),
                                               ((5, 6), 6, False)])
def test_layer_norm(shape, ns, affine):
    x = _randn(*shape, scale=2) + 1
    nst = (ns,) if isinstance(ns, int) else ns
    if affine:
        args = [x, _randn(*nst, seed=1), _randn(*nst, seed=2)]
        _compare(lambda x, w, b: F.layer_norm(x, ns, w, b), lambda x, w, b: TF.layer_norm(x, nst, w, b), args,
                 grad_args=(0, 1, 2))
    else:
        _compare(lambda x: F.layer_norm(x, ns, eps=1e-3), lambda x: TF.layer_norm(x, nst, eps=1e-3), [x])


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"normalized_shape=\[4\], expected input with shape \[\*, 4\]"):
        F.layer_norm(jnp.ones((2, 3)), (4,))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.layer_norm(jnp.ones((2, 3)), 3, weight=jnp.ones(4))


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_training(shape):
    x = _randn(*shape, scale=2) + 0.5
    w, b = _randn(3, seed=1), _randn(3, seed=2)
    rm, rv = _randn(3, seed=3), _randn(3, seed=4) ** 2 + 0.5
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    box = {}

    def ours(x, w, b):
        out, box["mean"], box["var"] = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2)
        return out

    _compare(ours, lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, training=True, momentum=0.2),
             [x, w, b], grad_args=(0, 1, 2))
    _close(box["mean"], trm)  # torch updated its buffers in place; ours came back
    _close(box["var"], trv)  # the unbiased batch variance, as torch
    assert F.batch_norm(x, None, None, training=True)[1:] == (None, None)


def test_batch_norm_eval():
    x, w, b = _randn(4, 3, 5), _randn(3, seed=1), _randn(3, seed=2)
    rm, rv = _randn(3, seed=3), _randn(3, seed=4) ** 2 + 0.5
    _compare(lambda x, w, b: F.batch_norm(x, rm, rv, w, b),
             lambda x, w, b: TF.batch_norm(x, torch.tensor(rm), torch.tensor(rv), w, b), [x, w, b],
             grad_args=(0, 1, 2))


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(jnp.ones((1, 3)), jnp.zeros(3), jnp.ones(3), training=True)
    with pytest.raises(ValueError, match="must be given in evaluation mode"):
        F.batch_norm(jnp.ones((4, 3)), None, None)
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        F.batch_norm(jnp.ones((4, 3)), jnp.zeros(2), jnp.ones(3))


# ---- lookup ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding(padding_idx):
    idx = np.array([[0, 2, 4], [2, 1, 4]])
    w = _randn(5, 3)
    _compare(lambda w: F.embedding(idx, w, padding_idx=padding_idx),
             lambda w: TF.embedding(torch.tensor(idx), w, padding_idx=padding_idx), [w])


def test_embedding_errors():
    with pytest.raises(IndexError, match="index out of range"):
        F.embedding(np.array([5]), jnp.ones((3, 2)))
    with pytest.raises(TypeError, match="integer indices"):
        F.embedding(np.array([1.0]), jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="padding_idx must be within"):
        F.embedding(np.array([1]), jnp.ones((3, 2)), padding_idx=3)


def test_one_hot():
    t = np.array([[0, 3], [1, 1]])
    for n in (-1, 6):
        ours = F.one_hot(t, n)
        theirs = TF.one_hot(torch.tensor(t), n).numpy()
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == jnp.int64  # torch.long (x64 is on in the tests)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(np.array([1, -1]))
    with pytest.raises(ValueError, match="smaller than num_classes=3"):
        F.one_hot(np.array([1, 5]), 3)
    with pytest.raises(TypeError, match="integer index array"):
        F.one_hot(np.array([1.0]))
    with pytest.raises(ValueError, match="num_classes=-1 needs a concrete array"):
        jax.jit(F.one_hot)(jnp.array([1, 2]))
    np.testing.assert_array_equal(jax.jit(F.one_hot, static_argnums=1)(jnp.array([1, 2]), 3),
                                  [[0, 1, 0], [0, 0, 1]])


# ---- second order (float64, finite differences) ------------------------------------------------------

def _r64(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape)


SECOND_ORDER = {
    "activations": (lambda x: F.sigmoid(x) * F.gelu(x) + F.gelu(x, approximate="tanh"), (_r64(2, 3),)),
    "log_softmax": (lambda x: F.log_softmax(x, dim=1) * F.softmax(x, dim=0), (_r64(2, 3),)),
    "cross_entropy": (lambda x, w: F.cross_entropy(x, np.array([0, 2, -100]), w, label_smoothing=0.1),
                      (_r64(3, 3), _r64(3, seed=1) ** 2 + 0.5)),
    "cross_entropy_probs": (lambda x, p: F.cross_entropy(x, p, reduction="sum"),
                            (_r64(2, 3, 2), np.abs(_r64(2, 3, 2, seed=1)))),
    "bce_with_logits": (
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=np.array([2.0, 0.5])),
        (_r64(3, 2), np.abs(_r64(3, 2, seed=1)) / 3)),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3,), w, b),
                   (_r64(2, 3), _r64(3, seed=1), _r64(3, seed=2))),
    "batch_norm": (lambda x, w: F.batch_norm(x, None, None, w, None, training=True)[0],
                   (_r64(4, 2, 2), _r64(2, seed=1))),
    # (padding_idx gets no gradient by design, so finite differences cannot check it: torch does.)
    "mse_linear_embedding": (lambda x, w: F.mse_loss(F.linear(x, F.embedding(np.array([0, 1, 1]), w)),
                                                     np.ones((2, 3))), (_r64(2, 2), _r64(3, 2, seed=1))),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order(name):
    # Reverse mode only: these compose tnp primitives, whose forward mode (transposed
    # VJPs) their own tests cover; conv and pooling check both modes in test_conv.py.
    fun, args = SECOND_ORDER[name]
    tg.check_grads(fun, args, order=2, modes=("rev",))


# ---- nn.functional's own primitives (relu, log_softmax, weighted_sum) against jax, both modes -----------

_T = np.array([[0, 2, 1, 2], [1, -100, 0, 0]])  # targets of a (2, 3, 4) input, class axis 1; one ignored
_W = np.array([0.5, 2.0, 1.25])


def _nll_ref(reduction):
    def ref(x):  # -w[t] x[t] over the kept targets; 'mean' divides by their total weight, as torch
        valid = _T != -100
        t = np.where(valid, _T, 0)
        picked = jnp.take_along_axis(x, t[:, None], 1)[:, 0]
        w_t = np.where(valid, _W[t], 0.0)
        loss = -w_t * picked
        return jnp.sum(loss) / np.sum(w_t) if reduction == "mean" else loss
    return ref


PRIMITIVES = {
    # relu's kink at 0 stays out of reach of finite differences: values at least 0.2 from it.
    "relu": (F.relu, jax.nn.relu, np.sign(_r64(2, 3)) * (0.2 + np.abs(_r64(2, 3)))),
    "log_softmax": (lambda x: F.log_softmax(x, dim=1), lambda x: jax.nn.log_softmax(x, axis=1), _r64(2, 3, 4)),
    # weighted_sum over everything ('mean') and along the class axis ('none').
    "weighted_sum_mean": (lambda x: F.nll_loss(x, _T, _W), _nll_ref("mean"), _r64(2, 3, 4)),
    "weighted_sum_none": (lambda x: F.nll_loss(x, _T, _W, reduction="none"), _nll_ref("none"), _r64(2, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_primitives_match_jax_to_second_order(name):
    fn, ref, x = PRIMITIVES[name]
    check_against_jax(fn, ref, (x,), "float64")
