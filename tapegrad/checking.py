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

**float32.** Finite differences of a float32 function carry its rounding,
about ``kappa * 1.2e-7 * |f|`` divided by the step: some 1e-2 relative, so they
cannot see a rule 1% off. Where the least precise dtype is float32, the ``rev``
and ``fwd`` checks therefore run twice: against float32 finite differences with
their loose tolerances (as for every dtype), and against finite differences of
the *same* function evaluated in float64 (the inputs, and from the second order
on the fixed probes, cast up exactly; ``jax_enable_x64`` is switched on for those
calls only, never for the caller's code). Those are exact next to the float32
VJP's own rounding, so the VJP is held to the tolerances of an exact comparison
(``_EXACT_TOL``, as in the transpose test), which see relative errors of 1e-3.
The float64 evaluation serves only if it is the same function really computed in
float64: its outputs are float64, agree with the float32 ones to float32
rounding, move under a step too small for float32 to see (no cast to float32
inside), and its finite differences agree with the float32 ones within their
error bound.
Otherwise the float32 comparisons stand alone and a :class:`GradientCheckWarning`
says why.

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
# Step of the float64 finite differences of a float32 function (module docstring). Far larger
# than float64 alone would want (1e-6): truncation, ~h**2 |f'''|, is bounded from D(2h) - D(h) as
# in float32 and is ~1e-6 relative, and float64 rounding, ~1e-16 kappa |f| / h, is smaller still;
# both are far below the float32 VJP's own rounding. A float32 stage g hidden inside the
# function, which no test here can always see, then adds ulp32(g) / h ~ 1e-4 |g|, not 0.1 |g|.
_WIDE_EPS = 1e-3
# The float32 and float64 evaluations of one function differ by float32 rounding. Beyond this
# fraction of the output's largest element they are not the same function (a branch on dtype),
# or float32 has lost the precision the tight comparison assumes.
_WIDE_MAX_DRIFT = 1e-3
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


class GradientCheckWarning(UserWarning):
    """The check ran with less power than its dtype allows: float32 derivatives were compared
    with float32 finite differences only, because a float64 evaluation of the function could
    not serve as the oracle (the message says why)."""


class _NoWide(Exception):
    """The float64 evaluation of a float32 function cannot serve as the oracle; says why."""


def _warn(message: str) -> None:
    """A :class:`GradientCheckWarning`, attributed to the caller's line (outside tapegrad)."""
    import os
    import sys
    import warnings

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    level, f = 1, sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(package):
        level, f = level + 1, f.f_back
    warnings.warn(message, GradientCheckWarning, stacklevel=level)


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
    """One order of the check: a function of the differentiable leaves to a tuple of float arrays.

    ``fn64`` is the same function for the float64 evaluation (inputs and fixed probes cast up),
    called only inside ``jax.enable_x64(True)``; None where there is none.
    """

    __slots__ = ("fn", "ref", "k", "what", "out_names", "fn64")

    def __init__(self, fn: Callable, ref: Callable | None, k: int, what: str, out_names: list[str],
                 fn64: Callable | None = None) -> None:
        self.fn, self.ref, self.k, self.what, self.out_names = fn, ref, k, what, out_names
        self.fn64 = fn64


# One finite-difference probe: (the tangent taken, J t, a bound on each element's error).
_Probe = tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]


class _Checker:
    """Runs the checks of one ``check_vjp`` call, level by level."""

    def __init__(self, fun: Callable, args: tuple, modes: tuple[str, ...], reference: Callable | None,
                 eps: float | None, rtol: float | None, atol: float | None, seed: int, who: str,
                 fd64: bool = True) -> None:
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
        self.x64 = [_f64(v) for v in self.x]  # exact: every float dtype JAX has fits in float64
        self.level: _Level | None = None
        self.tol_dtype = _F64
        self.fd64 = fd64
        self.wide_off: str | None = None  # why the float64 evaluation was given up, once it was

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
        fn64 = lambda *xs: floats_of(self.fun(*self.merged(xs)), None)  # noqa: E731
        ref = None
        if reference is not None:
            ref = lambda *xs: floats_of(reference(*self.merged(xs)), None)  # noqa: E731
        return _Level(fn, ref, 1, "", out_names, fn64 if self.fd64 else None)

    # -- the float64 evaluation of a float32 function --------------------------------
    def wide_eval(self, fn: Callable, xs: Sequence[np.ndarray], names: Sequence[str],
                  shapes: Sequence[tuple]) -> list[np.ndarray]:
        """``fn`` at the float64 points ``xs``, with x64 on for this call only; or ``_NoWide``."""
        try:
            with jax.enable_x64(True):  # a context: the caller's setting is back on exit, even on error
                outs = tuple(fn(*[jnp.asarray(a) for a in xs]))
                got = [(np.asarray(o), _dtype(o)) for o in outs]
        except Exception as e:  # any failure only means float64 cannot be the oracle
            raise _NoWide(f"evaluating it with float64 inputs raised {type(e).__name__}: "
                          f"{str(e).splitlines()[0][:200] if str(e) else ''}") from e
        if len(got) != len(names):
            raise _NoWide(f"with float64 inputs it has {len(got)} floating-point outputs, not {len(names)}")
        for (a, dt), name, shape in zip(got, names, shapes, strict=True):
            if dt != _F64:
                raise _NoWide(f"with float64 inputs it returns {dt.name} at {name}: it casts to a narrower "
                              "dtype inside (astype, a float32 constant array, a dtype-specific rule)")
            if a.shape != tuple(shape):
                raise _NoWide(f"with float64 inputs its output {name} has shape {a.shape}, not {tuple(shape)}")
        return [a for a, _ in got]

    def no_wide(self, reason: str) -> bool:
        """Give the float64 evaluation up for this call, and say so once. Returns False."""
        if self.wide_off is None:
            self.wide_off = reason
            _warn(f"{self.who}: the float32 derivatives of {_describe(self.fun)} were checked against "
                  f"float32 finite differences only, which cannot see errors of a few percent, because its "
                  f"float64 evaluation cannot serve as their oracle at order {self.level.k}: {reason}. "
                  "For a tight check, check it in float64 (jax_enable_x64 and float64 inputs); fd64=False "
                  "skips the float64 evaluation.")
        return False

    # -- failure -------------------------------------------------------------------
    def fail(self, mode: str, what: str, arg: str, err: float, allowed: float, detail: str,
             exact: bool = False, tols: tuple[float, float] | None = None) -> None:
        """Raise; ``exact``: two computations were compared (else one against finite differences);
        ``tols``: the (rtol, atol) of a comparison with float64 finite differences."""
        lvl = self.level
        assert lvl is not None
        rtol, atol = tols if tols is not None else self.tols(exact=exact)
        against = ", against float64 finite differences of the same function" if tols is not None else ""
        raise GradientCheckError(
            f"{self.who}: {what} of {_describe(self.fun)} (ops: {_ops_of(self.fun, self.args)}) is wrong "
            f"for {arg} at order {lvl.k}{lvl.what}, mode '{mode}': largest error {err:.3g} (allowed "
            f"{allowed:.3g}; rtol={rtol:g}, atol={atol:g}, dtype {self.tol_dtype.name}{against}){detail}")

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
            bound = _exact_bound(a64, b64, rtol, atol, float(jnp.finfo(_dtype(b)).eps))
            self._within(mode, what, arg, a64, b64, bound, names[j], want_label, exact=True)

    def _within(self, mode: str, what: str, arg: str, a: np.ndarray, b: np.ndarray, bound: np.ndarray,
                name: str, want_label: str, exact: bool = False,
                tols: tuple[float, float] | None = None) -> None:
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
                      exact, tols)

    # -- one order -------------------------------------------------------------------
    def check_level(self, lvl: _Level) -> _Level:
        """Run every check of one order; return the next order's level."""
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
        shapes = [np.shape(o) for o in out]
        eps32 = float(jnp.finfo(self.tol_dtype).eps)

        # The float64 oracle, for float32 only: float64 needs none, and float16's and bfloat16's
        # finite-difference tolerances stand for an overflow-prone range float64 would not reproduce.
        wide = lvl.fn64 is not None and self.wide_off is None and self.tol_dtype == _F32
        wrtol = ertol
        out_w: list[np.ndarray] = []
        if wide:
            try:
                out_w = self.wide_eval(lvl.fn64, self.x64, names, shapes)
                drift = 0.0
                for o, w, name in zip(out, out_w, names, strict=True):
                    o64 = _f64(o)
                    diff = float(np.max(np.abs(o64 - w))) if o64.size else 0.0
                    if diff == 0.0:
                        continue
                    size = float(np.max(np.abs(w)))
                    d = diff / size if np.isfinite(diff) and size > 0 else np.inf
                    if not d <= _WIDE_MAX_DRIFT:
                        raise _NoWide(f"its float64 evaluation differs from its float32 one by {d:.3g} of the "
                                      f"largest element at {name} (more than float32 rounding, "
                                      f"{_WIDE_MAX_DRIFT:g}): a different function in float64 (does it branch "
                                      "on the dtype?), or a float32 evaluation that has lost its precision")
                    drift = max(drift, d)
                # Rounding in float32 is measured here, not assumed: where it is coarser than usual
                # (TF32 matmuls on a GPU), the tight tolerance follows it.
                if self.rtol is None:
                    wrtol = max(ertol, 4 * drift)
            except _NoWide as e:
                wide = self.no_wide(str(e))

        def fd(i: int, direction: np.ndarray) -> _Probe:
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

        def fd_wide(i: int, t: np.ndarray) -> _Probe:
            """Central differences of ``fn64`` along the float64 tangent ``t`` in leaf ``i``:
            (tangent, J t, bound), the bound being float64 rounding plus the truncation estimate.

            Then a step of ``2**-30 t``, below float32's resolution: in float64 the outputs move by
            that times ``J t``; a float32 stage inside (a cast, a float32 constant array) sees no
            step at all, so where the move is not what the slope predicts, float64 cannot be the
            oracle (its finite differences would carry that stage's float32 rounding).
            """
            h = self.eps or _WIDE_EPS
            xs = self.x64
            at = lambda v: [v if k == i else xs[k] for k in range(len(xs))]  # noqa: E731
            near = list(zip(self.wide_eval(lvl.fn64, at(xs[i] + h * t), names, shapes),
                            self.wide_eval(lvl.fn64, at(xs[i] - h * t), names, shapes), strict=True))
            far = list(zip(self.wide_eval(lvl.fn64, at(xs[i] + 2 * h * t), names, shapes),
                           self.wide_eval(lvl.fn64, at(xs[i] - 2 * h * t), names, shapes), strict=True))
            tau = 2.0 ** -30
            nudged = self.wide_eval(lvl.fn64, at(xs[i] + tau * t), names, shapes)
            t_eff = ((xs[i] + h * t) - (xs[i] - h * t)) / (2 * h)
            jt, bound = [], []
            for j, ((a, b), (a2, b2)) in enumerate(zip(near, far, strict=True)):
                d, d2 = (a - b) / (2 * h), (a2 - b2) / (4 * h)
                if not (np.all(np.isfinite(d)) and np.all(np.isfinite(d2))):
                    raise _NoWide(f"its float64 finite differences are not finite at {names[j]}, where the "
                                  "float32 ones are")
                # The move matches the slope to 1%, up to the slope's truncation error (scaled to the
                # small step), the curvature over the small step and 64 ulps of float64 rounding; a
                # float32 stage contributing more than 1% of the slope, or a cast of the output, breaks it.
                expected, moved = tau * d, nudged[j] - out_w[j]
                ulps = np.finfo(np.float64).eps * np.maximum(np.abs(a), np.abs(b))
                curve = np.abs(a + b - 2 * out_w[j]) / h ** 2  # ~|f'' t t|: the small step's own bend
                allow = 0.01 * np.abs(expected) + tau * np.abs(d2 - d) + tau ** 2 * curve + 64 * ulps
                stuck = ~(np.abs(moved - expected) <= allow)
                if stuck.any():
                    e = int(np.argmax(stuck))
                    raise _NoWide(
                        f"a step of 2**-30 in {self.names[i]} moved its float64 evaluation at {names[j]}"
                        f"{list(_idx(e, stuck.shape)) if stuck.ndim else ''} by {moved.flat[e]:.3g}, where its "
                        f"slope predicts {expected.flat[e]:.3g}: it computes in float32 (or less) inside, e.g. "
                        "through astype('float32') or a float32 constant array (or the point lies within "
                        f"{h:g} of a kink)")
                jt.append(d)
                bound.append(16 * np.finfo(np.float64).eps * np.maximum(np.abs(a), np.abs(b)) / h
                             + np.abs(d2 - d))
            return t_eff, jt, bound

        # The probes, all before any comparison, so that a float64 evaluation found unusable at a
        # later probe has not judged an earlier one. Per leaf: a random v, and (rev) v ~ J^T u.
        probes: list[list[tuple[str, _Probe]]] = []
        for i, xi in enumerate(x):
            dirs = [("a random direction v", fd(i, _probe(rng, np.shape(xi))))]
            if rev:
                rms = float(np.sqrt(np.mean(np.square(ct64[i])))) if ct64[i].size else 0.0
                if np.isfinite(rms) and rms > 0:
                    dirs.append(("the VJP's own direction v = J^T u", fd(i, ct64[i] / rms)))
            probes.append(dirs)
        # The same tangents in float64, rounded to the argument's dtype as the JVP takes them.
        wide_probes: list[list[_Probe]] = []
        if wide:
            try:
                for i, dirs in enumerate(probes):
                    row = []
                    for _, (t_eff, jt, bound) in dirs:
                        pw = fd_wide(i, t_eff.astype(_dtype(x[i])).astype(np.float64))
                        for j, (a, b, bd) in enumerate(zip(pw[1], jt, bound, strict=True)):
                            bad = ~(np.abs(a - b) <= 2 * bd)
                            if bad.any():
                                e = int(np.argmax(bad))
                                raise _NoWide(
                                    f"its float64 finite differences for {self.names[i]} disagree with its "
                                    f"float32 ones beyond their error bound at {names[j]}"
                                    f"{list(_idx(e, bad.shape)) if bad.ndim else ''} ({a.flat[e]:.6g} against "
                                    f"{b.flat[e]:.6g}): a different function in float64 (does it branch on the "
                                    "dtype?)")
                        row.append(pw)
                    wide_probes.append(row)
            except _NoWide as e:
                wide = self.no_wide(str(e))
                wide_probes = []
        wide_tols = (wrtol, eatol)

        # rev: <u, J v> by finite differences against <J^T u, v>, for a random v and for v ~ J^T u.
        if rev:
            for i in range(len(x)):
                for label, (t_eff, jt, bound) in probes[i]:
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
                t_eff, jt, bound = probes[i][0][1]
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

        # rev and fwd again, against float64 finite differences, at the tolerances of an exact
        # comparison (after the float32 checks, so that an error those see is reported as before).
        if wide and rev:
            for i in range(len(x)):
                for (label, _), (tw, jw, bw) in zip(probes[i], wide_probes[i], strict=True):
                    # The transpose test's tolerance, with float64 finite differences in the JVP's place.
                    lhs, rhs = _vdot(u64, jw), float(np.vdot(ct64[i], tw))
                    scale = _norm(u64) * _norm(jw) + _norm([ct64[i]]) * _norm([tw])
                    allowed = _SIGMAS * _norm(bw) + eatol + wrtol * _finite(scale)
                    err = abs(lhs - rhs)
                    if not err <= allowed:
                        self.fail("rev", "the VJP", self.names[i], err, allowed,
                                  f": along {label}, <u, J v> by float64 finite differences = {lhs:.10g} but "
                                  f"<J^T u, v> from the VJP = {rhs:.10g}", tols=wide_tols)
        if wide and fwd:
            for i in range(len(x)):
                _, jw, bw = wide_probes[i][0]
                for j, jv in enumerate(jv64[i]):
                    bd = bw[j] + _exact_bound(jv, jw[j], wrtol, eatol, eps32)
                    self._within("fwd", "the JVP", self.names[i], jv, jw[j], bd, names[j],
                                 "float64 finite differences", tols=wide_tols)

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

        # The next order differentiates this order's derivative map; its float64 twin takes the
        # same probes, cast up exactly (made into arrays inside the x64 scope, where it runs).
        k = lvl.k + 1
        fn64 = lvl.fn64 if wide else None
        if rev:
            u_fixed = tuple(u)
            fn_next = lambda *xs: tuple(vjp(lvl.fn, *xs)[1](u_fixed))  # noqa: E731
            fn64_next = None
            if fn64 is not None:
                u_w = [np.asarray(v, np.float64) for v in u]
                fn64_next = lambda *xs: tuple(vjp(fn64, *xs)[1](tuple(jnp.asarray(a) for a in u_w)))  # noqa: E731
            ref_next = None
            if lvl.ref is not None:
                ref_next = lambda *xs: tuple(jax.vjp(lvl.ref, *xs)[1](u_ref))  # noqa: E731
            return _Level(fn_next, ref_next, k, " (differentiating the VJP x -> J(x)^T u)",
                          [f"the cotangent of {n}" for n in self.names], fn64_next)
        v_fixed = tuple(jnp.asarray(_probe(rng, np.shape(v)).astype(_dtype(v))) for v in x)
        fn_next = lambda *xs: tuple(linearize_forward(lvl.fn, *xs)[1](*v_fixed))  # noqa: E731
        fn64_next = None
        if fn64 is not None:
            v_w = [np.asarray(v, np.float64) for v in v_fixed]
            fn64_next = lambda *xs: tuple(linearize_forward(fn64, *xs)[1](*[jnp.asarray(a) for a in v_w]))  # noqa: E731
        ref_next = None
        if lvl.ref is not None:
            ref_next = lambda *xs: tuple(jax.jvp(lvl.ref, tuple(xs), v_fixed)[1])  # noqa: E731
        return _Level(fn_next, ref_next, k, " (differentiating the JVP x -> J(x) v)",
                      [f"the JVP at {n}" for n in names], fn64_next)

    def run(self, order: int, reference: Callable | None) -> None:
        lvl = self.first_level(reference)
        for _ in range(order):
            lvl = self.check_level(lvl)


def _exact_bound(a: np.ndarray, b: np.ndarray, rtol: float, atol: float, eps: float) -> np.ndarray:
    """The allowed ``|a - b|`` between two exact computations of one array, ``b`` the trusted one:
    ``atol + rtol max(|a|, |b|)`` plus a rounding floor of 64 ulps of ``b``'s largest element."""
    finite = np.abs(b[np.isfinite(b)])
    floor = 64 * eps * (float(finite.max()) if finite.size else 0.0)
    mag = np.where(np.isfinite(a), np.maximum(np.abs(a), np.abs(b)), np.abs(b))
    return atol + floor + rtol * mag


def check_vjp(fun: Callable, args: Sequence[Any], order: int = 1, modes: Sequence[str] = ("rev", "fwd"),
              reference: Callable | None = None, eps: float | None = None, rtol: float | None = None,
              atol: float | None = None, seed: int = 0, *, op_by_op: bool = False, fd64: bool = True,
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

    Where the least precise dtype is float32, the derivatives are also compared with
    finite differences of ``fun`` evaluated in float64 (x64 on for those calls only),
    at the tolerances of an exact comparison: that sees errors of 1e-3, which float32
    finite differences cannot. ``fd64=False`` skips it; where that evaluation is not
    the same function in float64, it is skipped with a :class:`GradientCheckWarning`.

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
        _Checker(fun, tuple(args), modes, reference, eps, rtol, atol, seed, who, fd64).run(int(order),
                                                                                   reference)


def check_grads(fun: Callable, args: Sequence[Any], order: int = 1, modes: Sequence[str] = ("rev", "fwd"),
                eps: float | None = None, rtol: float | None = None, atol: float | None = None) -> None:
    """Compare ``fun``'s derivatives with central finite differences, up to ``order``.

    Returns ``None``, or raises ``AssertionError`` naming the function, its ops, the
    argument, the order, the mode and the largest error. float64 inputs see relative
    errors of 1e-4; float32 ones 1e-3, through finite differences of ``fun``
    evaluated in float64 (x64 on for those calls only; see :func:`check_vjp`). The
    same oracle as :func:`tapegrad.testing.assert_vjp`.

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> tg.check_grads(tnp.tanh, (tnp.linspace(-1.0, 1.0, 4, dtype="float32"),), order=2)
    """
    if not isinstance(args, (tuple, list)):
        raise TypeError("tg.check_grads: args must be a tuple of arguments, e.g. (x,)")
    args = tuple(tree_map(lambda v: jnp.asarray(v) if _is_float(v) else v, tuple(args)))
    check_vjp(fun, args, order, modes, None, eps, rtol, atol, who="tg.check_grads")
