"""iRPROP− (Igel and Hüsken 2000), as FANN trains with it: step sizes from gradient signs."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from anyprop.optim.base import Line, Optimizer, optimizer


@optimizer("irprop")
class IRpropMinus(Optimizer):
    """Each weight has its own step size Δ (starting at ``delta0``):

        if g·g_prev > 0:  Δ ← min(η⁺Δ, Δmax)
        if g·g_prev < 0:  Δ ← max(η⁻Δ, Δmin),  g ← 0   (the "−": no step after a sign change)
        w ← w − sign(g)·Δ,  g_prev ← g

    The learning rate is not used. Meant for full-batch learning (as in FANN).
    """

    defaults: ClassVar = {
        "eta_plus": 1.2,
        "eta_minus": 0.5,
        "delta0": 0.1,
        "delta_min": 1e-6,
        "delta_max": 50.0,
    }
    state_names = ("delta", "prev_g")

    def explain(self, g, w, before, lr):
        d0 = self.delta0 if self.steps == 1 else before["delta"]
        prev = before["prev_g"]
        same = g * prev
        if same > 0:
            delta, how = (
                min(d0 * self.eta_plus, self.delta_max),
                f"min(η⁺·Δ, Δmax) = min({self.eta_plus:g}·{d0:.6g}, {self.delta_max:g})",
            )
        elif same < 0:
            delta, how = (
                max(d0 * self.eta_minus, self.delta_min),
                f"max(η⁻·Δ, Δmin) = max({self.eta_minus:g}·{d0:.6g}, {self.delta_min:g})",
            )
        else:
            delta, how = (
                d0,
                "Δ (no sign to compare)"
                if self.steps > 1
                else f"Δ₀ = {self.delta0:g} (the first step)",
            )
        used = 0.0 if same < 0 else g
        sign = float(np.sign(used))
        return [
            Line("g·g_prev", f"{g:.6g}·{prev:.6g} (the sign history)", same),
            Line("Δ", how, delta),
            Line("g", "0 after a sign change (the −), else g", used),
            Line("Δw", f"−sign(g)·Δ = −({sign:g})·{delta:.6g}", -sign * delta),
        ]

    def update(self, name, w, g, lr, state):
        delta, prev = state["delta"], state["prev_g"]
        if self.steps == 1:
            delta.fill(self.delta0)
        same = g * prev
        grow, shrink = same > 0, same < 0
        delta[grow] = np.minimum(delta[grow] * self.eta_plus, self.delta_max)
        delta[shrink] = np.maximum(delta[shrink] * self.eta_minus, self.delta_min)
        g = np.where(shrink, 0, g)
        w -= np.sign(g).astype(w.dtype) * delta
        prev[...] = g
