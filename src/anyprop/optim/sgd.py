"""Gradient descent: the rule as the textbook states it, with momentum and Nesterov."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from anyprop.optim.base import Line, Optimizer, OptimizerError, optimizer


@optimizer("sgd")
class SGD(Optimizer):
    """w ← w + Δw(t),  Δw(t) = −η ∂L/∂w + α Δw(t−1)  (classic momentum α; α = 0: plain SGD).

    With ``nesterov=True``: w ← w + α Δw(t) − η ∂L/∂w (Sutskever et al. 2013).
    η defaults to 0.01. ``weight_decay`` λ adds λw to ∂L/∂w.
    """

    defaults: ClassVar = {"momentum": 0.0, "nesterov": False}
    state_names = ("dw",)

    def __init__(self, params, lr: float = 0.01, **options) -> None:
        if not options.get("momentum"):
            self.state_names = ()  # plain SGD keeps no state
        super().__init__(params, lr=lr, **options)
        self.momentum = self._number("momentum", self.momentum, 0.0)
        if self.momentum >= 1:
            raise OptimizerError(f"optimizer 'sgd': momentum must be below 1, got {self.momentum}")
        if self.nesterov and not self.momentum:
            raise OptimizerError("optimizer 'sgd': nesterov=True needs a momentum > 0")

    def explain(self, g, w, before, lr):
        if not self.momentum:
            return [Line("Δw", f"−η·g = −{lr:g}·{g:.6g}", -lr * g)]
        a, prev = self.momentum, before["dw"]
        dw = a * prev - lr * g
        if self.nesterov:  # the state is the velocity v, not the weight's last step
            lines = [
                Line("v(t−1)", "this weight's velocity before the step", prev),
                Line("v(t)", f"α·v(t−1) − η·g = {a:g}·{prev:.6g} − {lr:g}·{g:.6g}", dw),
            ]
        else:
            lines = [
                Line("Δw(t−1)", "this weight's previous step", prev),
                Line("Δw(t)", f"α·Δw(t−1) − η·g = {a:g}·{prev:.6g} − {lr:g}·{g:.6g}", dw),
            ]
        if self.nesterov:
            step = a * dw - lr * g
            lines.append(
                Line("Δw", f"Nesterov: α·v(t) − η·g = {a:g}·{dw:.6g} − {lr:g}·{g:.6g}", step)
            )
        else:
            lines.append(Line("Δw", "Δw(t)", dw))
        return lines

    def update(self, name, w, g, lr, state):
        if self.momentum:
            dw = state["dw"]
            step = np.multiply(g, lr, out=self.scratch(g))  # η ∂L/∂w (a reused buffer)
            dw *= self.momentum
            dw -= step
            if self.nesterov:
                w += self.momentum * dw - step
            else:
                w += dw
        else:
            self.subtract_scaled(w, g, lr)
