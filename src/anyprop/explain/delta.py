"""One unit's δ on one sample of a step, built term by term as the general rule does:

    δ_j = (f'_j(net_j) [+ Fahlman's offset]) · (Σ_k w_jk δ_k + ∂L/∂o_j)

with every number read off the step's own pass (:class:`~anyprop.explain.step.Pass`)
and the weights it used, the formulas of f' and of the loss beside them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.explain.explanation import Delta, Term
from anyprop.explain.step import StepRecord
from anyprop.nn.plan.compile import fused_steepness


def _outgoing_terms(
    net: Any, params: dict[str, np.ndarray], deltas: dict, group: str, unit: int, r: int
) -> list[tuple[str, str, float, float]]:
    """(connection, unit reached, w_jk, δ_k) for every connection leaving a unit, on sample r,
    with the weights the pass used."""
    terms = []
    for c in net.connections.values():
        if c.src != group or c.tgt not in deltas:
            continue
        w = params[c.param].reshape(-1)
        d = deltas[c.tgt][r]
        src, tgt, index = c.unit_pairs(params[c.param].shape)
        for at in np.flatnonzero(src == unit):
            k = tgt[at]
            terms.append((c.name, f"{c.tgt}[{k}]", float(w[index[at]]), float(d[k])))
    return terms


def _derivative_formula(t: Any) -> tuple[str | None, dict[str, float]]:
    """f' as a formula, and the parameters it names with their values."""
    formula = getattr(t, "derivative", None)
    params: dict[str, float] = {}
    defaults = getattr(t, "defaults", None) or {}
    for name in defaults:
        value = float(getattr(t, name))
        params["s = steepness" if name == "steepness" else name] = value
    if formula is None and getattr(t, "formula", None):
        try:  # a formula transfer function: its derivative as the engine takes it
            from anyprop.nn.transfer import describe

            formula = describe(t.formula).get("df")
        except Exception:  # SymPy absent, or a formula it does not simplify
            formula = None
        if not formula:
            formula = f"d/dx of {t.formula}, by the engine through its ops"
    return formula, params


def unit_delta(
    net: Any,
    record: StepRecord,
    group: str,
    unit: int,
    r: int,
    depth: int,
    top: int,
) -> Delta:
    """δ of one unit on sample r of the step's batch, built term by term."""
    p = record.passed
    g = net.groups[group]
    t = g.transfer
    deriv = None
    if not t.vector and t.differentiable:
        nets, outs = p.nets[group][:, unit : unit + 1], p.outputs[group][:, unit : unit + 1]
        deriv = float(t.prime(nets, outs)[r, 0])
    formula, params = _derivative_formula(t)
    settings = record.trainer.settings
    d = Delta(
        f"{group}[{unit}]",
        float(p.deltas[group][r, unit]),
        float(p.nets[group][r, unit]),
        float(p.outputs[group][r, unit]),
        repr(t),
        formula,
        deriv,
        params,
        settings.prime_offset if not t.vector else 0.0,
    )
    lg = p.loss_grads.get(group)
    if lg is not None:
        targets = record.trainer.network.plan().targets(record.y)
        tj = targets[group]
        tj = g.loss.prepare_target(tj, g.size, np.float64)
        d.target = float(tj[r, unit])
        d.loss = f"{g.loss!r}, {_loss_formula(g.loss)}"
        d.scale = _scale(record, g, r)
        if lg[0] == "fused":  # (o − t)·scale, plus f'·Σ w δ where the output also feeds on
            d.steepness = fused_steepness(g)
            s = "" if d.steepness == 1 else "s·"
            d.fused = f"{t.name} with {g.loss.name}: δ = {s}(o − t) · scale (the stable fused form"
            d.fused += ")" if d.steepness == 1 else f"; s = {d.steepness:g}, the steepness)"
            d.fused_part = float(lg[1][r, unit])
        else:
            d.loss_gradient = float(lg[1][r, unit])
    if lg is not None and lg[0] == "out":
        d.loss_gradient = float(lg[1][r, unit])
        d.loss_derivative = (
            "atanh(o − t) (Fahlman's atanh error)"
            if settings.atanh_error and g.loss.name == "mse"
            else _loss_derivative(g.loss)
        )
    raw = _outgoing_terms(net, record.before, p.deltas, group, unit, r)
    d.terms_sum = float(sum(w * dk for _, _, w, dk in raw))
    if t.vector:
        d.jacobian = _jacobian(net, record, group, unit, r, lg)
    raw.sort(key=lambda term: -abs(term[2] * term[3]))
    for conn, reached, w, dk in raw[:top]:
        term = Term(conn, reached, w, dk, w * dk)
        if depth > 1:
            tg, tu = reached[:-1].split("[")
            term.expansion = unit_delta(net, record, tg, int(tu), r, depth - 1, top)
        d.terms.append(term)
    d.terms_left_out = max(0, len(raw) - top)
    return d


def _jacobian(net: Any, record: StepRecord, group: str, unit: int, r: int, lg: Any) -> str:
    """δ_j of a vector-valued transfer function (softmax): Jᵀ·g, with g_k = Σ w δ + ∂L/∂o_k
    for every unit k of the group, written out."""
    p = record.passed
    size = net.groups[group].size
    g = np.zeros(size)
    for k in range(size):
        g[k] = sum(
            w * dk for _, _, w, dk in _outgoing_terms(net, record.before, p.deltas, group, k, r)
        )
    if lg is not None and lg[0] == "out":
        g += lg[1][r].astype(np.float64)
    o = p.outputs[group][r].astype(np.float64)
    name = net.groups[group].transfer.name
    if name == "softmax":
        s = float(o @ g)
        return (
            f"softmax acts on the whole group: δ_j = o_j·(g_j − Σ_k o_k g_k) = "
            f"{o[unit]:.6g}·({g[unit]:.6g} − {s:.6g}), where g_k = Σ w δ + ∂L/∂o_k of unit k"
        )
    if name == "log_softmax":
        s = float(g.sum())
        return (
            f"log-softmax acts on the whole group: δ_j = g_j − exp(o_j)·Σ_k g_k = "
            f"{g[unit]:.6g} − {np.exp(o[unit]):.6g}·{s:.6g}"
        )
    return f"{name} acts on the whole group: δ = Jᵀ·g (the engine's vector-Jacobian product)"


def _loss_formula(loss: Any) -> str:
    """The loss's ℓ as text: a built-in's own, or a formula loss's."""
    if getattr(loss, "formula", None):
        return f"ℓ = Σ_k {loss.formula}"
    doc = (type(loss).__doc__ or "").strip()
    return doc.split(";")[0].strip() if doc.startswith("ℓ") else f"ℓ = {loss!r}"


def _loss_derivative(loss: Any) -> str:
    """∂ℓ/∂o as text: a built-in's (its docstring's), else the engine's VJP."""
    if getattr(loss, "derivative_text", None):
        return loss.derivative_text
    doc = (type(loss).__doc__ or "").strip()
    if "∂ℓ/∂o = " in doc:
        return doc.split("∂ℓ/∂o = ", 1)[1].split(" where")[0].split(",")[0].rstrip(". ")
    return "∂ℓ/∂o by the engine"


def _scale(record: StepRecord, g: Any, r: int) -> float:
    """The factor on ∂ℓ/∂o for sample r: loss weight × 1/N (mean) × its sample weight."""
    n = len(record.passed.deltas[g.name])
    scale = g.loss_weight * (1.0 if record.trainer.settings.loss_reduction == "sum" else 1.0 / n)
    if record.sample_weight is not None:
        scale *= float(np.asarray(record.sample_weight).reshape(-1)[r])
    return scale
