"""Test-session setup: float64 on (gradient checks need it), CPU only, quiet hypothesis."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_enable_x64", True)

# Each example runs several eager JAX dispatches; keep the suite well inside CI's budget.
settings.register_profile(
    "tapegrad",
    max_examples=int(os.environ.get("TAPEGRAD_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("tapegrad")
