"""The plan: a network compiled into the generalized delta rule (see :mod:`.plan`)."""

from anyprop.nn.plan.plan import Plan
from anyprop.nn.plan.results import DEFAULT_OPTIONS, Backprop, Options

__all__ = ["DEFAULT_OPTIONS", "Backprop", "Options", "Plan"]
