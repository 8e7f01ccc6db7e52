"""anyprop: train neural networks of any shape with one rule, backpropagation.

The public API is re-exported here; see the README for a tour.
"""

# _threads first, before NumPy is imported: one BLAS thread per MPI process
from anyprop import _threads, datasets, optim, train  # noqa: F401
from anyprop._threads import set_threads
from anyprop._version import __version__
from anyprop.autodiff import PRIMITIVES, GradcheckReport, Tensor, gradcheck, no_grad, ops
from anyprop.errors import AnypropError, GraphError, NetworkError, ShapeError, UnknownNameError
from anyprop.export import export_onnx
from anyprop.nn import Network
from anyprop.train import fit
from anyprop.train.api import load, save, train_model

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
    "datasets",
    "export_onnx",
    "fit",
    "gradcheck",
    "load",
    "no_grad",
    "ops",
    "optim",
    "save",
    "set_threads",
    "train",
    "train_model",
]
