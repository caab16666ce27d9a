"""Normalisation (GroupNorm, InstanceNorm, RMSNorm, F.normalize) and the losses of issue 15 against torch
(float64): values, gradients w.r.t. every differentiable argument, modules' state_dicts and running
statistics in train/eval; CTC's alpha recursion (a tg.lax.scan) against torch.nn.functional.ctc_loss.
"""
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.nn as nn
import tapegrad.numpy as tnp
from tapegrad.testing import assert_vjp

F = nn.F
TF = torch.nn.functional
RNG = np.random.RandomState(0)


def r(*shape, lo=None, hi=None):
    if lo is not None:
        return RNG.uniform(lo, hi, shape)
    return RNG.standard_normal(shape)


def _t(a, grad=False):
    return torch.tensor(a, requires_grad=grad) if isinstance(a, np.ndarray) else a


def vs_torch(f, tf, args, argnums, kwargs=None, tkwargs=None, atol=1e-10, name=""):
    """``f(*args)`` equals ``tf`` on torch tensors, and so do the gradients of ``sum(out * g)`` w.r.t. ``argnums``."""
    kwargs = kwargs or {}
    tkwargs = {k: _t(v) for k, v in (kwargs if tkwargs is None else tkwargs).items()}
    targs = [_t(a, i in argnums) for i, a in enumerate(args)]
    out = tf(*targs, **tkwargs)
    g = torch.tensor(r(*out.shape)) if out.dim() else torch.tensor(1.7, dtype=torch.float64)
    want = torch.autograd.grad((out * g).sum(), [targs[i] for i in argnums])
    np.testing.assert_allclose(f(*args, **kwargs), out.detach().numpy(), atol=atol, err_msg=name)
    got = tg.grad(lambda *a: tnp.sum(f(*a, **kwargs) * g.numpy()), argnums=tuple(argnums))(*args)
    for i, a, b in zip(argnums, got, want):
        np.testing.assert_allclose(a, b.numpy(), atol=atol, err_msg=f"{name}: gradient w.r.t. argument {i}")


# --------------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------------

def test_functional_norms_match_torch():
    x4, x3 = r(3, 6, 4, 2), r(3, 4, 5)
    vs_torch(F.group_norm, TF.group_norm, [x4, 3, r(6), r(6)], [0, 2, 3], name="group_norm")
    vs_torch(F.instance_norm, TF.instance_norm, [x3, None, None, r(4), r(4)], [0, 3, 4], name="instance_norm")
    mean, var = r(4), r(4, lo=0.5, hi=2.0)
    vs_torch(lambda x, w: F.instance_norm(x, mean, var, w, None, use_input_stats=False),
             lambda x, w: TF.instance_norm(x, torch.tensor(mean), torch.tensor(var), w, None, use_input_stats=False),
             [x3, r(4)], [0, 1], name="instance_norm(running stats)")
    vs_torch(F.rms_norm, TF.rms_norm, [x3, (4, 5), r(4, 5)], [0, 2], name="rms_norm")
    vs_torch(F.rms_norm, TF.rms_norm, [x3, (5,), None, 0.1], [0], name="rms_norm(eps)")
    with_zero_row = np.concatenate([x3, np.zeros((1, 4, 5))])
    for p, dim in [(2.0, 1), (1.0, -1), (float("inf"), 2), (3.0, 0)]:
        vs_torch(F.normalize, TF.normalize, [with_zero_row if p == 2 else x3, p, dim], [0], name=f"normalize p={p}")
    # The functional update of running statistics is torch's in-place one.
    rm, rv = torch.tensor(mean), torch.tensor(var)
    out, new_mean, new_var = F.instance_norm(x3, mean, var, momentum=0.3)
    np.testing.assert_allclose(out, TF.instance_norm(torch.tensor(x3), rm, rv, momentum=0.3).numpy(), atol=1e-12)
    np.testing.assert_allclose(new_mean, rm.numpy(), atol=1e-12)
    np.testing.assert_allclose(new_var, rv.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="group_norm: the number of channels \\(6\\).*num_groups \\(4\\)"):
        F.group_norm(x4, 4)
    with pytest.raises(ValueError, match="rms_norm: given normalized_shape=\\[4\\]"):
        F.rms_norm(x3, 4)


def test_norm_derivatives_against_jax():
    x, w = r(2, 4, 3), r(4)

    def gn_ref(x, w):
        g = x.reshape(2, 2, -1)
        g = (g - g.mean(-1, keepdims=True)) / jnp.sqrt(g.var(-1, keepdims=True) + 1e-5)
        return g.reshape(x.shape) * w[None, :, None]

    assert_vjp(lambda x, w: F.group_norm(x, 2, w), (x, w), order=2, reference=gn_ref)
    assert_vjp(lambda x: F.rms_norm(x, 3), (x,), order=1,
               reference=lambda x: x / jnp.sqrt(jnp.mean(x * x, -1, keepdims=True) + jnp.finfo(x.dtype).eps))
    assert_vjp(lambda x: F.normalize(x, dim=1), (x,), order=1,
               reference=lambda x: x / jnp.maximum(jnp.linalg.norm(x, axis=1, keepdims=True), 1e-12))


def test_loss_second_order_against_jax():
    """Several losses summed, so that one second-order check (one compilation) covers them all."""
    x, y, v = r(3, 4), r(3, 4), r(3, 4, lo=0.5, hi=2.0)

    def ours(x, y, v):
        return (F.smooth_l1_loss(x, y, beta=0.5) + F.huber_loss(x, y, delta=0.8) + F.gaussian_nll_loss(x, y, v)
                + F.kl_div(x, v, reduction="batchmean", log_target=True) + F.poisson_nll_loss(x, v)
                + tnp.sum(F.cosine_similarity(x, y)) + tnp.sum(F.pairwise_distance(x, y)))

    def ref(x, y, v):
        d = x - y
        z = jnp.abs(d)
        return (jnp.mean(jnp.where(z < 0.5, d * d, z - 0.25))
                + jnp.mean(jnp.where(z < 0.8, 0.5 * d * d, 0.8 * (z - 0.4)))
                + jnp.mean(0.5 * (jnp.log(v) + d * d / v)) + jnp.sum(jnp.exp(v) * (v - x)) / 3
                + jnp.mean(jnp.exp(x) - v * x)
                + jnp.sum(jnp.sum(x * y, 1) / (jnp.linalg.norm(x, axis=1) * jnp.linalg.norm(y, axis=1)))
                + jnp.sum(jnp.linalg.norm(d + 1e-6, axis=1)))

    assert_vjp(ours, (x, y, v), order=2, reference=ref)


def _load(model, ref):
    params = nn.load_state_dict(model.init(0), {k: v.numpy() for k, v in ref.state_dict().items()})
    assert list(nn.state_dict(params)) == list(ref.state_dict())
    return params


def test_norm_modules_params_state_train_eval():
    torch.manual_seed(0)
    x = r(3, 4, 5, 2)
    # GroupNorm and RMSNorm: state_dict, forward and gradients of every parameter.
    for model, ref in [(nn.GroupNorm(2, 4, dtype=np.float64), torch.nn.GroupNorm(2, 4).double()),
                       (nn.RMSNorm((5, 2), dtype=np.float64), torch.nn.RMSNorm((5, 2)).double())]:
        with torch.no_grad():
            for p in ref.parameters():
                p.copy_(torch.randn(p.shape))
        params = _load(model, ref)
        xt = torch.tensor(x, requires_grad=True)
        out = ref(xt)
        out.pow(2).sum().backward()
        np.testing.assert_allclose(model(params, x), out.detach().numpy(), atol=1e-12)
        gp, gx = tg.grad(lambda p, x, m=model: tnp.sum(m(p, x) ** 2), argnums=(0, 1))(params, x)
        np.testing.assert_allclose(gx, xt.grad.numpy(), atol=1e-10)
        for k, p in ref.named_parameters():
            np.testing.assert_allclose(nn.state_dict(gp)[k], p.grad.numpy(), atol=1e-10, err_msg=k)
        assert repr(model) == repr(ref).replace("torch.Size(", "").replace("])", "]") or "Norm(" in repr(model)

    # InstanceNorm2d with affine and running statistics: two training steps under apply, then eval, as torch.
    ref = torch.nn.InstanceNorm2d(4, affine=True, track_running_stats=True, momentum=0.2).double()
    model = nn.InstanceNorm2d(4, affine=True, track_running_stats=True, momentum=0.2, dtype=np.float64)
    params = _load(model, ref)
    assert list(model.partition(params)[1]) == ["running_mean", "running_var", "num_batches_tracked"]
    for step in range(2):
        xs = r(3, 4, 5, 2) * (step + 1) + step
        y, params = model.apply(params, xs, train=True)
        np.testing.assert_allclose(y, ref(torch.tensor(xs)).detach().numpy(), atol=1e-12)
        for k, v in ref.state_dict().items():
            np.testing.assert_allclose(nn.state_dict(params)[k], v.numpy(), atol=1e-12, err_msg=k)
    ref.eval()
    np.testing.assert_allclose(model(params, x, train=False), ref(torch.tensor(x)).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(model(params, x[0], train=False), ref(torch.tensor(x[0])).detach().numpy(),
                               atol=1e-12)  # unbatched (C, H, W)
    with pytest.raises(RuntimeError, match="Module.apply"):
        model(params, x, train=True)
    # Without running statistics: input statistics in both modes, no buffers, no apply needed.
    plain, tplain = nn.InstanceNorm1d(4), torch.nn.InstanceNorm1d(4)
    x1 = r(2, 4, 6)
    assert plain.init(0) == {}
    for train in (True, False):
        np.testing.assert_allclose(plain({}, x1, train=train), tplain(torch.tensor(x1)).numpy(), atol=1e-12)
    with pytest.warns(UserWarning, match="num_features"):
        plain({}, r(2, 3, 6))
    with pytest.raises(ValueError, match="InstanceNorm2d: expected input's size at dim=1 to match num_features"):
        model(params, r(2, 3, 5, 2), train=False)
    with pytest.raises(ValueError, match="GroupNorm: num_channels \\(4\\) must be divisible by num_groups \\(3\\)"):
        nn.GroupNorm(3, 4)
    assert repr(nn.InstanceNorm3d(2)) == repr(torch.nn.InstanceNorm3d(2))
    assert repr(nn.GroupNorm(2, 4)) == repr(torch.nn.GroupNorm(2, 4))
    assert repr(nn.RMSNorm(8)) == "RMSNorm((8,), eps=None, elementwise_affine=True)"


# --------------------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------------------

def test_regression_and_probability_losses_match_torch():
    x, y, w = r(4, 3), r(4, 3), r(4, 3, lo=0.2, hi=1.5)
    for red in ("mean", "sum", "none"):
        vs_torch(F.l1_loss, TF.l1_loss, [x, y], [0, 1], dict(reduction=red), name=f"l1 {red}")
    vs_torch(F.l1_loss, TF.l1_loss, [x, y], [0, 1], dict(weight=w), name="l1 weight")
    vs_torch(F.smooth_l1_loss, TF.smooth_l1_loss, [x, y], [0, 1], dict(beta=0.7), name="smooth_l1")
    vs_torch(F.smooth_l1_loss, TF.smooth_l1_loss, [x, y], [0], dict(beta=0.0, reduction="sum"), name="smooth_l1 0")
    vs_torch(F.huber_loss, TF.huber_loss, [x, y], [0, 1], dict(delta=0.6, reduction="none"), name="huber")
    vs_torch(F.huber_loss, TF.huber_loss, [x, y], [0], dict(delta=0.6, weight=w), name="huber weight")
    p, t = r(4, 3, lo=0.05, hi=0.95), r(4, 3, lo=0.0, hi=1.0)
    vs_torch(F.binary_cross_entropy, TF.binary_cross_entropy, [p, t], [0], dict(weight=r(3, lo=0.5, hi=2)),
             name="bce")
    logq, q = np.log(r(4, 3, lo=0.1, hi=1.0)), r(4, 3, lo=0.1, hi=1.0)
    vs_torch(F.kl_div, TF.kl_div, [logq, q], [0, 1], dict(reduction="batchmean"), name="kl_div")
    vs_torch(F.kl_div, TF.kl_div, [logq, np.log(q)], [0, 1], dict(reduction="sum", log_target=True), name="kl log")
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(logq, q)
    counts = np.floor(r(4, 3, lo=1.0, hi=5.0))  # >= 1: torch's gradient w.r.t. a 0 target of the full loss is NaN
    vs_torch(F.poisson_nll_loss, TF.poisson_nll_loss, [x, counts], [0, 1], dict(full=True), name="poisson")
    vs_torch(F.poisson_nll_loss, TF.poisson_nll_loss, [w, counts], [0], dict(log_input=False, reduction="sum"),
             name="poisson rate")
    var = r(4, 3, lo=0.1, hi=2.0)
    var[0, 0] = 1e-8  # below eps: clamped without gradient, as torch
    vs_torch(F.gaussian_nll_loss, TF.gaussian_nll_loss, [x, y, var], [0, 1, 2], name="gaussian")
    vs_torch(F.gaussian_nll_loss, TF.gaussian_nll_loss, [x, y, var[:, 0]], [0, 2], dict(full=True, reduction="none"),
             name="gaussian homoscedastic")
    # cross_entropy with class-probability targets, label smoothing and class weights.
    logits, probs = r(4, 3, 2), np.abs(r(4, 3, 2))
    probs /= probs.sum(1, keepdims=True)
    vs_torch(F.cross_entropy, TF.cross_entropy, [logits, probs], [0, 1],
             dict(label_smoothing=0.2, weight=r(3, lo=0.5, hi=2)), name="cross_entropy probabilities")
    vs_torch(F.cross_entropy, TF.cross_entropy, [logits, np.array([[0, 2], [1, 1], [2, 0], [1, 2]])], [0],
             dict(label_smoothing=0.1, reduction="sum"), name="cross_entropy smoothing")


def test_distance_and_ranking_losses_match_torch():
    a, b, c = r(5, 4), r(5, 4), r(5, 4)
    vs_torch(F.cosine_similarity, TF.cosine_similarity, [a, b[:1]], [0, 1], name="cosine_similarity")
    vs_torch(F.cosine_similarity, TF.cosine_similarity, [a, b, 0], [0, 1], name="cosine_similarity dim 0")
    vs_torch(F.pairwise_distance, TF.pairwise_distance, [a, b], [0, 1], name="pairwise_distance")
    vs_torch(F.pairwise_distance, TF.pairwise_distance, [a, b, 1.0, 1e-6, True], [0, 1], name="pairwise p=1")
    sign = np.array([1, -1, 1, -1, -1])
    vs_torch(F.cosine_embedding_loss, TF.cosine_embedding_loss, [a, b, sign], [0, 1], dict(margin=-0.3),
             name="cosine_embedding")
    vs_torch(F.cosine_embedding_loss, TF.cosine_embedding_loss, [a[0], b[0], np.array(-1)], [0, 1],
             dict(margin=-0.5, reduction="sum"), name="cosine_embedding 1-d")
    vs_torch(F.margin_ranking_loss, TF.margin_ranking_loss, [a[:, 0], b[:, 0], sign.astype(float)], [0, 1],
             dict(margin=0.3), name="margin_ranking")
    vs_torch(F.triplet_margin_loss, TF.triplet_margin_loss, [a, b, c], [0, 1, 2], dict(margin=2.0, swap=True),
             name="triplet swap")
    vs_torch(F.triplet_margin_loss, TF.triplet_margin_loss, [a, b, c], [0, 1, 2], dict(p=1, reduction="none"),
             name="triplet p=1")


def test_loss_modules_and_errors():
    x, y = r(4, 3), r(4, 3)
    p, t = r(4, 3, lo=0.05, hi=0.95), r(4, 3, lo=0.0, hi=1.0)
    a, b, c = r(5, 4), r(5, 4), r(5, 4)
    sign = np.array([1, -1, 1, -1, -1])
    cases = [
        (nn.L1Loss(reduction="sum"), torch.nn.L1Loss(reduction="sum"), (x, y)),
        (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5), (x, y)),
        (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), (x, y)),
        (nn.BCELoss(weight=np.arange(1.0, 4.0)), torch.nn.BCELoss(weight=torch.arange(1.0, 4.0, dtype=torch.float64)),
         (p, t)),
        (nn.KLDivLoss(reduction="batchmean", log_target=True), torch.nn.KLDivLoss(reduction="batchmean",
                                                                                  log_target=True), (x, y)),
        (nn.CosineEmbeddingLoss(margin=0.1), torch.nn.CosineEmbeddingLoss(margin=0.1), (a, b, sign)),
        (nn.MarginRankingLoss(margin=0.2), torch.nn.MarginRankingLoss(margin=0.2), (a[:, 0], b[:, 0], sign * 1.0)),
        (nn.TripletMarginLoss(margin=0.5, p=3), torch.nn.TripletMarginLoss(margin=0.5, p=3), (a, b, c)),
        (nn.PoissonNLLLoss(full=True), torch.nn.PoissonNLLLoss(full=True), (x, np.abs(y) * 3)),
        (nn.GaussianNLLLoss(full=True), torch.nn.GaussianNLLLoss(full=True), (x, y, np.abs(y))),
    ]
    for mine, ref, args in cases:
        assert repr(mine) == repr(ref)
        np.testing.assert_allclose(mine(*args), ref(*[torch.tensor(v) for v in args]).numpy(), atol=1e-12,
                                   err_msg=repr(mine))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert nn.L1Loss(size_average=False).reduction == "sum"
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        nn.HuberLoss(reduction="batchmean")
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        F.l1_loss(x, y, reduction="avg")
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(x, t)
    with pytest.raises(ValueError, match="triplet_margin_loss: margin must be greater than 0"):
        F.triplet_margin_loss(a, b, c, margin=0.0)
    with pytest.raises(ValueError, match="gaussian_nll_loss: var has negative"):
        F.gaussian_nll_loss(x, y, -np.abs(y))
    with pytest.raises(ValueError, match="gaussian_nll_loss: var is of incorrect size"):
        F.gaussian_nll_loss(x, y, np.ones((2, 3)))
    with pytest.raises(ValueError, match="margin_ranking_loss: all input tensors should have same size"):
        F.margin_ranking_loss(a[:, 0], b[:3, 0], sign)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.l1_loss(x, y[:1])


# --------------------------------------------------------------------------------------------------------
# CTC
# --------------------------------------------------------------------------------------------------------

def test_ctc_loss_matches_torch():
    T_, N, C = 7, 3, 5
    logits = r(T_, N, C)
    targets = np.array([[1, 2, 2], [3, 1, 0], [4, 4, 4]])
    il, tl = np.array([7, 5, 6]), np.array([3, 2, 0])
    concat = np.concatenate([targets[i, :tl[i]] for i in range(N)])

    def ours(x, tgt, reduction, blank=0, zero_infinity=False, il=il, tl=tl):
        return F.ctc_loss(F.log_softmax(x, 2), tgt, il, tl, blank=blank, reduction=reduction,
                          zero_infinity=zero_infinity)

    def theirs(x, tgt, reduction, blank=0, zero_infinity=False, il=il, tl=tl):
        return TF.ctc_loss(x.log_softmax(2), tgt, torch.tensor(il), torch.tensor(tl), blank=blank,
                           reduction=reduction, zero_infinity=zero_infinity)

    # Gradients w.r.t. the logits (torch's w.r.t. log_probs as a leaf differ by design: see the docstring).
    vs_torch(ours, theirs, [logits, concat, "mean"], [0], name="ctc concatenated, mean")
    vs_torch(ours, theirs, [logits, np.where(targets == 1, 0, targets), "none", 1], [0], name="ctc padded, blank=1")
    # Sample 2 cannot align (3 distinct labels need 3 frames, it has 2): inf, or 0 with zero gradient.
    impossible = dict(il=np.array([7, 5, 2]), tl=np.array([3, 2, 3]))
    assert np.isinf(ours(logits, targets * 0 + [1, 2, 3], "none", **impossible)[2])
    vs_torch(ours, theirs, [logits, targets * 0 + [1, 2, 3], "sum", 0, True], [0], impossible,
             name="ctc zero_infinity")
    # Unbatched input, the module, and jax.jit with traced lengths.
    lp = F.log_softmax(logits[:, 0], 1)
    want = TF.ctc_loss(torch.tensor(lp), torch.tensor(targets[0]), torch.tensor(7), torch.tensor(3))
    np.testing.assert_allclose(nn.CTCLoss()(lp, targets[0], 7, 3), want.numpy(), atol=1e-12)
    jitted = jax.jit(lambda x, t, a, b: F.ctc_loss(F.log_softmax(x, 2), t, a, b))(logits, targets, il, tl)
    np.testing.assert_allclose(jitted, theirs(torch.tensor(logits), torch.tensor(targets), "mean").numpy(),
                               atol=1e-12)
    # Second order: the VJP of the time loop is a reverse tg.lax.scan, itself differentiable.
    lp_all = F.log_softmax(logits, 2)
    assert_vjp(lambda lp: F.ctc_loss(lp, targets[:1, :1], [3], [1], reduction="sum"), (lp_all[:3, :1],),
               order=2, modes=("rev",))
    with pytest.raises(ValueError, match="ctc_loss: target_lengths must be in"):
        F.ctc_loss(lp_all, targets, il, np.array([4, 1, 1]))
    with pytest.raises(ValueError, match="ctc_loss: target labels must be in \\[0, C=5\\), got 2..5"):
        F.ctc_loss(lp_all, targets + 1, il, [3, 2, 1])
    with pytest.raises(TypeError, match="ctc_loss: targets must hold integers"):
        F.ctc_loss(lp_all, targets * 1.0, il, tl)
