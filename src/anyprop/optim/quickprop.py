"""Quickprop (Fahlman 1988): a secant step on each weight's error parabola."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from anyprop.optim.base import Optimizer, optimizer


@optimizer("quickprop")
class Quickprop(Optimizer):
    """With the slope s = −∂L/∂w and the previous step Δw(t−1), as in Fahlman (1988) and FANN:

        Δw(t) = Δw(t−1) · s(t) / (s(t−1) − s(t))      the secant (quadratic) step,
        but at most μ·Δw(t−1) when s(t) ≥ μ/(1+μ)·s(t−1) (the maximum growth factor μ),
        plus ε·s(t) when the slope keeps the previous step's sign; from a standstill
        (|Δw(t−1)| ≤ 0.001) the step is plain gradient descent, ε·s(t).

    ε is the learning rate. μ = 1.75 by default. Meant for full-batch learning.
    """

    defaults: ClassVar = {"mu": 1.75}
    state_names = ("prev_step", "prev_slope")

    def update(self, name, w, g, lr, state):
        pd, ps = state["prev_step"], state["prev_slope"]
        s = -g
        mu = self.mu
        shrink = mu / (1 + mu)
        pos, neg = pd > 0.001, pd < -0.001
        still = ~(pos | neg)
        descend = still | (pos & (s > 0)) | (neg & (s < 0))
        step = np.where(descend, lr * s, 0)
        grow = (pos & (s > shrink * ps)) | (neg & (s < shrink * ps))
        denom = ps - s
        secant = pd * s / np.where(denom == 0, 1, denom)
        step = step + np.where(grow, mu * pd, np.where(pos | neg, secant, 0))
        step = step.astype(w.dtype, copy=False)
        w += step
        pd[...] = step
        ps[...] = s
