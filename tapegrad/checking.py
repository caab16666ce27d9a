"""The gradient oracle: finite differences, the JVP/VJP transpose test, and a reference.

One machinery serves ``tg.check_grads`` and ``tapegrad.testing.assert_vjp``.
For random directions ``v`` (inputs) and ``u`` (outputs) it checks

* ``fwd``: the JVP ``J v`` against central finite differences of ``fun``;
* ``rev``: ``<u, J v>`` by finite differences against ``<J^T u, v>`` from the VJP;
* both modes: the transpose identity ``<u, J v>_jvp == <J^T u, v>_vjp``;
* ``reference``: ``J^T u`` against ``jax.vjp`` of a jax.numpy function;

then repeats at the next order on ``x -> J(x)^T u`` (the backward pass itself,
differentiated again), up to ``order``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_map, tree_unflatten

# Finite-difference step and tolerances by dtype: the step balances truncation
# (~eps^2) against rounding (~ulp/eps) for central differences.
_EPS = {np.dtype("float64"): 1e-6, np.dtype("float32"): 3e-3, np.dtype("float16"): 1e-1}
_TOL = {np.dtype("float64"): (1e-5, 1e-6), np.dtype("float32"): (3e-2, 3e-3), np.dtype("float16"): (2e-1, 1e-1)}


class GradientCheckError(AssertionError):
    """A derivative disagreed with its oracle; the message says where and by how much."""


def _dtype_of(leaves: Sequence[Any]) -> np.dtype:
    dts = [np.dtype(jnp.result_type(x)) for x in leaves] or [np.dtype("float64")]
    # The least precise dtype sets the step and the tolerance.
    return max(dts, key=lambda d: np.finfo(d).eps)


def _floats(x: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(x), jnp.floating)


def _random_like(rng: np.random.RandomState, leaves: Sequence[Any]) -> list[Any]:
    return [jnp.asarray(rng.normal(size=np.shape(x)), dtype=jnp.result_type(x)) for x in leaves]


def _vdot(a: Sequence[Any], b: Sequence[Any]) -> float:
    return float(sum(np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64)) for x, y in zip(a, b)))


def _norm(a: Sequence[Any]) -> float:
    return float(np.sqrt(sum(np.sum(np.asarray(x, np.float64) ** 2) for x in a)))


def _describe(fun: Callable) -> str:
    return getattr(fun, "__name__", None) or type(fun).__name__


def _ops_of(fun: Callable, args: tuple) -> str:
    """The primitives ``fun`` records, to name the op in a failure message."""
    from tapegrad.transforms.make_tape import make_tape

    try:
        names = []
        for e in make_tape(fun)(*args):
            if e.prim.name not in names:
                names.append(e.prim.name)
        return ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
    except Exception:  # the message must not fail because listing did
        return "?"


def check_vjp(fun: Callable, args: Sequence[Any], order: int = 1, modes: Sequence[str] = ("rev", "fwd"),
              reference: Callable | None = None, eps: float | None = None, rtol: float | None = None,
              atol: float | None = None, seed: int = 0, _level: int = 1) -> None:
    """Check ``fun``'s derivatives at ``args``; raise :class:`GradientCheckError` on a mismatch.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> check_vjp(tnp.sin, (jnp.linspace(0.0, 1.0, 3, dtype="float32"),), order=2)
    """
    from tapegrad.transforms.forward import linearize_forward
    from tapegrad.transforms.reverse import vjp

    modes = tuple(modes)
    if not set(modes) <= {"rev", "fwd"} or not modes:
        raise ValueError(f"modes must be a non-empty subset of ('rev', 'fwd'), got {modes!r}")
    args = tuple(args)
    in_leaves, in_tree = tree_flatten(args)
    if not all(_floats(x) for x in in_leaves):
        raise TypeError("check_grads/assert_vjp: every argument leaf must be a floating-point array")
    dtype = _dtype_of(in_leaves)
    step = eps or _EPS.get(dtype, 1e-3)
    rt, at = _TOL.get(dtype, (1e-2, 1e-3))
    rtol, atol = rtol or rt, atol or at
    rng = np.random.RandomState(seed + 7919 * _level)

    def fail(mode: str, what: str, err: float, scale: float, detail: str = "") -> None:
        raise GradientCheckError(
            f"{what} of {_describe(fun)} (ops: {_ops_of(fun, args)}) is wrong at order {_level}, mode "
            f"'{mode}': largest error {err:.3g} (allowed {atol + rtol * scale:.3g}; rtol={rtol:g}, "
            f"atol={atol:g}, dtype {dtype.name}){detail}")

    out, vjp_fn = vjp(fun, *args)
    out_leaves, out_tree = tree_flatten(out)
    v = _random_like(rng, in_leaves)
    u = _random_like(rng, out_leaves)

    def f_at(shift: float) -> list[Any]:
        moved = tree_unflatten(in_tree, [x + shift * d for x, d in zip(in_leaves, v)])
        return tree_flatten(fun(*moved))[0]

    fd = [(a - b) / (2 * step) for a, b in zip(f_at(step), f_at(-step))]
    ct = tree_flatten(vjp_fn(tree_unflatten(out_tree, u)))[0]
    u_fd = _vdot(u, fd)
    ct_v = _vdot(ct, v)
    if "rev" in modes:
        scale = _norm(u) * _norm(fd) + _norm(ct) * _norm(v)
        if abs(u_fd - ct_v) > atol + rtol * scale:
            fail("rev", "the VJP", abs(u_fd - ct_v), scale,
                 f": <u, finite-difference J v> = {u_fd:.6g} but <J^T u, v> = {ct_v:.6g}")
    if "fwd" in modes:
        _, jvp_fn = linearize_forward(fun, *args)
        jv = tree_flatten(jvp_fn(*tree_unflatten(in_tree, v)))[0]
        for k, (a, b) in enumerate(zip(jv, fd)):
            err = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
            bound = atol + rtol * np.abs(np.asarray(b, np.float64))
            if err.size and np.any(err > bound):
                i = int(np.argmax(err - bound))
                fail("fwd", "the JVP", float(err.flat[i]), float(np.abs(np.asarray(b)).flat[i]),
                     f" at output {k}, element {np.unravel_index(i, err.shape)}")
        if "rev" in modes:
            u_jv = _vdot(u, jv)
            scale = _norm(u) * _norm(jv) + _norm(ct) * _norm(v)
            if abs(u_jv - ct_v) > atol + rtol * scale:
                fail("fwd+rev", "the transpose identity", abs(u_jv - ct_v), scale,
                     f": <u, J v> (JVP) = {u_jv:.6g} but <J^T u, v> (VJP) = {ct_v:.6g}")
    if reference is not None:
        _, ref_vjp = jax.vjp(reference, *args)
        ref = tree_flatten(ref_vjp(tree_unflatten(out_tree, u)))[0]
        for k, (a, b) in enumerate(zip(ct, ref)):
            a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if a64.shape != b64.shape:
                raise GradientCheckError(f"the VJP of {_describe(fun)} for argument {k} has shape "
                                         f"{a64.shape} but jax.vjp of the reference gives {b64.shape}")
            err = np.abs(a64 - b64)
            bound = atol + rtol * np.abs(b64)
            if err.size and np.any(err > bound):
                i = int(np.argmax(err - bound))
                fail("rev", f"the VJP for argument {k}", float(err.flat[i]), float(np.abs(b64).flat[i]),
                     f" against jax.vjp of the reference, at element {np.unravel_index(i, err.shape)}")

    if order > 1:
        u_fixed = tree_unflatten(out_tree, u)
        ref_next = None
        if reference is not None:
            ref_next = lambda *a: jax.vjp(reference, *a)[1](u_fixed)  # noqa: E731

        def pulled_back(*a: Any) -> Any:
            return vjp(fun, *a)[1](u_fixed)

        pulled_back.__name__ = f"vjp({_describe(fun)})"
        check_vjp(pulled_back, args, order - 1, modes, ref_next, eps, rtol, atol, seed, _level + 1)


def check_grads(fun: Callable, args: Sequence[Any], order: int = 1, modes: Sequence[str] = ("rev", "fwd"),
                eps: float | None = None, rtol: float | None = None, atol: float | None = None) -> None:
    """Compare ``fun``'s derivatives with central finite differences, up to ``order``.

    Returns ``None``, or raises ``AssertionError`` naming the function, its ops, the
    order, the mode and the largest error. Use float64 inputs for tight checks.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tg.check_grads(tnp.tanh, (tnp.linspace(-1.0, 1.0, 4, dtype="float32"),), order=2)
    """
    if not callable(fun):
        raise TypeError(f"tg.check_grads expects a callable, got {type(fun).__name__}")
    if not isinstance(args, (tuple, list)):
        raise TypeError("tg.check_grads: args must be a tuple of arguments, e.g. (x,)")
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"tg.check_grads: order must be a positive int, got {order!r}")
    check_vjp(fun, tuple(tree_map(jnp.asarray, tuple(args))), order, modes, None, eps, rtol, atol)
