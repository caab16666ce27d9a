"""Fuzzing the public API with hypothesis: wrong shapes, every dtype, NaN/Inf, empty arrays, odd
pytree leaves, non-callables and wrong ``argnums``.

Every call must either succeed or raise one of the documented exception types (TypeError,
ValueError, IndexError, NotImplementedError; FloatingPointError under ``tg.debug_nans``), within
a per-example time budget. Whenever it succeeds on floating-point inputs, the result is compared
with JAX's own autodiff of the same function written with ``jax.numpy`` (NaN/Inf inputs: the
NaN positions must agree, and the values elsewhere). A failure of tapegrad where JAX succeeds is
reported as well, since tnp promises jax.numpy's behaviour.

The number of fuzz cases run is printed at the end of the session: ``fuzz cases run: N``.
"""
from __future__ import annotations

import collections
import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad import data, nn, optim

ALLOWED = (TypeError, ValueError, IndexError, NotImplementedError)
BUDGET_S = 20.0  # per example; generous because the first call of a shape compiles XLA code

COUNTS: collections.Counter[str] = collections.Counter()


# The costliest tests (many fresh shapes to compile) run 60% of the profile's examples.
HEAVY = settings(max_examples=max(5, settings.default.max_examples * 3 // 5))


# --- session summary -----------------------------------------------------------------------------

def _group(what: str) -> str:
    if what.endswith("(non-callable)"):
        return "non-callables"
    for prefix, group in (("tnp.", "tnp"), ("nn.", "nn"), ("F.", "nn.functional"), ("optim.", "optim")):
        if what.startswith(prefix):
            return group
    return what


class _FuzzSummary:
    """Prints the number of fuzzed calls (tapegrad calls tried, each checked) after the run."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        total = sum(COUNTS.values())
        if total:
            groups: collections.Counter[str] = collections.Counter()
            for what, n in COUNTS.items():
                groups[_group(what)] += n
            terminalreporter.write_line(f"fuzz cases run: {total}")
            by = ", ".join(f"{k} {v}" for k, v in groups.most_common())
            terminalreporter.write_line(f"  by target: {by}")


_SUMMARY = _FuzzSummary()


@pytest.fixture(scope="module", autouse=True)
def _report_fuzz_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    pm = request.config.pluginmanager
    if not pm.is_registered(_SUMMARY):
        pm.register(_SUMMARY, "tapegrad-fuzz-summary")
    yield


# --- running one case ----------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the watchdog; a BaseException so that no `except Exception` can swallow it."""


@contextlib.contextmanager
def time_budget(seconds: float = BUDGET_S) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"the call ran longer than {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Outcome:
    __slots__ = ("ok", "value", "error")

    def __init__(self, ok: bool, value: Any = None, error: BaseException | None = None) -> None:
        self.ok, self.value, self.error = ok, value, error

    def __repr__(self) -> str:
        return f"ok: {_short(self.value)}" if self.ok else f"{type(self.error).__name__}: {self.error}"


def _short(v: Any) -> str:
    def leaf(a: Any) -> str:
        return f"{getattr(a, 'dtype', type(a).__name__)}{list(np.shape(a))}"
    return repr(jax.tree.map(leaf, v))[:300]


def attempt(what: str, call: Callable[[], Any], allowed: tuple = ALLOWED) -> Outcome:
    """Run a tapegrad call: success, or one of the ``allowed`` exceptions; anything else fails."""
    COUNTS[what] += 1
    with time_budget():
        try:
            return Outcome(True, call())
        except allowed as e:
            return Outcome(False, error=e)
        except Hang:
            raise
        except Exception as e:
            raise AssertionError(f"{what}: undocumented exception {type(e).__name__}: {e}") from e


def reference(call: Callable[[], Any]) -> Outcome:
    """Run the jax.numpy reference; any exception is an outcome."""
    with time_budget():
        try:
            return Outcome(True, call())
        except Hang:
            raise
        except Exception as e:
            return Outcome(False, error=e)


def _tol(*dtypes: Any) -> dict[str, float]:
    """Loose where any float32 took part (its rounding then reaches float64 results too)."""
    low = any(np.dtype(d) in (np.float32, np.complex64) for d in dtypes if d is not None)
    return dict(rtol=2e-4, atol=2e-5) if low else dict(rtol=1e-9, atol=1e-12)


def assert_same(got: Any, want: Any, what: str, **tol: float) -> None:
    """Same tree structure, shapes and dtypes, values equal to rounding, NaN at the same places."""
    g_leaves, g_tree = jax.tree.flatten(got)
    w_leaves, w_tree = jax.tree.flatten(want)
    assert g_tree == w_tree, f"{what}: structure {g_tree} != reference {w_tree}"
    for g, w in zip(g_leaves, w_leaves, strict=True):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}: shape {g.shape} != reference {w.shape}"
        assert g.dtype == w.dtype, f"{what}: dtype {g.dtype} != reference {w.dtype}"
        kw = tol or _tol(g.dtype, w.dtype)
        if g.dtype.kind in "fc" or w.dtype.kind in "fc":
            np.testing.assert_allclose(g, w, equal_nan=True, err_msg=what, **kw)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)


def agree(what: str, got: Outcome, want: Outcome, strict_errors: bool = True, **tol: float) -> None:
    """tapegrad's outcome against the reference's: both succeed with the same values, or both fail."""
    if got.ok and want.ok:
        assert_same(got.value, want.value, what, **tol)
    elif got.ok:
        pytest.fail(f"{what}: tapegrad returned {_short(got.value)} where jax raised {want!r}")
    elif want.ok and strict_errors:
        pytest.fail(f"{what}: tapegrad raised {got!r} where jax returned {_short(want.value)}")


# --- strategies ----------------------------------------------------------------------------------

FLOATS = (np.float32, np.float64)
OTHER_DTYPES = (np.int32, np.int64, np.bool_, np.complex128)
SPECIALS = (np.nan, np.inf, -np.inf, 0.0, -0.0)


def _no_tiny(v: float) -> float:
    # No magnitudes below 1e-6: there jax's own rules underflow (jax.grad(jnp.hypot) at (0, 1e-192)
    # is NaN, at (1e-200, 1e-200) -inf, where tapegrad rightly gives 0 and 1, 0.707 and 0.707).
    return 0.0 if abs(v) < 1e-6 else v


def py_floats(lo: float = -3.0, hi: float = 3.0) -> st.SearchStrategy:
    return st.floats(lo, hi).map(_no_tiny)


def _elements(dtype: Any, special: bool) -> st.SearchStrategy:
    kind = np.dtype(dtype).kind
    if kind == "f":
        width = np.dtype(dtype).itemsize * 8
        plain = st.floats(-3.0, 3.0, width=width).map(_no_tiny)
        return st.one_of(plain, plain, st.sampled_from(SPECIALS)) if special else plain
    if kind == "c":
        return st.complex_numbers(max_magnitude=3.0, allow_nan=False, allow_infinity=False)
    if kind == "b":
        return st.booleans()
    return st.integers(-3, 3)


@st.composite
def arrays(draw: Any, dtypes: tuple = FLOATS, shape: Any = None, max_dims: int = 3, max_side: int = 3,
           special: bool | None = None) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side))
    if special is None:
        special = draw(st.integers(0, 3)) == 0  # a quarter of the float arrays may hold NaN/Inf/±0
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype, special)))


def _object_array() -> np.ndarray:
    return np.array([1, "a", None], dtype=object)


ODD_LEAVES = st.one_of(
    st.none(), st.text(max_size=3), st.just(lambda x: x), st.just(()), st.just({}), st.just([]),
    st.just([[], {}, ()]), st.builds(object), st.builds(_object_array), st.integers(-3, 3), st.booleans(),
    st.complex_numbers(max_magnitude=2, allow_nan=False), arrays(dtypes=OTHER_DTYPES),
)
ANY_INPUT = st.one_of(arrays(), arrays(), py_floats(), ODD_LEAVES)


def is_empty_tree(x: Any) -> bool:
    return isinstance(x, (tuple, list, dict, type(None))) and not jax.tree.leaves(x)


def is_float_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, float)) and np.asarray(x).dtype.kind == "f"


def is_inexact_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, float, complex)) and np.asarray(x).dtype.kind in "fc"


def finite(x: Any) -> bool:
    return all(np.all(np.isfinite(np.asarray(v))) for v in jax.tree.leaves(x))


def cotangent_like(out: Any) -> Any:
    """A deterministic, non-uniform cotangent shaped and typed like ``out``."""
    def one(o: Any) -> Any:
        n = int(np.prod(np.shape(o)))
        return jnp.asarray((np.arange(n) % 5 - 1.5).reshape(np.shape(o)), dtype=o.dtype)
    return jax.tree.map(one, out)


# --- fixed functions, written once for both namespaces -------------------------------------------

def f_sin(ns: Any) -> Callable:
    return lambda x: ns.sum(ns.sin(x) * x)


def f_tanh(ns: Any) -> Callable:
    return lambda x: ns.mean(ns.tanh(2.0 * x) + x * x)


def g_vec(ns: Any) -> Callable:  # non-scalar
    return lambda x: ns.exp(-x * x) * ns.cos(x)


SCALAR_FUNS = {"sin": f_sin, "tanh": f_tanh}


# --- 1. transforms on fixed functions, any input -------------------------------------------------

@HEAVY
@given(x=ANY_INPUT, name=st.sampled_from(sorted(SCALAR_FUNS)),
       transform=st.sampled_from(["grad", "value_and_grad", "jacobian", "jacfwd", "hessian"]))
def test_transforms_on_any_input(x, name, transform):
    if transform in ("jacobian", "jacfwd", "hessian"):
        assume(np.size(x) <= 9 if isinstance(x, np.ndarray) else True)
    ft, fj = SCALAR_FUNS[name](tnp), SCALAR_FUNS[name](jnp)
    tg_t = {"grad": tg.grad, "value_and_grad": tg.value_and_grad, "jacobian": tg.jacobian,
            "jacfwd": tg.jacfwd, "hessian": tg.hessian}[transform]
    jax_t = {"grad": jax.grad, "value_and_grad": jax.value_and_grad, "jacobian": jax.jacrev,
             "jacfwd": jax.jacfwd, "hessian": jax.hessian}[transform]
    got = attempt(transform, lambda: tg_t(ft)(x))
    if not is_float_array(x):
        assert not got.ok, f"tg.{transform} accepted a non-float input {x!r:.80}: {got!r}"
        assert isinstance(got.error, TypeError), got
        return
    want = reference(lambda: jax_t(fj)(jnp.asarray(x)))
    agree(f"tg.{transform}({name}) at {x!r:.200}", got, want)


# B6 (fixed): jacobian/jacfwd/hessian of a Python float crashed ('float' object has no attribute 'shape').
@example(x=0.5, transform="jacobian")
@given(x=st.one_of(st.floats(-3, 3), st.lists(st.floats(-3, 3), min_size=1, max_size=2)),
       transform=st.sampled_from(["jacobian", "jacfwd", "hessian"]))
def test_jacobians_of_python_floats(x, transform):
    f = (lambda v: tnp.sin(v[0]) * v[-1]) if isinstance(x, list) else (lambda v: tnp.sin(v) * v)
    fj = (lambda v: jnp.sin(v[0]) * v[-1]) if isinstance(x, list) else (lambda v: jnp.sin(v) * v)
    got = attempt(transform, lambda: getattr(tg, transform)(f)(x))
    jax_t = {"jacobian": jax.jacrev, "jacfwd": jax.jacfwd, "hessian": jax.hessian}[transform]
    agree(f"tg.{transform} at {x!r}", got, reference(lambda: jax_t(fj)(x)))


@given(x=ANY_INPUT, ct_kind=st.sampled_from(["like", "wrong_shape", "int", "python"]))
def test_vjp_on_any_input_and_cotangent(x, ct_kind):
    got = attempt("vjp", lambda: tg.vjp(g_vec(tnp), x))
    if not got.ok:
        return
    # Real and complex inputs are differentiable (complex in PyTorch's convention, checked below).
    assert is_inexact_array(x), f"tg.vjp accepted {x!r:.80}"
    out, vjp_fn = got.value
    want_out, jax_vjp = jax.vjp(g_vec(jnp), jnp.asarray(x))
    assert_same(out, want_out, "vjp output")
    ct = cotangent_like(want_out)
    if ct_kind == "wrong_shape":
        ct = jnp.ones(tuple(np.shape(ct)) + (2,), ct.dtype)
    elif ct_kind == "int":
        ct = jnp.real(ct).astype(jnp.int32)
    elif ct_kind == "python":
        ct = 1.0 if np.shape(out) == () else [1.0]
    res = attempt("vjp_fn", lambda: vjp_fn(ct))
    if ct_kind == "like" or (ct_kind == "python" and np.shape(out) == ()):
        assert res.ok, f"vjp_fn refused a well-formed cotangent: {res!r}"
        # PyTorch's convention: conj(jax_vjp(conj(g))), the same as jax's for real values.
        want = jax.tree.map(jnp.conj, jax_vjp(jnp.conj(jnp.asarray(ct, dtype=want_out.dtype))))
        assert_same(res.value, want, f"vjp_fn at {x!r:.200}")
    else:
        assert not res.ok and isinstance(res.error, (TypeError, ValueError)), res


# B11: tg.jvp calls jnp.shape on any tangent, which JAX deprecates for non-arrays.
@pytest.mark.filterwarnings("ignore:shape requires ndarray or scalar arguments:DeprecationWarning")
@given(x=ANY_INPUT, t=ANY_INPUT)
def test_jvp_on_any_primal_and_tangent(x, t):
    got = attempt("jvp", lambda: tg.jvp(g_vec(tnp), (x,), (t,)))
    if not (is_float_array(x) and got.ok):
        return
    assert np.shape(t) == np.shape(x), f"jvp accepted a tangent of shape {np.shape(t)} for {np.shape(x)}"
    xj = jnp.asarray(x)
    want = reference(lambda: jax.jvp(g_vec(jnp), (xj,), (jnp.asarray(t).astype(xj.dtype),)))
    agree(f"jvp at {x!r:.200} along {t!r:.200}", got, want)


@HEAVY
@given(x=arrays(dtypes=(np.float64,), max_side=3, max_dims=2), name=st.sampled_from(sorted(SCALAR_FUNS)))
def test_check_grads_accepts_correct_functions(x, name):
    fun = SCALAR_FUNS[name](tnp)
    # Finite differences cannot check a NaN/Inf point (e.g. the mean of an empty array): there
    # check_grads must say so with its AssertionError; everywhere else it must pass.
    defined = finite(x) and finite(SCALAR_FUNS[name](jnp)(x))
    allowed = ALLOWED if defined else ALLOWED + (AssertionError,)
    got = attempt("check_grads", lambda: tg.check_grads(fun, (x,), order=2), allowed=allowed)
    if defined:
        assert got.ok, f"check_grads rejected a correct gradient at {x!r}: {got!r}"


@given(args=st.one_of(ANY_INPUT, st.tuples(ANY_INPUT), st.lists(ANY_INPUT, max_size=2)),
       fun=st.one_of(st.just(f_sin(tnp)), ODD_LEAVES))
def test_check_grads_bad_arguments(args, fun):
    allowed = ALLOWED + (AssertionError,)  # NaN/Inf inputs can legitimately fail the comparison
    got = attempt("check_grads", lambda: tg.check_grads(fun, args), allowed=allowed)
    if not callable(fun) or not isinstance(args, (tuple, list)):
        assert not got.ok and isinstance(got.error, TypeError), got


@given(fun=ODD_LEAVES.filter(lambda f: not callable(f)),
       transform=st.sampled_from(["grad", "value_and_grad", "jacobian", "jacfwd", "hessian", "checkpoint",
                                  "make_tape", "custom_vjp", "vjp", "jvp"]))
def test_transforms_reject_non_callables(fun, transform):
    def call() -> Any:
        if transform == "vjp":
            return tg.vjp(fun, 1.0)
        if transform == "jvp":
            return tg.jvp(fun, (1.0,), (1.0,))
        return getattr(tg, transform)(fun)

    got = attempt(f"{transform}(non-callable)", call)
    assert not got.ok and isinstance(got.error, TypeError) and "callable" in str(got.error), got


# --- 2. argnums ----------------------------------------------------------------------------------

ARGNUMS = st.one_of(
    st.integers(-4, 4), st.floats(-2, 2), st.booleans(), st.none(), st.text(max_size=2),
    st.lists(st.integers(-3, 3), max_size=3), st.tuples(st.integers(-3, 3)),
    st.tuples(st.integers(-3, 3), st.integers(-3, 3)), st.just(np.int64(1)), st.just(()),
)


def f2(ns: Any) -> Callable:
    return lambda x, y, z: ns.sum(x * y + ns.sin(x) * z)


def _normalized(argnums: Any, n: int) -> tuple[int, ...] | None:
    if isinstance(argnums, bool) or not isinstance(argnums, (int, np.integer, list, tuple)):
        return None
    nums = [argnums] if isinstance(argnums, (int, np.integer)) else list(argnums)
    if not nums or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in nums):
        return None
    if any(not -n <= i < n for i in nums):
        return None
    return tuple(int(i) % n for i in nums)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # numpy's inf * 0 on the constants
@given(argnums=ARGNUMS, xs=st.tuples(arrays(shape=(3,), dtypes=(np.float64,)),
                                     arrays(shape=(3,), dtypes=(np.float64,)),
                                     arrays(shape=(3,), dtypes=(np.float64,))),
       transform=st.sampled_from(["grad", "value_and_grad", "jacobian", "jacfwd"]))
def test_argnums(argnums, xs, transform):
    norm = _normalized(argnums, 3)
    assume(norm is None or len(set(norm)) == len(norm))  # repeated argnums: see the xfail test below
    got = attempt("argnums", lambda: getattr(tg, transform)(f2(tnp), argnums=argnums)(*xs))
    if norm is None:
        assert not got.ok, f"argnums={argnums!r} was accepted: {got!r}"
        seq = isinstance(argnums, (list, tuple))
        wrong_type = not isinstance(argnums, (int, np.integer, list, tuple)) or isinstance(argnums, bool) or (
            seq and (not argnums or not all(isinstance(i, int) for i in argnums)))
        assert isinstance(got.error, TypeError if wrong_type else ValueError), (argnums, got)
        return
    assert got.ok, f"argnums={argnums!r} was refused: {got!r}"
    # The matching jax transform: with NaN inputs forward mode spreads NaN (nan * 0) where reverse
    # mode does not, in jax as in tapegrad. The scalar function's jacobian is its gradient.
    # Several argnums at once: one joint basis in forward mode, so NaN spreads across arguments
    # (NaN * 0) in jax as in tapegrad: the reference takes the same argnums in one call.
    jax_t = {"grad": jax.grad, "value_and_grad": jax.value_and_grad, "jacobian": jax.jacrev,
             "jacfwd": jax.jacfwd}[transform]
    want = jax_t(f2(jnp), argnums=norm[0] if isinstance(argnums, (int, np.integer)) else norm)(
        *map(jnp.asarray, xs))
    assert_same(got.value, want, f"tg.{transform} argnums={argnums!r}")


@example(i=0, xs=(np.array([0.5, 1.0]), np.array([2.0, 3.0]), np.array([1.0, -1.0])))
@given(i=st.integers(0, 2), xs=st.tuples(*[arrays(shape=(2,), dtypes=(np.float64,), special=False)] * 3))
def test_repeated_argnums_are_refused_or_consistent(i, xs):
    got = attempt("argnums", lambda: tg.grad(f2(tnp), argnums=(i, i))(*xs))
    if got.ok:  # either a ValueError, or the same (right) gradient in both slots
        want = jax.grad(f2(jnp), argnums=i)(*map(jnp.asarray, xs))
        assert_same(got.value, (want, want), "repeated argnums")
    else:
        assert isinstance(got.error, ValueError), got


# --- 3. pytrees with odd leaves ------------------------------------------------------------------

TREES = st.recursive(
    st.one_of(arrays(max_side=2, max_dims=2), arrays(max_side=2, max_dims=2), ODD_LEAVES),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.tuples(kids, kids),
                           st.dictionaries(st.sampled_from("abc"), kids, max_size=3)),
    max_leaves=5,
)


def f_tree(ns: Any) -> Callable:
    def f(tree: Any) -> Any:
        total = 0.0
        for leaf in jax.tree.leaves(tree):
            total = total + ns.sum(ns.tanh(leaf) * leaf)
        return total
    return f


@given(tree=TREES)
def test_grad_over_pytrees_with_odd_leaves(tree):
    got = attempt("pytree grad", lambda: tg.grad(f_tree(tnp))(tree))
    leaves = jax.tree.leaves(tree)
    all_float = all(is_float_array(v) for v in leaves)
    if not all_float:
        assert not got.ok and isinstance(got.error, TypeError), f"accepted {tree!r:.200}: {got!r}"
        return
    if not leaves:  # nothing to differentiate: the output is a constant 0.0
        assert got.ok and jax.tree.structure(got.value) == jax.tree.structure(tree), got
        return
    want = reference(lambda: jax.grad(f_tree(jnp))(jax.tree.map(jnp.asarray, tree)))
    agree(f"grad over {tree!r:.200}", got, want)


# --- 4. tapegrad.numpy --------------------------------------------------------------------------

UNARY = ["sin", "cos", "tan", "exp", "expm1", "log", "log1p", "sqrt", "cbrt", "tanh", "sinh", "arctan",
         "arcsin", "abs", "square", "negative", "reciprocal", "sign", "floor"]
BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "arctan2", "hypot",
          "logaddexp", "fmax", "copysign"]


def _jnp(name: str) -> Callable:
    return jsp.logsumexp if name == "logsumexp" else getattr(jnp, name)


# Points where tapegrad's derivative deliberately differs from jax's (documented in the rule):
# d/dx x**y at x == 0 is y * x**(y-1) with y == 0 pinned to 0 (PyTorch's value; jax gives NaN),
# and d/dy x**y at x == 0 is defined as 0.
# d/dx hypot(x, y) = x / hypot at infinite inputs: tapegrad gives 0 at (0, inf), jax NaN.
DEVIATIONS: dict[str, Callable[..., bool]] = {
    "tnp.power": lambda x, y: bool(np.any(np.asarray(x) == 0)),
    "tnp.hypot": lambda x, y: not (finite(x) and finite(y)),
}


def compare_op(what: str, ft: Callable, fj: Callable, args: tuple, strict_errors: bool = True,
               as_jax: bool = False, vjp: bool = True) -> None:
    """Forward values, then the VJP w.r.t. every floating-point argument, against jax.

    The forward result must be JAX arrays (API section 1), also for NumPy inputs; ``as_jax`` hands
    tapegrad JAX arrays instead of the NumPy ones, for the functions that break that (B12).
    """
    t_args = tuple(jnp.asarray(a) if as_jax and isinstance(a, np.ndarray) else a for a in args)
    got = attempt(what, lambda: ft(*t_args))
    if got.ok:
        kinds = {type(v).__name__ for v in jax.tree.leaves(got.value) if not isinstance(v, jax.Array)}
        assert not kinds, f"{what}{tuple(_short(a) for a in args)} returned {kinds}, not JAX arrays"
    want = reference(lambda: fj(*args))
    involved = [getattr(v, "dtype", None) for v in jax.tree.leaves((args, got.value, want.value))]
    tol = _tol(*[d for d in involved if d is not None])
    agree(f"{what}{tuple(_short(a) for a in args)}", got, want, strict_errors=strict_errors, **tol)
    if not got.ok:
        return
    diff = [i for i, a in enumerate(args) if is_float_array(a)]
    if not vjp or (what in DEVIATIONS and DEVIATIONS[what](*args)):
        return
    if not diff or not all(np.asarray(o).dtype.kind == "f" for o in jax.tree.leaves(got.value)):
        return

    def closed(f: Callable) -> Callable:
        def g(*d: Any) -> Any:
            full = list(args)
            for i, v in zip(diff, d, strict=True):
                full[i] = v
            return f(*full)
        return g

    ct = cotangent_like(want.value)
    primals = [jnp.asarray(args[i]) for i in diff]
    g_got = attempt(what + " vjp", lambda: tg.vjp(closed(ft), *primals)[1](ct))
    g_want = reference(lambda: jax.vjp(closed(fj), *primals)[1](ct))
    agree(f"vjp of {what} at {args!r:.300}", g_got, g_want, **tol)


@given(name=st.sampled_from(UNARY), x=st.one_of(arrays(), arrays(dtypes=OTHER_DTYPES)))
def test_tnp_unary(name, x):
    compare_op(f"tnp.{name}", getattr(tnp, name), _jnp(name), (x,))


@given(name=st.sampled_from(BINARY), data_=st.data())
def test_tnp_binary(name, data_):
    compatible = data_.draw(st.booleans())
    if compatible:
        pair = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
        shapes = data_.draw(pair).input_shapes
    else:
        shapes = data_.draw(st.tuples(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
                                      hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
    dtypes = FLOATS + OTHER_DTYPES if data_.draw(st.integers(0, 3)) == 0 else FLOATS
    x = data_.draw(arrays(dtypes=dtypes, shape=shapes[0]))
    y = data_.draw(st.one_of(arrays(dtypes=dtypes, shape=shapes[1]), py_floats(), st.integers(-2, 2)))
    compare_op(f"tnp.{name}", getattr(tnp, name), _jnp(name), (x, y))


# B16 (fixed): tnp.result_type read .dtype and so dropped JAX's weak types.
@example(x=np.array([1.5, -2.0], np.float32), y=0.0)
@given(x=arrays(dtypes=(np.float32,), shape=(2,)), y=py_floats())
def test_tnp_copysign_with_a_weakly_typed_operand(x, y):
    got = attempt("tnp.copysign", lambda: tnp.copysign(jnp.asarray(x), jnp.asarray(y)))
    agree("copysign(float32, weak float)", got, reference(lambda: jnp.copysign(jnp.asarray(x), jnp.asarray(y))))


# Found by this fuzzer (B9, fixed): copysign kept x1's dtype instead of promoting like jax.numpy.
@example(x=np.array([3, -2], np.int32), y=-1.0)
@example(x=np.array([3.0, -2.0], np.float32), y=np.array([1.0, -1.0]))
@given(x=arrays(dtypes=(np.int32, np.int64, np.bool_, np.float32), shape=(2,)),
       y=arrays(dtypes=(np.float64,), shape=(2,)))
def test_tnp_copysign_promotes(x, y):
    compare_op("tnp.copysign", tnp.copysign, jnp.copysign, (x, y))


AXES = st.one_of(st.none(), st.integers(-4, 4), st.tuples(st.integers(-3, 3)),
                 st.tuples(st.integers(-3, 3), st.integers(-3, 3)), st.floats(-1, 1), st.just([0]))
REDUCTIONS = ["sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "amax"]


@HEAVY
@given(name=st.sampled_from(REDUCTIONS), x=st.one_of(arrays(), arrays(), arrays(dtypes=OTHER_DTYPES)),
       axis=AXES, keepdims=st.booleans())
def test_tnp_reductions(name, x, axis, keepdims):
    compare_op(f"tnp.{name}", lambda a: getattr(tnp, name)(a, axis=axis, keepdims=keepdims),
               lambda a: _jnp(name)(a, axis=axis, keepdims=keepdims), (x,), strict_errors=False)


# B10 (fixed): var/std of a complex array squared the centred values instead of taking |x-m|^2.
@example(name="var", x=np.array([1 + 2j, 3 - 1j, -2 + 0.5j]))
@given(name=st.sampled_from(["var", "std"]), x=arrays(dtypes=(np.complex128,), shape=(3,)))
def test_tnp_var_std_of_complex(name, x):
    compare_op(f"tnp.{name}", getattr(tnp, name), getattr(jnp, name), (x,))


# B7 (fixed): a string axis reached jax's named-axis machinery (NameError 'unbound axis name').
@example(name="sum", axis="0")
@given(name=st.sampled_from(["sum", "mean", "max", "prod", "var"]), axis=st.text(min_size=1, max_size=2))
def test_tnp_reductions_string_axis(name, axis):
    got = attempt(f"tnp.{name}", lambda: getattr(tnp, name)(jnp.ones((2, 3)), axis=axis))
    assert not got.ok and isinstance(got.error, TypeError), got


@given(x=st.one_of(arrays(), arrays(dtypes=OTHER_DTYPES)), axis=st.one_of(st.none(), st.integers(-4, 4)))
def test_tnp_cumsum(x, axis):
    compare_op("tnp.cumsum", lambda a: tnp.cumsum(a, axis=axis), lambda a: jnp.cumsum(a, axis=axis), (x,))


# No sizes below -1: jax.numpy reads -2 as -1, tnp refuses it (a TypeError, as for other bad sizes).
@given(x=arrays(max_side=4), shape=st.one_of(
    st.lists(st.integers(-1, 6), max_size=4).map(tuple), st.integers(-1, 30), st.just((-1, -1)),
    st.just((2.0, 3)), st.just("ab")))
def test_tnp_reshape(x, shape):
    assume(not (isinstance(shape, tuple) and 0 in shape and -1 in shape))  # see the B14 test below
    compare_op("tnp.reshape", lambda a: tnp.reshape(a, shape), lambda a: jnp.reshape(a, shape), (x,))


# B14 (fixed): a shape holding both 0 and -1 raised ZeroDivisionError (from jax's _compute_newshape).
@example(shape=(2, 3), new=(0, -1))
@given(shape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3),
       new=st.sampled_from([(0, -1), (-1, 0), (2, 0, -1)]))
def test_tnp_reshape_zero_and_minus_one(shape, new):
    got = attempt("tnp.reshape", lambda: tnp.reshape(jnp.ones(shape), new))
    # NumPy refuses these shapes (the -1 is ambiguous next to a 0), whatever the input's size.
    assert not got.ok and isinstance(got.error, ValueError) and "-1" in str(got.error), got


def _in_bounds_int(n: int) -> st.SearchStrategy:
    return st.integers(-n, n - 1) if n else st.nothing()


@st.composite
def indices(draw: Any, shape: tuple[int, ...]) -> Any:
    """A random index for an array of ``shape``: ints, slices, None, ..., int arrays, a mask."""
    if draw(st.integers(0, 7)) == 0:
        return draw(hnp.arrays(np.bool_, shape))  # a full boolean mask
    parts: list[Any] = []
    dim = 0
    for _ in range(draw(st.integers(0, len(shape) + 1))):
        n = shape[dim] if dim < len(shape) else 0
        kinds = ["slice", "none"]
        if dim < len(shape) and n:
            kinds += ["int", "int", "array"]
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            parts.append(draw(_in_bounds_int(n)))
            dim += 1
        elif kind == "array":
            parts.append(draw(hnp.arrays(np.int32, draw(st.integers(0, 3)), elements=_in_bounds_int(n))))
            dim += 1
        elif kind == "slice":
            step = draw(st.sampled_from([None, 1, 2, -1, 0]))  # step 0: a ValueError in both
            parts.append(slice(draw(st.one_of(st.none(), st.integers(-4, 4))),
                               draw(st.one_of(st.none(), st.integers(-4, 4))), step))
            dim += 1
        else:
            parts.append(None)
    if draw(st.booleans()):  # last, so that the parts above index the leading axes they were drawn for
        parts.append(Ellipsis)
    return tuple(parts) if draw(st.booleans()) or len(parts) != 1 else parts[0]


@given(data_=st.data())
def test_tnp_getitem_in_bounds(data_):
    x = data_.draw(arrays(max_side=3))
    idx = data_.draw(indices(np.shape(x)))
    compare_op("tnp.getitem", lambda a: a[idx] if isinstance(a, tg.Tracer) else tnp.getitem(a, idx),
               lambda a: jnp.asarray(a)[idx], (x,))


# B2 (fixed): an out-of-bounds static integer index was clamped forward but its gradient dropped.
@given(x=arrays(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3), special=False),
       data_=st.data())
def test_tnp_getitem_out_of_bounds_int(x, data_):
    axis = data_.draw(st.integers(0, x.ndim - 1))
    n = x.shape[axis]
    bad = data_.draw(st.sampled_from([n, n + 2, -n - 1, -n - 3]))
    idx = (slice(None),) * axis + (bad,)
    compare_op("tnp.getitem", lambda a: a[idx] if isinstance(a, tg.Tracer) else tnp.getitem(a, idx),
               lambda a: jnp.asarray(a)[idx], (x,))


B12_CALLS = {
    "reshape": lambda a: tnp.reshape(a, (-1,)), "ravel": tnp.ravel, "atleast_3d": tnp.atleast_3d,
    "expand_dims": lambda a: tnp.expand_dims(a, 0), "getitem": lambda a: tnp.getitem(a, 0), "clip": tnp.clip,
    "nn.Flatten": lambda a: nn.Flatten(0)({}, a),
}


# B12 (fixed): these returned a NumPy array, with NumPy semantics, for a NumPy input.
@example(name="getitem", x=np.arange(6.0).reshape(2, 3))
@given(name=st.sampled_from(sorted(B12_CALLS)), x=arrays(shape=(2, 3)))
def test_tnp_results_are_jax_arrays_for_numpy_inputs(name, x):
    got = attempt(f"tnp.{name}", lambda: B12_CALLS[name](x))
    assert got.ok and isinstance(got.value, jax.Array), f"tnp.{name}(numpy array) gave {got!r}"


# --- 5. nn layers with random input shapes ---------------------------------------------------------

LAYERS = {
    "Linear(3,2)": nn.Linear(3, 2),
    "Conv2d(2,3,2)": nn.Conv2d(2, 3, 2),
    "Conv1d(2,2,2,padding=same)": nn.Conv1d(2, 2, 2, padding="same"),
    "MaxPool2d(2)": nn.MaxPool2d(2),
    "AvgPool2d(2)": nn.AvgPool2d(2),
    "Flatten()": nn.Flatten(),
    "LayerNorm(3)": nn.LayerNorm(3),
    "BatchNorm2d(2)": nn.BatchNorm2d(2),
    "Softmax(dim=1)": nn.Softmax(dim=1),
    "GELU()": nn.GELU(),
    "Dropout(0.5)": nn.Dropout(0.5),
    "Sequential(Linear,ReLU,Linear)": nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)),
}
LAYER_PARAMS = {name: jax.tree.map(lambda a: a.astype(np.float64) if a.dtype == np.float32 else a,
                                   layer.init(0)) for name, layer in LAYERS.items()}


@given(name=st.sampled_from(sorted(LAYERS)),
       x=st.one_of(arrays(max_dims=4, max_side=3, special=False), arrays(dtypes=OTHER_DTYPES, max_dims=4)))
def test_nn_layers_on_random_shapes(name, x):
    layer, params = LAYERS[name], LAYER_PARAMS[name]
    kw = {"train": False} if name in ("BatchNorm2d(2)", "Dropout(0.5)") else {}
    # The reference runs the very same layer under jax.vjp: tapegrad ops on JAX tracers are their
    # jax.numpy forward functions, so JAX differentiates those, not tapegrad's rules.
    # Empty inputs: forward only.
    compare_op(f"nn.{name}", lambda a: layer(params, a, **kw), lambda a: layer(params, a, **kw), (x,),
               strict_errors=False, vjp=np.size(x) > 0)


@pytest.mark.filterwarnings("ignore:mse_loss:UserWarning")
@given(x=st.one_of(arrays(max_dims=2), ODD_LEAVES), target=st.one_of(
    arrays(dtypes=(np.int32, np.int64), max_dims=2), arrays(max_dims=2), ODD_LEAVES),
    loss=st.sampled_from(["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy_with_logits"]))
def test_losses_on_random_inputs(x, target, loss):
    fn = getattr(nn.functional, loss)
    got = attempt(f"F.{loss}", lambda: fn(x, target))
    if got.ok and is_float_array(x) and not isinstance(target, (str, type(None))):
        g = attempt(f"F.{loss} grad", lambda: tg.grad(lambda a: fn(a, target))(x))
        if g.ok and np.shape(got.value) == ():
            want = reference(lambda: jax.grad(lambda a: fn(a, target))(jnp.asarray(x)))
            agree(f"grad of F.{loss}", g, want, strict_errors=False)


# B15 (fixed): F.cross_entropy / F.nll_loss crashed on a Python int class target.
@example(loss="cross_entropy", c=2, target=1)
@given(loss=st.sampled_from(["cross_entropy", "nll_loss"]), c=st.integers(1, 4), target=st.integers(0, 3))
def test_class_losses_with_python_int_target(loss, c, target):
    assume(target < c)
    fn = getattr(nn.functional, loss)
    x = jnp.linspace(-1.0, 1.0, c)
    got = attempt(f"F.{loss}", lambda: fn(x, target))
    agree(f"F.{loss}(x, {target})", got, reference(lambda: fn(x, jnp.asarray(target))))


# --- 6. optimizers with mismatched trees ----------------------------------------------------------

PARAM_TREES = st.recursive(
    arrays(dtypes=(np.float32, np.float64), max_dims=2, max_side=2, special=False),
    lambda kids: st.one_of(st.lists(kids, max_size=2),
                           st.dictionaries(st.sampled_from("wb"), kids, min_size=1, max_size=2)),
    max_leaves=3,
)
OPTIMIZERS = {
    "SGD": lambda: optim.SGD(lr=0.1), "SGD+momentum": lambda: optim.SGD(lr=0.1, momentum=0.9, nesterov=True),
    "Adam": lambda: optim.Adam(lr=0.01), "AdamW": lambda: optim.AdamW(lr=0.01),
    "RMSprop": lambda: optim.RMSprop(lr=0.01, momentum=0.5, centered=True),
}


@given(params=PARAM_TREES, grads=st.one_of(PARAM_TREES, ODD_LEAVES), same=st.booleans(),
       name=st.sampled_from(sorted(OPTIMIZERS)))
def test_optimizer_step_with_mismatched_trees(params, grads, same, name):
    if same:  # a well-formed step half of the time
        grads = jax.tree.map(lambda p: np.full(np.shape(p), 0.5, np.asarray(p).dtype), params)
    opt = OPTIMIZERS[name]()
    state = opt.init(params)
    got = attempt(f"optim.{name}.step", lambda: opt.step(params, grads, state))
    p_leaves, g_leaves = jax.tree.leaves(params), jax.tree.leaves(grads)
    matches = jax.tree.structure(params) == jax.tree.structure(grads) and all(
        np.shape(p) == np.shape(g) for p, g in zip(p_leaves, g_leaves, strict=True))
    if not matches:
        assert not got.ok and isinstance(got.error, (ValueError, TypeError)), got
        return
    if not all(is_float_array(g) for g in g_leaves):
        return  # e.g. integer grads: promoted, or refused with a documented type (checked by attempt)
    assert got.ok, got
    new, _ = got.value
    assert jax.tree.structure(new) == jax.tree.structure(params)
    pairs = zip(p_leaves, g_leaves, strict=True)
    same_dtypes = all(np.asarray(p).dtype == np.asarray(g).dtype for p, g in pairs)
    for p, q in zip(p_leaves, jax.tree.leaves(new), strict=True):
        assert np.shape(p) == np.shape(q)
        assert np.asarray(p).dtype == np.asarray(q).dtype, (p.dtype, q.dtype)  # whatever the grads' dtype
    if name == "SGD" and same_dtypes:
        assert_same(new, jax.tree.map(lambda p, g: p - 0.1 * g, params, grads), "SGD step")


# B13 (fixed): opt.step with float64 grads for float32 params turned the params into float64.
@example(name="SGD")
@given(name=st.sampled_from(sorted(OPTIMIZERS)))
def test_optimizer_step_keeps_param_dtype_or_refuses_other_grad_dtype(name):
    opt = OPTIMIZERS[name]()
    params = {"w": np.ones(3, np.float32)}
    grads = {"w": np.ones(3, np.float64)}
    got = attempt(f"optim.{name}.step", lambda: opt.step(params, grads, opt.init(params)))
    assert got.ok and got.value[0]["w"].dtype == np.float32, got  # the grads are cast to the params' dtype


# --- 7. DataLoader arguments ---------------------------------------------------------------------

ODD_NUMBERS = st.one_of(st.integers(-2, 7), st.floats(-1, 7), st.none(), st.booleans(), st.text(max_size=2))


@given(n=st.integers(0, 9), batch_size=ODD_NUMBERS, shuffle=st.booleans(), drop_last=st.booleans(),
       seed=st.one_of(st.none(), st.integers(-2, 5), st.text(max_size=1)), prefetch=st.one_of(
           st.integers(-1, 3), st.floats(0, 2)))
def test_dataloader_arguments(n, batch_size, shuffle, drop_last, seed, prefetch):
    ds = data.TensorDataset(np.arange(n, dtype=np.float32), np.arange(n))

    def run() -> tuple[int, list]:
        loader = data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed,
                                 prefetch=prefetch)
        return len(loader), [(np.asarray(x), np.asarray(y)) for x, y in loader]

    got = attempt("DataLoader", run)
    good_seed = seed is None or (type(seed) is int and seed >= 0)
    valid = (type(batch_size) is int and batch_size >= 1 and good_seed
             and float(prefetch) == int(prefetch) and prefetch >= 0)
    if not valid:
        return  # refused with a documented exception type (checked by attempt) or a sensible coercion
    assert got.ok, got
    length, batches = got.value
    assert length == len(batches)
    seen = np.concatenate([y for _, y in batches]) if batches else np.zeros(0, int)
    expect = n - n % batch_size if drop_last else n
    assert len(seen) == expect and len(set(seen.tolist())) == expect
    for x, y in batches:
        np.testing.assert_array_equal(x, y.astype(np.float32))


# --- 8. debug_nans -------------------------------------------------------------------------------

@given(x=arrays(dtypes=(np.float64,), max_side=3, special=True),
       name=st.sampled_from(["log", "sqrt", "reciprocal", "arcsin", "tanh", "exp"]))
def test_debug_nans_raises_floating_point_error_or_returns_finite(x, name):
    f = lambda a: tnp.sum(getattr(tnp, name)(a) * a)  # noqa: E731

    def call() -> Any:
        with tg.debug_nans():
            return tg.value_and_grad(f)(x)

    got = attempt("debug_nans", call, allowed=ALLOWED + (FloatingPointError,))
    if got.ok:
        value, g = got.value
        assert finite(value) and finite(g), f"debug_nans let a NaN/Inf through: {got.value}"
    else:
        assert isinstance(got.error, FloatingPointError), got
        assert "debug_nans: primitive '" in str(got.error) and "test_fuzz.py:" in str(got.error), got
