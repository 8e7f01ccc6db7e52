"""What an explanation of one weight's update holds, and how it reads as text.

:func:`~anyprop.explain.weight.explain_weight` fills these records; ``to_text``
prints them for the terminal and ``to_dict`` gives them as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Term:
    """One term w_jk·δ_k of a delta's sum: the connection, the unit it reaches, the numbers."""

    connection: str
    unit: str
    weight: float
    delta: float
    product: float
    expansion: Delta | None = None


@dataclass
class Delta:
    """δ of one unit and how the general rule built it."""

    unit: str
    value: float
    net: float
    out: float
    transfer: str
    derivative_formula: str | None
    derivative: float | None  # f'(net), for elementwise transfer functions
    terms: list[Term] = field(default_factory=list)  # Σ_k w_jk δ_k, over every connection
    terms_left_out: int = 0
    loss_gradient: float | None = None  # ∂L/∂o_j, for an output unit
    fused: str | None = None  # the fused pair's rule, for a fused output


@dataclass
class Explanation:
    weight: str
    source: str
    target: str
    w: float
    o_i: float
    delta: Delta
    gradient: float
    numeric: float
    relative_error: float
    lr: float
    step: float
    samples: int
    per_sample: list[float] | None = None  # each sample's o_i·δ_j (batch explanations)
    textbook: dict[str, str] = field(default_factory=dict)
    optimizer: str | None = None  # the optimizer that turns the gradient into the step
    optimizer_rule: str | None = None
    optimizer_state: dict[str, float] = field(default_factory=dict)  # this weight's, before
    # how far float64 rounding of the two losses moves the difference quotient
    rounding: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        def conv(o: Any) -> Any:
            if isinstance(o, (Delta, Term)):
                return {k: conv(v) for k, v in vars(o).items()}
            if isinstance(o, list):
                return [conv(v) for v in o]
            return o

        return {k: conv(v) for k, v in vars(self).items()}

    def to_text(self) -> str:
        lines = [f"weight {self.weight} = {self.w:.6g}", ""]
        n = "" if self.samples == 1 else f" (over {self.samples} samples)"
        if self.optimizer is None:
            lines.append(
                f"the update{n}:  Δw = −η · o_i · δ_j = −{self.lr:g} · ∂L/∂w = {self.step:.6g}"
            )
        else:
            state = ", ".join(f"{k} = {v:.6g}" for k, v in self.optimizer_state.items())
            lines.append(
                f"the update{n}, by the model's optimizer {self.optimizer}: Δw = {self.step:.6g}"
            )
            lines.append(f"  its rule: {self.optimizer_rule}")
            if state:
                lines.append(f"  this weight's state before the step: {state}")
            lines.append("  from the gradient:")
        if self.samples == 1:
            lines.append(
                f"  ∂L/∂w = o_i · δ_j = {self.o_i:.6g} · {self.delta.value:.6g} = "
                f"{self.gradient:.6g}"
            )
            lines.append(f"  o_i  = output of {self.source} = {self.o_i:.6g}")
        else:
            lines.append(
                f"  ∂L/∂w = Σ_n o_i · δ_j over the {self.samples} samples = "
                f"{self.gradient:.6g}   (δ includes the 1/N of the mean)"
            )
            lines.append(
                f"  sample 0, shown below: o_i = output of {self.source} = "
                f"{self.o_i:.6g}, δ_j = {self.delta.value:.6g}"
            )
        lines.append("")
        lines += _delta_lines(self.delta, "  ")
        lines.append("")
        lines.append(
            f"check: by finite differences ∂L/∂w = {self.numeric:.6g} "
            f"(relative error {self.relative_error:.1e})"
        )
        if self.relative_error > 1e-6 and abs(self.gradient - self.numeric) <= 10 * self.rounding:
            lines.append(
                f"  the difference, {abs(self.gradient - self.numeric):.1e}, is within the "
                f"rounding of the finite difference itself (about {self.rounding:.0e}): they agree"
            )
        if self.per_sample is not None:
            ps = np.array(self.per_sample)
            lines.append(
                f"per sample, o_i·δ_j·N: mean {ps.mean():.6g}, sd {ps.std():.6g}, "
                f"min {ps.min():.6g}, max {ps.max():.6g}"
            )
        if self.textbook:
            lines.append("")
            lines.append("in Nielsen's notation (Neural Networks and Deep Learning, ch. 2):")
            lines += [f"  {k}: {v}" for k, v in self.textbook.items()]
        return "\n".join(lines)


def _delta_lines(d: Delta, pad: str) -> list[str]:
    deriv = "" if d.derivative is None else f"f'(net) = {d.derivative:.6g}"
    formula = f" [f' = {d.derivative_formula}]" if d.derivative_formula else ""
    lines = [
        f"{pad}δ of {d.unit} = {d.value:.6g}   (net = {d.net:.6g}, o = {d.out:.6g}, "
        f"{d.transfer}{formula})"
    ]
    if d.fused:
        lines.append(f"{pad}  fused output: {d.fused}")
        return lines
    parts = []
    if d.terms or d.terms_left_out:
        parts.append("Σ_k w_jk δ_k")
    if d.loss_gradient is not None:
        parts.append("∂L/∂o")
    lines.append(f"{pad}  = f'(net) · ({' + '.join(parts)})" + (f",  {deriv}" if deriv else ""))
    if d.loss_gradient is not None:
        lines.append(f"{pad}  ∂L/∂o = {d.loss_gradient:.6g}   (an output unit)")
    for t in d.terms:
        lines.append(
            f"{pad}  + w = {t.weight:.6g} ({t.connection}) · δ of {t.unit} = "
            f"{t.delta:.6g}  →  {t.product:.6g}"
        )
        if t.expansion is not None:
            lines += _delta_lines(t.expansion, pad + "      ")
    if d.terms_left_out:
        lines.append(f"{pad}  + ... {d.terms_left_out} smaller terms")
    return lines
