"""tapegrad.scipy.special against jax.vjp/jax.jvp of jax.scipy.special, finite differences (orders 1, 2)
and torch.special's values and gradients."""
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad.scipy import special as s
from tapegrad.testing import assert_vjp

# name -> (tapegrad fn, jax fn, domain map of u in [-1, 1]) ; domains keep off kinks and poles.
UNARY = {
    "erf": (s.erf, jsp.erf, lambda u: 2 * u),
    "erfc": (s.erfc, jsp.erfc, lambda u: 2 * u),
    "erfinv": (s.erfinv, jsp.erfinv, lambda u: 0.9 * u),
    "gammaln": (s.gammaln, jsp.gammaln, lambda u: 2.2 + 2 * u),
    "gamma": (s.gamma, jsp.gamma, lambda u: 2.2 + 1.5 * u),
    "digamma": (s.digamma, jsp.digamma, lambda u: 2.2 + 2 * u),
    "polygamma1": (lambda x: s.polygamma(1, x), lambda x: jsp.polygamma(1, x), lambda u: 2.2 + 2 * u),
    "polygamma3": (lambda x: s.polygamma(3, x), lambda x: jsp.polygamma(3, x), lambda u: 2.2 + 2 * u),
    "expit": (s.expit, jsp.expit, lambda u: 30 * u),
    "logit": (s.logit, jsp.logit, lambda u: 0.5 + 0.45 * u),
    "ndtr": (s.ndtr, jsp.ndtr, lambda u: 6 * u),
    "log_ndtr": (s.log_ndtr, jsp.log_ndtr, lambda u: 25 * u),
    "ndtri": (s.ndtri, jsp.ndtri, lambda u: 0.5 + 0.45 * u),
    "i0e": (s.i0e, jsp.i0e, lambda u: 3 * u + 3.5 * np.sign(u)),
    "i1e": (s.i1e, jsp.i1e, lambda u: 3 * u + 3.5 * np.sign(u)),
    "entr": (s.entr, jsp.entr, lambda u: 1.1 + u),
    "softmax": (lambda x: s.softmax(x, axis=0), lambda x: jsp.softmax(x, axis=0), lambda u: 3 * u),
    "log_softmax": (lambda x: s.log_softmax(x, axis=-1), lambda x: jax.nn.log_softmax(x, axis=-1),
                    lambda u: 3 * u),
    "i0": (s.i0, jsp.i0, lambda u: 3 * u),
    "i1": (s.i1, jsp.i1, lambda u: 3 * u),
    "multigammaln3": (lambda x: s.multigammaln(x, 3), lambda x: jsp.multigammaln(x, 3), lambda u: 3 + 1.5 * u),
}
BINARY = {
    "xlogy": (s.xlogy, jsp.xlogy, lambda u: u, lambda u: 1.5 + u),
    "xlog1py": (s.xlog1py, jsp.xlog1py, lambda u: u, lambda u: 0.5 * u),
    "betaln": (s.betaln, jsp.betaln, lambda u: 2 + 1.5 * u, lambda u: 2 + 1.5 * u),
    "beta": (s.beta, jsp.beta, lambda u: 2 + 1.5 * u, lambda u: 2 + 1.5 * u),
    "zeta": (s.zeta, jsp.zeta, lambda u: 3 + 1.5 * u, lambda u: 2 + 1.5 * u),
    "rel_entr": (s.rel_entr, jsp.rel_entr, lambda u: 1 + 0.9 * u, lambda u: 1 + 0.9 * u),
    "kl_div": (s.kl_div, jsp.kl_div, lambda u: 1 + 0.9 * u, lambda u: 1 + 0.9 * u),
}
SHAPES = [(2, 3), (4,), ()]


def _u(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.95, 0.95, shape)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unary_against_jax(name, dtype):
    fn, ref, dom = UNARY[name]
    for k, shape in enumerate(SHAPES[:2] if dtype == "float64" else SHAPES[:1]):
        x = jnp.asarray(dom(_u(shape, k)), dtype)
        assert_vjp(fn, (x,), order=2 if dtype == "float64" else 1, reference=ref)
        got, want = fn(x), ref(x)
        assert got.shape == want.shape and got.dtype == want.dtype


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_broadcasting_against_jax(name):
    fn, ref, dx, dy = BINARY[name]
    x, y = jnp.asarray(dx(_u((2, 1, 3), 1))), jnp.asarray(dy(_u((4, 1), 2)))
    assert_vjp(fn, (x, y), order=2, reference=ref)
    assert fn(x, y).shape == (2, 4, 3)


def test_logsumexp_b_and_sign():
    a, b = jnp.asarray(_u((3, 4), 0)), jnp.asarray(_u((4,), 1))
    assert_vjp(lambda a, b: s.logsumexp(a, axis=1, b=b, return_sign=True)[0], (a, b), order=2,
               reference=lambda a, b: jsp.logsumexp(a, axis=1, b=b, return_sign=True)[0])
    np.testing.assert_array_equal(s.logsumexp(a, axis=1, b=b, return_sign=True)[1],
                                  jsp.logsumexp(a, axis=1, b=b, return_sign=True)[1])


def test_jax_conventions_at_edges():
    # xlogy: d/dx log(y) (-inf at y == 0) and d/dy x/y (NaN at 0/0) exactly as jax.grad.
    for args in [(0.0, 0.0), (0.0, 2.0), (1.5, 2.0)]:
        for i in (0, 1):
            np.testing.assert_array_equal(tg.grad(s.xlogy, i)(*args), jax.grad(jsp.xlogy, i)(*args))
    # log_ndtr's derivative is finite and right deep in the left tail (phi/Phi ~ -x there).
    x = jnp.asarray([-40.0, -200.0, 8.0])
    np.testing.assert_allclose(tg.elementwise_grad(s.log_ndtr)(x), jax.vmap(jax.grad(jsp.log_ndtr))(x), rtol=1e-10)
    assert float(tg.grad(s.expit)(-800.0)) == 0.0
    assert float(tg.grad(s.i1e)(0.0)) == 0.5


TORCH = {
    "erf": (s.erf, torch.special.erf, lambda u: 2 * u),
    "erfc": (s.erfc, torch.special.erfc, lambda u: 2 * u),
    "erfinv": (s.erfinv, torch.special.erfinv, lambda u: 0.9 * u),
    "gammaln": (s.gammaln, torch.special.gammaln, lambda u: 2.2 + 2 * u),
    "digamma": (s.digamma, torch.special.digamma, lambda u: 2.2 + 2 * u),
    "polygamma2": (lambda x: s.polygamma(2, x), lambda x: torch.special.polygamma(2, x), lambda u: 2.2 + 2 * u),
    "expit": (s.expit, torch.special.expit, lambda u: 10 * u),
    "logit": (s.logit, torch.special.logit, lambda u: 0.5 + 0.45 * u),
    "ndtr": (s.ndtr, torch.special.ndtr, lambda u: 5 * u),
    "log_ndtr": (s.log_ndtr, torch.special.log_ndtr, lambda u: 20 * u),
    "ndtri": (s.ndtri, torch.special.ndtri, lambda u: 0.5 + 0.45 * u),
    "i0e": (s.i0e, torch.special.i0e, lambda u: 4 * u),
    "i1e": (s.i1e, torch.special.i1e, lambda u: 4 * u),
    "entr": (s.entr, torch.special.entr, lambda u: 1.1 + u),
    "i0": (s.i0, torch.special.i0, lambda u: 4 * u),
    "i1": (s.i1, torch.special.i1, lambda u: 4 * u),
    "multigammaln": (lambda x: s.multigammaln(x, 3), lambda x: torch.special.multigammaln(x, 3), lambda u: 3 + u),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_against_torch(name):
    fn, tfn, dom = TORCH[name]
    x = dom(_u((3, 2), 3))
    tx = torch.tensor(x, requires_grad=True)
    out = tfn(tx)
    (gx,) = torch.autograd.grad(out.sum(), tx)
    np.testing.assert_allclose(fn(jnp.asarray(x)), out.detach().numpy(), rtol=1e-9, atol=1e-12)
    try:
        (ggx,) = torch.autograd.grad(tfn(tx := torch.tensor(x, requires_grad=True)).sum(), tx, create_graph=True)
        (hx,) = torch.autograd.grad(ggx.sum(), tx)
    except RuntimeError:  # torch has no second derivative for this op
        hx = None
    np.testing.assert_allclose(tg.elementwise_grad(fn)(jnp.asarray(x)), gx.numpy(), rtol=1e-8, atol=1e-12)
    if hx is not None:
        np.testing.assert_allclose(tg.elementwise_grad(tg.elementwise_grad(fn))(jnp.asarray(x)), hx.numpy(),
                                   rtol=1e-7, atol=1e-10)


def test_torch_xlogy():
    x, y = _u((2, 3), 4), 1.5 + _u((3,), 5)
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    gx, gy = torch.autograd.grad(torch.special.xlogy(tx, ty).sum(), (tx, ty))
    got = tg.grad(lambda a, b: tnp_sum(s.xlogy(a, b)), (0, 1))(jnp.asarray(x), jnp.asarray(y))
    np.testing.assert_allclose(got[0], gx.numpy(), rtol=1e-10)
    np.testing.assert_allclose(got[1], gy.numpy(), rtol=1e-10)


def tnp_sum(v):
    import tapegrad.numpy as tnp
    return tnp.sum(v)


def test_bad_input_names_function():
    with pytest.raises(TypeError, match="special.erf.*complex"):
        s.erf(jnp.asarray([1j]))
    with pytest.raises(ValueError, match="polygamma.*non-negative"):
        s.polygamma(-1, 2.0)
    assert s.gammaln(jnp.asarray([3])).dtype == jsp.gammaln(jnp.asarray([3])).dtype


def test_incomplete_gamma_and_beta_where_jax_differentiates():
    # gammainc/gammaincc: every argument once, x to order 2 (d/da is lax.igamma_grad_a, which JAX does not
    # differentiate again); betainc: x only, as JAX.
    a, x = jnp.asarray(2.5 + 1.5 * _u((2, 1, 3), 6)), jnp.asarray(2 + 1.5 * _u((4, 1), 7))
    p = jnp.asarray(0.5 + 0.45 * _u((4, 1), 8))
    for fn, ref in [(s.gammainc, jsp.gammainc), (s.gammaincc, jsp.gammaincc)]:
        assert_vjp(fn, (a, x), order=1, reference=ref)
        assert_vjp(lambda x, fn=fn: fn(a, x), (x,), order=2, reference=lambda x, ref=ref: ref(a, x))
        # d/da (d/dx P) is a derivative of exp(-x) x^(a-1) / Gamma(a): defined, as in JAX
        np.testing.assert_allclose(tg.grad(tg.grad(fn, 1), 0)(2.0, 1.5), jax.grad(jax.grad(ref, 1), 0)(2.0, 1.5),
                                   rtol=1e-12)
        with pytest.raises(NotImplementedError, match="gammainc.*igamma_grad_a"):
            tg.grad(tg.grad(fn, 0), 1)(2.0, 1.5)
    assert_vjp(lambda x: s.betainc(a, a + 0.3, x), (p,), order=2, reference=lambda x: jsp.betainc(a, a + 0.3, x))
    for i in (0, 1):
        with pytest.raises(ValueError, match="betainc.*a and b"):
            tg.grad(s.betainc, i)(2.0, 1.5, 0.3)
    for fn, ref in [(s.gammainc, jsp.gammainc), (s.betainc, jsp.betainc)]:
        args = (a, x) if fn is s.gammainc else (a, a + 0.3, p)
        np.testing.assert_allclose(fn(*args), ref(*args), rtol=1e-13)
    # float32 stays float32, and Python scalars are weak as in jax.scipy
    assert s.gammainc(jnp.float32(2), 2.0).dtype == jnp.float32
    assert_vjp(lambda x: s.gammainc(a.astype("float32"), x), (x.astype("float32"),), order=1,
               reference=lambda x: jsp.gammainc(a.astype("float32"), x))


def test_zeta_beta_edges():
    with pytest.raises(NotImplementedError, match="zeta.*Riemann"):
        s.zeta(2.0)
    # d/ds of zeta is that of JAX's series, in float32 too
    sq = (jnp.asarray([1.5, 2.5, 4.0], "float32"), jnp.asarray([0.5, 1.0, 3.0], "float32"))
    assert_vjp(s.zeta, sq, order=1, reference=jsp.zeta)
    # beta's sign through gammasgn, and a gradient where jax's is NaN (negative a): finite differences agree
    np.testing.assert_allclose(s.beta(-1.3, 0.4), jsp.beta(-1.3, 0.4), rtol=1e-12)
    assert_vjp(s.beta, (jnp.asarray([-1.3, 0.7]), jnp.asarray([0.4, -2.5])), order=2)
    np.testing.assert_array_equal(s.gammasgn(jnp.asarray([-2.5, -1.5, -1.0, 3.0])),
                                  jsp.gammasgn(jnp.asarray([-2.5, -1.5, -1.0, 3.0])))
    # rel_entr / kl_div outside p, q > 0: JAX's values and (zero) gradients
    for p, q in [(0.0, 1.5), (0.0, 0.0), (-1.0, 1.0), (1.0, 0.0)]:
        for fn, ref in [(s.rel_entr, jsp.rel_entr), (s.kl_div, jsp.kl_div)]:
            np.testing.assert_array_equal(fn(p, q), ref(p, q))
            np.testing.assert_array_equal(tg.grad(fn, (0, 1))(p, q), jax.grad(ref, (0, 1))(p, q))
    # i1'(0) = 1/2 and I0''(0) = 1/2 (jax's exp(|x|) * i0e composition gives 1.5 at the kink)
    assert float(tg.grad(s.i1)(0.0)) == 0.5 and float(tg.grad(tg.grad(s.i0))(0.0)) == 0.5


def test_torch_partial_gradients():
    a, x = 1.5 + _u((2, 3), 9), 2 + _u((3,), 10)
    pairs = [(s.gammainc, torch.special.gammainc, 1), (s.gammaincc, torch.special.gammaincc, 1),
             (s.zeta, torch.special.zeta, 1), (s.xlog1py, torch.special.xlog1py, 0)]
    for fn, tfn, i in pairs:
        ta, tx = torch.tensor(a, requires_grad=True), torch.tensor(x, requires_grad=True)
        out = tfn(ta, tx)
        (want,) = torch.autograd.grad(out.sum(), (ta, tx)[i])
        np.testing.assert_allclose(fn(jnp.asarray(a), jnp.asarray(x)), out.detach().numpy(), rtol=1e-10)
        got = tg.grad(lambda a, x, fn=fn: tnp_sum(fn(a, x)), i)(jnp.asarray(a), jnp.asarray(x))
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-9)
