"""RMSprop and Adagrad: per-weight step sizes from the history of squared gradients."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from anyprop.optim.base import Line, Optimizer, optimizer


@optimizer("rmsprop")
class RMSprop(Optimizer):
    """v ← ρv + (1−ρ)g²,  w ← w − η·g/(√v + ε)  (Tieleman and Hinton 2012)."""

    defaults: ClassVar = {"rho": 0.9, "eps": 1e-8}
    state_names = ("v",)

    def __init__(self, params, lr: float = 0.001, **options) -> None:
        super().__init__(params, lr=lr, **options)

    def explain(self, g, w, before, lr):
        rho, eps, v0 = self.rho, self.eps, before["v"]
        v = rho * v0 + (1 - rho) * g * g
        return [
            Line("v", f"ρ·v + (1−ρ)·g² = {rho:g}·{v0:.6g} + {1 - rho:.6g}·{g:.6g}²", v),
            Line(
                "Δw",
                f"−η·g/(√v + ε) = −{lr:g}·{g:.6g}/(√{v:.6g} + {eps:g})",
                -lr * g / (np.sqrt(v) + eps),
            ),
        ]

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

    def explain(self, g, w, before, lr):
        s0, eps = before["s"], self.eps
        s = s0 + g * g
        return [
            Line("s", f"s + g² = {s0:.6g} + {g:.6g}²", s),
            Line(
                "Δw",
                f"−η·g/(√s + ε) = −{lr:g}·{g:.6g}/(√{s:.6g} + {eps:g})",
                -lr * g / (np.sqrt(s) + eps),
            ),
        ]

    def update(self, name, w, g, lr, state):
        s = state["s"]
        s += g * g
        w -= lr * g / (np.sqrt(s) + self.eps)
