"""What an explanation of one weight's update holds, and how it reads as text.

:func:`~anyprop.explain.weight.explain_step` fills these records from a real
step of the trainer; ``to_text`` prints every number with its formula, so the
step can be redone on paper, and ``to_dict`` gives the same numbers as JSON.
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
    factor: str = "w"  # what multiplies δ_k: w_jk, or (o_src · W)_j for a connection j gates
    gate: float | None = None  # the gate's output, for a gated connection


@dataclass
class Delta:
    """δ of one unit on one sample, and how the general rule built it."""

    unit: str
    value: float
    net: float
    out: float
    transfer: str
    derivative_formula: str | None
    derivative: float | None  # f'(net), for elementwise transfer functions
    parameters: dict[str, float] = field(default_factory=dict)  # the transfer's, by name
    prime_offset: float = 0.0  # Fahlman's constant added to f'
    terms: list[Term] = field(default_factory=list)  # Σ_k w_jk δ_k, over every connection
    terms_left_out: int = 0
    terms_sum: float = 0.0  # Σ_k w_jk δ_k over all the terms (those left out too)
    loss_gradient: float | None = None  # ∂L/∂o_j as the step used it, for an output unit
    loss: str | None = None  # the loss's name and formula, for an output unit
    loss_derivative: str | None = None  # ∂ℓ/∂o as a formula
    target: float | None = None  # t_j, for an output unit
    scale: float | None = None  # the factor on ∂ℓ/∂o: loss weight × 1/N (mean) × sample weight
    fused: str | None = None  # the fused pair's rule, for a fused output
    fused_part: float | None = None  # its (o − t)·scale (s·(o − t)·scale for a steepness s)
    steepness: float = 1.0  # a fused sigmoid(s·net)'s s
    jacobian: str | None = None  # how a vector-valued f (softmax) makes δ, written out


@dataclass
class Explanation:
    """One weight's (or bias's) step, with every number on its path."""

    weight: str
    kind: str  # "weight" or "bias"
    source: str
    target: str
    w: float  # before the step
    w_after: float
    step: float  # Δw: the change the step makes, read off the weight itself
    gradient: float  # ∂L/∂w as the step used it (the batch's sum of o_i·δ_j)
    o_i: float  # the sample's o_i (1 for a bias)
    delta: Delta  # δ_j on the sample shown
    contribution: float  # that sample's term o_i·δ_j of the gradient
    sample: int  # the row of the batch shown
    sample_row: int | None  # its row in the training data, where the batch came from it
    x: dict[str, list[float]]  # the sample's inputs, by input group
    t: dict[str, list[float]]  # its targets, by output group
    samples: int  # the batch's size
    loss: float  # L on the batch
    epoch: int
    batch: int
    batches: int
    lr: float
    optimizer: str
    optimizer_rule: str
    optimizer_state: dict[str, float] = field(default_factory=dict)  # this weight's, before
    optimizer_lines: list[dict[str, Any]] = field(default_factory=list)  # name, formula, value
    gradient_used: float = 0.0  # what the rule received: after clipping and weight decay
    clip_scale: float | None = None
    norm: float | None = None
    weight_decay: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    numeric: float = 0.0  # ∂L/∂w by central differences, float64
    plain_gradient: float = 0.0  # ∂L/∂w by backpropagation, float64, without Fahlman's changes
    relative_error: float = 0.0  # between those two
    rounding: float = 0.0  # how far float64 rounding of the losses moves the difference quotient
    per_sample: list[float] | None = None  # each sample's o_i·δ_j
    rows: list[int] | None = None  # the batch's rows in the training data
    notes: list[str] = field(default_factory=list)
    textbook: dict[str, str] = field(default_factory=dict)
    digits: int = 6  # significant digits in the text (9 for a float64 network)
    # through time (a recurrent network over sequences): the sample's term at every step
    # (t, o_i(t − d), the gate's output, δ_j(t), the term, whether the loss was taken at t)
    through_time: list[dict[str, Any]] | None = None
    steps: int = 0  # the sequences' steps
    step_shown: int | None = None  # the step whose δ_j is expanded
    delay: int = 0  # the connection's
    gate: str | None = None  # the group gating the connection
    gate_delay: int = 0
    source_at: str | None = None  # o_i's unit at the step it is read at, t − d
    before_first: str = "0"  # what o_i is before the first step

    def to_dict(self) -> dict[str, Any]:
        def conv(o: Any) -> Any:
            if isinstance(o, (Delta, Term)):
                return {k: conv(v) for k, v in vars(o).items()}
            if isinstance(o, list):
                return [conv(v) for v in o]
            return o

        return {k: conv(v) for k, v in vars(self).items()}

    def to_text(self) -> str:
        return "\n".join(_text(self))


def _text(e: Explanation) -> list[str]:
    def _num(v: float) -> str:
        return f"{v:.{e.digits}g}"

    what = "bias" if e.kind == "bias" else "weight"
    lines = [f"{what} {e.weight} = {_num(e.w)}"]
    where = f"epoch {e.epoch}, batch {e.batch + 1} of {e.batches}; " if e.batches else ""
    what = "the next step of training" if e.batches else "one step on the batch given"
    lines.append(
        f"{what} ({where}{e.samples} "
        f"{'sequence' if e.through_time is not None else 'sample'}{'s' if e.samples != 1 else ''}"
        f", loss L = {_num(e.loss)}), by {e.optimizer}:"
    )
    s = e.settings
    lines.append(
        f"  settings: loss {s.get('loss_reduction', 'mean')} over the batch"
        + (f", prime offset {s['prime_offset']:g}" if s.get("prime_offset") else "")
        + (", atanh error" if s.get("atanh_error") else "")
        + (f", weight decay λ = {e.weight_decay:g}" if e.weight_decay else "")
    )
    lines.append("")
    grad = f"∂L/∂{'b' if e.kind == 'bias' else 'w'}"
    if e.through_time is not None:
        lines += _time_lines(e, grad, _num)
    elif e.samples == 1:
        lines.append(
            f"  {grad} = o_i · δ_j = {_num(e.o_i)} · {_num(e.delta.value)} = {_num(e.gradient)}"
        )
    else:
        lines.append(
            f"  {grad} = Σ over the {e.samples} samples of o_i · δ_j = {_num(e.gradient)}"
            "   (each δ carries the loss's 1/N, loss weight and sample weight)"
        )
        where = f"row {e.sample_row} of the data the steps draw from"
        row = "" if e.sample_row is None else f" ({where})"
        lines.append(
            f"  sample {e.sample} of the batch{row}, one of the {e.samples} terms: "
            f"o_i · δ_j = {_num(e.o_i)} · {_num(e.delta.value)} = {_num(e.contribution)}"
        )
    if e.kind == "bias":
        lines.append("  o_i = 1: a bias is a weight from a unit whose output is always 1 (BP3)")
    elif e.through_time is None:
        lines.append(f"  o_i = output of {e.source} = {_num(e.o_i)}")
    if e.through_time is None:
        lines.append("  the sample: " + _values("x", e.x, _num) + "; " + _values("t", e.t, _num))
    else:
        lines.append(
            f"  the sequence at t={e.step_shown}: "
            + _values("x", e.x, _num)
            + "; "
            + _values("t", e.t, _num)
        )
    lines.append("")
    lines += _delta_lines(e.delta, "  ", _num)
    lines.append("")
    lines.append(f"the rule {e.optimizer} turns the gradient into the step: {e.optimizer_rule}")
    g = e.gradient
    if e.clip_scale is not None:
        lines.append(
            f"  clipping: the gradients' global norm {_num(e.norm)} is above the limit; "
            f"every gradient × {_num(e.clip_scale)}: g = {_num(g * e.clip_scale)}"
        )
    elif e.norm is not None:
        lines.append(f"  clipping: global norm {_num(e.norm)}, within the limit")
    if e.weight_decay and e.gradient_used != (g * (e.clip_scale or 1.0)):
        lines.append(f"  weight decay: g + λ·w = {_num(e.gradient_used)}")
    if e.optimizer_state:
        state = ", ".join(f"{k} = {_num(v)}" for k, v in e.optimizer_state.items())
        lines.append(f"  this weight's state before the step: {state}")
    lines.append(f"  g = {_num(e.gradient_used)}, η = {e.lr:g}")
    for line in e.optimizer_lines:
        lines.append(f"  {line['name']} = {line['formula']} = {_num(line['value'])}")
    lines.append(
        f"  the step: Δw = {_num(e.step)};  w ← {_num(e.w)} + ({_num(e.step)}) = {_num(e.w_after)}"
    )
    for note in e.notes:
        lines.append(f"  note: {note}")
    lines.append("")
    lines.append(
        f"check: ∂L/∂w by finite differences = {_num(e.numeric)}, by backpropagation in "
        f"float64 = {_num(e.plain_gradient)} (relative error {e.relative_error:.1e})"
    )
    diff = abs(e.plain_gradient - e.numeric)
    if e.relative_error > 1e-6 and diff <= 10 * e.rounding:
        lines.append(
            f"  the difference, {diff:.1e}, is within the rounding of the finite difference "
            f"itself (about {e.rounding:.0e}): they agree"
        )
    if e.per_sample is not None and len(e.per_sample) > 1:
        ps = np.array(e.per_sample)
        what = (
            "per sequence, Σ_t of its terms"
            if e.through_time is not None
            else "per sample, o_i·δ_j"
        )
        lines.append(
            f"{what}: mean {_num(ps.mean())}, sd {_num(ps.std())}, "
            f"min {_num(ps.min())}, max {_num(ps.max())}"
        )
    if e.textbook:
        lines.append("")
        lines.append("in Nielsen's notation (Neural Networks and Deep Learning, ch. 2):")
        lines += [f"  {k}: {v}" for k, v in e.textbook.items()]
    return lines


def _values(name: str, by_group: dict[str, list[float]], _num: Any) -> str:
    def row(v: list[float]) -> str:
        shown = ", ".join(_num(x) for x in v[:8])
        return f"[{shown}{', ...' if len(v) > 8 else ''}]"

    if len(by_group) == 1:
        return f"{name} = {row(next(iter(by_group.values())))}"
    return ", ".join(f"{name}[{g}] = {row(v)}" for g, v in by_group.items())


def _delta_lines(d: Delta, pad: str, _num: Any) -> list[str]:
    params = ", ".join(f"{k} = {v:g}" for k, v in d.parameters.items())
    formula = f"f' = {d.derivative_formula}" if d.derivative_formula else ""
    if formula and params:
        formula += f", where {params}"
    lines = [
        f"{pad}δ of {d.unit} = {_num(d.value)}   (net = {_num(d.net)}, o = f(net) = "
        f"{_num(d.out)}, f = {d.transfer})"
    ]
    if d.fused:
        lines.append(f"{pad}  fused output: {d.fused}")
        if d.target is not None:
            s = "" if d.steepness == 1 else f"{_num(d.steepness)} · "
            lines.append(
                f"{pad}  {s}(o − t) · {_num(d.scale or 1.0)} = {s}({_num(d.out)} − "
                f"{_num(d.target)}) · {_num(d.scale or 1.0)} = {_num(d.fused_part or 0.0)}   "
                "(the scale: loss weight × 1/N × sample weight)"
            )
        if not (d.terms or d.terms_left_out):
            return lines
        lines.append(f"{pad}  + f'(net) · Σ_k w_jk δ_k, for the units this output also feeds:")
    if d.jacobian:
        lines.append(f"{pad}  {d.jacobian}")
    parts = []
    if d.terms or d.terms_left_out:
        parts.append("Σ_k w_jk δ_k")
    if d.loss_gradient is not None:
        parts.append("∂L/∂o_j")
    offset = f" + {d.prime_offset:g}" if d.prime_offset else ""
    prime = f"(f'(net){offset})" if offset else "f'(net)"
    if not d.jacobian:
        lines.append(f"{pad}  = {prime} · ({' + '.join(parts) or '0'})")
    if d.derivative is not None:
        lines.append(
            f"{pad}  f'(net) = {_num(d.derivative)}" + (f"   [{formula}]" if formula else "")
        )
    elif formula:
        lines.append(f"{pad}  [{formula}]")
    if d.loss_gradient is not None:
        lines.append(f"{pad}  an output: loss {d.loss}, target t = {_num(d.target)}")
        lines.append(
            f"{pad}  ∂L/∂o_j = ∂ℓ/∂o · scale = ({d.loss_derivative or '∂ℓ/∂o'}) · "
            f"{_num(d.scale or 1.0)} = {_num(d.loss_gradient)}, with o = {_num(d.out)}, "
            f"t = {_num(d.target)}   (scale: loss weight × 1/N of the mean × sample weight)"
        )
    for t in d.terms:
        gate = "" if t.gate is None else f" · gate {_num(t.gate)}"
        lines.append(
            f"{pad}  + {t.factor} = {_num(t.weight)} ({t.connection}){gate} · δ of {t.unit} = "
            f"{_num(t.delta)}  →  {_num(t.product)}"
        )
        if t.expansion is not None:
            lines += _delta_lines(t.expansion, pad + "      ", _num)
    if d.terms_left_out:
        lines.append(f"{pad}  + ... {d.terms_left_out} smaller terms")
    if d.terms or d.terms_left_out:
        lines.append(f"{pad}  Σ_k w_jk δ_k = {_num(d.terms_sum)}")
    return lines


#: a sequence's terms shown one by one up to this many steps; beyond, the largest
TIME_ROWS = 16


def _time_lines(e: Explanation, grad: str, _num: Any) -> list[str]:
    """The gradient as a sum over sequences and steps, and the sample's terms by step."""
    d = e.delay
    lag = f"t − {d}" if d else "t"
    gd = e.gate_delay
    gate = "" if e.gate is None else f" · o_{e.gate}(t{f' − {gd}' if gd else ''})"
    o_i = "1" if e.kind == "bias" else f"o_i({lag})"
    seqs = f"{e.samples} sequence{'s' if e.samples != 1 else ''}"
    lines = [
        f"  {grad} = Σ over the {seqs} and their {e.steps} steps of {o_i}{gate} · δ_j(t) = "
        f"{_num(e.gradient)}"
    ]
    if e.kind == "weight":
        lines.append(
            f"  o_i = output of {e.source}"
            + (
                f", {d} step{'s' if d != 1 else ''} earlier ({e.before_first} before the "
                "first step)"
                if d
                else ""
            )
            + (f"; the gate: output of {e.gate}[{e.target.split('[')[1]}" if e.gate else "")
        )
    row = "" if e.sample_row is None else f" (row {e.sample_row} of the data the steps draw from)"
    rows = e.through_time or []
    total = sum(r["term"] for r in rows)
    lines.append(f"  sequence {e.sample} of the batch{row}, its terms step by step:")
    shown = rows
    if len(rows) > TIME_ROWS:
        keep = sorted(rows, key=lambda r: -abs(r["term"]))[:TIME_ROWS]
        keep_t = {r["t"] for r in keep} | {e.step_shown}
        shown = [r for r in rows if r["t"] in keep_t]
    for r in shown:
        g = "" if r["gate"] is None else f" · {_num(r['gate'])}"
        mark = "   ← expanded below" if r["t"] == e.step_shown else ""
        loss = "" if r["taken"] else " (no loss at this step)"
        lines.append(
            f"    t={r['t']}: {_num(r['o_i'])}{g} · {_num(r['delta'])} = {_num(r['term'])}"
            f"{loss}{mark}"
        )
    if len(shown) < len(rows):
        lines.append(f"    ... {len(rows) - len(shown)} smaller terms (all in --json)")
    lines.append(f"    Σ over its steps = {_num(total)}")
    if e.samples > 1:
        lines.append(
            "  (each δ carries the loss's 1/N over the sample-steps taken, the loss weight "
            "and the sample weight)"
        )
    return lines
