"""Functions of a group's whole unit vector: softmax and log-softmax."""

from __future__ import annotations

import numpy as np

from anyprop.autodiff import ops
from anyprop.nn.transfer.builtin_base import VectorBuiltin, builtin


@builtin("softmax")
class Softmax(VectorBuiltin):
    """exp(x_j) / Σ_k exp(x_k) over a group's units; δ = o ⊙ (g - Σ g ⊙ o) (Jᵀ g)."""

    formula, derivative = "exp(x_j)/sum_k exp(x_k)", "o_j*(δ_jk - o_k) (Jacobian)"

    def forward(self, x):
        e = np.exp(x - np.maximum.reduce(x, axis=-1, keepdims=True))
        e /= np.add.reduce(e, axis=-1, keepdims=True)
        return e

    def backward(self, net, out, grad):
        return out * (grad - np.add.reduce(grad * out, axis=-1, keepdims=True))

    def on_tape(self, x):
        return ops.softmax(x, axis=-1)


@builtin("log_softmax")
class LogSoftmax(VectorBuiltin):
    """x_j - log Σ_k exp(x_k) over a group's units; δ = g - softmax ⊙ Σ g (Jᵀ g)."""

    formula, derivative = "x_j - log(sum_k exp(x_k))", "δ_jk - softmax_k (Jacobian)"

    def forward(self, x):
        z = x - np.maximum.reduce(x, axis=-1, keepdims=True)
        z -= np.log(np.add.reduce(np.exp(z), axis=-1, keepdims=True))
        return z

    def backward(self, net, out, grad):
        return grad - np.exp(out) * np.add.reduce(grad, axis=-1, keepdims=True)

    def on_tape(self, x):
        return ops.log_softmax(x, axis=-1)
