"""Complex numbers through every transform, and every rule that can see complex values.

The conventions (API.md §2): ``grad``/``vjp`` give PyTorch's ``z.grad`` after ``out.backward(g)``,
which is ``conj(jax_vjp(conj(g)))``; ``holomorphic=True`` gives ``f'(z)`` as JAX; ``jvp`` and
``jacfwd`` give JAX's values. Each op is checked against torch.autograd (first and second order)
and against jax.vjp/jax.jvp of the same jax.numpy function.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.transforms.reverse import vjp_jax

RNG = np.random.default_rng(0)


def crandn(*shape):
    return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)).astype(np.complex128)


def t_(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


def close(a, b, tol=1e-9):
    if hasattr(b, "detach"):
        b = b.detach().resolve_conj().resolve_neg().numpy()
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def test_the_contracts_worked_example():
    assert complex(tg.grad(lambda z: tnp.abs(z) ** 2)(3 + 4j)) == 6 + 8j
    assert complex(jax.grad(lambda z: jnp.abs(z) ** 2)(3 + 4j)) == 6 - 8j
    assert complex(tg.grad(lambda z: z * z, holomorphic=True)(1j)) == 2j


# name, tapegrad fn, jnp fn, torch fn, input maker (all arguments complex unless said)
UNARY = [
    ("exp", tnp.exp, jnp.exp, torch.exp),
    ("log", tnp.log, jnp.log, torch.log),
    ("sqrt", tnp.sqrt, jnp.sqrt, torch.sqrt),
    ("sin", tnp.sin, jnp.sin, torch.sin),
    ("cos", tnp.cos, jnp.cos, torch.cos),
    ("tan", tnp.tan, jnp.tan, torch.tan),
    ("sinh", tnp.sinh, jnp.sinh, torch.sinh),
    ("cosh", tnp.cosh, jnp.cosh, torch.cosh),
    ("tanh", tnp.tanh, jnp.tanh, torch.tanh),
    ("arcsin", tnp.arcsin, jnp.arcsin, torch.asin),
    ("arccos", tnp.arccos, jnp.arccos, torch.acos),
    ("arctan", tnp.arctan, jnp.arctan, torch.atan),
    ("arcsinh", tnp.arcsinh, jnp.arcsinh, torch.asinh),
    ("arccosh", tnp.arccosh, jnp.arccosh, torch.acosh),
    ("arctanh", tnp.arctanh, jnp.arctanh, torch.atanh),
    ("log1p", tnp.log1p, jnp.log1p, torch.log1p),
    ("expm1", tnp.expm1, jnp.expm1, torch.expm1),
    ("abs", tnp.abs, jnp.abs, torch.abs),
    ("conj", tnp.conj, jnp.conj, torch.conj),
    ("real", tnp.real, jnp.real, torch.real),
    ("imag", tnp.imag, jnp.imag, torch.imag),
    ("square", tnp.square, jnp.square, torch.square),
    ("reciprocal", tnp.reciprocal, jnp.reciprocal, torch.reciprocal),
    ("negative", tnp.negative, jnp.negative, torch.neg),
    ("sum", tnp.sum, jnp.sum, torch.sum),
    ("mean", tnp.mean, jnp.mean, torch.mean),
    ("prod", tnp.prod, jnp.prod, torch.prod),
    ("var", tnp.var, jnp.var, lambda z: torch.var(z, correction=0)),
    ("std", tnp.std, jnp.std, lambda z: torch.std(z, correction=0)),
    ("cumsum", lambda z: tnp.cumsum(z, 0), lambda z: jnp.cumsum(z, 0), lambda z: torch.cumsum(z, 0)),
    ("cumprod", lambda z: tnp.cumprod(z, 0), lambda z: jnp.cumprod(z, 0), lambda z: torch.cumprod(z, 0)),
    ("transpose", lambda z: z.T, lambda z: z.T, lambda z: z.T),
    ("getitem", lambda z: z[1:, ::2], lambda z: z[1:, ::2], lambda z: z[1:, ::2]),
    ("inv", tnp.linalg.inv, jnp.linalg.inv, torch.linalg.inv),
    ("det", tnp.linalg.det, jnp.linalg.det, torch.linalg.det),
    ("matmul self", lambda z: z @ z, lambda z: z @ z, lambda z: z @ z),
]

BINARY = [
    ("add", tnp.add, jnp.add, torch.add),
    ("subtract", tnp.subtract, jnp.subtract, torch.sub),
    ("multiply", tnp.multiply, jnp.multiply, torch.mul),
    ("divide", tnp.divide, jnp.divide, torch.div),
    ("power", tnp.power, jnp.power, torch.pow),
    ("matmul", tnp.matmul, jnp.matmul, torch.matmul),
    ("solve", tnp.linalg.solve, jnp.linalg.solve, torch.linalg.solve),
    ("einsum", lambda a, b: tnp.einsum("ij,jk->ik", a, b), lambda a, b: jnp.einsum("ij,jk->ik", a, b),
     lambda a, b: torch.einsum("ij,jk->ik", a, b)),
]


def _input(name):
    z = crandn(3, 3) * 0.5
    if name in ("arccosh",):
        z = z + 2.0
    if name in ("inv", "det", "matmul self", "solve"):
        z = z + 3 * np.eye(3)
    return z


def _check(fn, jf, tf, args):
    zs = [jnp.asarray(a) for a in args]
    out, vjp_fn = tg.vjp(fn, *zs)
    want_out = jf(*zs)
    close(out, want_out)
    g = jnp.asarray(crandn(*np.shape(out)) if jnp.iscomplexobj(out) else RNG.normal(size=np.shape(out)))
    got = vjp_fn(g)
    # torch: z.grad after out.backward(g)
    tz = [t_(a, grad=True) for a in args]
    tout = tf(*tz)
    tout.backward(t_(g))
    for a, b in zip(got, tz):
        close(a, b.grad)
    # the same as conj(jax_vjp(conj(g)))
    _, jvp_fn = jax.vjp(jf, *zs)
    for a, b in zip(got, jvp_fn(jnp.conj(g))):
        close(a, jnp.conj(b))
    # forward mode gives JAX's values
    ts = tuple(jnp.asarray(crandn(*np.shape(a))) for a in args)
    close(tg.jvp(fn, tuple(zs), ts)[1], jax.jvp(jf, tuple(zs), ts)[1])
    # second order: the VJP differentiated again, in JAX's convention, against JAX
    u = tuple(jnp.asarray(crandn(*np.shape(a))) for a in args)
    second = vjp_jax(lambda *z: vjp_jax(fn, *z)[1](g), *zs)[1](u)
    want = jax.vjp(lambda *z: jax.vjp(jf, *z)[1](g), *zs)[1](u)
    for a, b in zip(second, want):
        close(a, b, 1e-8)
    # and against torch's double backward of the real loss Re<w, z.grad>
    tz = [t_(a, grad=True) for a in args]
    (first,) = torch.autograd.grad(tf(*tz), tz[0], t_(g), create_graph=True)
    w = crandn(*np.shape(args[0]))
    ours = tg.grad(lambda *z: tnp.real(tnp.sum(tg.vjp(fn, *z)[1](g)[0] * w)), argnums=tuple(range(len(args))))(*zs)
    if not first.requires_grad:  # a linear op: its VJP does not depend on the inputs
        for a in ours:
            close(a, np.zeros(np.shape(a)))
        return
    loss = torch.real(torch.sum(first * t_(w)))
    tsecond = torch.autograd.grad(loss, tz, allow_unused=True)
    for a, b, z in zip(ours, tsecond, tz):
        close(a, torch.zeros_like(z) if b is None else b, 1e-8)


@pytest.mark.parametrize("name,fn,jf,tf", UNARY, ids=[u[0] for u in UNARY])
def test_unary_complex_rules_match_torch_and_jax(name, fn, jf, tf):
    _check(fn, jf, tf, [_input(name)])


@pytest.mark.parametrize("name,fn,jf,tf", BINARY, ids=[b[0] for b in BINARY])
def test_binary_complex_rules_match_torch_and_jax(name, fn, jf, tf):
    a, b = _input(name), crandn(3, 3) * 0.5
    if name == "power":
        a = a + 1.5
    _check(fn, jf, tf, [a, b])


def test_broadcasting_real_and_complex_operands():
    # A real parameter times a complex signal: the real argument's gradient is real (PyTorch's too).
    x, z = RNG.normal(size=(3,)), crandn(2, 3)
    f = lambda x, z: tnp.sum(tnp.abs(x * z) ** 2)
    gx, gz = tg.grad(f, (0, 1))(jnp.asarray(x), jnp.asarray(z))
    tx, tz = t_(x, True), t_(z, True)
    torch.sum(torch.abs(tx * tz) ** 2).backward()
    assert gx.dtype == jnp.float64
    close(gx, tx.grad)
    close(gz, tz.grad)


def test_holomorphic_transforms_match_jax():
    z = jnp.asarray(crandn(3))
    f = lambda z: tnp.sum(tnp.sin(z) * z + tnp.exp(z) / (z + 3))
    jf = lambda z: jnp.sum(jnp.sin(z) * z + jnp.exp(z) / (z + 3))
    close(tg.grad(f, holomorphic=True)(z), jax.grad(jf, holomorphic=True)(z))
    close(tg.hessian(f, holomorphic=True)(z), jax.hessian(jf, holomorphic=True)(z))
    vf = lambda z: tnp.sin(z) * z
    jvf = lambda z: jnp.sin(z) * z
    close(tg.jacobian(vf, holomorphic=True)(z), jax.jacrev(jvf, holomorphic=True)(z))
    close(tg.jacfwd(vf, holomorphic=True)(z), jax.jacfwd(jvf, holomorphic=True)(z))


def test_holomorphic_needs_complex_inputs_and_grad_needs_a_real_output():
    with pytest.raises(TypeError, match="holomorphic=True.*complex inputs"):
        tg.grad(lambda x: x * x, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="holomorphic=True"):
        tg.grad(lambda z: z * z)(1j)


def test_jacobian_of_a_complex_input_is_pytorchs():
    z = crandn(3)
    f = lambda z: tnp.abs(z) ** 2 + tnp.real(z)
    jac = tg.jacobian(f)(jnp.asarray(z))
    tjac = torch.autograd.functional.jacobian(lambda z: torch.abs(z) ** 2 + torch.real(z), t_(z))
    close(jac, tjac)


@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1)])
def test_grad_takes_one_element_outputs_of_any_shape(shape):
    x = jnp.arange(1.0, 4.0)
    g = tg.grad(lambda x: tnp.reshape(tnp.sum(x * x), shape))(x)
    tx = t_(np.asarray(x), True)
    torch.sum(tx * tx).reshape(shape).backward()
    close(g, tx.grad)
    v, g2 = tg.value_and_grad(lambda x: tnp.reshape(tnp.sum(x * x), shape))(x)
    assert v.shape == shape
    with pytest.raises(TypeError, match=r"shape \(2,\)"):
        tg.grad(lambda x: x[:2])(x)


def test_abs_at_complex_zero_has_a_zero_gradient_as_jax_and_torch():
    # d|z| = conj(z)/|z| is 0/0 at z == 0: JAX and torch give 0 there (a zero triangle of a
    # complex cholesky, say, must not turn a whole gradient into NaN).
    for f_tg, f_t in [(lambda z: tnp.abs(z), lambda z: z.abs()), (lambda z: tnp.abs(z) ** 2, lambda z: z.abs() ** 2)]:
        z = torch.tensor([0j, 3 + 4j], requires_grad=True)
        f_t(z).sum().backward()
        got = tg.grad(lambda v, f=f_tg: tnp.sum(f(v)))(jnp.asarray([0j, 3 + 4j]))
        np.testing.assert_allclose(np.asarray(got), z.grad.numpy(), rtol=1e-6)
        assert not np.isnan(np.asarray(got)).any()
