"""Fused loss primitives: stable forms of a transfer function and a loss together.

Each returns one loss per sample (summed over the last axis); the network level
uses them only when the user names both halves of the pair.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from anyprop.autodiff.engine import primitive


@primitive
def softmax_cross_entropy(z, t):
    """ℓ = -Σ_k t_k log softmax(z)_k per sample (last axis), from logits z.

    d/dz = softmax(z)·Σ_k t_k - t  (= softmax(z) - t for one-hot t);
    d/dt = -log softmax(z).
    """
    zs = z - z.max(axis=-1, keepdims=True)
    log_p = zs - np.log(np.exp(zs).sum(axis=-1, keepdims=True))
    out = -(t * log_p).sum(axis=-1)

    def vjp(g):
        g = np.expand_dims(g, -1)
        return (
            lambda: g * (np.exp(log_p) * t.sum(axis=-1, keepdims=True) - t),
            lambda: -g * log_p,
        )

    return out, vjp


@primitive
def sigmoid_binary_cross_entropy(z, t):
    """ℓ = -Σ_k [t log σ(z) + (1 - t) log(1 - σ(z))] = Σ_k softplus(z) - t·z, from logits z.

    d/dz = σ(z) - t;  d/dt = -z.
    """
    out = (np.logaddexp(0, z) - t * z).sum(axis=-1)

    def vjp(g):
        g = np.expand_dims(g, -1)
        return lambda: g * (special.expit(z) - t), lambda: -g * z

    return out, vjp
