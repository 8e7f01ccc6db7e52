"""anyprop's reverse-mode automatic differentiation engine.

This package imports nothing else of anyprop except ``anyprop.errors`` and
``anyprop.registry``.
"""

# tensor first: the engine and the ops build on it
from anyprop.autodiff.tensor import Tensor, is_grad_enabled, no_grad  # isort: skip
from anyprop.autodiff import ops
from anyprop.autodiff.engine import PRIMITIVES, primitive
from anyprop.autodiff.gradcheck import GradcheckReport, gradcheck

__all__ = [
    "PRIMITIVES",
    "GradcheckReport",
    "Tensor",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "ops",
    "primitive",
]
