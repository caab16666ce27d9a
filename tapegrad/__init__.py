"""tapegrad: tape-based functional automatic differentiation on jax.numpy.

Example:
    >>> import tapegrad as tg
    >>> float(tg.grad(lambda x: x * x * x)(2.0))
    12.0
"""
# ruff: noqa: E402, I001  (import order: core, rules via the tnp namespace, then the transforms)
from tapegrad.core.tape import Tape
from tapegrad.core.tracer import Tracer
from tapegrad import numpy
from tapegrad import accel  # noqa: F401  (installs the compiled rules and sweeps into the core's sweep hook)
from tapegrad.transforms import (
    checkpoint, custom_vjp, elementwise_grad, grad, hessian, jacfwd, jacobian, jacrev, jvp, make_tape, stop_gradient,
    value_and_grad, vjp,
)

__version__ = "0.1.0"

__all__ = [
    "Tape", "Tracer", "checkpoint", "custom_vjp", "elementwise_grad", "grad", "hessian", "jacfwd", "jacobian",
    "jacrev", "jvp", "make_tape", "numpy", "stop_gradient", "value_and_grad", "vjp",
]
from tapegrad.checking import check_grads  # noqa: E402
from tapegrad.debugging import debug_nans  # noqa: E402
from tapegrad import config, lax  # noqa: E402
from tapegrad.interop import from_jax  # noqa: E402
from tapegrad.lax import vmap  # noqa: E402
from tapegrad.io import load, save  # noqa: E402
from tapegrad.viz import draw_graph  # noqa: E402
from tapegrad import data, nn, optim  # noqa: E402

__all__ += ["check_grads", "config", "data", "debug_nans", "draw_graph", "from_jax", "lax", "load", "nn", "optim",
            "save", "vmap"]
