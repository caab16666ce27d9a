"""Control flow and batching inside the tape (API.md §10): tg.lax.* and tg.vmap against JAX's own.

Each loop is one tape entry; its derivatives, at every order and under jax.jit / jax.vmap from
outside, equal those of the same program written with jax.lax.
"""
import gc
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tapegrad as tg
import tapegrad.numpy as tnp
from tapegrad.core.tracer import Tracer

RNG = np.random.default_rng(0)
W = jnp.asarray(RNG.normal(size=(3, 3)) * 0.5)
XS = jnp.asarray(RNG.normal(size=(6, 3)))
H0 = jnp.asarray(RNG.normal(size=(3,)))


def close(a, b, tol=1e-10):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def rnn(lib, lax, reverse=False):
    """A tanh RNN over XS closing over W (captured by the body), summing states and outputs."""
    def loss(w, h0, xs):
        def step(h, x):
            h = lib.tanh(h @ w + x)
            return h, lib.sum(h * h)
        h, ys = lax.scan(step, h0, xs, reverse=reverse)
        return lib.sum(h) + lib.sum(ys)
    return loss


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_gradients_to_second_order_match_jax(reverse):
    ours, theirs = rnn(tnp, tg.lax, reverse), rnn(jnp, jax.lax, reverse)
    close(tg.grad(ours, (0, 1, 2))(W, H0, XS), jax.grad(theirs, (0, 1, 2))(W, H0, XS))
    close(tg.hessian(ours)(W, H0, XS), jax.hessian(theirs)(W, H0, XS))
    close(tg.jvp(lambda w: ours(w, H0, XS), (W,), (jnp.ones_like(W),))[1],
          jax.jvp(lambda w: theirs(w, H0, XS), (W,), (jnp.ones_like(W),))[1])


def test_scan_under_jit_and_vmap_from_outside():
    ours, theirs = rnn(tnp, tg.lax), rnn(jnp, jax.lax)
    close(jax.jit(tg.grad(ours))(W, H0, XS), jax.grad(theirs)(W, H0, XS))
    batch = jnp.stack([XS, 2 * XS])
    close(jax.vmap(tg.grad(ours, 2), in_axes=(None, None, 0))(W, H0, batch),
          jax.vmap(jax.grad(theirs, 2), in_axes=(None, None, 0))(W, H0, batch))


def test_scan_is_one_tape_entry_whatever_the_trip_count():
    for t in (3, 50):
        xs = jnp.ones((t, 3))
        tape = tg.make_tape(lambda w, xs=xs: rnn(tnp, tg.lax)(w, H0, xs))(W)
        assert [e.prim.name for e in tape].count("scan") == 1 and len(tape) < 6


def test_scan_pytrees_ints_length_and_unroll():
    def ours(x):
        def step(c, _):
            (i, v), acc = c
            return ((i + 1, v * x), acc + v * i), v
        return tg.lax.scan(step, ((0, 1.0), 0.0), None, length=4, unroll=2)

    def theirs(x):
        def step(c, _):
            (i, v), acc = c
            return ((i + 1, v * x), acc + v * i), v
        return jax.lax.scan(step, ((0, 1.0), 0.0), None, length=4, unroll=2)

    (c, ys), (jc, jys) = ours(1.5), theirs(1.5)
    close((c, ys), (jc, jys))
    assert c[0][0].dtype == jc[0][0].dtype
    g = tg.grad(lambda x: ours(x)[0][1] + tnp.sum(ours(x)[1]))(1.5)
    close(g, jax.grad(lambda x: theirs(x)[0][1] + jnp.sum(theirs(x)[1]))(1.5))


def test_scan_carry_must_keep_its_type():
    with pytest.raises(TypeError, match=r"tg.lax.scan: the carry must keep"):
        tg.lax.scan(lambda c, x: (tnp.stack([c, c]), x), 0.0, jnp.ones(2))


@pytest.mark.parametrize("x", [2.0, -3.0])
def test_cond_and_switch(x):
    def ours(w):
        a = tg.lax.cond(w > 0, lambda v: tnp.sin(v) * w, lambda v: v * v, w)
        b = tg.lax.switch(jnp.int32(2) if w > 0 else 0, [tnp.exp, tnp.cos, lambda v: v ** 3 * a], w)
        return a + b

    def theirs(w):
        a = jax.lax.cond(w > 0, lambda v: jnp.sin(v) * w, lambda v: v * v, w)
        b = jax.lax.switch(jnp.int32(2) if w > 0 else 0, [jnp.exp, jnp.cos, lambda v: v ** 3 * a], w)
        return a + b

    close(tg.grad(ours)(x), jax.grad(theirs)(x))
    close(tg.grad(tg.grad(ours))(x), jax.grad(jax.grad(theirs))(x))


def test_cond_under_jit_takes_a_traced_predicate():
    f = jax.jit(tg.grad(lambda w: tg.lax.cond(w > 0, lambda v: v * v, lambda v: -v, w)))
    assert float(f(3.0)) == 6.0 and float(f(-3.0)) == -1.0


def test_fori_loop_with_python_bounds_is_reverse_differentiable():
    ours = lambda w: tnp.sum(tg.lax.fori_loop(0, 5, lambda i, h: tnp.tanh(h @ w) + i, H0))
    theirs = lambda w: jnp.sum(jax.lax.fori_loop(0, 5, lambda i, h: jnp.tanh(h @ w) + i, H0))
    close(tg.grad(ours)(W), jax.grad(theirs)(W))
    close(tg.hessian(ours)(W), jax.hessian(theirs)(W))


def test_while_loop_is_forward_differentiable_and_refuses_reverse_mode():
    ours = lambda x: tg.lax.while_loop(lambda v: v[0] < 10.0, lambda v: (v[0] * x, v[1] + 1), (1.0, 0))[0]
    theirs = lambda x: jax.lax.while_loop(lambda v: v[0] < 10.0, lambda v: (v[0] * x, v[1] + 1), (1.0, 0))[0]
    close(tg.jvp(ours, (3.0,), (1.0,)), jax.jvp(theirs, (3.0,), (1.0,)))
    close(tg.jacfwd(ours)(jnp.asarray(1.7)), jax.jacfwd(theirs)(jnp.asarray(1.7)))
    with pytest.raises(TypeError, match="while_loop.*reverse-mode"):
        tg.grad(ours)(3.0)


def test_map():
    close(tg.grad(lambda w: tnp.sum(tg.lax.map(lambda x: tnp.tanh(x @ w), XS)))(W),
          jax.grad(lambda w: jnp.sum(jax.lax.map(lambda x: jnp.tanh(x @ w), XS)))(W))


@pytest.mark.parametrize("in_axes,out_axes", [(0, 0), ((1, None), 1), ((0, 0), -1)])
def test_vmap_matches_jax(in_axes, out_axes):
    f = lambda x, w: tnp.tanh(x @ w) * tnp.sum(w)
    jf = lambda x, w: jnp.tanh(x @ w) * jnp.sum(w)
    x = XS if in_axes in (0, (0, 0)) else XS.T
    w = jnp.stack([W] * 6) if in_axes in (0, (0, 0)) else W
    ours = lambda x, w: tnp.sum(tg.vmap(f, in_axes, out_axes)(x, w) ** 2)
    theirs = lambda x, w: jnp.sum(jax.vmap(jf, in_axes, out_axes)(x, w) ** 2)
    close(tg.vmap(f, in_axes, out_axes)(x, w), jax.vmap(jf, in_axes, out_axes)(x, w))
    close(tg.grad(ours, (0, 1))(x, w), jax.grad(theirs, (0, 1))(x, w))
    close(tg.hessian(lambda w: ours(x, w))(w), jax.hessian(lambda w: theirs(x, w))(w))


def test_nested_vmap_and_scan_inside_vmap():
    f = lambda x: tnp.sum(tg.vmap(tg.vmap(lambda v: v * v * W[0, 0]))(x))
    close(tg.grad(f)(XS), jax.grad(lambda x: jnp.sum(jax.vmap(jax.vmap(lambda v: v * v * W[0, 0]))(x)))(XS))
    per_seq = lambda w, xs: rnn(tnp, tg.lax)(w, H0, xs)
    batch = jnp.stack([XS, -XS])
    ours = tg.grad(lambda w: tnp.sum(tg.vmap(per_seq, in_axes=(None, 0))(w, batch)))(W)
    theirs = jax.grad(lambda w: jnp.sum(jax.vmap(rnn(jnp, jax.lax), in_axes=(None, None, 0))(w, H0, batch)))(W)
    close(ours, theirs)


@pytest.mark.parametrize("name,call,spelling", [
    ("scan", lambda x: jax.lax.scan(lambda c, v: (c * x, c), 1.0, jnp.ones(3))[0], "tg.lax.scan"),
    ("cond", lambda x: jax.lax.cond(True, lambda v: v * 2, lambda v: v, x), "tg.lax.cond"),
    ("fori_loop", lambda x: jax.lax.fori_loop(0, 3, lambda i, v: v * x, 1.0), "tg.lax.fori_loop"),
    ("vmap", lambda x: jnp.sum(jax.vmap(lambda r: r * x)(jnp.ones(3))), "tg.vmap"),
    ("checkpoint", lambda x: jax.checkpoint(lambda v: v * v)(x), "tg.checkpoint"),
])
def test_jax_control_flow_handed_tapegrad_values_names_the_tg_spelling(name, call, spelling):
    with pytest.raises(TypeError) as info:
        tg.grad(call)(2.0)
    assert re.search(f"use {re.escape(spelling)}", str(info.value))


def test_no_tracer_of_a_loops_own_trace_outlives_it():
    def live_tracers():
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Tracer)

    before = live_tracers()
    for _ in range(3):
        tg.grad(rnn(tnp, tg.lax))(W, H0, XS)
        tg.grad(lambda w: tg.lax.cond(w[0, 0] > 0, lambda v: tnp.sum(v), lambda v: tnp.sum(v * v), w))(W)
        tg.grad(lambda w: tnp.sum(tg.vmap(lambda r: r @ w)(XS)))(W)
    assert live_tracers() <= before


def test_a_checkpointed_body_recomputes_instead_of_saving_and_gives_the_same_derivatives():
    def loss(checkpoint):
        def step(h, x):
            return tnp.tanh(h @ W + x) * 1.5, tnp.sum(tnp.sin(h))
        body = tg.checkpoint(step) if checkpoint else step
        return lambda w_xs: tnp.sum(tg.lax.scan(body, H0, w_xs)[1])

    saved, remat = loss(False), loss(True)
    close(tg.grad(saved)(XS), tg.grad(remat)(XS))
    close(tg.hessian(lambda xs: saved(xs))(XS[:3]), tg.hessian(lambda xs: remat(xs))(XS[:3]))
    outs = {name: [len(e.out_avals) for e in tg.make_tape(f)(XS) if e.prim.name == "scan"][0]
            for name, f in (("saved", saved), ("remat", remat))}
    # The carry, the ys, the stacked carries; the saved mode adds the stacked residuals.
    assert outs["remat"] == 3 and outs["saved"] > 3
