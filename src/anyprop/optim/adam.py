"""Adam and AdamW (Kingma and Ba 2015; Loshchilov and Hutter 2019)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from anyprop.optim.base import Line, Optimizer, optimizer


@optimizer("adam")
class Adam(Optimizer):
    """m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  w ← w − η·m̂/(√v̂ + ε),

    with the bias corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) at step t.
    """

    defaults: ClassVar = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    state_names = ("m", "v")

    def __init__(self, params, lr: float = 0.001, **options) -> None:
        super().__init__(params, lr=lr, **options)

    def explain(self, g, w, before, lr):
        b1, b2, eps, t = self.beta1, self.beta2, self.eps, self.steps
        m0, v0 = before["m"], before["v"]
        m = b1 * m0 + (1 - b1) * g
        v = b2 * v0 + (1 - b2) * g * g
        mh, vh = m / (1 - b1**t), v / (1 - b2**t)
        return [
            Line("t", "the step count, this step included", float(t)),
            Line("m", f"β₁·m + (1−β₁)·g = {b1:g}·{m0:.6g} + {1 - b1:.6g}·{g:.6g}", m),
            Line("v", f"β₂·v + (1−β₂)·g² = {b2:g}·{v0:.6g} + {1 - b2:.6g}·{g:.6g}²", v),
            Line("m̂", f"m/(1−β₁ᵗ) = {m:.6g}/(1−{b1:g}^{t})", mh),
            Line("v̂", f"v/(1−β₂ᵗ) = {v:.6g}/(1−{b2:g}^{t})", vh),
            Line(
                "Δw",
                f"−η·m̂/(√v̂ + ε) = −{lr:g}·{mh:.6g}/(√{vh:.6g} + {eps:g})",
                -lr * mh / (np.sqrt(vh) + eps),
            ),
        ]

    def update(self, name, w, g, lr, state):
        m, v = state["m"], state["v"]
        b1, b2, t = self.beta1, self.beta2, self.steps
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        m_hat_scale = 1.0 / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        w -= (lr * m_hat_scale) * m / (np.sqrt(v_hat) + self.eps)


@optimizer("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay: w ← w − η·λ·w, then the Adam step (λ = 0.01 by default)."""

    decoupled_decay = True

    def __init__(self, params, lr: float = 0.001, weight_decay: float = 0.01, **options) -> None:
        super().__init__(params, lr=lr, weight_decay=weight_decay, **options)

    def explain(self, g, w, before, lr):
        lines = super().explain(g, w, before, lr)
        if not self.weight_decay:
            return lines
        shrink = -lr * self.weight_decay * w
        decay = Line("decay", f"−η·λ·w = −{lr:g}·{self.weight_decay:g}·{w:.6g}", shrink)
        step = lines[-1]
        total = Line(
            "Δw", f"decay + Adam's step = {shrink:.6g} + ({step.value:.6g})", shrink + step.value
        )
        return [decay, *lines[:-1], step._replace(name="Adam's step"), total]

    def update(self, name, w, g, lr, state):
        if self.weight_decay:
            w *= 1 - lr * self.weight_decay
        super().update(name, w, g, lr, state)
