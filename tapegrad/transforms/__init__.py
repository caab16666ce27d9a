"""Functional transforms: each opens a level, runs the function, sweeps its tape."""
from tapegrad.transforms.custom import checkpoint, custom_vjp, stop_gradient
from tapegrad.transforms.forward import jvp
from tapegrad.transforms.jacobians import hessian, jacfwd, jacobian, jacrev
from tapegrad.transforms.make_tape import make_tape
from tapegrad.transforms.reverse import elementwise_grad, grad, value_and_grad, vjp

__all__ = ["checkpoint", "custom_vjp", "elementwise_grad", "grad", "hessian", "jacfwd", "jacobian", "jacrev", "jvp",
           "make_tape", "stop_gradient", "value_and_grad", "vjp"]
