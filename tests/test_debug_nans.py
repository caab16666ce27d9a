"""tg.debug_nans: the first NaN/Inf is caught where it starts, forward or backward."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp


def test_forward_nan_names_primitive_pass_line_and_inputs():
    with tg.debug_nans(), pytest.raises(FloatingPointError) as info:
        tg.grad(lambda x: tnp.log(x - 1).sum())(jnp.array([0.5, 2.0]))
    msg = str(info.value)
    assert "'log'" in msg and "forward" in msg and "test_debug_nans.py:" in msg
    assert "min -0.5" in msg and "1 NaN" in msg


def test_backward_inf_is_caught_in_the_sweep():
    # sqrt(0) is fine forward; its derivative is infinite.
    with tg.debug_nans(), pytest.raises(FloatingPointError, match=r"'sqrt'.*backward.*1 Inf"):
        tg.grad(lambda x: tnp.sqrt(x).sum())(jnp.array([0.0, 1.0]))


def test_off_by_default_and_after_the_block():
    g = tg.grad(lambda x: tnp.sqrt(x).sum())(jnp.array([0.0, 1.0]))
    assert np.isinf(g[0])
    with tg.debug_nans():
        pass
    assert np.isnan(tnp.log(jnp.array(-1.0)))


def test_outside_transforms_too():
    with tg.debug_nans(), pytest.raises(FloatingPointError, match="'divide'"):
        tnp.divide(jnp.zeros(2), jnp.zeros(2))


def test_under_jit_values_are_abstract_and_not_checked():
    with tg.debug_nans():
        out = jax.jit(tg.grad(lambda x: tnp.sqrt(x).sum()))(jnp.array([0.0, 1.0]))
    assert np.isinf(out[0])
