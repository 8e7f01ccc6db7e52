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


def delta_head(
    g: Any, name: str, nets: np.ndarray, outs: np.ndarray, value: float, settings: Any
) -> Delta:
    """A unit's Delta before its terms: δ, net, o (``nets`` and ``outs``: the unit's own
    (1, 1) values), f and f'(net) with their formula, and Fahlman's offset."""
    t = g.transfer
    deriv = None
    if not t.vector and t.differentiable:
        deriv = float(t.prime(nets, outs)[0, 0])
    formula, params = _derivative_formula(t)
    return Delta(
        name,
        value,
        float(nets[0, 0]),
        float(outs[0, 0]),
        repr(t),
        formula,
        deriv,
        params,
        settings.prime_offset if not t.vector else 0.0,
    )


def fused_rule(g: Any) -> tuple[float, str]:
    """(the steepness s, the rule in words) of an output fused with its loss."""
    s = fused_steepness(g)
    rule = f"{g.transfer.name} with {g.loss.name}: δ = {'' if s == 1 else 's·'}(o − t) · scale "
    rule += "(the stable fused form" + (")" if s == 1 else f"; s = {s:g}, the steepness)")
    return s, rule


def jacobian_text(name: str, o: np.ndarray, g: np.ndarray, unit: int) -> str:
    """How a vector-valued f (softmax) makes δ_j from g_k = Σ w δ + ∂L/∂o_k of every unit
    of its group (``o`` its outputs), written out."""
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
    settings = record.trainer.settings
    one = lambda a: a[r : r + 1, unit : unit + 1]  # noqa: E731
    value = float(p.deltas[group][r, unit])
    d = delta_head(
        g, f"{group}[{unit}]", one(p.nets[group]), one(p.outputs[group]), value, settings
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
            d.steepness, d.fused = fused_rule(g)
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
    return jacobian_text(net.groups[group].transfer.name, o, g, unit)


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
