"""One unit's δ at one step of a pass through time, built term by term as the rule does:

    δ_j(t) = f'_j(net_j(t)) · (Σ_{j→k, delay d} ∂net_k(t + d)/∂o_j(t) · δ_k(t + d) + ∂L(t)/∂o_j(t))

where a connection without a delay (d = 0) reaches the units of the same step and a
delayed one the units d steps later; ∂net_k/∂o_j is w_jk, times the gate's output
o_g(t + d − d_g) for a gated connection, and (o_src · W)_j for the connection unit j
gates. Every number is read off the step's own pass
(:func:`~anyprop.explain.time_step.take_sequence_step`); the terms are named by time,
``h[2] at t=5``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.explain.delta import (
    _loss_derivative,
    _loss_formula,
    delta_head,
    fused_rule,
    jacobian_text,
)
from anyprop.explain.explanation import Delta, Term
from anyprop.explain.step import StepRecord


def at(group: str, unit: int, t: int) -> str:
    """A unit at a step, as the explanation names it."""
    return f"{group}[{unit}] at t={t}"


def output_at(record: StepRecord, group: str, r: int, t: int) -> np.ndarray | None:
    """Group ``group``'s outputs on sequence r at step t; before the first step, the
    state the pass started from (carried or learned), or None where it is zero."""
    if t >= 0:
        return record.passed.outputs[group][r, t]
    state = record.state
    if state is None or group not in state or -t > state[group].shape[1]:
        return None
    return state[group][r, t]  # (H rows, the last the step just before the first)


def _terms(net: Any, record: StepRecord, group: str, unit: int, r: int, t: int) -> list[tuple]:
    """(connection, unit reached, factor's name, factor, gate, δ_k) for every way o_j(t)
    reaches a later net input: the connections it feeds (at t + d) and those it gates."""
    p, params = record.passed, record.before
    steps = p.outputs[group].shape[1]
    out = []
    for c in net.connections.values():
        if c.tgt not in p.deltas:
            continue
        if c.src == group and t + c.delay < steps:
            tk = t + c.delay
            w = params[c.param].reshape(-1)
            src, tgt, index = c.unit_pairs(params[c.param].shape)
            gd = tk - c.gate_delay
            for hit in np.flatnonzero(src == unit):
                k = int(tgt[hit])
                gate = None
                if c.gate is not None:
                    row = output_at(record, c.gate, r, gd)
                    gate = 0.0 if row is None else float(row[k])
                name = c.name + (f" (delay {c.delay})" if c.delay else "")
                delta = float(p.deltas[c.tgt][r, tk, k])
                out.append((name, at(c.tgt, k, tk), "w", float(w[index[hit]]), gate, delta))
        src_row = output_at(record, c.src, r, t + c.gate_delay - c.delay)
        if c.gate == group and t + c.gate_delay < steps and src_row is not None:
            tk = t + c.gate_delay  # unit j gates unit j of the target
            o = np.asarray(src_row, params[c.param].dtype)[None, :]
            made = c.forward(o, c.operand(params[c.param], {}))[0, unit]
            delta = float(p.deltas[c.tgt][r, tk, unit])
            name = f"{c.name}, which {group} gates" + (
                f" (delay {c.gate_delay})" if c.gate_delay else ""
            )
            out.append((name, at(c.tgt, unit, tk), "o·W", float(made), None, delta))
    return out


def _product(term: tuple) -> float:
    _, _, _, factor, gate, delta = term
    return factor * (1.0 if gate is None else gate) * delta


def unit_delta_at(
    net: Any, record: StepRecord, group: str, unit: int, r: int, t: int, depth: int, top: int
) -> Delta:
    """δ of one unit at step t of sequence r of the step's batch, built term by term."""
    p = record.passed
    g = net.groups[group]
    tr = g.transfer
    one = lambda a: a[r : r + 1, t, unit : unit + 1]  # noqa: E731
    value = float(p.deltas[group][r, t, unit])
    d = delta_head(g, at(group, unit, t), one(p.nets[group]), one(p.outputs[group]), value,
                   record.trainer.settings)  # fmt: skip
    lg = p.loss_grads.get(group)
    if lg is not None:
        d.target = float(record.targets[group][r, t, unit])
        d.scale = _scale(record, g, r, t)
        taken = "" if record.kept[r, t] else f"; none at t={t} (masked, or not the last step)"
        d.loss = f"{g.loss!r}, {_loss_formula(g.loss)}{taken}"
        if lg[0] == "fused":
            d.steepness, d.fused = fused_rule(g)
            d.fused_part = float(lg[1][r, t, unit])
        else:
            d.loss_gradient = float(lg[1][r, t, unit])
            d.loss_derivative = _loss_derivative(g.loss)
    raw = _terms(net, record, group, unit, r, t)
    d.terms_sum = float(sum(_product(term) for term in raw))
    if tr.vector:
        d.jacobian = _jacobian(net, record, group, unit, r, t, lg)
    raw.sort(key=lambda term: -abs(_product(term)))
    for conn, reached, factor_name, factor, gate, dk in raw[:top]:
        product = _product((conn, reached, factor_name, factor, gate, dk))
        term = Term(conn, reached, factor, dk, product, factor=factor_name, gate=gate)
        if depth > 1:
            tg, rest = reached.split("[", 1)
            tu, tt = rest.split("] at t=")
            term.expansion = unit_delta_at(net, record, tg, int(tu), r, int(tt), depth - 1, top)
        d.terms.append(term)
    d.terms_left_out = max(0, len(raw) - top)
    return d


def _jacobian(net: Any, record: StepRecord, group: str, unit: int, r: int, t: int, lg: Any) -> str:
    """δ_j(t) of a vector-valued transfer function (softmax), written out."""
    size = net.groups[group].size
    grad = np.array(
        [sum(_product(x) for x in _terms(net, record, group, k, r, t)) for k in range(size)]
    )
    if lg is not None and lg[0] == "out":
        grad += lg[1][r, t].astype(np.float64)
    o = record.passed.outputs[group][r, t].astype(np.float64)
    return jacobian_text(net.groups[group].transfer.name, o, grad, unit)


def _scale(record: StepRecord, g: Any, r: int, t: int) -> float:
    """The factor on ∂ℓ/∂o for sequence r at step t: loss weight × (taken there: 1 or 0)
    × 1/(the sample-steps taken, for the mean) × its sample weight."""
    kept = record.kept
    norm = 1.0 if record.trainer.settings.loss_reduction == "sum" else float(kept.sum())
    scale = g.loss_weight * float(kept[r, t]) / norm
    if record.sample_weight is not None:
        scale *= float(np.asarray(record.sample_weight).reshape(-1)[r])
    return scale
