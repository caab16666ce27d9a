"""A table of wrong calls across the public API: each raises the documented exception type with a
message naming the op, the offending shapes/dtypes and, for ops recorded inside a transform, the
user's source line (``test_bad_calls.py:<line>``).

Every row is one lambda, so the line an error message should point to is the row's own line.
"""
from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad import data, nn, optim
from tapegrad.nn import functional as F

LINE = "test_bad_calls.py:"  # what an error raised inside a transform must point to

X23 = jnp.ones((2, 3))
X42 = jnp.ones((4, 2))
LIN = nn.Linear(3, 2)
LIN_P = LIN.init(0)
CONV = nn.Conv2d(3, 4, 3)
CONV_P = CONV.init(0)
SGD = optim.SGD(lr=0.1)
ADAM = optim.Adam()
P = {"w": jnp.ones(3), "b": jnp.zeros(2)}


def grad_of(fn: Callable, x: Any = X23) -> Any:
    """``tg.grad`` of ``sum(fn(x))``: ``fn``'s ops are recorded inside a transform."""
    return tg.grad(lambda a: tnp.sum(fn(a)))(x)


# --- helpers that build a bad situation first ----------------------------------------------------

def _vjp_fn():
    return tg.vjp(lambda x: x * 2.0, jnp.ones(3))[1]


def _custom(n_cts: int = 1, as_tuple: bool = True, defined: bool = True):
    @tg.custom_vjp
    def f(x, y):
        return x * y

    if defined:
        bwd = (lambda r, g: (g * r[1],) * n_cts) if as_tuple else (lambda r, g: g * r[1])
        f.defvjp(lambda x, y: (x * y, (x, y)), bwd)
    return f


_LEAKED: list = []


def _leak():
    tg.grad(lambda x: (_LEAKED.append(x), x * 1.0)[1])(1.0)
    return _LEAKED[-1]


def _setitem(a):
    a[0] = 1.0
    return a


def _file(tmp: str, name: str, content: bytes) -> str:
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(content)
    return path


def _truncated_checkpoint(tmp: str) -> str:
    path = os.path.join(tmp, "good.ckpt")
    tg.save(path, {"w": np.arange(1000.0), "step": 3})
    with open(path, "rb") as f:
        blob = f.read()
    return _file(tmp, "truncated.ckpt", blob[: len(blob) // 2])


def _plain_npz(tmp: str) -> str:
    path = os.path.join(tmp, "plain.npz")
    np.savez(path, w=np.ones(3))
    return path


def _mnist_bad_magic(tmp: str) -> str:
    # The labels' magic number (2049) in the images file.
    header = (2049).to_bytes(4, "big") + (1).to_bytes(4, "big")
    _file(tmp, "train-images-idx3-ubyte.gz", gzip.compress(header + b"\x07"))
    _file(tmp, "train-labels-idx1-ubyte.gz", gzip.compress(header + b"\x07"))
    return tmp


def _mnist_truncated(tmp: str) -> str:
    images = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (2, 28, 28)) + bytes(100)
    labels = (2049).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes(2)
    _file(tmp, "train-images-idx3-ubyte", images)
    _file(tmp, "train-labels-idx1-ubyte", labels)
    return tmp


def _ds(n: int = 4):
    return data.TensorDataset(np.arange(float(n)))


# --- the table -----------------------------------------------------------------------------------

class Bad(NamedTuple):
    call: Callable  # called as call() or call(tmp_path_str) when it takes one argument
    exc: type[BaseException] | tuple[type[BaseException], ...]  # a tuple where either is right
    parts: tuple[str, ...]  # substrings the message must contain


ROWS: dict[str, Bad] = {
    # tapegrad.numpy, eager (the primitive's wrapper names the op and the user's line even here)
    "tnp.matmul shape mismatch": Bad(
        lambda: tnp.matmul(X23, X42), TypeError, ("'matmul'", "[2,3]", "[4,2]", LINE)),
    "tnp.reshape incompatible size": Bad(
        lambda: tnp.reshape(jnp.ones(6), (4, 2)), TypeError, ("'reshape'", "[6]", "(4, 2)", LINE)),
    "tnp.concatenate mismatched ranks": Bad(
        lambda: tnp.concatenate([X23, jnp.ones(3)]), ValueError, ("concatenate", "(2, 3)", "(3,)")),
    "tnp.linalg.inv non-square": Bad(
        lambda: tnp.linalg.inv(X23), ValueError, ("inv", "square", "(2, 3)")),
    "tnp.take axis out of range": Bad(
        lambda: tnp.take(X23, jnp.array([0]), axis=5), ValueError, ("take", "axis 5", "dimension 2")),
    "tnp.linalg.solve shape mismatch": Bad(
        lambda: tnp.linalg.solve(jnp.eye(3), jnp.ones(2)), ValueError, ("solve", "(2,)", "(3, 3)")),
    "tnp.stack different shapes": Bad(
        lambda: tnp.stack([X23, jnp.ones((3, 2))]), ValueError, ("stack", "(2, 3)", "(3, 2)")),
    "tnp.split unequal sections": Bad(
        lambda: tnp.split(X23, 2, axis=1), ValueError, ("split", "size 3", "2 equal")),
    "tnp.squeeze non-unit axis": Bad(
        lambda: tnp.squeeze(X23, 0), ValueError, ("squeeze", "axis 0", "size 2")),
    "tnp.transpose repeated axes": Bad(
        lambda: tnp.transpose(X23, (0, 0)), ValueError, ("transpose", "(0, 0)")),
    # tapegrad.numpy, recorded inside a transform: the message also points to the user's line
    "grad: matmul shape mismatch": Bad(
        lambda: grad_of(lambda a: a @ X42), TypeError, ("'matmul'", "[2,3]", "[4,2]", LINE)),
    "grad: reshape incompatible size": Bad(
        lambda: grad_of(lambda a: tnp.reshape(a, (4, 2))), TypeError, ("'reshape'", "[2,3]", "(4, 2)", LINE)),
    "grad: add incompatible broadcast": Bad(
        lambda: grad_of(lambda a: a + jnp.ones(4)), ValueError, ("'add'", "[2,3]", "[4]", LINE)),
    "grad: sum axis out of range": Bad(
        lambda: grad_of(lambda a: tnp.sum(a, axis=3)), ValueError, ("'sum'", "[2,3]", "axis", LINE)),
    "grad: einsum bad subscripts": Bad(
        lambda: grad_of(lambda a: tnp.einsum("ij,jk->ik", a, X23)), ValueError, ("'einsum'", "[2,3]", LINE)),
    "grad: broadcast_to incompatible": Bad(
        lambda: grad_of(lambda a: tnp.broadcast_to(a, (3, 3))), ValueError,
        ("'broadcast_to'", "[2,3]", "(3, 3)", LINE)),
    "grad: getitem too many indices": Bad(
        lambda: grad_of(lambda a: a[0, 0, 0]), IndexError, ("'getitem'", "[2,3]", "(0, 0, 0)", LINE)),
    "grad: getitem float index": Bad(
        lambda: grad_of(lambda a: a[1.5]), TypeError, ("'getitem'", "1.5", LINE)),
    "jacobian: add incompatible broadcast": Bad(
        lambda: tg.jacobian(lambda x: x + jnp.ones(3))(jnp.ones(4)),
        TypeError, ("'add'", "[4]", "[3]", LINE)),
    "grad: tracer item assignment": Bad(
        lambda: grad_of(_setitem), TypeError, ("immutable", ".at[idx].set")),
    "grad: concatenate mismatched ranks": Bad(
        lambda: grad_of(lambda a: tnp.concatenate([a, jnp.ones(3)])), ValueError,
        ("concatenate", "(2, 3)", "(3,)", LINE)),
    "grad: linalg.inv non-square": Bad(
        lambda: grad_of(lambda a: tnp.linalg.inv(a)), ValueError, ("inv", "(2, 3)", LINE)),
    "grad: take axis out of range": Bad(
        lambda: grad_of(lambda a: tnp.take(a, jnp.array([0]), axis=5)), ValueError,
        ("take", "axis 5", LINE)),
    "grad: nn.Linear wrong feature size": Bad(
        lambda: tg.grad(lambda p: tnp.sum(LIN(p, jnp.ones((5, 4)))))(LIN_P), ValueError,
        ("linear", "[5,4]", "weight expects 3", LINE)),
    # nn and nn.functional
    "F.conv2d channel mismatch": Bad(
        lambda: F.conv2d(jnp.ones((1, 3, 5, 5)), jnp.ones((4, 2, 3, 3))), ValueError,
        ("conv2d", "3 channels", "[1,3,5,5]", "[4,2,3,3]")),
    "nn.Conv2d on a 2-d input": Bad(
        lambda: CONV(CONV_P, jnp.ones((5, 5))), ValueError, ("conv2d", "4-d", "[5,5]")),
    "F.cross_entropy target of wrong shape": Bad(
        lambda: F.cross_entropy(jnp.ones((4, 10)), jnp.zeros((4, 2), int)), ValueError,
        ("cross_entropy", "(4,)", "[4,2]")),
    "F.cross_entropy target out of range": Bad(
        lambda: F.cross_entropy(jnp.ones((4, 10)), jnp.array([0, 1, 2, 11])), IndexError,
        ("cross_entropy", "11", "10 classes")),
    "F.cross_entropy float class targets": Bad(
        lambda: F.cross_entropy(jnp.ones((4, 10)), jnp.ones(4)),
        TypeError, ("cross_entropy", "integers", "[4]")),
    "F.max_pool2d input too small": Bad(
        lambda: F.max_pool2d(jnp.ones((1, 1, 2, 2)), 3),
        ValueError, ("max_pool2d", "[1,1,2,2]", "too small")),
    "F.dropout p out of range": Bad(
        lambda: F.dropout(jnp.ones(3), p=1.5, key=0), ValueError, ("dropout", "1.5")),
    "F.embedding float indices": Bad(
        lambda: F.embedding(jnp.ones(3), jnp.ones((4, 2))), TypeError, ("embedding", "integer", "[3]")),
    "F.embedding index out of range": Bad(
        lambda: F.embedding(jnp.array([7]), jnp.ones((4, 2))), IndexError, ("embedding", "7", "4 rows")),
    "F.layer_norm wrong normalized_shape": Bad(
        lambda: F.layer_norm(X23, 4), ValueError, ("layer_norm", "[4]", "[2,3]")),
    "F.mse_loss incompatible shapes": Bad(
        lambda: F.mse_loss(jnp.ones(3), jnp.ones(4)), (TypeError, ValueError),
        ("mse_loss", "3", "4")),
    "nn.Linear wrong feature size": Bad(
        lambda: LIN(LIN_P, jnp.ones((5, 4))), ValueError, ("linear", "[5,4]", "weight expects 3")),
    "nn module called without params": Bad(
        lambda: LIN(jnp.ones(3)), TypeError, ("Linear", "module(params, x", "ArrayImpl")),
    "nn.Sequential of a non-module": Bad(
        lambda: nn.Sequential(nn.ReLU(), 3), TypeError, ("Sequential", "element 1", "int")),
    "nn init with a string key": Bad(
        lambda: LIN.init("seed"), TypeError, ("seed", "jax.random")),
    "nn.load_state_dict unexpected key": Bad(
        lambda: nn.load_state_dict(LIN_P, {"weight": np.ones((2, 3)), "bias": np.ones(2), "foo": np.ones(1)}),
        ValueError, ("unexpected key 'foo'",)),
    "nn.load_state_dict missing key": Bad(
        lambda: nn.load_state_dict(LIN_P, {"weight": np.ones((2, 3))}), ValueError,
        ("missing key 'bias'", "(2,)")),
    "nn.load_state_dict wrong shape": Bad(
        lambda: nn.load_state_dict(LIN_P, {"weight": np.ones((3, 3)), "bias": np.ones(2)}), ValueError,
        ("'weight'", "(2, 3)", "(3, 3)")),
    # optim
    "optim.SGD(lr=-1)": Bad(lambda: optim.SGD(lr=-1), ValueError, ("SGD", "learning rate", "-1")),
    "optim.SGD nesterov without momentum": Bad(
        lambda: optim.SGD(lr=0.1, nesterov=True), ValueError, ("Nesterov", "momentum")),
    "optim.Adam beta out of range": Bad(
        lambda: optim.Adam(betas=(1.0, 0.9)), ValueError, ("Adam", "beta", "index 0", "1.0")),
    "optim.Adam negative eps": Bad(lambda: optim.Adam(eps=-1.0), ValueError, ("Adam", "epsilon", "-1.0")),
    "optim.RMSprop negative alpha": Bad(lambda: optim.RMSprop(alpha=-0.1), ValueError, ("RMSprop", "alpha")),
    "opt.step grads of another structure": Bad(
        lambda: SGD.step(P, {"w": jnp.ones(3)}, SGD.init(P)), ValueError, ("SGD.step", "structure")),
    "opt.step grads as a list": Bad(
        lambda: ADAM.step(P, [jnp.ones(3), jnp.zeros(2)], ADAM.init(P)),
        ValueError, ("Adam.step", "structure")),
    "opt.step grads of other shapes": Bad(
        lambda: ADAM.step(P, {"w": jnp.ones(4), "b": jnp.zeros(2)}, ADAM.init(P)), ValueError,
        ("Adam.step", "(4,)", "(3,)")),
    # data
    "DataLoader(batch_size=0)": Bad(
        lambda: data.DataLoader(_ds(), batch_size=0), ValueError, ("batch_size", "0")),
    "DataLoader(batch_size=2.5)": Bad(
        lambda: data.DataLoader(_ds(), batch_size=2.5), ValueError, ("batch_size", "2.5")),
    # batch_size=None alone is PyTorch's "no automatic batching" (single samples); with drop_last it is
    # refused, as torch refuses it.
    "DataLoader(batch_size=None, drop_last=True)": Bad(
        lambda: data.DataLoader(_ds(), batch_size=None, drop_last=True), ValueError, ("batch_size", "drop_last")),
    "DataLoader(batch_size='ab')": Bad(
        lambda: data.DataLoader(_ds(), batch_size="ab"), ValueError, ("batch_size", "'ab'")),
    "DataLoader(batch_size=nan)": Bad(
        lambda: data.DataLoader(_ds(), batch_size=float("nan")), ValueError, ("batch_size", "nan")),
    "F.mse_loss incompatible shapes inside grad": Bad(
        lambda: tg.grad(lambda a: F.mse_loss(a, jnp.ones(4)))(jnp.ones(3)), ValueError,
        ("mse_loss", "[3]", "[4]", LINE)),
    "DataLoader(seed=-1)": Bad(lambda: data.DataLoader(_ds(), seed=-1), ValueError, ("seed", "-1")),
    "random_split counts not summing": Bad(
        lambda: data.random_split(_ds(4), [1, 2]), ValueError, ("[1, 2]", "length 4")),
    "random_split fractions not summing": Bad(
        lambda: data.random_split(_ds(4), [0.5, 0.6]), ValueError, ("sum to 1", "[0.5, 0.6]")),
    "TensorDataset different lengths": Bad(
        lambda: data.TensorDataset(np.ones(4), np.ones(3)), ValueError, ("leading length", "(4,)", "(3,)")),
    "MNIST on a missing directory": Bad(
        lambda tmp: data.datasets.MNIST(os.path.join(tmp, "nowhere")), FileNotFoundError,
        ("train-images-idx3-ubyte", "nowhere", "download=True")),
    "MNIST with a wrong magic number": Bad(
        lambda tmp: data.datasets.MNIST(_mnist_bad_magic(tmp)), ValueError, ("magic number 2049", "2051")),
    "MNIST with a truncated file": Bad(
        lambda tmp: data.datasets.MNIST(_mnist_truncated(tmp)), ValueError, ("truncated", "(2, 28, 28)")),
    "Normalize with zero std": Bad(
        lambda: data.transforms.Normalize((0.0,), (0.0,))(np.ones((1, 2, 2), np.float32)),
        ValueError, ("std",)),
    # io
    "tg.load of a text file": Bad(
        lambda tmp: tg.load(_file(tmp, "notes.txt", b"hello, world\n")), ValueError,
        ("notes.txt", "not a valid tapegrad checkpoint")),
    "tg.load of a truncated checkpoint": Bad(
        lambda tmp: tg.load(_truncated_checkpoint(tmp)), ValueError,
        ("truncated.ckpt", "not a valid tapegrad checkpoint")),
    "tg.load of a foreign .npz": Bad(
        lambda tmp: tg.load(_plain_npz(tmp)), ValueError, ("plain.npz", "no tapegrad marker")),
    "tg.load of an empty file": Bad(
        lambda tmp: tg.load(_file(tmp, "empty.ckpt", b"")), ValueError, ("empty.ckpt", "not a valid")),
    "tg.load of a missing file": Bad(
        lambda tmp: tg.load(os.path.join(tmp, "missing.ckpt")), FileNotFoundError, ("missing.ckpt",)),
    "tg.save of an object leaf": Bad(
        lambda tmp: tg.save(os.path.join(tmp, "x.ckpt"), {"a": object()}),
        TypeError, ("cannot save", "object")),
    "tg.save of an object array": Bad(
        lambda tmp: tg.save(os.path.join(tmp, "x.ckpt"), np.array([1, "a"], dtype=object)), TypeError,
        ("cannot save", "dtype object")),
    # transforms
    "grad argnums out of range": Bad(
        lambda: tg.grad(lambda x: x, argnums=1)(1.0), ValueError, ("tg.grad", "argnums=1", "out of range")),
    "grad negative argnums out of range": Bad(
        lambda: tg.grad(lambda x, y: x, argnums=(0, -3))(1.0, 2.0), ValueError, ("(0, -3)", "2 positional")),
    "grad argnums of type float": Bad(
        lambda: tg.grad(lambda x: x, argnums=0.0)(1.0), TypeError, ("argnums", "0.0")),
    "value_and_grad argnums=True": Bad(
        lambda: tg.value_and_grad(lambda x: x, argnums=True)(1.0),
        TypeError, ("value_and_grad", "argnums", "True")),
    "grad of a non-scalar output": Bad(
        lambda: tg.grad(lambda x: x * 2.0)(jnp.ones((2, 2))), TypeError, ("scalar", "(2, 2)", "tg.vjp")),
    "grad of an integer output": Bad(
        lambda: tg.grad(lambda x: tnp.sum(x).astype(int))(jnp.ones(2)),
        TypeError, ("int64", "floating-point")),
    "grad w.r.t. an int input": Bad(
        lambda: tg.grad(lambda x: x * 1.0)(3), TypeError, ("args[0]", "int", "floating-point")),
    "grad w.r.t. a complex input": Bad(
        lambda: tg.grad(lambda x: x * 1.0)(1j), TypeError, ("complex128", "floating-point")),
    "grad w.r.t. a string": Bad(
        lambda: tg.grad(lambda x: 1.0)("hello"), TypeError, ("str", "not an array")),
    "grad of a non-callable": Bad(lambda: tg.grad(3), TypeError, ("tg.grad", "callable", "int")),
    "jacobian of a non-callable": Bad(
        lambda: tg.jacobian("f"), TypeError, ("tg.jacobian", "callable", "str")),
    "hessian of a non-scalar function": Bad(
        lambda: tg.hessian(lambda x: x * 2.0)(jnp.ones(2)), TypeError, ("scalar", "(2,)")),
    "grad has_aux without a pair": Bad(
        lambda: tg.grad(lambda x: x * 2.0, has_aux=True)(1.0), TypeError, ("has_aux", "pair")),
    "vjp_fn with the wrong cotangent shape": Bad(
        lambda: _vjp_fn()(jnp.ones(4)), ValueError, ("cotangent", "(4,)", "(3,)")),
    "vjp_fn with an integer cotangent": Bad(
        lambda: _vjp_fn()(jnp.ones(3, int)), ValueError, ("int64", "float64")),
    "vjp_fn with a cotangent of another structure": Bad(
        lambda: _vjp_fn()((jnp.ones(3), jnp.ones(3))), ValueError, ("structure",)),
    "jvp with mismatched tangent shapes": Bad(
        lambda: tg.jvp(lambda x: x, (jnp.ones(2),), (jnp.ones(3),)), ValueError, ("tangent", "(3,)", "(2,)")),
    "jvp with more tangents than primals": Bad(
        lambda: tg.jvp(lambda x: x, (1.0,), (1.0, 2.0)), ValueError, ("same structure",)),
    "jvp with primals not a tuple": Bad(
        lambda: tg.jvp(lambda x: x, 1.0, 1.0), TypeError, ("tuples", "float")),
    "tracer into jnp.sin": Bad(
        lambda: tg.grad(lambda x: jnp.sin(x))(1.0), TypeError, ("tapegrad.numpy", "tnp.sin")),
    "tracer into np.sin": Bad(
        lambda: tg.grad(lambda x: np.sin(x))(1.0), TypeError, ("tapegrad.numpy", "shape ()", "float64")),
    "tracer used after its transform returned": Bad(
        lambda: tnp.sin(_leak()), TypeError, ("'sin'", "escaped", LINE)),
    "custom_vjp bwd with too few cotangents": Bad(
        lambda: tg.grad(_custom(n_cts=1))(2.0, 3.0), TypeError, ("custom_vjp 'f'", "1 cotangents for 2")),
    "custom_vjp bwd with too many cotangents": Bad(
        lambda: tg.grad(_custom(n_cts=3))(2.0, 3.0), TypeError, ("custom_vjp 'f'", "3 cotangents for 2")),
    "custom_vjp bwd not returning a tuple": Bad(
        lambda: tg.grad(_custom(as_tuple=False))(2.0, 3.0), TypeError, ("custom_vjp 'f'", "tuple")),
    "custom_vjp used before defvjp": Bad(
        lambda: tg.grad(_custom(defined=False))(2.0, 3.0), TypeError, ("custom_vjp 'f'", "defvjp")),
    "check_grads with a non-tuple args": Bad(
        lambda: tg.check_grads(tnp.sin, jnp.ones(2)), TypeError, ("check_grads", "tuple")),
    "check_grads with order=0": Bad(
        lambda: tg.check_grads(tnp.sin, (jnp.ones(2),), order=0), ValueError, ("order", "0")),
    "check_grads with an unknown mode": Bad(
        lambda: tg.check_grads(tnp.sin, (jnp.ones(2),), modes=("sideways",)),
        ValueError, ("modes", "sideways")),
    "check_grads with integer args only": Bad(
        lambda: tg.check_grads(tnp.sin, (jnp.arange(3),)), TypeError, ("check_grads", "floating-point")),
    "make_tape of a non-callable": Bad(lambda: tg.make_tape(None), TypeError, ("make_tape", "callable")),
    "checkpoint of a non-callable": Bad(lambda: tg.checkpoint(3), TypeError, ("checkpoint", "callable")),
}

def test_table_is_big_enough():
    assert len(ROWS) >= 40
    print(f"bad calls checked: {len(ROWS)}")


@pytest.mark.filterwarnings("ignore:mse_loss:UserWarning")
@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_bad_call(row: Bad, tmp_path):
    takes_path = row.call.__code__.co_argcount == 1
    with pytest.raises(Exception) as info:
        row.call(str(tmp_path)) if takes_path else row.call()
    err = info.value
    expected = row.exc if isinstance(row.exc, tuple) else (row.exc,)
    assert isinstance(err, expected), (
        f"expected {' or '.join(e.__name__ for e in expected)}, got {type(err).__name__}: {err}")
    msg = str(err)
    missing = [p for p in row.parts if p not in msg]
    assert not missing, f"message lacks {missing}:\n{msg}"
    if LINE in row.parts:  # the line named is the row's own line, not a line inside tapegrad
        line = row.call.__code__.co_firstlineno
        assert f"{LINE}{line}" in msg or f"{LINE}{line + 1}" in msg or f"{LINE}{line + 2}" in msg, msg
