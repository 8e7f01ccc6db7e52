"""The built-in transfer functions: the union of FANN's and tinygrad's, and more.

They live by family: :mod:`.steps` (identity, thresholds), :mod:`.sigmoids`,
:mod:`.rectifiers`, :mod:`.radial` (Gaussians, sin, cos) and :mod:`.vector`
(softmax, log-softmax), all registered in :data:`TRANSFERS`.

Each is a fused NumPy expression for f and f' (f' from the output where that is
cheaper) beside the same f written as anyprop ops. The conventions at kinks,
where f' is not defined, are these (and are tested):

=====================  ================================================  ===========
name                   f(x)                                              f' at kinks
=====================  ================================================  ===========
relu                   max(x, 0)                                         f'(0) = 0
leaky_relu(alpha)      x if x > 0 else alpha·x                           f'(0) = alpha
relu6                  min(max(x, 0), 6)                                 f'(0) = f'(6) = 0
hard_tanh              clip(x, -1, 1)                                    f'(±1) = 0
hard_sigmoid           clip(x/6 + 1/2, 0, 1)                             f'(±3) = 0
hard_swish             x·clip(x + 3, 0, 6)/6                             f'(-3) = 0, f'(3) = 1
linear_piece(s)        clip(s·x, 0, 1)                                   0 at the kinks
linear_piece_symm.(s)  clip(s·x, -1, 1)                                  0 at the kinks
elu(alpha)             x if x > 0 else alpha·(exp(x) - 1)                f'(0) = alpha
celu(alpha)            max(0, x) + min(0, alpha·(exp(x/alpha) - 1))      f'(0) = 1
=====================  ================================================  ===========
"""

from anyprop.nn.transfer import radial, rectifiers, sigmoids, steps, vector  # noqa: F401 (fill it)
from anyprop.nn.transfer.builtin_base import TRANSFERS, Builtin, VectorBuiltin, builtin

__all__ = ["TRANSFERS", "Builtin", "VectorBuiltin", "builtin"]
