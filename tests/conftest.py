"""Test-session setup: float64 on (gradient checks need it), CPU only, quiet hypothesis."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# XLA compiles are most of this suite's time, and many are the same program: the two xdist workers
# compile the same small ops, and tests jit distinct Python functions that lower to identical HLO.
# JAX's persistent compilation cache (keyed by the HLO, the compile options, JAX's version and the
# backend) shares them across workers, tests and runs: about a fifth of the suite's wall time
# (measured on 2 cores). A cache hit is the executable XLA would have built, so no result changes.
# Set in the environment, so that the subprocesses some tests start use it too.
_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".cache", "jax-tests")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_enable_x64", True)

CI = bool(os.environ.get("CI"))
# Each example runs several eager JAX dispatches; keep the suite well inside CI's budget.
PROFILE = dict(
    max_examples=int(os.environ.get("TAPEGRAD_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# CI (CI=1) is derandomized: every run draws the same examples. tests/test_ci_draws.py replays the
# family tables under this profile and counts what they check there.
settings.register_profile("tapegrad-ci", derandomize=True, **PROFILE)
settings.register_profile("tapegrad", derandomize=False, **PROFILE)
settings.load_profile("tapegrad-ci" if CI else "tapegrad")
