"""tnp.linalg.eigh/eigvalsh (primitive with its own VJP), matrix_power and multi_dot (compositions)."""
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.numpy import linalg as tla
from tapegrad.testing import assert_vjp


def _sym(shape, seed):
    a = np.random.default_rng(seed).standard_normal(shape)
    # distinct, well-separated eigenvalues keep F = 1/(w_j - w_i) tame
    n = shape[-1]
    return jnp.asarray((a + np.swapaxes(a, -1, -2)) / 2 + np.diag(np.arange(n) * 3.0))


def _gauge_loss(w, v, np_=tnp):
    # v -> v * sign is a gauge: sum of (v^2) weighted is invariant
    k = jnp.arange(w.shape[-1], dtype=w.dtype)
    return np_.sum(w * k) + np_.sum((v ** 2) * k)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_eigh_against_jax_fd_second_order(shape):
    a = _sym(shape, 0)
    assert_vjp(lambda x: _gauge_loss(*tla.eigh(x)), [a], order=2,
               reference=lambda x: _gauge_loss(*jnp.linalg.eigh(x), np_=jnp))
    assert_vjp(tla.eigvalsh, [a], order=2, reference=jnp.linalg.eigvalsh)


def test_eigh_vs_torch():
    a = _sym((2, 4, 4), 1)
    g = tg.grad(lambda x: _gauge_loss(*tla.eigh(x)))(a)
    t = torch.tensor(np.asarray(a), requires_grad=True)
    w, v = torch.linalg.eigh(t)
    (torch.sum(w * torch.arange(4)) + torch.sum(v ** 2 * torch.arange(4))).backward()
    # torch does not symmetrize; compare the symmetric parts
    tg_ = t.grad.numpy()
    np.testing.assert_allclose(np.asarray(g), (tg_ + np.swapaxes(tg_, -1, -2)) / 2, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("n", [0, 1, 3, 6, -2])
def test_matrix_power(n):
    a = jnp.asarray(np.random.default_rng(2).standard_normal((2, 3, 3)) / 3 + np.eye(3))
    assert_vjp(lambda x: tla.matrix_power(x, n), [a], order=2,
               reference=lambda x: jnp.linalg.matrix_power(x, n))
    t = torch.linalg.matrix_power(torch.tensor(np.asarray(a)), n).numpy()
    np.testing.assert_allclose(np.asarray(tla.matrix_power(a, n)), t, rtol=1e-10, atol=1e-10)


def test_multi_dot():
    r = np.random.default_rng(3)
    xs = [jnp.asarray(r.standard_normal(s)) for s in [(3,), (3, 4), (4, 2), (2,)]]
    assert_vjp(lambda *a: tla.multi_dot(a), xs, order=2, reference=lambda *a: jnp.linalg.multi_dot(a))


def test_errors():
    with pytest.raises(ValueError, match="eigh"):
        tla.eigh(jnp.ones((2, 3)))
    with pytest.raises(TypeError, match="matrix_power"):
        tla.matrix_power(jnp.eye(2), 1.5)
    with pytest.raises(ValueError, match="multi_dot"):
        tla.multi_dot([jnp.eye(2)])
