"""tapegrad.scipy.integrate.odeint: values and adjoint gradients against jax.experimental.ode.odeint
(which solves the same adjoint system), central finite differences, and second order (a closed form).

Every call compiles the solver for its own dynamics, so the checks are few and grouped."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental.ode import odeint as jax_odeint

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.scipy.integrate import odeint

TOL = dict(rtol=1e-10, atol=1e-10)


def dynamics(np_):
    """A small nonlinear, time-dependent system over a pytree state with pytree args."""
    def f(y, t, a, b):
        x, v = y["x"], y["v"]
        return {"x": -a * x + b["w"] * np_.sin(t) * v, "v": a[0] * x[1] * v - b["c"] * v * v}
    return f


def loss(solve, np_):
    def ell(y0, t, a, b):
        ys = solve(dynamics(np_), y0, t, a, b, **TOL)
        return np_.sum(ys["x"] ** 2 * np_.arange(1.0, 5.0)[:, None]) + np_.sum(np_.cos(ys["v"]))
    return ell


Y0 = {"x": jnp.array([1.0, 0.5]), "v": jnp.array(0.3)}
T = jnp.array([0.0, 0.4, 0.7, 1.2])
A, B = jnp.array([0.7, 0.2]), {"w": jnp.array(0.5), "c": jnp.array(0.4)}
ARGS = (Y0, T, A, B)


def tree_close(x, y, tol):
    for p, q in zip(jax.tree.leaves(x), jax.tree.leaves(y)):
        np.testing.assert_allclose(np.asarray(p), np.asarray(q), rtol=tol, atol=tol)


def test_values_and_gradients_match_jax_and_finite_differences():
    ys = odeint(dynamics(tnp), Y0, T, A, B, **TOL)
    tree_close(ys, jax_odeint(dynamics(jnp), Y0, T, A, B, **TOL), 1e-12)
    assert jax.tree.structure(ys) == jax.tree.structure(Y0) and ys["x"].shape == (4, 2)
    # gradients for y0, t and both args (pytrees) at once: JAX's adjoint solves the same system
    grads = tg.grad(loss(odeint, tnp), argnums=(0, 1, 2, 3))(*ARGS)
    tree_close(grads, jax.grad(loss(jax_odeint, jnp), argnums=(0, 1, 2, 3))(*ARGS), 1e-9)
    # central finite differences along one random direction in all inputs together (float64, rtol 1e-6)
    rng = np.random.default_rng(0)
    direction = jax.tree.map(lambda x: jnp.asarray(rng.standard_normal(np.shape(x))), ARGS)
    direction = (direction[0], direction[1].at[0].set(0.0) * 0.1, direction[2], direction[3])  # keep t sorted
    eps = 1e-5
    shifted = [jax.tree.map(lambda x, d, s=s: x + s * eps * d, ARGS, direction) for s in (1, -1)]
    fd = (loss(odeint, tnp)(*shifted[0]) - loss(odeint, tnp)(*shifted[1])) / (2 * eps)
    ad = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grads), jax.tree.leaves(direction)))
    np.testing.assert_allclose(float(ad), float(fd), rtol=1e-6)


def test_captured_params_second_order_and_jit():
    t = jnp.array([0.0, 0.5, 1.0])

    def final(k, c):  # closes over the params k (scalar) and c (vector): captured, not passed
        return odeint(lambda y, s: -k * y * y + c * tnp.cos(s), jnp.array([1.0, 2.0]), t, **TOL)[-1]

    def final_jax(k, c):
        return jax_odeint(lambda y, s, k, c: -k * y * y + c * jnp.cos(s), jnp.array([1.0, 2.0]), t, k, c, **TOL)[-1]

    k, c = jnp.array(0.9), jnp.array([0.1, -0.2])
    ell = lambda k, c: tnp.sum(final(k, c) ** 2)  # noqa: E731
    ell_jax = lambda k, c: jnp.sum(final_jax(k, c) ** 2)  # noqa: E731
    g = tg.grad(ell, argnums=(0, 1))(k, c)
    tree_close(g, jax.grad(ell_jax, argnums=(0, 1))(k, c), 1e-9)
    # second order: the adjoint VJP is itself an odeint whose VJP is the adjoint method again. Checked
    # against a closed form: y' = -k y^2 gives y(1) = y0 / (1 + k y0), so d2/dk2 y(1) = 2 y0^3 / (1 + k y0)^3.
    y0 = jnp.array([1.0, 2.0])
    h = tg.grad(tg.grad(lambda k: tnp.sum(odeint(lambda y, s: -k * y * y, y0, t, **TOL)[-1])))(k)
    np.testing.assert_allclose(float(h), float(jnp.sum(2 * y0 ** 3 / (1 + k * y0) ** 3)), rtol=1e-7)
    # under jax.jit the whole gradient (forward solve and adjoint solves) is one program
    np.testing.assert_allclose(np.asarray(jax.jit(tg.grad(ell, argnums=1))(k, c)), np.asarray(g[1]), rtol=1e-9)


def test_plain_values_and_errors():
    # no tracer anywhere: the solver runs on the values, no tape
    ys = odeint(lambda y, t: -y, jnp.ones(2), jnp.array([0.0, 1.0]))
    np.testing.assert_allclose(np.asarray(ys[-1]), np.exp(-1.0) * np.ones(2), rtol=1e-7)
    with pytest.raises(TypeError, match="odeint: func must be a callable"):
        odeint(3.0, jnp.ones(2), jnp.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="odeint: t must be a 1-D array of floats"):
        odeint(lambda y, t: -y, jnp.ones(2), jnp.array([0, 1]))
    with pytest.raises(TypeError, match="odeint: func must return dy/dt with the structure and shapes of y0"):
        odeint(lambda y, t: tnp.sum(y), jnp.ones(2), jnp.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="odeint: y0 must hold floating-point arrays"):
        odeint(lambda y, t: y, jnp.ones(2, int), jnp.array([0.0, 1.0]))
