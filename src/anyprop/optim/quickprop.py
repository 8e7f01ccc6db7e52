"""Quickprop (Fahlman 1988): a secant step on each weight's error parabola."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from anyprop.optim.base import Line, Optimizer, optimizer


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

    def explain(self, g, w, before, lr):
        pd, ps, s, mu = before["prev_step"], before["prev_slope"], -g, self.mu
        lines = [
            Line("s", "−∂L/∂w, the slope", s),
            Line("s(t−1)", "the previous slope", ps),
            Line("Δw(t−1)", "the previous step", pd),
        ]
        moving = abs(pd) > 0.001
        step = lr * s if (not moving or (pd > 0) == (s > 0)) else 0.0
        if not moving:
            lines.append(Line("Δw", f"from a standstill: ε·s = {lr:g}·{s:.6g}", step))
            return lines
        if (pd > 0 and s > mu / (1 + mu) * ps) or (pd < 0 and s < mu / (1 + mu) * ps):
            jump, how = mu * pd, f"μ·Δw(t−1) = {mu:g}·{pd:.6g} (at most μ times the last step)"
        else:
            denom = ps - s
            jump = pd * s / (denom if denom != 0 else 1.0)
            how = f"Δw(t−1)·s/(s(t−1) − s) = {pd:.6g}·{s:.6g}/({ps:.6g} − {s:.6g})"
        lines.append(Line("secant", how, jump))
        if step:
            lines.append(
                Line("descent", f"ε·s = {lr:g}·{s:.6g} (the slope keeps the step's sign)", step)
            )
        lines.append(Line("Δw", "secant + descent", jump + step))
        return lines

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
