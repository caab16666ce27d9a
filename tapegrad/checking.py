"""The gradient oracle: finite differences, the JVP/VJP transpose test, and a reference.

One machinery serves ``tg.check_grads`` and ``tapegrad.testing.assert_vjp``.
For every floating-point argument leaf ``x_i`` separately (so that a failure
names the argument), with random output cotangents ``u`` and input directions
``v``, it checks at each order:

* ``rev``: ``<u, J_i v>`` by central finite differences against ``<J_i^T u, v>``
  from the VJP, along a random ``v`` and along the VJP's own direction
  ``v = J_i^T u`` (which no error proportional to the true gradient escapes);
* ``fwd``: the JVP ``J_i v`` element by element against finite differences;
* ``transpose`` (both modes): ``<u, J_i v>_JVP == <J_i^T u, v>_VJP``, to rounding
  error, which is much tighter than finite differences can be;
* ``reference`` (given a jax.numpy function): the output, ``J^T u`` against
  ``jax.vjp`` and ``J v`` against ``jax.jvp`` of it;

then repeats on the next derivative, ``x -> J(x)^T u`` (the backward pass itself,
differentiated again; ``x -> J(x) v`` when only ``fwd`` is checked), up to ``order``.

Non-floating-point leaves of ``args`` (integer indices, Python ints used as
static values) are held fixed, as constants.
"""
from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import keystr, tree_flatten_with_path, tree_map, tree_unflatten

_F64, _F32, _F16 = np.dtype("float64"), np.dtype("float32"), np.dtype("float16")
_BF16 = np.dtype(jnp.bfloat16)

# Central-difference step by dtype: it balances truncation (~h^2) against
# rounding (~ulp/h). The step is scaled by max(1, |x|) element by element.
_EPS = {_F64: 1e-6, _F32: 3e-3, _F16: 1e-1, _BF16: 2e-1}
# (rtol, atol) for comparisons with finite differences.
_TOL = {_F64: (1e-5, 1e-6), _F32: (3e-2, 3e-3), _F16: (2e-1, 1e-1), _BF16: (3e-1, 3e-1)}
# (rtol, atol) between two exact computations: the transpose test, a reference.
# Their differences are rounding only, but rounding relative to the intermediates
# (1 - tanh(x)**2 at saturation, say), which can dwarf a small result: hence atol
# a tenth of the finite differences' in low precision.
_EXACT_TOL = {_F64: (1e-8, 1e-9), _F32: (1e-4, 3e-4), _F16: (5e-2, 5e-2), _BF16: (1e-1, 1e-1)}
# Random probes (cotangents u, directions v) have independent entries of random
# sign and magnitude in [0.5, 1.5]: never tiny, so a one-element output is probed
# as firmly as a large one. A dot-product test sums the finite-difference errors
# e against u; by Hoeffding, |<u, e>| > 8 |e| has probability below 2e-6.
_SIGMAS = 8.0


def _probe(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice((-1.0, 1.0), size=shape) * rng.uniform(0.5, 1.5, size=shape)


MODES = ("rev", "fwd")


class GradientCheckError(AssertionError):
    """A derivative disagreed with its oracle; the message says where and by how much."""


def _dtype(x: Any) -> np.dtype:
    return np.dtype(x.dtype) if hasattr(x, "dtype") else np.dtype(jnp.result_type(x))


def _is_float(x: Any) -> bool:
    try:
        return bool(jnp.issubdtype(_dtype(x), jnp.floating))
    except TypeError:
        return False


def _is_complex(x: Any) -> bool:
    try:
        return bool(jnp.issubdtype(_dtype(x), jnp.complexfloating))
    except TypeError:
        return False


def _least_precise(dts: Sequence[np.dtype]) -> np.dtype:
    return max(dts, key=lambda d: float(jnp.finfo(d).eps)) if dts else _F64


def _f64(x: Any) -> np.ndarray:
    return np.asarray(x).astype(np.float64)


def _finite(v: float) -> float:
    """A tolerance term that a NaN or inf derivative must not inflate."""
    return v if np.isfinite(v) else 0.0


def _zeros(like: Any) -> Any:
    # From NumPy: jnp.zeros would compile one XLA program per shape.
    return jnp.asarray(np.zeros(np.shape(like), _dtype(like)))


def _vdot(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    return float(sum(np.vdot(x, y) for x, y in zip(a, b, strict=True)))


def _norm(a: Sequence[np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(x))) for x in a)))


def _describe(fun: Callable) -> str:
    name = getattr(fun, "__name__", None) or getattr(fun, "name", None)  # a Primitive has a .name
    return name if isinstance(name, str) else type(fun).__name__


def _ops_of(fun: Callable, args: tuple) -> str:
    """The primitives ``fun`` records, to name the op in a failure message."""
    from tapegrad.transforms.make_tape import make_tape

    try:
        names: list[str] = []
        for e in make_tape(fun)(*args):
            if e is not None and e.prim.name not in names:
                names.append(e.prim.name)
        return ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
    except Exception:  # the message must not fail because listing did
        return "?"


def _param_names(fun: Callable) -> list[str]:
    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _arg_label(path: tuple, params: list[str]) -> str:
    """``argument 'y' (args[1])`` or ``argument 'params['w']' (args[0]['w'])``."""
    where = "args" + keystr(path)
    first = getattr(path[0], "idx", None) if path else None
    if isinstance(first, int) and first < len(params):
        return f"argument '{params[first]}{keystr(path[1:])}' ({where})"
    return f"argument {where}"


def _idx(i: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(k) for k in np.unravel_index(i, shape))


class _Level:
    """One order of the check: a function of the differentiable leaves to a tuple of float arrays."""

    __slots__ = ("fn", "ref", "k", "what", "out_names")

    def __init__(self, fn: Callable, ref: Callable | None, k: int, what: str, out_names: list[str]) -> None:
        self.fn, self.ref, self.k, self.what, self.out_names = fn, ref, k, what, out_names


class _Checker:
    """Runs the checks of one ``check_vjp`` call, level by level."""

    def __init__(self, fun: Callable, args: tuple, modes: tuple[str, ...], reference: Callable | None,
                 eps: float | None, rtol: float | None, atol: float | None, seed: int, who: str) -> None:
        self.fun, self.args, self.modes, self.seed, self.who = fun, args, modes, seed, who
        self.eps, self.rtol, self.atol = eps, rtol, atol
        with_path, self.tree = tree_flatten_with_path(args)
        self.leaves = [v for _, v in with_path]
        params = _param_names(fun)
        self.diff = [i for i, v in enumerate(self.leaves) if _is_float(v)]
        for (path, v) in with_path:
            if _is_complex(v):
                raise TypeError(f"{who}: {_arg_label(path, params)} is complex; only real floating-point "
                                "arguments can be checked")
        if not self.diff:
            raise TypeError(f"{who}: no argument has a floating-point leaf, so there is nothing to "
                            "differentiate; pass float arrays, e.g. x.astype('float64')")
        self.names = [_arg_label(with_path[i][0], params) for i in self.diff]
        # Strong (not weak) types, so jax.jvp of a reference accepts our tangents.
        self.x = [jnp.asarray(np.asarray(self.leaves[i], dtype=_dtype(self.leaves[i]))) for i in self.diff]
        self.level: _Level | None = None
        self.tol_dtype = _F64

    # -- the flat functions ------------------------------------------------------
    def merged(self, diff_leaves: Sequence[Any]) -> tuple:
        full = list(self.leaves)
        for i, v in zip(self.diff, diff_leaves, strict=True):
            full[i] = v
        return tree_unflatten(self.tree, full)

    def first_level(self, reference: Callable | None) -> _Level:
        out_names: list[str] = []

        def floats_of(out: Any, names: list[str] | None) -> tuple:
            with_path = tree_flatten_with_path(out)[0]
            kept = [(p, v) for p, v in with_path if _is_float(v)]
            if names is not None and not names:
                names.extend(("out" + keystr(p)) if p else "the output" for p, _ in kept)
            return tuple(v for _, v in kept)

        fn = lambda *xs: floats_of(self.fun(*self.merged(xs)), out_names)  # noqa: E731
        ref = None
        if reference is not None:
            ref = lambda *xs: floats_of(reference(*self.merged(xs)), None)  # noqa: E731
        return _Level(fn, ref, 1, "", out_names)

    # -- failure -------------------------------------------------------------------
    def fail(self, mode: str, what: str, arg: str, err: float, allowed: float, detail: str,
             exact: bool = False) -> None:
        """Raise; ``exact``: two computations were compared (else one against finite differences)."""
        lvl = self.level
        assert lvl is not None
        rtol, atol = self.tols(exact=exact)
        raise GradientCheckError(
            f"{self.who}: {what} of {_describe(self.fun)} (ops: {_ops_of(self.fun, self.args)}) is wrong "
            f"for {arg} at order {lvl.k}{lvl.what}, mode '{mode}': largest error {err:.3g} (allowed "
            f"{allowed:.3g}; rtol={rtol:g}, atol={atol:g}, dtype {self.tol_dtype.name}){detail}")

    def tols(self, exact: bool) -> tuple[float, float]:
        rt, at = (_EXACT_TOL if exact else _TOL).get(self.tol_dtype, (1e-2, 1e-3))
        return (rt if self.rtol is None else self.rtol), (at if self.atol is None else self.atol)

    def compare(self, mode: str, what: str, arg: str, got: Sequence[Any], want: Sequence[Any],
                names: Sequence[str], want_label: str) -> None:
        """Two exact computations element by element: ``|got - want| <= atol + rtol max(|got|, |want|)``,
        plus a rounding floor that scales with the array's magnitude."""
        rtol, atol = self.tols(exact=True)
        for j, (a, b) in enumerate(zip(got, want, strict=True)):
            a64, b64 = _f64(a), _f64(b)
            if a64.shape != b64.shape:
                raise GradientCheckError(
                    f"{self.who}: {what} of {_describe(self.fun)} for {arg} at order {self.level.k} has "
                    f"shape {a64.shape} at {names[j]}, but {want_label} has shape {b64.shape}")
            finite = np.abs(b64[np.isfinite(b64)])
            floor = 64 * float(jnp.finfo(_dtype(b)).eps) * (float(finite.max()) if finite.size else 0.0)
            mag = np.where(np.isfinite(a64), np.maximum(np.abs(a64), np.abs(b64)), np.abs(b64))
            bound = atol + floor + rtol * mag
            self._within(mode, what, arg, a64, b64, bound, names[j], want_label, exact=True)

    def _within(self, mode: str, what: str, arg: str, a: np.ndarray, b: np.ndarray, bound: np.ndarray,
                name: str, want_label: str, exact: bool = False) -> None:
        """Fail unless ``|a - b| <= bound`` element-wise; ``a`` is ``what``, ``b`` is ``want_label``'s."""
        if not a.size:
            return
        err = np.abs(a - b)
        bad = ~(err <= bound)  # NaN counts as a failure
        if bad.any():
            excess = np.where(bad, np.nan_to_num(err - bound, nan=np.inf, posinf=np.inf), -np.inf)
            i = int(np.argmax(excess))
            at = list(_idx(i, err.shape)) if err.ndim else ""
            self.fail(mode, what, arg, float(err.flat[i]), float(np.broadcast_to(bound, err.shape).flat[i]),
                      f": at {name}{at}, {what} = {a.flat[i]:.10g} but {want_label} = {b.flat[i]:.10g}",
                      exact)

    # -- one order -------------------------------------------------------------------
    def check_level(self, lvl: _Level) -> tuple[Callable, Callable | None, str, list[str]]:
        from tapegrad.transforms.forward import linearize_forward
        from tapegrad.transforms.reverse import vjp

        self.level = lvl
        rev, fwd = "rev" in self.modes, "fwd" in self.modes
        rng = np.random.default_rng((self.seed, lvl.k))
        x = self.x
        if rev:
            out, vjp_fn = vjp(lvl.fn, *x)
        else:
            out = lvl.fn(*x)
        out = tuple(out)
        names = lvl.out_names or [f"out[{j}]" for j in range(len(out))]
        if not out:
            raise TypeError(f"{self.who}: {_describe(self.fun)} has no floating-point output to "
                            "differentiate")
        out_dts = [_dtype(o) for o in out]
        self.tol_dtype = _least_precise([_dtype(v) for v in x] + out_dts)
        out_eps = [float(jnp.finfo(d).eps) for d in out_dts]
        for o, name in zip(out, names, strict=True):
            if not np.all(np.isfinite(_f64(o))):
                what = "its output" if lvl.k == 1 else f"its order-{lvl.k - 1} derivative"
                raise GradientCheckError(
                    f"{self.who}: {_describe(self.fun)} is not finite at the given point: {what} ({name}) "
                    f"holds NaN or inf at order {lvl.k}, and finite differences cannot check it there. "
                    "Choose inputs inside the function's domain (e.g. elements=(0.1, 3) for a log).")

        u = [jnp.asarray(_probe(rng, np.shape(o)).astype(d)) for o, d in zip(out, out_dts, strict=True)]
        u64 = [_f64(v) for v in u]
        ct64: list[np.ndarray] = []
        if rev:
            ct64 = [_f64(c) for c in vjp_fn(tuple(u))]
        rtol, atol = self.tols(exact=False)
        ertol, eatol = self.tols(exact=True)

        def fd(i: int, direction: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
            """Central differences of ``fn`` along ``direction`` in leaf ``i``: (tangent, J t, bound).

            The bound on each element's error is ``atol + rtol |J t|``, plus the rounding in
            ``fn`` (a few ulps of its values over the step), plus the truncation error, estimated
            from the quotient with twice the step (``D(2h) - D(h)`` is 3 times the leading
            ``h**2`` term). Near a kink, or where ``fn`` curves fast for the step, that estimate
            grows and the check loosens rather than fail a right rule.
            """
            xi, dt = x[i], _dtype(x[i])
            h = self.eps or _EPS.get(_least_precise([dt] + out_dts), 1e-3)
            xi64 = _f64(xi)
            t = direction * np.maximum(1.0, np.abs(xi64))
            moved = lambda v: [jnp.asarray(v) if k == i else x[k] for k in range(len(x))]  # noqa: E731
            quotients = []
            for step in (h, 2 * h):
                xp, xm = (xi64 + step * t).astype(dt), (xi64 - step * t).astype(dt)
                fp, fm = lvl.fn(*moved(xp)), lvl.fn(*moved(xm))
                # The tangent actually taken: x +- step * t, rounded to the argument's dtype.
                t_eff = (xp.astype(np.float64) - xm.astype(np.float64)) / (2 * step)
                quotients.append((t_eff, [(_f64(a), _f64(b)) for a, b in zip(fp, fm, strict=True)]))
            t_eff, near = quotients[0]
            far = quotients[1][1]
            jt, bound = [], []
            for j, ((a, b), (a2, b2)) in enumerate(zip(near, far, strict=True)):
                d, d2 = (a - b) / (2 * h), (a2 - b2) / (4 * h)
                if not (np.all(np.isfinite(d)) and np.all(np.isfinite(d2))):
                    raise GradientCheckError(
                        f"{self.who}: finite differences of {_describe(self.fun)} for {self.names[i]} at "
                        f"order {lvl.k} are not finite at {names[j]}: the point is within twice the step "
                        f"{h:g} of a singularity or of the domain's edge; move the inputs away from it")
                noise = 16 * out_eps[j] * np.maximum(np.abs(a), np.abs(b)) / h
                jt.append(d)
                bound.append(atol + rtol * np.abs(d) + noise + np.abs(d2 - d))
            return t_eff, jt, bound

        # rev: <u, J v> by finite differences against <J^T u, v>, for a random v and for v ~ J^T u.
        probes: list[tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]] = []
        for i, xi in enumerate(x):
            probes.append(fd(i, _probe(rng, np.shape(xi))))
            if not rev:
                continue
            dirs = [("a random direction v", probes[i])]
            rms = float(np.sqrt(np.mean(np.square(ct64[i])))) if ct64[i].size else 0.0
            if np.isfinite(rms) and rms > 0:
                dirs.append(("the VJP's own direction v = J^T u", fd(i, ct64[i] / rms)))
            for label, (t_eff, jt, bound) in dirs:
                lhs, rhs = _vdot(u64, jt), float(np.vdot(ct64[i], t_eff))
                allowed = _SIGMAS * _norm(bound) + ertol * _finite(_norm([ct64[i]]) * _norm([t_eff]))
                err = abs(lhs - rhs)
                if not err <= allowed:
                    self.fail("rev", "the VJP", self.names[i], err, allowed,
                              f": along {label}, <u, J v> by finite differences = {lhs:.10g} but "
                              f"<J^T u, v> from the VJP = {rhs:.10g}")

        # fwd: J v element by element against finite differences.
        jv64: list[list[np.ndarray]] = []
        t_ds: list[np.ndarray] = []
        if fwd:
            _, jvp_fn = linearize_forward(lvl.fn, *x)
            for i, xi in enumerate(x):
                t_eff, jt, bound = probes[i]
                t_d = t_eff.astype(_dtype(xi))
                tangents = [jnp.asarray(t_d) if k == i else _zeros(v) for k, v in enumerate(x)]
                jv = [_f64(v) for v in jvp_fn(*tangents)]
                jv64.append(jv)
                t_ds.append(t_d)
                for j in range(len(jv)):
                    self._within("fwd", "the JVP", self.names[i], jv[j], jt[j], bound[j], names[j],
                                 "finite differences")

        # transpose: <u, J v> from the JVP against <J^T u, v> from the VJP.
        if fwd and rev:
            for i in range(len(x)):
                t64 = t_ds[i].astype(np.float64)
                lhs, rhs = _vdot(u64, jv64[i]), float(np.vdot(ct64[i], t64))
                scale = _norm(u64) * _norm(jv64[i]) + _norm([ct64[i]]) * _norm([t64])
                allowed = eatol + ertol * _finite(scale)
                err = abs(lhs - rhs)
                if not err <= allowed:
                    self.fail("transpose", "the transpose (dot-product) test between the JVP and the VJP",
                              self.names[i], err, allowed,
                              f": <u, J v> from the JVP = {lhs:.10g} but <J^T u, v> from the VJP = "
                              f"{rhs:.10g}", exact=True)

        # reference: jax.vjp / jax.jvp of a jax.numpy function.
        u_ref: tuple = ()
        if lvl.ref is not None:
            ref_out, ref_vjp = jax.vjp(lvl.ref, *x)
            ref_out = tuple(ref_out)
            if len(ref_out) != len(out):
                raise GradientCheckError(
                    f"{self.who}: at order {lvl.k} {_describe(self.fun)} has {len(out)} floating-point "
                    f"outputs but the reference has {len(ref_out)}")
            self.compare("reference", "the output", "the given arguments", out, ref_out, names,
                         "the reference")
            u_ref = tuple(jnp.asarray(np.asarray(v).astype(_dtype(r)))
                          for v, r in zip(u, ref_out, strict=True))
            if rev:
                for i, want in enumerate(ref_vjp(u_ref)):
                    self.compare("rev", "the VJP", self.names[i], [ct64[i]], [want],
                                 [f"the cotangent of {self.names[i]}"], "jax.vjp of the reference")
            if fwd:
                for i in range(len(x)):
                    tangents = tuple(jnp.asarray(t_ds[i]) if k == i else _zeros(v) for k, v in enumerate(x))
                    want = jax.jvp(lvl.ref, tuple(x), tangents)[1]
                    self.compare("fwd", "the JVP", self.names[i], jv64[i], want, names,
                                 "jax.jvp of the reference")

        # The next order differentiates this order's derivative map.
        if rev:
            u_fixed = tuple(u)
            fn_next = lambda *xs: tuple(vjp(lvl.fn, *xs)[1](u_fixed))  # noqa: E731
            ref_next = None
            if lvl.ref is not None:
                ref_next = lambda *xs: tuple(jax.vjp(lvl.ref, *xs)[1](u_ref))  # noqa: E731
            return fn_next, ref_next, " (differentiating the VJP x -> J(x)^T u)", \
                [f"the cotangent of {n}" for n in self.names]
        v_fixed = tuple(jnp.asarray(_probe(rng, np.shape(v)).astype(_dtype(v))) for v in x)
        fn_next = lambda *xs: tuple(linearize_forward(lvl.fn, *xs)[1](*v_fixed))  # noqa: E731
        ref_next = None
        if lvl.ref is not None:
            ref_next = lambda *xs: tuple(jax.jvp(lvl.ref, tuple(xs), v_fixed)[1])  # noqa: E731
        return fn_next, ref_next, " (differentiating the JVP x -> J(x) v)", [f"the JVP at {n}" for n in names]

    def run(self, order: int, reference: Callable | None) -> None:
        lvl = self.first_level(reference)
        for k in range(1, order + 1):
            fn, ref, what, out_names = self.check_level(lvl)
            lvl = _Level(fn, ref, k + 1, what, out_names)


def check_vjp(fun: Callable, args: Sequence[Any], order: int = 1, modes: Sequence[str] = ("rev", "fwd"),
              reference: Callable | None = None, eps: float | None = None, rtol: float | None = None,
              atol: float | None = None, seed: int = 0, *, op_by_op: bool = False,
              who: str = "check_vjp") -> None:
    """Check ``fun``'s derivatives at ``args``; raise :class:`GradientCheckError` on a mismatch.

    ``args`` is a tuple of arguments (pytrees allowed); their floating-point leaves
    are checked one by one, other leaves are held fixed. ``modes`` is a non-empty
    subset of ``("rev", "fwd")``; ``reference`` a ``jax.numpy`` function with the same
    signature. ``eps`` is the finite-difference step; ``eps``, ``rtol`` and ``atol``
    default by dtype (the least precise one among the arguments and outputs).
    Given ``rtol``/``atol`` apply to every comparison. The directions are drawn
    from ``seed``, so a call is deterministic. ``op_by_op=True`` runs JAX under
    ``jax.disable_jit()``: the same numbers without compiling one XLA program per
    jitted function and shape, several times faster when many shapes are checked once.

    Example:
        >>> import tapegrad.numpy as tnp
        >>> check_vjp(tnp.sin, (jnp.linspace(0.0, 1.0, 3, dtype="float32"),), order=2)
    """
    if not callable(fun):
        raise TypeError(f"{who} expects a callable, got {type(fun).__name__}")
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"{who}: args must be a tuple of arguments, e.g. (x,) or (x, y); got "
                        f"{type(args).__name__}")
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"{who}: order must be a positive int, got {order!r}")
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    if not modes or not set(modes) <= set(MODES):
        raise ValueError(f"{who}: modes must be a non-empty subset of ('rev', 'fwd'), got {modes!r}")
    if reference is not None and not callable(reference):
        raise TypeError(f"{who}: reference must be a jax.numpy function, got {type(reference).__name__}")
    with jax.disable_jit() if op_by_op else contextlib.nullcontext():
        _Checker(fun, tuple(args), modes, reference, eps, rtol, atol, seed, who).run(int(order), reference)


def check_grads(fun: Callable, args: Sequence[Any], order: int = 1, modes: Sequence[str] = ("rev", "fwd"),
                eps: float | None = None, rtol: float | None = None, atol: float | None = None) -> None:
    """Compare ``fun``'s derivatives with central finite differences, up to ``order``.

    Returns ``None``, or raises ``AssertionError`` naming the function, its ops, the
    argument, the order, the mode and the largest error. Use float64 inputs for
    tight checks. The same oracle as :func:`tapegrad.testing.assert_vjp`.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tg.check_grads(tnp.tanh, (tnp.linspace(-1.0, 1.0, 4, dtype="float32"),), order=2)
    """
    if not isinstance(args, (tuple, list)):
        raise TypeError("tg.check_grads: args must be a tuple of arguments, e.g. (x,)")
    args = tuple(tree_map(lambda v: jnp.asarray(v) if _is_float(v) else v, tuple(args)))
    check_vjp(fun, args, order, modes, None, eps, rtol, atol, who="tg.check_grads")
