"""RMSprop and Adagrad: per-weight step sizes from the history of squared gradients."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from anyprop.optim.base import Optimizer, optimizer


@optimizer("rmsprop")
class RMSprop(Optimizer):
    """v ← ρv + (1−ρ)g²,  w ← w − η·g/(√v + ε)  (Tieleman and Hinton 2012)."""

    defaults: ClassVar = {"rho": 0.9, "eps": 1e-8}
    state_names = ("v",)

    def __init__(self, params, lr: float = 0.001, **options) -> None:
        super().__init__(params, lr=lr, **options)

    def update(self, name, w, g, lr, state):
        v = state["v"]
        v *= self.rho
        v += (1 - self.rho) * (g * g)
        w -= lr * g / (np.sqrt(v) + self.eps)


@optimizer("adagrad")
class Adagrad(Optimizer):
    """s ← s + g²,  w ← w − η·g/(√s + ε)  (Duchi et al. 2011)."""

    defaults: ClassVar = {"eps": 1e-10}
    state_names = ("s",)

    def update(self, name, w, g, lr, state):
        s = state["s"]
        s += g * g
        w -= lr * g / (np.sqrt(s) + self.eps)
