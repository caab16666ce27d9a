"""Data parallelism through JAX's sharding (docs/guide/scaling.md, examples/data_parallel.py).

Training with batches split over 4 devices and replicated parameters gives, step for step, the
losses and parameters of training on one device; the batches really are split, the parameters
stay replicated, and the compiled step holds the gradient all-reduce. Several CPU devices need a
fresh process (XLA fixes the device count when it starts), so each test runs one.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "data_parallel.py"


def _run(args: list[str], devices: int = 4) -> subprocess.CompletedProcess:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=180)


# Two epochs of the example's model and step, (a) on a 4-device mesh and (b) on one device without
# any sharding, from the same initial parameters, data order and optimizer.
SAME_AS_ONE_DEVICE = textwrap.dedent("""
    import sys
    import jax, numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P
    from tapegrad import data, optim
    sys.path.insert(0, "examples")
    import data_parallel as dp

    assert jax.device_count() == 4, jax.devices()
    mesh = dp.data_mesh()
    batch_sharding, replicated = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
    train_set = data.datasets.digits(train=True)
    BATCH, EPOCHS = 64, 2

    def train(sharded):
        model, opt = dp.make_model(), optim.Adam(lr=1e-3)
        step = dp.make_train_step(model, opt)
        params = model.init(0)
        opt_state = opt.init(params)
        if sharded:
            params, opt_state = jax.device_put((params, opt_state), replicated)
        loader = data.DataLoader(train_set, batch_size=BATCH, shuffle=True, seed=0, drop_last=True,
                                 sharding=batch_sharding if sharded else None)
        losses = []
        for _ in range(EPOCHS):
            for x, y in loader:
                if sharded:  # each device holds its own quarter of the batch
                    for a in (x, y):
                        assert a.sharding == batch_sharding, a.sharding
                        assert len({s.device for s in a.addressable_shards}) == 4
                        assert [s.data.shape[0] for s in a.addressable_shards] == [BATCH // 4] * 4
                        assert sorted(s.index[0].start for s in a.addressable_shards) == [0, 16, 32, 48]
                else:
                    assert len(x.sharding.device_set) == 1 and len(y.sharding.device_set) == 1
                if sharded and not losses:  # the gradient sum over the devices is XLA's, inside the step
                    assert "all-reduce" in step.lower(params, opt_state, x, y).compile().as_text()
                params, opt_state, loss = step(params, opt_state, x, y)
                losses.append(loss)
                if sharded:  # the step's outputs keep the replicated layout of its inputs
                    for leaf in jax.tree.leaves((params, opt_state)):
                        assert leaf.sharding.is_fully_replicated and len(leaf.sharding.device_set) == 4
        return np.array([float(v) for v in losses]), params

    losses_4, params_4 = train(sharded=True)
    losses_1, params_1 = train(sharded=False)
    assert len(losses_4) == EPOCHS * (len(train_set) // BATCH)
    assert losses_4[-1] < 0.9 * losses_4[0], losses_4  # it trained
    # Float32, same program up to the order of the sums: equal to rounding.
    np.testing.assert_allclose(losses_4, losses_1, rtol=1e-5)
    for p4, p1 in zip(jax.tree.leaves(params_4), jax.tree.leaves(params_1), strict=True):
        assert p4.sharding == replicated, p4.sharding
        copies = [np.asarray(s.data) for s in p4.addressable_shards]
        assert len(copies) == 4 and all(np.array_equal(c, copies[0]) for c in copies)  # the replicas agree
        np.testing.assert_allclose(copies[0], np.asarray(p1), rtol=1e-5, atol=1e-6)
    print("ok", len(losses_4), float(np.max(np.abs(losses_4 - losses_1))))
""")


def test_four_devices_train_like_one():
    result = _run(["-c", SAME_AS_ONE_DEVICE])
    assert result.returncode == 0 and result.stdout.startswith("ok"), result.stderr[-3000:]


def test_example_runs_on_four_devices():
    result = _run([str(EXAMPLE), "--epochs", "2", "--batch-size", "64"])
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert out.startswith("devices: 4 (cpu), mesh {'data': 4}, 16 samples per device per step"), out
    epoch_losses = [float(v) for v in re.findall(r"^epoch +\d+/2 +mean train loss ([\d.]+)$", out, re.M)]
    assert len(epoch_losses) == 2 and epoch_losses[1] < epoch_losses[0], out
    accuracy = re.search(r"^test accuracy: ([\d.]+)%$", out, re.M)
    assert accuracy is not None, out
    assert 70 < float(accuracy.group(1)) <= 100, out  # two epochs reach ~88%; chance is 10%


def test_example_refuses_a_batch_that_does_not_split_evenly():
    result = _run([str(EXAMPLE), "--epochs", "1", "--batch-size", "30"])
    assert result.returncode == 2, (result.stdout, result.stderr[-3000:])
    assert "--batch-size 30 does not divide evenly over 4 devices" in result.stderr, result.stderr[-3000:]
