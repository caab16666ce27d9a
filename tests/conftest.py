"""Test-session setup: float64 on (gradient checks need it), CPU only, quiet hypothesis."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

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
