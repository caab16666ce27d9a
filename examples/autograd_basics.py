"""The seed tutorial's AutoGrad chapter, in tapegrad.

PyTorch keeps gradients on tensors (``x.grad`` after ``out.backward()``);
tapegrad computes them with functional transforms instead. Each section below
is one of the tutorial's scripts (autograd/ex1.py, ex2.py, ex3.py,
diff_tensor.py, no_grad.py) and prints the tutorial's numbers.

Run: ``python examples/autograd_basics.py``
"""
import jax.numpy as jnp

import tapegrad as tg
import tapegrad.numpy as tnp


def f(x):
    y = x + 2
    z = y * y * 3  # = 3 (x + 2)^2
    return z


def ex1() -> None:
    """out = mean(3 (x + 2)^2); out.backward() -> x.grad = 6 (x + 2) / 4 = 4.5."""
    x = tnp.ones((2, 2))
    grad = tg.grad(lambda x: f(x).mean())(x)
    print("ex1: d(out)/dx =\n", grad)


def ex2() -> None:
    """out.backward(torch.ones(2, 2)): the gradient argument weights each element -> 18."""
    x = tnp.ones((2, 2))
    out, vjp_fn = tg.vjp(f, x)
    (grad,) = vjp_fn(tnp.ones((2, 2)))
    print("ex2: out =\n", out, "\n    x.grad =\n", grad)


def ex3() -> None:
    """out.backward(torch.tensor([[1, 2], [3, 4]])) -> [[18, 36], [54, 72]]."""
    x = tnp.ones((2, 2))
    _, vjp_fn = tg.vjp(f, x)
    (grad,) = vjp_fn(tnp.array([[1.0, 2.0], [3.0, 4.0]]))
    print("ex3: x.grad =\n", grad)


def diff_tensor() -> None:
    """y = W x: with cotangent ones, dL/dW has every row equal to x (the tutorial's matrix)."""
    W = tnp.arange(6.0).reshape(2, 3)
    x = tnp.array([1.0, 2.0, 3.0])
    _, vjp_fn = tg.vjp(lambda W: W @ x, W)
    (dW,) = vjp_fn(tnp.ones(2))
    print("diff_tensor: dy/dW (rows are x) =\n", dW)
    # The matrix-product rule: dL/dW = dL/dY · X^T.
    X = tnp.arange(6.0).reshape(3, 2)
    dY = tnp.array([[1.0, -1.0], [2.0, 0.5]])
    _, vjp_fn = tg.vjp(lambda W: W @ X, W)
    assert jnp.allclose(vjp_fn(dY)[0], dY @ X.T)
    print("diff_tensor: dL/dW == dL/dY @ X.T holds")


def no_grad() -> None:
    """torch.no_grad() / x.detach(): tg.stop_gradient makes a value a constant."""
    def f(x):
        y = tg.stop_gradient(x ** 2)  # like computing y under no_grad, or (x ** 2).detach()
        return (y * x).sum()

    x = tnp.ones((2, 2))
    print("no_grad: d/dx [stop_gradient(x^2) * x] =\n", tg.grad(f)(x), "(x^2, not 3x^2)")


if __name__ == "__main__":
    ex1()
    ex2()
    ex3()
    diff_tensor()
    no_grad()
