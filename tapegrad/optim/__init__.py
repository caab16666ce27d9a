"""PyTorch-exact optimizers as pure ``init``/``step`` pairs over pytrees.

Example:
    >>> import jax.numpy as jnp
    >>> from tapegrad import optim
    >>> opt = optim.Adam(lr=1e-3)
    >>> params = {"w": jnp.zeros(3)}
    >>> state = opt.init(params)
    >>> params, state = opt.step(params, {"w": jnp.ones(3)}, state)
"""

from tapegrad.optim import lr_scheduler, schedules
from tapegrad.optim.adagrad import Adadelta, AdadeltaState, Adagrad, AdagradState
from tapegrad.optim.adam import Adam, AdamState, AdamW
from tapegrad.optim.adam_variants import Adamax, AdamaxState, NAdam, NAdamState, RAdam
from tapegrad.optim.base import LearningRate, Optimizer, Schedule
from tapegrad.optim.clip import clip_grad_norm
from tapegrad.optim.groups import GroupedState
from tapegrad.optim.rmsprop import RMSprop, RMSpropState
from tapegrad.optim.sgd import SGD, SGDState

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "lr_scheduler",
    "clip_grad_norm",
    "schedules",
    "Optimizer",
    "Schedule",
    "LearningRate",
    "SGDState",
    "AdamState",
    "RMSpropState",
    "AdagradState",
    "AdadeltaState",
    "AdamaxState",
    "NAdamState",
    "GroupedState",
]
