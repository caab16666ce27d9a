"""tapegrad.scipy.stats against jax.scipy.stats: every (distribution, function) pair's signature, forward
values (broadcast parameters, rtol 1e-12 in float64) and derivatives (assert_vjp to order 2 against
jax.vjp/jax.jvp of the same jax function, and finite differences); values and jax.grad at the edges
(outside the support, invalid parameters); torch.distributions' log_prob/cdf/icdf and their gradients."""
import inspect
import math

import jax
import jax.numpy as jnp
import jax.scipy.stats as js
import numpy as np
import pytest
import torch
import torch.distributions as D

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.scipy import stats as S
from tapegrad.testing import assert_vjp

Q_FUNCS = {"ppf", "isf"}  # their first argument is a probability


def _u(shape, seed):
    return np.random.default_rng(seed).uniform(-0.95, 0.95, shape)


def _functions(jmod):
    # jax.scipy.stats.<dist> re-exports exactly its functions (plain or jitted).
    return sorted(n for n in dir(jmod) if not n.startswith("_") and callable(getattr(jmod, n)))


# ---- continuous distributions -----------------------------------------------------------------------------
# name -> (domain of x (2, 3), [(shape, domain) of each parameter after x]); domains map u in (-1, 1) inside
# the support and away from kinks. Shapes mix (3,), () so that parameters broadcast against x.
CONT = {
    "norm": (lambda u: 2 * u, [((3,), lambda u: 0.3 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "cauchy": (lambda u: 2 * u, [((3,), lambda u: 0.3 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "laplace": (lambda u: 2 * u, [((3,), lambda u: 0.3 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "logistic": (lambda u: 2 * u, [((3,), lambda u: 0.3 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "gumbel_l": (lambda u: 1.5 * u, [((3,), lambda u: 0.3 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "gumbel_r": (lambda u: 1.5 * u, [((3,), lambda u: 0.3 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "uniform": (lambda u: 1 + 0.6 * u, [((3,), lambda u: 0.3 * u), ((), lambda u: 2 + 0.3 * u)]),
    "expon": (lambda u: 1.5 + u, [((3,), lambda u: 0.3 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "pareto": (lambda u: 2.5 + u, [((3,), lambda u: 2 + 0.5 * u), ((), lambda u: 0.1 * u),
                                   ((), lambda u: 1 + 0.2 * u)]),
    "t": (lambda u: 2 * u, [((3,), lambda u: 3 + u), ((), lambda u: 0.3 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "gennorm": (lambda u: np.sign(u) * (0.5 + np.abs(u)), [((3,), lambda u: 1.5 + 0.5 * u)]),
    "vonmises": (lambda u: 2 * u, [((3,), lambda u: 1.5 + u)]),
    "wrapcauchy": (lambda u: math.pi + 2 * u, [((3,), lambda u: 0.5 + 0.3 * u)]),
    "truncnorm": (lambda u: 0.1 + 0.6 * u, [((3,), lambda u: -1 + 0.3 * u), ((), lambda u: 1.2 + 0.3 * u),
                                            ((), lambda u: 0.1 + 0 * u), ((), lambda u: 1.3 + 0 * u)]),
    "chi2": (lambda u: 2 + u, [((3,), lambda u: 3 + u), ((), lambda u: 0.1 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "gamma": (lambda u: 2 + u, [((3,), lambda u: 2 + u), ((), lambda u: 0.1 * u), ((), lambda u: 1.2 + 0.3 * u)]),
    "beta": (lambda u: 0.55 + 0.45 * u, [((3,), lambda u: 2 + u), ((), lambda u: 3 + u), ((), lambda u: 0.05 * u),
                                         ((), lambda u: 1.2 + 0.1 * u)]),
}

# Functions jax has that tapegrad does not have yet, by distribution (none today).
WAITING: dict[str, set[str]] = {}


# jax.grad fails on these (xlogy(-1, scale): a float0 tangent for the integer -1), so their derivatives
# are checked against finite differences alone (to order 2), and their values against jax.
JAX_CANNOT_DIFFERENTIATE = {(d, f) for d in ("gumbel_l", "gumbel_r") for f in ("logpdf", "pdf", "ppf")}


def _cont_args(name, q=False, seed=0):
    xdom, params = CONT[name]
    x = (0.5 + 0.45 * _u((2, 3), seed)) if q else xdom(_u((2, 3), seed))
    return [jnp.asarray(x)] + [jnp.asarray(dom(_u(shape, seed + 1 + i))) for i, (shape, dom) in enumerate(params)]


def _provided(name):
    jmod, mod = getattr(js, name), getattr(S, name)
    want = set(_functions(jmod))
    have = {n for n in want if hasattr(mod, n)}
    assert want - have == WAITING.get(name, set()), f"{name}: missing {sorted(want - have)}"
    return sorted(have)


def _same_signature(fn, ref):
    got, want = inspect.signature(fn).parameters, inspect.signature(ref).parameters
    assert [(p.name, p.default, p.kind) for p in got.values()] == [
        (p.name, p.default, p.kind) for p in want.values()], (fn, ref)


def test_every_jax_distribution_and_function_is_here():
    jax_names = {n for n in dir(js) if not n.startswith("_")}
    assert jax_names <= set(dir(S)), sorted(jax_names - set(dir(S)))
    from tapegrad.scipy.stats import gamma, norm  # noqa: F401  (real submodules)
    for name in S.DISTRIBUTIONS:
        for fname in _provided(name):
            _same_signature(getattr(getattr(S, name), fname), getattr(getattr(js, name), fname))
    for fname in ("mode", "rankdata", "sem"):
        _same_signature(getattr(S, fname), getattr(js, fname))
    public = {n for n in dir(js.gaussian_kde) if not n.startswith("_")}
    assert public == {n for n in dir(S.gaussian_kde) if not n.startswith("_")}
    for meth in public | {"__init__", "__call__"}:
        if inspect.isfunction(inspect.unwrap(getattr(S.gaussian_kde, meth))):
            got, want = (inspect.signature(getattr(k, meth)).parameters.values() for k in (S.gaussian_kde,
                                                                                          js.gaussian_kde))
            assert [(p.name, p.default) for p in got if p.name != "self"] == [
                (p.name, p.default) for p in want if p.name != "self"], meth


# Arguments held fixed in the gradient checks: jax differentiates gammainc in its first argument only once
# (its derivative, igamma_grad_a, has none), and betainc not at all in a, b.
ONCE = {**{(d, f): (1,) for d in ("gamma", "chi2") for f in ("cdf", "logcdf", "sf", "logsf")},
        ("gennorm", "cdf"): (1,)}
FIXED = {("beta", f): (1, 2) for f in ("cdf", "logcdf", "sf", "logsf")}


# jax's betaln and truncnorm's log-space mass take hundreds of small ops; differentiating them twice op by
# op costs a minute of XLA compiles. Their logpdf/logpmf is held to finite differences at order 2 and to
# jax at order 1.
HEAVY_REFERENCE = {"beta", "truncnorm", "betabinom"}


def _bind(f, args, free):
    def g(*fa):
        full = list(args)
        for i, v in zip(free, fa):
            full[i] = v
        return f(*full)
    return g


def _directions(ref, args, free):
    """The cotangent u of the output and the directions v of the free arguments (seeded: deterministic)."""
    rng = np.random.default_rng(0)
    u = jnp.asarray(rng.normal(size=jax.eval_shape(ref, *args).shape))
    return u, [jnp.asarray(rng.normal(size=jnp.shape(args[i]))) for i in free]


def _grads(grad, m, f, args, free, u, vs, order):
    """The gradient of <u, f> in the free arguments and, for ``order=2``, its derivative along vs (a
    Hessian-vector product), by ``grad`` (tg.grad or jax.grad) with ``m`` (tnp or jnp)."""
    f, a = _bind(f, args, free), [args[i] for i in free]
    nums = tuple(range(len(a)))

    def g(*b):
        return grad(lambda *c: m.sum(f(*c) * u), nums)(*b)

    out = list(g(*a))
    if order > 1:
        out += grad(lambda *b: sum(m.sum(x * v) for x, v in zip(g(*b), vs)), nums)(*a)
    return out


def _compare(ours, theirs, free, rtol=1e-10, label=""):
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12, err_msg=f"{label} order {1 + k // len(free)}, "
                                                                          f"argument {free[k % len(free)]}")


def _against_jax(fn, ref, args, keep=(), order=1, rtol=1e-10, op_by_op=True):
    """tapegrad's gradient of <u, fn> (and with ``order=2`` its derivative along v, a Hessian-vector
    product) equal jax.grad's of the same jax function; the arguments in ``keep`` are held fixed.
    ``op_by_op=False`` compiles jax's side as one program (cheaper for long jax functions)."""
    free = [i for i in range(len(args)) if i not in keep]
    u, vs = _directions(ref, args, free)
    ours = _grads(tg.grad, tnp, fn, args, free, u, vs, order)
    if op_by_op:
        with jax.disable_jit():  # JAX compiles each small op once per shape, not each jitted function
            theirs = _grads(jax.grad, jnp, ref, args, free, u, vs, order)
    else:
        theirs = jax.jit(lambda a: _grads(jax.grad, jnp, ref, a, free, u, vs, order))(list(args))
    _compare(ours, theirs, free, rtol)


def _values_and_grads_against_jax(cases):
    """For each case (label, fn, ref, args, keep): the values (rtol 1e-12) and first-order gradients (as
    _against_jax) equal jax's, jax's side of each case compiled as one program that gives both (XLA compiles
    a long reference once, not once for the values and again for the gradients; one program for all cases
    compiles slower than these, XLA's compile time growing faster than the program)."""
    for label, fn, ref, args, keep in cases:
        free = [i for i in range(len(args)) if i not in keep]
        u, vs = _directions(ref, args, free)
        want, wgrads = jax.jit(lambda a, ref=ref, free=free, u=u, vs=vs: (
            ref(*a), _grads(jax.grad, jnp, ref, a, free, u, vs, 1)))(list(args))
        got = fn(*args)
        assert got.shape == want.shape and got.dtype == want.dtype, (label, got.shape, got.dtype)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=label)
        _compare(_grads(tg.grad, tnp, fn, args, free, u, vs, 1), wgrads, free, label=label)


@pytest.mark.parametrize("name", sorted(CONT))
def test_continuous_against_jax(name):
    """Values of every function; logpdf's derivatives by assert_vjp (finite differences and jax.vjp/jvp,
    order 2, every argument); every other function's gradient against jax's (see _against_jax)."""
    mod, jmod = getattr(S, name), getattr(js, name)
    heavy = []  # (label, fn, ref, args, keep): values and gradients against one jitted jax program
    for fname in _provided(name):
        fn, ref = getattr(mod, fname), getattr(jmod, fname)
        args = _cont_args(name, q=fname in Q_FUNCS)
        keep = ONCE.get((name, fname), ()) + FIXED.get((name, fname), ())
        assert jax.eval_shape(ref, *args).shape == (2, 3), fname
        if name in HEAVY_REFERENCE and (name, fname) not in JAX_CANNOT_DIFFERENTIATE:
            heavy.append((f"{name}.{fname}", fn, ref, args, keep))
        else:
            got, want = fn(*args), ref(*args)
            assert got.shape == want.shape and got.dtype == want.dtype, (fname, got.shape, got.dtype)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=f"{name}.{fname}")
        if (name, fname) in JAX_CANNOT_DIFFERENTIATE:
            assert_vjp(fn, args, order=2, modes=("rev",))
        elif fname == "logpdf" and name in HEAVY_REFERENCE:
            assert_vjp(fn, args, order=2, modes=("rev",))  # and its first order against jax's, in `heavy`
        elif fname == "logpdf":
            assert_vjp(fn, args, order=2, reference=ref)
        elif name not in HEAVY_REFERENCE:
            _against_jax(fn, ref, args, keep)
        for i in ONCE.get((name, fname), ()):  # first order in the shape parameter
            _against_jax(fn, ref, args, [j for j in range(len(args)) if j != i], order=1)
    if heavy:
        _values_and_grads_against_jax(heavy)
    # float32 stays float32 with Python-scalar parameters, as in jax.
    fname = "ppf" if "logpdf" not in _provided(name) else "logpdf"
    x32 = jnp.asarray(_cont_args(name)[0], jnp.float32)
    scalars = [float(np.ravel(a)[0]) for a in _cont_args(name)[1:]]
    assert getattr(mod, fname)(x32, *scalars).dtype == getattr(jmod, fname)(x32, *scalars).dtype


# ---- edges: outside the support and invalid parameters, values and jax.grad ------------------------------
# Every edge case keeps the shapes of the tables above (x (2, 3), parameters () or (3,)): JAX and tapegrad
# compile each small op once per shape, so reusing shapes keeps this file fast.

def _edge(fn, ref, args, grads=True, keep=()):
    got, want = fn(*args), ref(*args)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, equal_nan=True)
    if not grads:
        return
    argnums = tuple(i for i in range(len(args)) if i not in keep)
    g = tg.grad(lambda *a: tnp.sum(fn(*a)), argnums)(*args)
    with jax.disable_jit():
        w = jax.grad(lambda *a: jnp.sum(ref(*a)), argnums)(*args)
    for i, a, b in zip(argnums, g, w):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-300, equal_nan=True, err_msg=f"argument {i}")


def V(*a):
    return jnp.asarray(np.asarray(a[0] if len(a) == 1 else a, np.float64))


NAN, PI = float("nan"), math.pi
BAD_SCALE = V([1.0, -1.0, 0.0])  # one valid column, then the invalid scales
EDGES = {  # name -> argument tuples (x first); each function of the distribution runs on each
    "norm": [(V([[-40, 0, 40], [-1e3, 1, 1e3]]), V(0), V(1)), (V([[1, 1, 1], [0, 0, 0]]), V(0), BAD_SCALE)],
    "cauchy": [(V([[-1e3, 0, 1e3], [-1, 1, 3]]), V(0), V(2)), (V([[1, 1, 1], [0, 0, 0]]), V(0), BAD_SCALE)],
    "laplace": [(V([[-1, 0.5, 2], [0.5, 40, -40]]), V(0.5), V(1)), (V([[1, 1, 1], [0, 0, 0]]), V(0), BAD_SCALE)],
    "logistic": [(V([[-800, 0, 800], [-30, 1, 30]]), V(0), V(1)), (V([[1, 1, 1], [0, 0, 0]]), V(0), BAD_SCALE)],
    "gumbel_l": [(V([[-30, 0, 3], [-800, 5, 40]]), V(0), V(1)), (V([[1, 1, 1], [0, 0, 0]]), V(0), BAD_SCALE)],
    "gumbel_r": [(V([[-3, 0, 30], [-40, 5, 800]]), V(0), V(1)), (V([[1, 1, 1], [0, 0, 0]]), V(0), BAD_SCALE)],
    "uniform": [(V([[-0.5, 0, 0.5], [1, 1.5, 0.25]]), V(0), V(1)), (V([[1, 1, 1], [0, 0, 0]]), V(0), BAD_SCALE)],
    "expon": [(V([[-1, 0, 2], [1e-300, 50, 800]]), V(0), V(1)), (V([[1, 1, 1], [0, 0, 0]]), V(0), BAD_SCALE)],
    "pareto": [(V([[0.5, 1, 2], [3, 10, 1e3]]), V(2), V(0), V(1)), (V([[2, 2, 2], [3, 3, 3]]), V([2, 0, -1]), V(0),
                                                                      V(1))],
    "t": [(V([[-1e3, 0, 1e3], [1, 2, 3]]), V(3), V(0), V(1)), (V([[1, 1, 1], [2, 2, 2]]), V([3, 0, -1]), V(0),
                                                                V(1))],
    "gennorm": [(V([[-30, 0, 2], [0.5, 0.5, 0.5]]), V([2, 0.5, 3]))],
    "vonmises": [(V([[0, 1, 2], [3, -1, 7]]), V([2, 0, -1]))],
    "wrapcauchy": [(V([[-0.5, 0, 1], [7, 2 * PI, 3]]), V([0.5, 0, 1]))],
    # columns: the central case, the right tail (a > 0), the left tail (b <= 0), then a >= b in the middle
    # one; rows: below a / inside / near b (the log1p(-sf) branch), then at a / above b.
    "truncnorm": [(V([[-2, 0.5, -3], [0.9, 1.5, -1.5]]), V([-1, 1, -2]), V([1, 2, -1]), V(0), V(1)),
                  (V([[-1, 1, -2], [2, 3, 0]]), V([-1, 1, -2]), V([1, 0.5, -1]), V(0), V(1))],
    "chi2": [(V([[-1, 0.5, 2], [0, 1, 3]]), V(3), V(0), V(1)), (V([[1, 1, 1], [2, 2, 2]]), V([0, -1, 2]), V(0),
                                                                 V(1))],
    "gamma": [(V([[-1, 0, 2], [-1, 0, 1]]), V([3, 1, 0.5]), V(0), V(1))],
    "beta": [(V([[-0.5, 0.25, 1.5], [0, 1, 0.5]]), V(2), V(3), V(0), V(1)),
             (V([[0.5, 0.5, 0.5], [0.2, 0.2, 0.2]]), V([2, 0, -1]), V(1), V(0), V(1))],
}
Q = V([[-0.5, 0, 0.5], [1, 1.5, NAN]])  # below, at and above [0, 1], and NaN
Q_EDGES = {
    "cauchy": [(V([[0, 0.25, 0.5], [1, 0.75, 0.1]]), V(0), V(1))],
    "logistic": [(V([[0, 0.5, 1], [0.1, 0.9, 0.3]]), V(0), V(1))],
    "uniform": [(Q, V(0), V(1))], "expon": [(Q, V(0), V(1))], "pareto": [(Q, V(2), V(0), V(1))],
}
# Values only: jax.scipy.special.ndtri's derivative is 0 at q in {0, 1} (an artifact of its masked
# polynomial), tapegrad.scipy.special.ndtri's is inf; and jax cannot differentiate gumbel_l/gumbel_r's
# xlogy(-1, .) at all (a float0 tangent for the integer -1).
VALUES_ONLY = {("norm", "ppf"), ("norm", "isf"), *JAX_CANNOT_DIFFERENTIATE,
               # exp of logpdf/logcdf/logsf, whose edge gradients are checked: jax's log-space mass is slow
               *(("truncnorm", f) for f in ("pdf", "cdf", "sf"))}
Q_EDGES.update(norm=[(Q, V(0), V(1))], gumbel_l=[(Q, V(0), V(1))], gumbel_r=[(Q, V(0), V(1))])


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edges_against_jax(name):
    mod, jmod = getattr(S, name), getattr(js, name)
    for fname in _provided(name):
        for args in (Q_EDGES.get(name, []) if fname in Q_FUNCS else EDGES[name]):
            try:
                _edge(getattr(mod, fname), getattr(jmod, fname), args, grads=(name, fname) not in VALUES_ONLY,
                      keep=FIXED.get((name, fname), ()) + ONCE.get((name, fname), ()))
            except AssertionError as e:
                raise AssertionError(f"{name}.{fname}{tuple(map(np.asarray, args))}: {e}") from None


# ---- discrete distributions ---------------------------------------------------------------------------------
K = V([[0, 1, 2], [3, 4, 5]])
# name -> (fixed leading arguments (counts), differentiable parameters); all broadcast against K (2, 3).
# betabinom's parameters keep every betaln argument below 8: there jax's betaln switches to an asymptotic
# form whose derivative is off by ~1e-6 (tapegrad's, digamma(a) - digamma(a + b), is exact).
DISC = {
    "poisson": ((K,), (V([1.5, 2.0, 3.5]),)),
    "bernoulli": ((V([[0, 1, 1], [0, 0, 1]]),), (V([0.25, 0.5, 0.7]),)),
    "binom": ((K, V(5)), (V([0.25, 0.5, 0.7]),)),
    "betabinom": ((K, V(5)), (V([1.2, 1.8, 2.5]), V(2))),
    "nbinom": ((K,), (V([1.5, 2.0, 3.5]), V(0.4))),
    "geom": ((K + 1,), (V([0.25, 0.5, 0.7]),)),
}
DISC_EDGES = {  # outside the support, non-integers, invalid parameters, the p in {0, 1} point masses
    "poisson": [(V([[-1, 0.5, 0], [2, 3, 1]]), V(2)), (V([[0, 2, 1], [1, 0, 3]]), V([0, 0, 2])),
                (K, V(2), V(3))],
    "bernoulli": [(V([[-1, 0, 1], [2, 0.5, 1]]), V(0.3)), (V([[0, 1, 0], [1, 0, 1]]), V([0, 1, 0.3])),
                  (V([[0, 1, 2], [1, 1, 0]]), V(0.3), V(1))],
    "binom": [(V([[-1, 0, 3], [6, 5, 0]]), V(5), V([0, 1, 0.5])), (V([[0, 1, 0], [0, 0, 0]]), V([0, 0, 5]),
                                                                    V(0.5))],
    "betabinom": [(V([[-1, 0, 3], [6, 5, 2]]), V(5), V(1.5), V(2)), (V([[0, 1, 0], [0, 0, 0]]), V([0, 0, 5]),
                                                                      V(1.5), V(2))],
    "nbinom": [(V([[-1, 0, 3], [2, 1, 0]]), V(2), V([0.5, 1, 0.3]))],
    "geom": [(V([[0, 1, 3], [2, -1, 1]]), V([0.5, 1, 0.3]))],
}


# Values only: at n < 0 or a, b <= 0 jax's betaln has NaN derivatives that reach the (masked) gradient;
# tapegrad's betaln derivative is digamma's, finite there.
DISC_VALUES = {"betabinom": [(V([[1, 1, 1], [2, 2, 2]]), V([-1, 5, 5]), V([2, 0, -1]), V([2, 2, 0]))]}


@pytest.mark.parametrize("name", sorted(DISC))
def test_discrete_against_jax(name):
    mod, jmod = getattr(S, name), getattr(js, name)
    fixed, params = DISC[name]
    for fname in [f for f in _provided(name) if f in ("logpmf", "pmf") or (f == "cdf" and name != "bernoulli")]:
        fn, ref = getattr(mod, fname), getattr(jmod, fname)
        got, want = fn(*fixed, *params), ref(*fixed, *params)
        assert got.shape == want.shape == (2, 3) and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=f"{name}.{fname}")
        np.testing.assert_allclose(fn(*fixed, *params, loc=V(1)), ref(*fixed, *params, loc=V(1)), rtol=1e-12)
        if fname == "logpmf" and name in HEAVY_REFERENCE:
            assert_vjp(lambda *p, fn=fn: fn(*fixed, *p), params, order=2, modes=("rev",))
            _against_jax(fn, ref, (*fixed, *params), keep=tuple(range(len(fixed))))
        elif fname == "logpmf":
            assert_vjp(lambda *p, fn=fn: fn(*fixed, *p), params, order=2,
                       reference=lambda *p, ref=ref: ref(*fixed, *p))
        else:
            _against_jax(fn, ref, (*fixed, *params), keep=tuple(range(len(fixed))))
        for args, grads in [(a, True) for a in DISC_EDGES[name]] + [(a, False) for a in DISC_VALUES.get(name, [])]:
            try:
                _edge(fn, ref, args, grads)
            except AssertionError as e:
                raise AssertionError(f"{name}.{fname}{tuple(map(np.asarray, args))}: {e}") from None


def test_bernoulli_cdf_ppf_and_poisson_entropy():
    k = V([[-1, 0, 0.5], [1, 2, NAN]])
    for args in [(k, V(0.3)), (V([[0.5, 0.5, 0.5], [1, 1, 1]]), V([-0.1, 1.1, NAN]))]:
        _edge(S.bernoulli.cdf, js.bernoulli.cdf, args)
    q = V([[-0.1, 0, 0.5], [0.7, 0.71, 1.1]])
    for p in (V(0.3), V([0.3, -0.1, NAN])):
        np.testing.assert_array_equal(S.bernoulli.ppf(q, p), js.bernoulli.ppf(q, p))
    assert_vjp(lambda p: S.bernoulli.cdf(K / 4, p), (V([0.3, 0.6, 0.8]),), order=2,
               reference=lambda p: js.bernoulli.cdf(K / 4, p))
    # poisson.entropy: its three regimes (exact sums below 10 and 100, the asymptotic series above) and 0.
    mu = V([[0.5, 3, 9.5], [15, 60, 150]])
    np.testing.assert_allclose(S.poisson.entropy(mu), js.poisson.entropy(mu), rtol=1e-12)
    loc = jnp.zeros((4, 1, 1))
    assert S.poisson.entropy(mu, loc).shape == js.poisson.entropy(mu, loc).shape == (4, 2, 3)
    _against_jax(S.poisson.entropy, js.poisson.entropy, (mu,), order=1)
    _edge(S.poisson.entropy, js.poisson.entropy, (V([[0, 1, 2], [0, 20, 200]]),))


def test_multinomial():
    x, p = jnp.asarray([1, 0, 3]), V([0.2, 0.3, 0.5])
    for n in (4, 5):
        np.testing.assert_allclose(S.multinomial.logpmf(x, n, p), js.multinomial.logpmf(x, n, p), rtol=1e-12)
        np.testing.assert_allclose(S.multinomial.pmf(x, n, p), js.multinomial.pmf(x, n, p), rtol=1e-12)
    assert_vjp(lambda p: S.multinomial.logpmf(x, 4, p), (p,), order=2,
               reference=lambda p: js.multinomial.logpmf(x, 4, p))
    xb = jnp.asarray([[1, 0, 1], [0, 2, 0]])  # jax's sum check is over all of x: total 4
    np.testing.assert_allclose(S.multinomial.logpmf(xb, 4, p), js.multinomial.logpmf(xb, 4, p), rtol=1e-12)
    with pytest.raises(ValueError, match="multinomial.*integer"):
        S.multinomial.logpmf(jnp.asarray([1.0, 3.0]), 4, V([0.5, 0.5]))


# ---- multivariate -------------------------------------------------------------------------------------------

def _spd(n, seed, batch=()):
    a = np.random.default_rng(seed).normal(size=batch + (n, n))
    return jnp.asarray(a @ np.swapaxes(a, -1, -2) + n * np.eye(n))


def test_multivariate_normal():
    mvn, jmvn = S.multivariate_normal, js.multivariate_normal
    x, mean = V(_u((2, 3), 0) * 2), V(_u((3,), 1))
    cases = [(x, mean, _spd(3, 2)), (x, mean, V(1.7)), (V(_u((4,), 3)), V(0.2), V(1.5)),
             (x, mean, _spd(3, 4, (2,))), (V(_u((3,), 5)), mean, _spd(3, 6, (4,)))]
    for args in cases:
        for fname in ("logpdf", "pdf"):
            got, want = getattr(mvn, fname)(*args), getattr(jmvn, fname)(*args)
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12)
    assert_vjp(mvn.logpdf, cases[0], order=2, reference=jmvn.logpdf, modes=("rev",))
    _against_jax(mvn.pdf, jmvn.pdf, cases[3])  # batched covariances
    _against_jax(mvn.logpdf, jmvn.logpdf, cases[1])  # isotropic
    with pytest.raises(ValueError, match="multivariate_normal.*shapes"):
        mvn.logpdf(x, mean, jnp.eye(2))
    with pytest.raises(NotImplementedError, match="allow_singular"):
        mvn.logpdf(x, mean, jnp.eye(3), allow_singular=True)


def test_dirichlet():
    alpha = V([1.5, 2.0, 3.5])
    x_full = V([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])
    x_short = x_full[:2]
    for x in (x_full, x_short, V([[0.2, 0.5], [0.9, 0.1], [-0.1, 0.4]])):  # the last: one point off the simplex
        for fname in ("logpdf", "pdf"):
            np.testing.assert_allclose(getattr(S.dirichlet, fname)(x, alpha), getattr(js.dirichlet, fname)(x, alpha),
                                       rtol=1e-12)
    # The short form keeps every finite-difference step on the simplex.
    assert_vjp(S.dirichlet.logpdf, (x_short, alpha), order=2, reference=js.dirichlet.logpdf)
    _against_jax(S.dirichlet.pdf, js.dirichlet.pdf, (x_short, alpha))
    with pytest.raises(ValueError, match="alpha.*one-dimensional"):
        S.dirichlet.logpdf(x_full, alpha[None])
    with pytest.raises(ValueError, match="entries"):
        S.dirichlet.logpdf(x_full[:1], alpha)


# ---- gaussian_kde and the top-level functions --------------------------------------------------------------

def test_gaussian_kde():
    data2 = V(np.random.default_rng(0).normal(size=(2, 7)))
    w = V(np.random.default_rng(1).uniform(0.5, 1.5, 7))
    pts = V(np.random.default_rng(2).normal(size=(2, 4)))
    for bw, weights in ((None, None), ("silverman", w)):
        ours, theirs = S.gaussian_kde(data2, bw, weights), js.gaussian_kde(data2, bw, weights)
        for attr in ("neff", "covariance", "inv_cov", "weights", "dataset"):
            np.testing.assert_allclose(getattr(ours, attr), getattr(theirs, attr), rtol=1e-12)
        for meth in ("evaluate", "pdf", "logpdf", "__call__"):
            np.testing.assert_allclose(getattr(ours, meth)(pts), getattr(theirs, meth)(pts), rtol=1e-12)
        np.testing.assert_allclose(ours.integrate_gaussian(V([0.1, -0.2]), _spd(2, 3)),
                                   theirs.integrate_gaussian(V([0.1, -0.2]), _spd(2, 3)), rtol=1e-12)
    other, jother = S.gaussian_kde(data2[:, :3]), js.gaussian_kde(data2[:, :3])
    ours, theirs = S.gaussian_kde(data2), js.gaussian_kde(data2)
    np.testing.assert_allclose(ours.integrate_kde(other), theirs.integrate_kde(jother), rtol=1e-12)
    key = jax.random.key(3)
    # (jax's resample transposes its draws, so only 0-d and 1-d shapes broadcast)
    np.testing.assert_allclose(ours.resample(key, (5,)), theirs.resample(key, (5,)), rtol=1e-12)
    one, jone = S.gaussian_kde(data2[0], weights=w), js.gaussian_kde(data2[0], weights=w)
    np.testing.assert_allclose(one.integrate_box_1d(-0.3, 0.8), jone.integrate_box_1d(-0.3, 0.8), rtol=1e-12)
    np.testing.assert_allclose(one.evaluate(pts[0]), jone.evaluate(pts[0]), rtol=1e-12)
    # Differentiable in the points, the data and the weights (through the constructor), and in
    # integrate_gaussian's mean and covariance: gradients against jax's.
    _against_jax(lambda p, d, w: S.gaussian_kde(d, weights=w).logpdf(p),
                 lambda p, d, w: js.gaussian_kde(d, weights=w).logpdf(p), (pts, data2, w), op_by_op=False)
    _against_jax(lambda m, c: ours.integrate_gaussian(m, c), lambda m, c: theirs.integrate_gaussian(m, c),
                 (V([0.1, -0.2]), _spd(2, 3)), op_by_op=False)
    with pytest.raises(ValueError, match="dimension"):
        ours.evaluate(V(np.zeros((3, 2))))
    with pytest.raises(NotImplementedError):
        ours.integrate_box(0, 1)
    with pytest.raises(ValueError, match="bw_method"):
        S.gaussian_kde(data2, "nope")


def test_mode_rankdata_sem():
    a = jnp.asarray([[1, 2, 1, 3, 2, 1], [3, 1, 3, 2, 1, 3], [1, 2, 2, 3, 1, 2]])
    for kw in ({}, {"axis": 1, "keepdims": True}):
        for x, y in zip(S.mode(a, **kw), js.mode(a, **kw)):
            np.testing.assert_array_equal(x, y)
    f = V([3.0, 1.0, 2.0, 1.0, 3.0])
    for method in ("average", "dense"):  # the method goes to jax's own ranking, so two stand for five
        np.testing.assert_array_equal(S.rankdata(f, method), js.rankdata(f, method))
    np.testing.assert_array_equal(S.rankdata(a, "min", axis=1), js.rankdata(a, "min", axis=1))
    np.testing.assert_array_equal(S.rankdata(V([1.0, jnp.nan])), js.rankdata(V([1.0, jnp.nan])))
    # inside a transform: plain arrays, zero gradient as jax.grad gives.
    assert float(tg.grad(lambda x: tnp.sum(S.rankdata(x) * x))(f)[0]) == float(
        jax.grad(lambda x: jnp.sum(js.rankdata(x) * x))(f)[0])
    assert S.mode(tg.grad(lambda x: tnp.sum(x * 2))(f)).count == 5
    b = V(_u((3, 4), 0))
    for kw in ({"axis": None, "ddof": 0}, {"keepdims": True}):
        np.testing.assert_allclose(S.sem(b, **kw), js.sem(b, **kw), rtol=1e-12)
    assert_vjp(lambda b: S.sem(b, axis=1), (b,), order=2, reference=lambda b: js.sem(b, axis=1))
    bn = b.at[0, 1].set(jnp.nan).at[1, :3].set(jnp.nan)
    _edge(lambda b: S.sem(b, axis=1, nan_policy="omit"), lambda b: js.sem(b, axis=1, nan_policy="omit"), (bn,))
    with pytest.raises(ValueError, match="nan_policy"):
        S.mode(a, nan_policy="nope")
    with pytest.raises(ValueError, match="method"):
        S.rankdata(f, "nope")


def test_errors_and_no_bridge():
    with pytest.raises(TypeError, match="stats.norm.logpdf.*complex"):
        S.norm.logpdf(jnp.asarray([1j]))
    from tapegrad.interop import is_bridged
    x = V(_u((3,), 0))
    for call in (lambda x: S.t.logpdf(x, 3.0), lambda x: S.multivariate_normal.logpdf(x, x * 0, jnp.eye(3)),
                 lambda x: S.truncnorm.logcdf(x, -1.0, 1.0), lambda x: S.gaussian_kde(x).logpdf(x)):
        tape = tg.make_tape(call)(x)
        assert len(tape) and not any(is_bridged(e.prim) for e in tape)


def test_jit_and_vmap():
    x, loc = V(_u((4, 3), 0)), V(_u((3,), 1))
    f = jax.jit(tg.grad(lambda x, loc: tnp.sum(S.norm.logcdf(x, loc, 2.0) + S.t.logpdf(x, 4.0, loc))))
    w = jax.grad(lambda x, loc: jnp.sum(js.norm.logcdf(x, loc, 2.0) + js.t.logpdf(x, 4.0, loc)))
    np.testing.assert_allclose(f(x, loc), w(x, loc), rtol=1e-12)
    g = tg.vmap(lambda x: S.multivariate_normal.logpdf(x, loc, _spd(3, 0)))
    np.testing.assert_allclose(g(x), js.multivariate_normal.logpdf(x, loc, _spd(3, 0)), rtol=1e-12)


# ---- torch.distributions ---------------------------------------------------------------------------------
# (name, tapegrad fn(x, *params), torch builder(*params) -> distribution, method, x, params)
def _t(*a):
    return [torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True) for v in a]


X = _u((2, 3), 7)
TORCH = [
    ("norm.logpdf", S.norm.logpdf, lambda m, s: D.Normal(m, s), "log_prob", 2 * X, (0.3, 1.4)),
    ("norm.cdf", S.norm.cdf, lambda m, s: D.Normal(m, s), "cdf", 2 * X, (0.3, 1.4)),
    ("norm.ppf", S.norm.ppf, lambda m, s: D.Normal(m, s), "icdf", 0.5 + 0.4 * X, (0.3, 1.4)),
    ("t.logpdf", S.t.logpdf, lambda df, m, s: D.StudentT(df, m, s), "log_prob", 2 * X, (3.5, 0.3, 1.4)),
    ("cauchy.logpdf", S.cauchy.logpdf, lambda m, s: D.Cauchy(m, s), "log_prob", 2 * X, (0.3, 1.4)),
    ("cauchy.cdf", S.cauchy.cdf, lambda m, s: D.Cauchy(m, s), "cdf", 2 * X, (0.3, 1.4)),
    ("cauchy.ppf", S.cauchy.ppf, lambda m, s: D.Cauchy(m, s), "icdf", 0.5 + 0.4 * X, (0.3, 1.4)),
    ("laplace.logpdf", S.laplace.logpdf, lambda m, s: D.Laplace(m, s), "log_prob", 2 * X, (0.3, 1.4)),
    ("laplace.cdf", S.laplace.cdf, lambda m, s: D.Laplace(m, s), "cdf", 2 * X, (0.3, 1.4)),
    ("uniform.logpdf", S.uniform.logpdf, lambda lo, s: D.Uniform(lo, lo + s), "log_prob", 1 + 0.5 * X, (0.2, 2.0)),
    ("uniform.cdf", S.uniform.cdf, lambda lo, s: D.Uniform(lo, lo + s), "cdf", 1 + 0.5 * X, (0.2, 2.0)),
    ("uniform.ppf", S.uniform.ppf, lambda lo, s: D.Uniform(lo, lo + s), "icdf", 0.5 + 0.4 * X, (0.2, 2.0)),
    ("expon.logpdf", lambda x, s: S.expon.logpdf(x, 0, s), lambda s: D.Exponential(1 / s), "log_prob", 1.5 + X,
     (1.3,)),
    ("expon.cdf", lambda x, s: S.expon.cdf(x, 0, s), lambda s: D.Exponential(1 / s), "cdf", 1.5 + X, (1.3,)),
    ("expon.ppf", lambda x, s: S.expon.ppf(x, 0, s), lambda s: D.Exponential(1 / s), "icdf", 0.5 + 0.4 * X,
     (1.3,)),
    ("gamma.logpdf", lambda x, a, s: S.gamma.logpdf(x, a, 0, s), lambda a, s: D.Gamma(a, 1 / s), "log_prob",
     2 + X, (2.5, 1.3)),
    ("beta.logpdf", S.beta.logpdf, D.Beta, "log_prob", 0.5 + 0.45 * X, (2.5, 1.7)),
    ("chi2.logpdf", S.chi2.logpdf, D.Chi2, "log_prob", 2 + X, (3.5,)),
    ("gumbel_r.logpdf", S.gumbel_r.logpdf, D.Gumbel, "log_prob", 2 * X, (0.3, 1.4)),
    ("pareto.logpdf", lambda x, b, s: S.pareto.logpdf(x, b, 0, s), lambda b, s: D.Pareto(s, b), "log_prob",
     2.5 + X, (2.5, 1.3)),
    ("vonmises.logpdf", S.vonmises.logpdf, lambda k: D.VonMises(0.0, k), "log_prob", 2 * X, (1.7,)),
    ("poisson.logpmf", S.poisson.logpmf, D.Poisson, "log_prob", np.asarray(K), (2.5,)),
    ("bernoulli.logpmf", S.bernoulli.logpmf, lambda p: D.Bernoulli(probs=p), "log_prob", np.asarray(K) % 2, (0.3,)),
    ("binom.logpmf", lambda k, p: S.binom.logpmf(k, 5, p), lambda p: D.Binomial(5, probs=p), "log_prob",
     np.asarray(K), (0.3,)),
    ("geom.logpmf", lambda k, p: S.geom.logpmf(k + 1, p), lambda p: D.Geometric(probs=p), "log_prob",
     np.asarray(K), (0.3,)),
    ("nbinom.logpmf", S.nbinom.logpmf, lambda n, p: D.NegativeBinomial(n, probs=1 - p), "log_prob", np.asarray(K),
     (2.5, 0.4)),
]
DISCRETE_X = {"poisson.logpmf", "bernoulli.logpmf", "binom.logpmf", "geom.logpmf", "nbinom.logpmf"}


@pytest.mark.parametrize("case", TORCH, ids=[c[0] for c in TORCH])
def test_against_torch(case):
    name, fn, make, method, x, params = case
    tx, *tp = _t(x, *params)
    out = getattr(make(*tp), method)(tx)
    grads = torch.autograd.grad(out.sum(), [tx, *tp], allow_unused=True)
    args = [jnp.asarray(x), *map(jnp.asarray, params)]
    # torch's VonMises normaliser is a float32-grade polynomial for log I0 (relative error ~1e-7).
    rtol = 1e-6 if name.startswith("vonmises") else 1e-9
    np.testing.assert_allclose(fn(*args), out.detach().numpy(), rtol=rtol, atol=1e-12)
    first = 1 if name in DISCRETE_X else 0  # torch does not differentiate counts
    ours = tg.grad(lambda *a: tnp.sum(fn(*a)), tuple(range(first, len(args))))(*args)
    for g, t in zip(ours, grads[first:]):
        np.testing.assert_allclose(g, np.zeros(g.shape) if t is None else t.numpy(), rtol=rtol, atol=1e-12)


def test_against_torch_multivariate():
    x, mean, cov = _u((4, 3), 0), _u((3,), 1), np.asarray(_spd(3, 2))
    tx, tm, tc = _t(x, mean, cov)
    out = D.MultivariateNormal(tm, tc).log_prob(tx)
    gt = torch.autograd.grad(out.sum(), [tx, tm, tc])
    args = tuple(map(jnp.asarray, (x, mean, cov)))
    np.testing.assert_allclose(S.multivariate_normal.logpdf(*args), out.detach().numpy(), rtol=1e-10)
    ours = tg.grad(lambda *a: tnp.sum(S.multivariate_normal.logpdf(*a)), (0, 1, 2))(*args)
    for i, (g, t) in enumerate(zip(ours, gt)):
        t = t.numpy()
        if i == 2:  # torch's cov gradient is not symmetrised; both are right on symmetric perturbations
            g, t = g + g.T, t + t.T
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-12)
    alpha, xs = np.asarray([1.5, 2.0, 3.5]), np.asarray([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]])
    tx, ta = _t(xs, alpha)
    out = D.Dirichlet(ta).log_prob(tx)
    gx, ga = torch.autograd.grad(out.sum(), [tx, ta])
    f = lambda x, a: tnp.sum(S.dirichlet.logpdf(tnp.transpose(x), a))  # noqa: E731
    np.testing.assert_allclose(S.dirichlet.logpdf(jnp.asarray(xs).T, jnp.asarray(alpha)), out.detach().numpy(),
                               rtol=1e-10)
    ours = tg.grad(f, (0, 1))(jnp.asarray(xs), jnp.asarray(alpha))
    np.testing.assert_allclose(ours[0], gx.numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours[1], ga.numpy(), rtol=1e-9)
