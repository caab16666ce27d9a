"""tg.from_jax: a user's JAX function as one tape entry, differentiated by JAX to any order."""
import ast
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad import nn
from tapegrad.interop import is_bridged


def test_a_jax_function_gives_jaxs_derivatives_to_third_order():
    f = tg.from_jax(jax.nn.softplus)
    x = jnp.linspace(-2.0, 2.0, 5)
    np.testing.assert_allclose(tg.grad(lambda x: tnp.sum(f(x)))(x), jax.nn.sigmoid(x), rtol=1e-6)
    d3 = tg.grad(tg.grad(tg.grad(lambda x: f(x))))(0.3)
    np.testing.assert_allclose(d3, jax.grad(jax.grad(jax.grad(jax.nn.softplus)))(0.3), rtol=1e-5)
    h = tg.hessian(lambda x: tnp.sum(f(x) * x))(x)
    np.testing.assert_allclose(h, jax.hessian(lambda x: jnp.sum(jax.nn.softplus(x) * x))(x), rtol=1e-5)


def test_one_entry_per_call_whatever_the_function_does():
    @jax.jit
    def helper(w, x):
        for _ in range(10):
            x = jnp.tanh(x @ w)
        return x

    tape = tg.make_tape(lambda w, x: tnp.sum(tg.from_jax(helper)(w, x)))(jnp.eye(3) * 0.5, jnp.ones((2, 3)))
    assert [e.prim.name for e in tape] == ["from_jax[helper]", "sum"]


def test_pytrees_static_arguments_and_an_optax_loss():
    logits, labels = jnp.array([[2.0, -1.0, 0.3], [0.1, 0.2, 0.3]]), jnp.array([0, 2])
    loss = tg.from_jax(optax.softmax_cross_entropy_with_integer_labels)
    got = tg.grad(lambda z: tnp.mean(loss(z, labels)))(logits)
    want = jax.grad(lambda z: jnp.mean(optax.softmax_cross_entropy_with_integer_labels(z, labels)))(logits)
    np.testing.assert_allclose(got, want, rtol=1e-6)

    def model(params, x, *, depth):  # a dict of params in, a dict out, a static keyword
        h = x
        for _ in range(depth):
            h = jnp.tanh(h @ params["w"] + params["b"])
        return {"h": h, "n": jnp.argmax(h, axis=-1)}  # an integer output carries no gradient

    params = {"w": jnp.eye(3) * 0.9, "b": jnp.arange(3.0) / 10}
    x = jnp.ones((2, 3))
    ours = tg.grad(lambda p: tnp.sum(tg.from_jax(model)(p, x, depth=3)["h"] ** 2))(params)
    theirs = jax.grad(lambda p: jnp.sum(model(p, x, depth=3)["h"] ** 2))(params)
    for k in params:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-6)


def test_under_jit_and_vmap():
    f = tg.from_jax(lambda x: jnp.sin(x) ** 2)
    g = jax.jit(tg.grad(lambda x: tnp.sum(f(x))))
    x = jnp.linspace(0.0, 1.0, 4)
    np.testing.assert_allclose(g(x), jnp.sin(2 * x), rtol=1e-6)
    per_row = jax.vmap(tg.grad(lambda v: tnp.sum(f(v) * v)))(jnp.stack([x, 2 * x]))
    want = jax.vmap(jax.grad(lambda v: jnp.sum(jnp.sin(v) ** 2 * v)))(jnp.stack([x, 2 * x]))
    np.testing.assert_allclose(per_row, want, rtol=1e-6)


def test_jvp_and_complex_values():
    f = tg.from_jax(lambda z: jnp.exp(z) * jnp.conj(z))
    z = jnp.array([1 + 2j, 0.5 - 1j])
    t = jnp.array([0.3 + 0.1j, -1j])
    np.testing.assert_allclose(tg.jvp(f, (z,), (t,))[1],
                               jax.jvp(lambda z: jnp.exp(z) * jnp.conj(z), (z,), (t,))[1], rtol=1e-6)
    g = jnp.array([1.0 + 0.5j, 2.0 - 1j])
    ours = tg.vjp(f, z)[1](g)[0]
    theirs = jax.vjp(lambda z: jnp.exp(z) * jnp.conj(z), z)[1](jnp.conj(g))[0]
    np.testing.assert_allclose(ours, jnp.conj(theirs), rtol=1e-6)  # PyTorch's convention at the boundary


def test_without_tapegrad_values_it_is_the_function_itself():
    f = tg.from_jax(jnp.sin)
    assert f(1.0) == jnp.sin(1.0)


def test_the_tracer_error_names_tnp_and_from_jax():
    with pytest.raises(TypeError) as info:
        tg.grad(lambda x: jnp.sum(np.asarray(x)))(jnp.ones(2))
    assert "tnp" in str(info.value) and "tg.from_jax" in str(info.value)


# ---- tapegrad's own namespaces never use the bridge ----------------------------------------

LIBRARY = Path(tg.__file__).parent


def test_no_library_module_imports_the_bridge():
    offenders = []
    for path in LIBRARY.rglob("*.py"):
        if path.name in ("interop.py", "__init__.py") and path.parent == LIBRARY:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            if any(n in ("tapegrad.interop", "interop", "from_jax") for n in names):
                offenders.append(str(path.relative_to(LIBRARY)))
    assert not offenders, offenders


def test_no_tape_of_a_library_function_holds_a_bridge_entry():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(4, 6)))
    model = nn.Sequential(nn.Linear(6, 5), nn.GELU(), nn.LayerNorm(5), nn.Linear(5, 3), nn.Softmax(dim=-1))
    params = model.init(0)
    calls = [
        lambda x: model(params, x),
        lambda x: nn.functional.cross_entropy(x, jnp.array([0, 1, 2, 3])),
        lambda x: tnp.linalg.svd(x, full_matrices=False)[1],
        lambda x: tnp.logsumexp(x, axis=1),
        lambda x: tnp.sort(x, axis=0),
    ]
    for call in calls:
        tape = tg.make_tape(call)(x)
        assert len(tape) and not any(is_bridged(e.prim) for e in tape)
