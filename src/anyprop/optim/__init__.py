"""The update rule and its variants: one small class per optimizer, and schedules.

>>> import numpy as np
>>> w = {"w": np.array([1.0, -2.0])}
>>> opt = SGD(w, lr=0.1)
>>> opt.step({"w": np.array([0.5, 0.5])})
>>> w["w"]
array([ 0.95, -2.05])
"""

from anyprop.optim import adam, adaptive, formula_rule, quickprop, rprop, sgd  # noqa: F401
from anyprop.optim.adam import Adam, AdamW
from anyprop.optim.adaptive import Adagrad, RMSprop
from anyprop.optim.base import (
    OPTIMIZERS,
    Optimizer,
    OptimizerError,
    clip_by_global_norm,
    global_norm,
    make,
)
from anyprop.optim.formula_rule import FormulaRule
from anyprop.optim.quickprop import Quickprop
from anyprop.optim.rprop import IRpropMinus
from anyprop.optim.schedules import (
    SCHEDULES,
    CosineLR,
    ExponentialLR,
    ReduceOnPlateau,
    Schedule,
    StepLR,
)
from anyprop.optim.sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineLR",
    "ExponentialLR",
    "FormulaRule",
    "IRpropMinus",
    "Optimizer",
    "OptimizerError",
    "Quickprop",
    "RMSprop",
    "ReduceOnPlateau",
    "Schedule",
    "StepLR",
    "clip_by_global_norm",
    "global_norm",
    "make",
]
