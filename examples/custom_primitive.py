"""A numerically stable softplus with its own VJP, and property-based tests for it.

``softplus(x) = log(1 + exp(x))`` overflows when written naively (``exp(1000.)``
is inf). Written as ``max(x, 0) + log1p(exp(-|x|))`` it does not, but its
derivative, read off the tape, would go through ``max`` and ``abs`` and their
kinks at 0. So we give it its own rule: ``d softplus / dx = sigmoid(x)``, with
``sigmoid(x) = (1 + tanh(x / 2)) / 2``, which is stable and smooth, so the rule
is right at second order too (rules are tapegrad code: ``hessian`` differentiates
them).

Then ``tapegrad.testing`` checks it on inputs drawn by hypothesis: the VJP against
finite differences, the JVP/VJP transpose test and ``jax.nn.softplus`` as a
reference, up to second order. Last, it shows what a failure looks like when the
rule is wrong.

Run:  .venv/bin/python examples/custom_primitive.py
"""
from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)  # float64: the checks then see relative errors of 1e-5

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402

import tapegrad as tg  # noqa: E402
import tapegrad.numpy as tnp  # noqa: E402
from tapegrad.testing import arrays, assert_vjp, shapes  # noqa: E402


@tg.custom_vjp
def softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    return tnp.maximum(x, 0.0) + tnp.log1p(tnp.exp(-tnp.abs(x)))


def softplus_fwd(x):
    return softplus(x), x  # (output, residuals for the backward pass)


def softplus_bwd(x, g):
    return (g * 0.5 * (1.0 + tnp.tanh(0.5 * x)),)  # one cotangent per argument


softplus.defvjp(softplus_fwd, softplus_bwd)


# The property test, as it would sit in a test file (pytest collects it as it is).
@settings(max_examples=12, deadline=None)
@given(arrays(shape=shapes(max_dims=3, max_side=2), dtype="float64", elements=(-30, 30)))
def test_softplus(x):
    assert_vjp(softplus, (x,), order=2, reference=jax.nn.softplus)


# A rule with a typical slip: tanh(x) instead of tanh(x / 2).
@tg.custom_vjp
def softplus_wrong(x, scale):
    return scale * softplus(x)


softplus_wrong.defvjp(lambda x, scale: (scale * softplus(x), (x, scale)),
                      lambda r, g: (g * r[1] * 0.5 * (1.0 + tnp.tanh(r[0])), g * softplus(r[0])))

# Right at first order, but the rule stops a gradient it should let through.
@tg.custom_vjp
def softplus_2nd_wrong(x):
    return softplus(x)


softplus_2nd_wrong.defvjp(softplus_fwd, lambda x, g: (g * 0.5 * (1.0 + tnp.tanh(0.5 * tg.stop_gradient(x))),))


def main() -> None:
    print("softplus(1000.) =", float(softplus(1000.0)), "  softplus(-1000.) =", float(softplus(-1000.0)))
    print("grad at 1000.   =", float(tg.grad(softplus)(1000.0)),
          "  second derivative at 0 =", float(tg.grad(tg.grad(softplus))(0.0)))

    test_softplus()  # hypothesis runs it on 12 drawn arrays
    print("test_softplus: passed on 12 hypothesis examples (order 2, reference jax.nn.softplus)")

    x = np.linspace(-2.0, 2.0, 5)
    for fun, args, order in [(softplus_wrong, (x, np.full(5, 1.5)), 1), (softplus_2nd_wrong, (x,), 2)]:
        try:
            assert_vjp(fun, args, order=order)
        except AssertionError as e:
            print(f"\n{fun.__name__}: assert_vjp(order={order}) fails as it should:\n  {e}")
        else:
            raise SystemExit(f"{fun.__name__}: the wrong rule was not caught")


if __name__ == "__main__":
    main()
