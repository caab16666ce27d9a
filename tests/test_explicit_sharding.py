"""JAX's explicit sharding mode (issue 13 §5): under ``jax.set_mesh`` with ``AxisType.Explicit``, the
batch sharded over 4 devices and the params replicated, ``jax.jit(tg.grad(loss))`` runs and gives
``jax.grad``'s gradients, replicated as the params are.

The rules that meet what JAX will not infer there (a contraction over the sharded batch in the
matmul, einsum and convolution kernel cotangents; a constant mask beside a sharded batch in max
pooling; zeros carried by a scan; a gather of class weights by sharded targets) say it through
``tapegrad.rules.sharding``. Several CPU devices need a fresh process, so the checks run in one.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECKS = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
    import tapegrad as tg
    import tapegrad.numpy as tnp
    from tapegrad import nn, optim
    from tapegrad.nn import functional as F

    assert jax.device_count() == 4
    mesh = jax.make_mesh((4,), ("data",), axis_types=(AxisType.Explicit,))
    rng = np.random.default_rng(0)
    y = np.arange(8) % 3

    def put(tree, spec):
        return jax.device_put(tree, NamedSharding(mesh, spec))

    def close(got, want, what, rtol=2e-5):
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-6, err_msg=what)

    # 1. An MLP with a class-weighted cross-entropy: tapegrad's gradient against jax.grad's, both under
    #    the explicit mesh; replicated like the params.
    mlp = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    pm = mlp.init(0)
    cw = np.array([1.0, 2.0, 0.5], np.float32)
    xm = rng.standard_normal((8, 6)).astype(np.float32)

    def mlp_loss(p, x, y):
        return F.cross_entropy(mlp(p, x), y, weight=cw, label_smoothing=0.1)

    def mlp_loss_jax(p, x, y):
        h = jax.nn.relu(x @ p["0"]["weight"].T + p["0"]["bias"])
        logp = jax.nn.log_softmax(h @ p["2"]["weight"].T + p["2"]["bias"])
        onehot = jax.nn.one_hot(y, 3)
        w_t = onehot @ cw
        nll = -jnp.sum(onehot * logp, -1) * w_t
        smooth = -jnp.sum(logp * cw, -1)
        return jnp.sum(0.9 * nll + 0.1 / 3 * smooth) / jnp.sum(w_t)

    with jax.set_mesh(mesh):
        args = (put(pm, P()), put(xm, P("data")), put(y, P("data")))
        got = jax.jit(tg.grad(mlp_loss))(*args)
        want = jax.jit(jax.grad(mlp_loss_jax))(*args)
        close(got, want, "mlp vs jax.grad")
        assert {a.sharding.spec for a in jax.tree.leaves(got)} <= {P(None), P(None, None)}
        # the unweighted default too
        got = jax.jit(tg.grad(lambda p, x, y: F.cross_entropy(mlp(p, x), y)))(*args)
    close(got, jax.grad(lambda p, x, y: F.cross_entropy(mlp(p, x), y))(pm, xm, y), "mlp, unweighted")

    # 2. A CNN with max pooling, a transformer layer, an LSTM and einsum/tensordot contractions: the
    #    sharded jitted gradient (and an Adam step) equals the unsharded one.
    cases = {
        "cnn": (nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(16 * 4, 3)), rng.standard_normal((8, 1, 8, 8))),
        "transformer": (nn.Sequential(nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True), nn.Flatten(),
                                      nn.Linear(40, 3)), rng.standard_normal((8, 5, 8))),
        "lstm": (nn.LSTM(6, 8, batch_first=True), rng.standard_normal((8, 5, 6))),
    }
    for name, (model, x) in cases.items():
        x = x.astype(np.float32)
        params = model.init(0)

        def loss(p, x, y, model=model, name=name):
            if name == "lstm":
                out, (h, c) = model(p, x)
                return tnp.mean(out ** 2) + tnp.mean(c)
            return F.cross_entropy(model(p, x, train=False) if name == "transformer" else model(p, x), y)

        opt = optim.Adam(lr=1e-2)

        @jax.jit
        def step(p, s, x, y, loss=loss, opt=opt):
            value, g = tg.value_and_grad(loss)(p, x, y)
            return opt.step(p, g, s) + (value, g)

        want = step(params, opt.init(params), x, y)
        with jax.set_mesh(mesh):
            ps = put(params, P())
            got = step(ps, opt.init(ps), put(x, P("data")), put(y, P("data")))
        close(got[2:], want[2:], name, rtol=1e-4)
        assert all(a.sharding.spec == P(*[None] * a.ndim) for a in jax.tree.leaves(got[3])), name

    w = rng.standard_normal((7, 6)).astype(np.float32)
    x3 = rng.standard_normal((8, 5, 6)).astype(np.float32)
    contractions = {
        "einsum": lambda w, x: tnp.sum(tnp.tanh(tnp.einsum("btd,kd->btk", x, w))),
        "tensordot": lambda w, x: tnp.sum(tnp.tanh(tnp.tensordot(x, w, axes=[[2], [1]]))),
        "matmul": lambda w, x: tnp.sum(tnp.tanh(x @ w.T)),
    }
    for name, f in contractions.items():
        want = tg.grad(f, argnums=(0, 1))(w, x3)
        with jax.set_mesh(mesh):
            got = jax.jit(tg.grad(f, argnums=(0, 1)))(put(w, P()), put(x3, P("data")))
        close(got, want, name, rtol=1e-4)
        assert got[0].sharding.spec == P(None, None) and got[1].sharding.spec == P("data", None, None), name
    print("OK")
""")


def test_explicit_mesh_gradients_equal_jax_and_single_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", CHECKS], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0 and run.stdout.strip().endswith("OK"), run.stdout[-3000:] + run.stderr[-5000:]
