"""Crash-safe training: SIGKILL during a save or mid-epoch loses nothing."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import pytest

import tapegrad as tg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "examples", "train.py")

SAVER = textwrap.dedent("""
    import sys, numpy as np, tapegrad as tg
    path = sys.argv[1]
    big = {k: np.full((256, 256), 0.0) for k in "abcdefgh"}
    i = 0
    while True:
        i += 1
        tg.save(path, {"step": i, "weights": {k: v + i for k, v in big.items()}})
        print(i, flush=True)
""")


def test_sigkill_during_save_never_corrupts_the_previous_checkpoint(tmp_path):
    path = str(tmp_path / "ckpt.npz")
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    rng = random.Random(0)
    kills = 0
    last_step = 0
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, str(script), path], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "JAX_PLATFORMS": "cpu"})
        proc.stdout.readline()  # at least one save of this run has completed
        time.sleep(rng.uniform(0.0, 0.3))  # then strike at a random moment, likely mid-write
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        kills += 1
        state = tg.load(path)  # must load intact: the previous or the newest complete save
        step = int(state["step"])
        assert step >= 1
        for v in state["weights"].values():
            np.testing.assert_array_equal(np.asarray(v), np.full((256, 256), float(step)))
        last_step = max(last_step, step)
    print(f"SIGKILLs survived: {kills}")


def _train(out, *extra):
    cmd = [sys.executable, TRAIN, "--epochs", "3", "--no-progress", "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"},
                          timeout=600)


@pytest.mark.parametrize("kill_at", [30])
def test_resume_after_sigkill_mid_epoch_equals_uninterrupted(tmp_path, kill_at):
    full = _train(tmp_path / "full")
    assert full.returncode == 0, full.stderr
    crashed = _train(tmp_path / "crash", "--kill-at-batch", str(kill_at))  # 23 batches per epoch: mid-epoch 2
    assert crashed.returncode == -signal.SIGKILL
    resumed = _train(tmp_path / "crash", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout and "after epoch 1" in resumed.stdout
    a = tg.load(str(tmp_path / "full" / "mlp-digits.ckpt"))
    b = tg.load(str(tmp_path / "crash" / "mlp-digits.ckpt"))
    jax.tree_util.tree_map(lambda x, y: np.testing.assert_array_equal(np.asarray(x), np.asarray(y)),
                           a["params"], b["params"])
    assert a["history"][-1]["test_acc"] == b["history"][-1]["test_acc"]
