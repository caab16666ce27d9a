"""A constant JAX array updated with a traced value (``tnp.zeros(n).at[i].set(p)``) keeps the gradient."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp

W = jnp.arange(1.0, 5.0)

CASES = [
    ("set", lambda a, p: a.at[1].set(p)),
    ("set slice", lambda a, p: a.at[1:3].set(p)),
    ("add repeated", lambda a, p: a.at[jnp.array([0, 0, 2])].add(p)),
    ("multiply", lambda a, p: a.at[2].multiply(p)),
    ("mul", lambda a, p: a.at[:].mul(p)),
    ("subtract", lambda a, p: a.at[3].subtract(p)),
    ("divide", lambda a, p: a.at[0].divide(p)),
]


@pytest.mark.parametrize("name,update", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("transform", ["grad", "jit", "hessian"])
def test_updates_of_a_constant_with_a_traced_value_match_jax(name, update, transform):
    base = jnp.full(4, 2.0)
    ours = lambda p: tnp.sum(update(base, p) ** 2 * W)
    theirs = lambda p: jnp.sum(update(base, p) ** 2 * W)
    p = jnp.asarray(0.7)
    if transform == "grad":
        got, want = tg.grad(ours)(p), jax.grad(theirs)(p)
    elif transform == "jit":
        got, want = jax.jit(tg.grad(ours))(p), jax.jit(jax.grad(theirs))(p)
    else:
        got, want = tg.hessian(ours)(p), jax.hessian(theirs)(p)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_untraced_updates_stay_jaxs_own():
    out = jnp.zeros(3).at[1].set(5.0)
    assert type(out) is type(jnp.zeros(3)) and out.tolist() == [0.0, 5.0, 0.0]


def test_a_vector_of_traced_values():
    f = lambda v: tnp.sum(tnp.zeros((2, 3)).at[0].set(v) * W[:3])
    np.testing.assert_allclose(tg.grad(f)(jnp.ones(3)), W[:3])


def test_set_with_a_list_holding_tracers():
    # NumPy's array-like as the update: [a, a * a] holds tracers, so the update is tapegrad's.
    f = lambda a: tnp.sum(jnp.zeros(3).at[1:].set([a, a * a]) ** 2)
    assert float(tg.grad(f)(3.0)) == 2 * 3.0 + 4 * 3.0 ** 3
    assert float(tg.grad(lambda a: tnp.sum(jnp.ones(2).at[:1].add((a,))))(1.0)) == 1.0
