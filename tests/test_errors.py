"""A wrong call gets a clear error naming the op, the shapes and the user's line, never a wrong number."""
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp


def test_grad_of_non_scalar_output_points_to_vjp():
    with pytest.raises(TypeError, match=r"scalar output.*shape \(2, 2\).*tg\.vjp.*implicitly created"):
        tg.grad(lambda x: x * 2)(jnp.ones((2, 2)))


def test_grad_of_several_outputs():
    with pytest.raises(TypeError, match="scalar output"):
        tg.grad(lambda x: (x.sum(), x.sum()))(jnp.ones(2))


def test_cotangent_of_wrong_shape_names_both_shapes():
    _, vjp_fn = tg.vjp(lambda x: x * 2, jnp.ones((2, 2)))
    with pytest.raises(ValueError, match=r"shape \(3,\).*output of shape \(2, 2\)"):
        vjp_fn(jnp.ones(3))


def test_cotangent_of_wrong_dtype():
    _, vjp_fn = tg.vjp(lambda x: x * 2, jnp.ones(2, dtype=jnp.float32))
    with pytest.raises(ValueError, match="dtype int32.*float32"):
        vjp_fn(jnp.ones(2, dtype=jnp.int32))


def test_cotangent_of_wrong_structure():
    _, vjp_fn = tg.vjp(lambda x: (x, x), jnp.ones(2))
    with pytest.raises(ValueError, match="structure"):
        vjp_fn(jnp.ones(2))


@pytest.mark.parametrize("bad", [jnp.arange(3), jnp.array([True, False]), 3, np.arange(2)])
def test_integer_or_boolean_input(bad):
    with pytest.raises(TypeError, match="floating-point"):
        tg.grad(lambda x: (x * 1.0).sum())(bad)


def test_integer_input_inside_pytree_is_named():
    with pytest.raises(TypeError, match=r"args\[0\]\['b'\].*int"):
        tg.grad(lambda p: p["a"].sum())({"a": jnp.ones(2), "b": jnp.arange(2)})


def test_tracer_into_plain_jax_numpy_points_to_tnp():
    with pytest.raises(TypeError, match="tapegrad.numpy"):
        tg.grad(lambda x: jnp.sin(x).sum())(jnp.ones(2))
    with pytest.raises(TypeError, match="tapegrad.numpy"):
        tg.grad(lambda x: jnp.add(x, 1.0).sum())(jnp.ones(2))


def test_tracer_into_numpy_points_to_tnp():
    with pytest.raises(TypeError, match="tapegrad.numpy"):
        tg.grad(lambda x: np.sin(x).sum())(jnp.ones(2))
    with pytest.raises(TypeError, match="tapegrad.numpy"):
        tg.grad(lambda x: np.asarray(x).sum())(jnp.ones(2))


def test_numpy_array_operators_with_tracers_keep_the_gradient():
    a = np.array([1.0, 2.0])
    np.testing.assert_allclose(tg.grad(lambda x: (a * x + a - x / a).sum())(jnp.ones(2)), a - 1 / a)


def test_shape_error_inside_an_op_names_op_shapes_and_line():
    with pytest.raises((TypeError, ValueError)) as info:
        tg.grad(lambda x: (x + jnp.ones(3)).sum())(jnp.ones(4))
    msg = str(info.value)
    assert "'add'" in msg and "[4]" in msg and "[3]" in msg and "test_errors.py:" in msg


def test_matmul_shape_error():
    with pytest.raises((TypeError, ValueError)) as info:
        tg.grad(lambda w: (w @ jnp.ones((4, 2))).sum())(jnp.ones((2, 3)))
    msg = str(info.value)
    assert "'matmul'" in msg and "[2,3]" in msg and "[4,2]" in msg and "test_errors.py:" in msg


def test_eager_shape_error_outside_transforms_also_names_the_op():
    with pytest.raises((TypeError, ValueError), match="'reshape'.*test_errors.py"):
        tnp.reshape(jnp.ones(6), (4, 2))


def test_bad_argnums():
    with pytest.raises(ValueError, match="argnums=3 is out of range"):
        tg.grad(lambda x: x, argnums=3)(1.0)
    with pytest.raises(ValueError, match="out of range"):
        tg.grad(lambda x, y: x, argnums=(0, 2))(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums"):
        tg.grad(lambda x: x, argnums="0")(1.0)


def test_non_callable():
    for transform in (tg.grad, tg.value_and_grad, tg.jacobian, tg.jacfwd, tg.hessian, tg.checkpoint):
        with pytest.raises(TypeError, match="callable"):
            transform(3)
    with pytest.raises(TypeError, match="callable"):
        tg.vjp(None, 1.0)


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match="has_aux"):
        tg.grad(lambda x: x * 2, has_aux=True)(1.0)


def test_jvp_tangent_mismatch():
    with pytest.raises(ValueError, match="tangent shape"):
        tg.jvp(lambda x: x, (jnp.ones(2),), (jnp.ones(3),))
    with pytest.raises(TypeError, match="tuples"):
        tg.jvp(lambda x: x, jnp.ones(2), jnp.ones(2))


def test_non_array_input():
    with pytest.raises(TypeError, match="not an array"):
        tg.grad(lambda x: 1.0)("hello")


def test_check_grads_reports_wrong_rule():
    @tg.custom_vjp
    def f(x):
        return tnp.sin(x)

    f.defvjp(lambda x: (tnp.sin(x), x), lambda x, g: (g * tnp.cos(x) * 1.01,))
    with pytest.raises(AssertionError, match=r"custom_vjp\[f\].*order 1.*largest error"):
        tg.check_grads(f, (jnp.linspace(0.1, 1.0, 4),), modes=("rev",))
