"""anyprop's reverse-mode automatic differentiation engine.

This package imports nothing else of anyprop except ``anyprop.errors`` and
``anyprop.registry``.
"""

from anyprop.autodiff import ops
from anyprop.autodiff.engine import (
    PRIMITIVES,
    Tensor,
    is_grad_enabled,
    no_grad,
    primitive,
)
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
