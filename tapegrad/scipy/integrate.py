"""``tapegrad.scipy.integrate.odeint``: JAX's adaptive Dormand–Prince solver, differentiated by the
adjoint method.

``func`` is the user's tapegrad code. As a loop body (:class:`tapegrad.lax.body.Body`) it is traced
once, closed over the tracers it captures (a model's params), and the tape holds one ``odeint`` entry
whose forward pass is the solver of ``jax.experimental.ode`` on the values underneath (jitted once
per call, however many steps it takes).

The VJP does not tape the solver's steps. As JAX's ``_odeint_rev``, it solves the augmented adjoint
system backward in time, interval by interval between output times:
``d/ds (y, y_bar, t_bar, args_bar) = (-f, y_bar^T df/dy, y_bar^T df/dt, y_bar^T df/dargs)`` in
``s = -t``, starting from the forward solution at the interval's end and adding each output's
cotangent as it passes. The vector-Jacobian products of ``func`` come from tapegrad (``vjp`` of the
same body, inside the dynamics), and the backward solve is this same ``odeint`` primitive, so the VJP
is itself differentiable by the adjoint method: second derivatives work, to the solver's tolerance.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import ode as _ode
from jax.flatten_util import ravel_pytree
from jax.tree_util import tree_flatten, tree_structure, tree_unflatten

import tapegrad.numpy as tnp
from tapegrad.core.primitive import Primitive
from tapegrad.core.tracer import Tracer
from tapegrad.lax.body import Body, as_value, describe_tree, is_inexact, leaf_aval

__all__ = ["odeint"]

WHO = "tapegrad.scipy.integrate.odeint"
_SCALAR = tree_structure(0.0)


def odeint(func: Callable, y0: Any, t: Any, *args: Any, rtol: float = 1.4e-8, atol: float = 1.4e-8,
           mxstep: float = jnp.inf, hmax: float = jnp.inf) -> Any:
    """Solve ``dy/dt = func(y, t, *args)`` from ``y(t[0]) = y0``; the solution at each time of ``t``.

    As ``jax.experimental.ode.odeint``: adaptive Dormand–Prince steps with local error tolerances
    ``rtol``/``atol``, at most ``mxstep`` steps between two output times, steps no longer than ``hmax``.
    ``y0`` and ``args`` may be pytrees; the result has ``y0``'s structure with a leading axis of
    ``len(t)``. ``t`` must be increasing. Gradients with respect to ``y0``, ``t``, ``args`` and
    whatever ``func`` closes over come from the adjoint method (a backward solve, not the taped steps).

    Example:
        >>> import tapegrad as tg, tapegrad.numpy as tnp
        >>> decay = lambda k: odeint(lambda y, t: -k * y, 1.0, tnp.array([0.0, 1.0]))[-1]  # exp(-k)
        >>> round(float(tg.grad(decay)(0.5)), 5)  # d/dk exp(-k) = -exp(-k)
        -0.60653
    """
    if not callable(func):
        raise TypeError(f"{WHO}: func must be a callable func(y, t, *args), got {type(func).__name__}")
    t = as_value(t)
    if t.ndim != 1 or not jnp.issubdtype(t.dtype, jnp.floating):
        raise TypeError(f"{WHO}: t must be a 1-D array of floats, got {np.dtype(t.dtype).name}{list(t.shape)}")
    y_leaves, y_tree = tree_flatten(y0)
    a_leaves, a_tree = tree_flatten(args)
    y_leaves = [as_value(v) for v in y_leaves]
    a_leaves = [as_value(v) for v in a_leaves]
    if not y_leaves:
        raise TypeError(f"{WHO}: y0 has no array leaves")
    for v in y_leaves:
        if not jnp.issubdtype(v.dtype, jnp.inexact):
            raise TypeError(f"{WHO}: y0 must hold floating-point arrays, got {np.dtype(v.dtype).name}{list(v.shape)}")
    y_avals = [leaf_aval(v) for v in y_leaves]
    a_avals = [leaf_aval(v) for v in a_leaves]
    body = Body(lambda y, s, a: func(y, s, *a), (y_tree, _SCALAR, a_tree),
                (y_avals, [jax.ShapeDtypeStruct((), t.dtype)], a_avals), WHO)
    _check_derivative(body, y_avals, y_tree)
    params = dict(body=body, n_consts=len(body.captured), n_y=len(y_leaves), rtol=float(rtol), atol=float(atol),
                  mxstep=float(mxstep), hmax=float(hmax))
    if not body.captured and not any(type(v) is Tracer for v in [t] + y_leaves + a_leaves):
        ys = _solver(**params)(y_leaves, t, [], a_leaves)  # nothing to differentiate: plain JAX
    else:
        ys = odeint_p(*body.captured, *y_leaves, t, *a_leaves, **params)
    return tree_unflatten(y_tree, list(ys))


def _check_derivative(body: Body, y_avals: list, y_tree: Any) -> None:
    shapes = [tuple(a.shape) for a in body.out_avals]
    if body.out_tree != y_tree or shapes != [tuple(a.shape) for a in y_avals]:
        raise TypeError(f"{WHO}: func must return dy/dt with the structure and shapes of y0, "
                        f"{describe_tree(y_avals, y_tree)}; it returned {describe_tree(body.out_avals, body.out_tree)}")


# ---- the forward solver: jax.experimental.ode's Dormand-Prince loop on raw values -----------------

@jax.default_matmul_precision("highest")
def _dopri(func: Callable, rtol: float, atol: float, mxstep: float, hmax: float, y0: Any, ts: Any, *args: Any) -> Any:
    """JAX's ``_odeint`` loop (jax/experimental/ode.py), without its custom_vjp: adaptive steps between
    output times, the solution at each time by the dense-output polynomial."""
    func_ = lambda y, t: func(y, t, *args)  # noqa: E731

    def scan_fun(carry: list, target_t: Any) -> tuple:
        def cond_fun(state: list) -> Any:
            i, _, _, t, dt, _, _ = state
            return (t < target_t) & (i < mxstep) & (dt > 0)

        def body_fun(state: list) -> list:
            i, y, f, t, dt, last_t, interp_coeff = state
            next_y, next_f, next_y_error, k = _ode.runge_kutta_step(func_, y, f, t, dt)
            next_t = t + dt
            error_ratio = _ode.mean_error_ratio(next_y_error, rtol, atol, y, next_y)
            new_interp_coeff = _ode.interp_fit_dopri(y, next_y, k, dt)
            dt = jnp.clip(_ode.optimal_step_size(dt, error_ratio), min=0.0, max=hmax)
            new = [i + 1, next_y, next_f, next_t, dt, t, new_interp_coeff]
            old = [i + 1, y, f, t, dt, last_t, interp_coeff]
            return [jnp.where(error_ratio <= 1.0, a, b) for a, b in zip(new, old)]

        _, *carry = jax.lax.while_loop(cond_fun, body_fun, [0] + carry)
        _, _, t, _, last_t, interp_coeff = carry
        relative_output_time = (target_t - last_t) / (t - last_t)
        y_target = jnp.polyval(interp_coeff, relative_output_time.astype(interp_coeff.dtype))
        return carry, y_target

    f0 = func_(y0, ts[0])
    dt = jnp.clip(_ode.initial_step_size(func_, ts[0], y0, 4, rtol, atol, f0), min=0.0, max=hmax)
    interp_coeff = jnp.array([y0] * 5)
    init_carry = [y0, f0, ts[0], dt, ts[0], interp_coeff]
    _, ys = jax.lax.scan(scan_fun, init_carry, ts[1:])
    return jnp.concatenate((y0[None], ys))


def _solver(body: Body, n_consts: int, n_y: int, rtol: float, atol: float, mxstep: float, hmax: float) -> Callable:
    """``solve(y0_leaves, t, consts, args) -> ys leaves``, jitted once per body and kept on it (so the
    backward pass's intervals share one compilation, and it goes when the body goes)."""
    key = (n_consts, rtol, atol, mxstep, hmax)
    cache = body.__dict__.setdefault("_odeint_solvers", {})
    if key not in cache:
        def solve(y0: list, t: Any, consts: list, args: list) -> tuple:
            dtypes = [v.dtype for v in y0]
            y_flat, unravel = ravel_pytree(list(y0))

            def f(y: Any, s: Any, *ka: Any) -> Any:
                out = body.run(list(ka[:n_consts]), unravel(y), [s], list(ka[n_consts:]))
                return ravel_pytree([jnp.asarray(o, d) for o, d in zip(out, dtypes)])[0]

            ys = _dopri(f, rtol, atol, mxstep, hmax, y_flat, t, *consts, *args)
            return tuple(jax.vmap(unravel)(ys))

        cache[key] = jax.jit(solve)
    return cache[key]


def _split(vals: tuple, n_consts: int, n_y: int) -> tuple[list, list, Any, list]:
    return list(vals[:n_consts]), list(vals[n_consts:n_consts + n_y]), vals[n_consts + n_y], list(
        vals[n_consts + n_y + 1:])


def _odeint_impl(*vals: Any, body: Body, n_consts: int, n_y: int, rtol: float, atol: float, mxstep: float,
                 hmax: float) -> tuple:
    consts, y0, t, args = _split(vals, n_consts, n_y)
    return tuple(_solver(body, n_consts, n_y, rtol, atol, mxstep, hmax)(y0, t, consts, args))


# ---- the adjoint VJP -------------------------------------------------------------------------------

def _zeros(x: Any) -> Any:
    return jnp.zeros(np.shape(x), x.dtype)


def _merge(full: list, positions: list[int], values: Any) -> list:
    out = list(full)
    for i, v in zip(positions, values):
        out[i] = v
    return out


def _augmented(body: Body, n_consts: int, dk: list[int], da: list[int]) -> Callable:
    """The adjoint dynamics in reversed time ``s = -t``: state ``(y, y_bar, t_bar, k_bar, a_bar)``, extra
    arguments ``(consts, args)``; the products with ``func``'s Jacobian by tapegrad's ``vjp``."""
    from tapegrad.transforms.reverse import vjp_jax

    def aug(state: tuple, s: Any, extra: list) -> tuple:
        y, y_bar = state[0], state[1]
        k_all, a_all = list(extra[:n_consts]), list(extra[n_consts:])

        def f(yy: list, tt: Any, kd: list, ad: list) -> list:
            return body.run(_merge(k_all, dk, kd), list(yy), [tt], _merge(a_all, da, ad))

        out, pull = vjp_jax(f, list(y), -s, [k_all[i] for i in dk], [a_all[i] for i in da])
        gy, gt, gk, ga = pull([tnp.astype(b, o.dtype) for b, o in zip(y_bar, out)])
        return ([-o for o in out], list(gy), gt, list(gk), list(ga))

    return aug


def _odeint_vjp(gs: tuple, out: tuple, *vals: Any, body: Body, n_consts: int, n_y: int, rtol: float, atol: float,
                mxstep: float, hmax: float) -> list:
    consts, y0, t, args = _split(vals, n_consts, n_y)
    ys = list(out)
    g = [_zeros(y) if c is None else c for c, y in zip(gs, ys)]
    dk = [i for i, k in enumerate(consts) if is_inexact(k)]
    da = [i for i, a in enumerate(args) if is_inexact(a)]
    n_t = t.shape[0]
    y_bar = [c[-1] for c in g]
    t0_bar = jnp.zeros((), t.dtype)
    k_bar = [_zeros(consts[i]) for i in dk]
    a_bar = [_zeros(args[i]) for i in da]
    state0 = (y_bar, y_bar, t0_bar, k_bar, a_bar)  # the structure (y stands in for itself: same avals)
    s_leaves, s_tree = tree_flatten(state0)
    extra = consts + args
    aug = Body(_augmented(body, n_consts, dk, da), (s_tree, _SCALAR, tree_structure(extra)),
               ([leaf_aval(v) for v in s_leaves], [jax.ShapeDtypeStruct((), t.dtype)],
                [leaf_aval(v) for v in extra]), WHO)
    aug_params = dict(body=aug, n_consts=len(aug.captured), n_y=len(s_leaves), rtol=rtol, atol=atol, mxstep=mxstep,
                      hmax=hmax)
    ts_bar = []
    for i in range(n_t - 1, 0, -1):
        y_i = [y[i] for y in ys]
        # Moving the output time t_i moves y(t_i) along f: its cotangent is <f(y_i, t_i), g_i>.
        f_i = body.run(consts, y_i, [t[i]], args)
        t_bar = tnp.astype(sum(tnp.sum(tnp.real(tnp.astype(f, c.dtype) * c[i])) for f, c in zip(f_i, g)), t.dtype)
        t0_bar = t0_bar - t_bar
        state = tree_flatten((y_i, y_bar, t0_bar, k_bar, a_bar))[0]
        # The adjoint system, backward from t_i to t_{i-1} (forward in s = -t).
        sol = odeint_p(*aug.captured, *state, tnp.stack([-t[i], -t[i - 1]]), *extra, **aug_params)
        _, y_bar, t0_bar, k_bar, a_bar = tree_unflatten(s_tree, [v[1] for v in sol])
        y_bar = [b + c[i - 1] for b, c in zip(y_bar, g)]  # the cotangent of the output at t_{i-1}
        ts_bar.append(t_bar)
    t_ct = tnp.stack([t0_bar] + ts_bar[::-1])
    k_ct = _merge([None] * n_consts, dk, k_bar)
    a_ct = _merge([None] * len(args), da, a_bar)
    return k_ct + list(y_bar) + [t_ct] + a_ct


odeint_p = Primitive("odeint", _odeint_impl, multiple_results=True, save_out=True).defvjp_all(_odeint_vjp)

