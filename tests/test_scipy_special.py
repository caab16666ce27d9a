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
}
BINARY = {
    "xlogy": (s.xlogy, jsp.xlogy, lambda u: u, lambda u: 1.5 + u),
    "xlog1py": (s.xlog1py, jsp.xlog1py, lambda u: u, lambda u: 0.5 * u),
    "betaln": (s.betaln, jsp.betaln, lambda u: 2 + 1.5 * u, lambda u: 2 + 1.5 * u),
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
