"""The transforms: the seed's numbers, nesting, pytrees, argnums, has_aux, and JAX composition."""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp


def seed_f(x):
    y = x + 2
    return y * y * 3


def test_seed_ex1_mean_backward():
    g = tg.grad(lambda x: seed_f(x).mean())(jnp.ones((2, 2)))
    np.testing.assert_allclose(g, np.full((2, 2), 4.5))


def test_seed_ex2_and_ex3_vjp_is_backward_with_gradient():
    out, vjp_fn = tg.vjp(seed_f, jnp.ones((2, 2)))
    np.testing.assert_allclose(out, np.full((2, 2), 27.0))
    np.testing.assert_allclose(vjp_fn(jnp.ones((2, 2)))[0], np.full((2, 2), 18.0))
    # vjp_fn is reusable, like retain_graph=True.
    np.testing.assert_allclose(vjp_fn(jnp.array([[1.0, 2.0], [3.0, 4.0]]))[0], [[18, 36], [54, 72]])


def test_seed_diff_tensor_rows_equal_x():
    x = jnp.array([1.0, 2.0, 3.0])
    (dW,) = tg.vjp(lambda W: W @ x, jnp.ones((4, 3)))[1](jnp.ones(4))
    np.testing.assert_allclose(dW, np.tile(x, (4, 1)))


def test_perturbation_confusion_is_impossible():
    # API.md §2: the inner derivative must not see the outer x as a variable.
    assert float(tg.grad(lambda x: x * tg.grad(lambda y: x + y)(1.0))(2.0)) == 1.0
    # Siskind & Pearlmutter's example: d/dx [x * d/dy (x * y)] = 2x.
    assert float(tg.grad(lambda x: x * tg.grad(lambda y: x * y)(3.0))(5.0)) == 10.0


def test_grad_of_grad_of_grad():
    f = lambda x: tnp.sin(x) * x ** 3
    g3 = tg.grad(tg.grad(tg.grad(f)))
    jf = lambda x: jnp.sin(x) * x ** 3
    np.testing.assert_allclose(g3(0.7), jax.grad(jax.grad(jax.grad(jf)))(0.7), rtol=1e-10)


def test_hessian_matches_jax():
    f = lambda x: tnp.sum(tnp.tanh(x) * x[::-1] ** 2) + tnp.sum(x) ** 2
    jf = lambda x: jnp.sum(jnp.tanh(x) * x[::-1] ** 2) + jnp.sum(x) ** 2
    x = jnp.linspace(-1.0, 2.0, 5)
    np.testing.assert_allclose(tg.hessian(f)(x), jax.hessian(jf)(x), rtol=1e-10, atol=1e-12)


def test_jacobians_match_jax_with_pytrees():
    def f(p, x):
        return {"a": tnp.tanh(p["w"] @ x), "b": (p["w"] * p["s"]).sum(axis=0)}

    def jf(p, x):
        return {"a": jnp.tanh(p["w"] @ x), "b": (p["w"] * p["s"]).sum(axis=0)}

    p = {"w": jnp.arange(6.0).reshape(2, 3) / 5, "s": jnp.array(1.5)}
    x = jnp.array([0.3, -0.2, 0.1])
    for ours in (tg.jacobian, tg.jacrev, tg.jacfwd):
        got = ours(f, argnums=(0, 1))(p, x)
        want = jax.jacrev(jf, argnums=(0, 1))(p, x)
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12), got, want)


def test_jvp_matches_jax():
    f = lambda x, y: tnp.exp(x) * tnp.sin(y) / (1 + x ** 2)
    jf = lambda x, y: jnp.exp(x) * jnp.sin(y) / (1 + x ** 2)
    p = (jnp.array([0.1, 0.5]), jnp.array([1.0, 2.0]))
    t = (jnp.array([1.0, -2.0]), jnp.array([0.5, 0.25]))
    out, tan = tg.jvp(f, p, t)
    jout, jtan = jax.jvp(jf, p, t)
    np.testing.assert_allclose(out, jout)
    np.testing.assert_allclose(tan, jtan, rtol=1e-12)


def test_grad_over_jvp_and_jvp_over_grad():
    f = lambda x: tnp.sum(tnp.sin(x) ** 2)
    jf = lambda x: jnp.sum(jnp.sin(x) ** 2)
    x, v = jnp.array([0.3, 1.2]), jnp.array([1.0, 0.5])
    hvp = tg.jvp(tg.grad(f), (x,), (v,))[1]
    np.testing.assert_allclose(hvp, jax.jvp(jax.grad(jf), (x,), (v,))[1], rtol=1e-12)
    g = tg.grad(lambda x: tg.jvp(f, (x,), (v,))[1])(x)
    np.testing.assert_allclose(g, jax.grad(lambda x: jax.jvp(jf, (x,), (v,))[1])(x), rtol=1e-12)


class Params(NamedTuple):
    w: jax.Array
    b: jax.Array


def test_pytrees_argnums_and_has_aux():
    def loss(params, x, scale):
        pred = params.w * x + params.b
        return (pred ** 2).sum() * scale, {"pred": pred}

    p = Params(jnp.array([1.0, 2.0]), jnp.array(0.5))
    x = jnp.array([3.0, 4.0])
    (value, aux), grads = tg.value_and_grad(loss, argnums=(0, 2), has_aux=True)(p, x, 2.0)
    jvalue_aux, jgrads = jax.value_and_grad(loss, argnums=(0, 2), has_aux=True)(p, x, 2.0)
    np.testing.assert_allclose(value, jvalue_aux[0])
    np.testing.assert_allclose(aux["pred"], jvalue_aux[1]["pred"])
    assert isinstance(grads[0], Params) and type(aux["pred"]) is not tg.Tracer
    jax.tree_util.tree_map(np.testing.assert_allclose, grads, jgrads)
    g, aux2 = tg.grad(loss, has_aux=True)(p, x, 2.0)
    assert isinstance(g, Params)
    np.testing.assert_allclose(g.w, jgrads[0].w)
    np.testing.assert_allclose(tg.grad(loss, argnums=-1, has_aux=True)(p, x, 2.0)[0], jgrads[1])


def test_lists_dicts_and_none_leaves():
    f = lambda d: d["a"][0] * d["a"][1] + d["b"].sum()
    g = tg.grad(f)({"a": [2.0, 3.0], "b": jnp.ones(3), "c": None})
    assert g["c"] is None
    assert float(g["a"][0]) == 3.0 and float(g["a"][1]) == 2.0
    np.testing.assert_allclose(g["b"], np.ones(3))


def test_unused_input_and_constant_output_give_zero():
    assert float(tg.grad(lambda x, y: x * 2, argnums=1)(1.0, 3.0)) == 0.0
    assert float(tg.grad(lambda x: jnp.float32(3.0))(1.0)) == 0.0
    np.testing.assert_array_equal(tg.grad(lambda x: tnp.floor(x).sum())(jnp.array([1.5, 2.5])), [0.0, 0.0])


def test_stop_gradient_is_detach():
    g = tg.grad(lambda x: (tg.stop_gradient(x ** 2) * x).sum())(jnp.full((2, 2), 3.0))
    np.testing.assert_allclose(g, np.full((2, 2), 9.0))
    # It also stops JAX's own autodiff.
    assert float(jax.grad(lambda x: tg.stop_gradient(x) * x)(2.0)) == 2.0
    # Under nesting it stops every level.
    assert float(tg.grad(tg.grad(lambda x: tg.stop_gradient(x) * x ** 2))(1.5)) == pytest.approx(3.0)


def test_custom_vjp_is_used_and_composes():
    calls = []

    @tg.custom_vjp
    def clip_gradient(x):
        return x

    def fwd(x):
        return x, None

    def bwd(_, g):
        calls.append(1)
        return (tnp.clip(g, -1.0, 1.0),)

    clip_gradient.defvjp(fwd, bwd)
    g = tg.grad(lambda x: (clip_gradient(x) * 10.0).sum())(jnp.ones(3))
    np.testing.assert_allclose(g, np.ones(3))
    assert calls
    # Outside any transform it is the plain function.
    np.testing.assert_allclose(clip_gradient(jnp.ones(2)), np.ones(2))


def test_custom_vjp_second_order_differentiates_bwd():
    @tg.custom_vjp
    def cube(x):
        return x ** 3

    cube.defvjp(lambda x: (x ** 3, x), lambda x, g: (3 * x ** 2 * g,))
    assert float(tg.grad(tg.grad(cube))(2.0)) == pytest.approx(12.0)
    assert float(tg.grad(tg.grad(tg.grad(cube)))(2.0)) == pytest.approx(6.0)


def test_checkpoint_same_gradients_fewer_residuals():
    def block(x):
        for _ in range(5):
            x = tnp.tanh(x) * 1.1
        return x

    f = lambda x: block(x).sum()
    fc = lambda x: tg.checkpoint(block)(x).sum()
    x = jnp.linspace(-1, 1, 7)
    np.testing.assert_allclose(tg.grad(fc)(x), tg.grad(f)(x), rtol=1e-12)
    np.testing.assert_allclose(tg.hessian(fc)(x), tg.hessian(f)(x), rtol=1e-10)
    plain, ckpt = tg.make_tape(f)(x), tg.make_tape(fc)(x)
    assert len(ckpt) == 2 and len(plain) == 11
    assert sum(e.saved_bytes() for e in ckpt) < sum(e.saved_bytes() for e in plain)


def test_jit_of_grad_equals_jax():
    f = lambda w, x: tnp.mean(tnp.log1p(tnp.exp(x @ w)) - x @ w * 0.3)
    jf = lambda w, x: jnp.mean(jnp.log1p(jnp.exp(x @ w)) - x @ w * 0.3)
    w, x = jnp.linspace(-1, 1, 4), jnp.arange(12.0).reshape(3, 4) / 10
    np.testing.assert_allclose(jax.jit(tg.grad(f))(w, x), jax.jit(jax.grad(jf))(w, x), rtol=1e-12)
    np.testing.assert_allclose(jax.jit(tg.hessian(f))(w, x), jax.hessian(jf)(w, x), rtol=1e-10)


def test_vmap_of_grad_and_grad_of_jitted_function():
    f = lambda x: tnp.sum(tnp.sin(x) * x)
    xs = jnp.arange(12.0).reshape(3, 4) / 7
    want = jax.vmap(jax.grad(lambda x: jnp.sum(jnp.sin(x) * x)))(xs)
    np.testing.assert_allclose(jax.vmap(tg.grad(f))(xs), want, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(jax.vmap(tg.grad(f)))(xs), want, rtol=1e-12)


def test_grad_inside_scan_body():
    f = lambda w, x: tnp.sum((w * x - 1.0) ** 2)

    def body(w, x):
        return w - 0.1 * tg.grad(f)(w, x), f(w, x)

    def jbody(w, x):
        return w - 0.1 * jax.grad(lambda w: jnp.sum((w * x - 1.0) ** 2))(w), jnp.sum((w * x - 1.0) ** 2)

    xs = jnp.linspace(0.5, 1.5, 12).reshape(4, 3)
    w, losses = jax.lax.scan(body, jnp.zeros(3), xs)
    jw, jlosses = jax.lax.scan(jbody, jnp.zeros(3), xs)
    np.testing.assert_allclose(w, jw, rtol=1e-12)
    np.testing.assert_allclose(losses, jlosses, rtol=1e-12)


def test_make_tape_lists_entries_with_source_lines():
    tape = tg.make_tape(lambda x: (x * x * x * x).mean())(jnp.ones((2, 2)))
    assert [e.prim.name for e in tape] == ["multiply", "multiply", "multiply", "mean"]
    assert len(tape) == 4
    assert all(tape.where(i).startswith("test_transforms.py:") for i in range(len(tape)))
    assert tape.inputs[0][1] == "x"
