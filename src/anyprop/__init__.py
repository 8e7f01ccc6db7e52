"""anyprop: train neural networks of any shape with one rule, backpropagation.

The public API is re-exported here; see the README for a tour.
"""

from anyprop.autodiff import PRIMITIVES, GradcheckReport, Tensor, gradcheck, no_grad, ops
from anyprop.errors import AnypropError, GraphError, NetworkError, ShapeError, UnknownNameError
from anyprop.nn import Network

__version__ = "0.1.0"

__all__ = [
    "PRIMITIVES",
    "AnypropError",
    "GradcheckReport",
    "GraphError",
    "Network",
    "NetworkError",
    "ShapeError",
    "Tensor",
    "UnknownNameError",
    "__version__",
    "gradcheck",
    "no_grad",
    "ops",
]
