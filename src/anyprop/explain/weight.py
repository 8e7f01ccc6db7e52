"""One weight's update, explained with its numbers: the general rule on the user's network.

    Δw_ij = −η · ∂L/∂w_ij,   ∂L/∂w_ij = o_i · δ_j,
    δ_j = f'_j(net_j) · (Σ_k w_jk δ_k + ∂L/∂o_j)

For the weight from unit i of one group to unit j of another, :func:`explain_weight`
gives o_i, δ_j and its expansion over every connection leaving unit j (recursively,
to ``depth``), f'_j as a formula and its value, the gradient by backpropagation
beside the same by finite differences, and the step plain gradient descent takes.

>>> from anyprop import Network
>>> import numpy as np
>>> net = Network.layered([2, 2, 1], transfer="sigmoid", seed=0, dtype="float64")
>>> e = explain_weight(net, np.array([[1.0, 0.0]]), np.array([[1.0]]), "h1[0]->output[0]")
>>> abs(e.gradient - e.numeric) < 1e-8
True
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.explain.check import float64_copy
from anyprop.explain.explanation import Delta, Explanation, Term
from anyprop.registry import suggest

_WEIGHT = re.compile(r"^\s*([^\[\]]+)\[(\d+)\]\s*->\s*([^\[\]]+)\[(\d+)\]\s*$")


def parse_weight(network: Any, text: str) -> tuple[Any, int, int, int]:
    """'h1[3]->out[0]' -> (connection, i, j, index into its weight parameter). A network
    compiled from a unit list also takes its units' names: '3->7'."""
    m = _WEIGHT.match(text)
    if m is None and network.units is not None:
        return _unit_weight(network, text)
    if m is None:
        raise AnypropError(f"weight '{text}': write it as SOURCE[i]->TARGET[j], e.g. h1[3]->out[0]")
    src, i, tgt, j = m.group(1).strip(), int(m.group(2)), m.group(3).strip(), int(m.group(4))
    for name in (src, tgt):
        network.group(name)  # a clear error for an unknown group
    for name, k in ((src, i), (tgt, j)):
        if k >= network.groups[name].size:
            raise AnypropError(
                f"weight '{text}': group '{name}' has {network.groups[name].size} "
                f"units (0 to {network.groups[name].size - 1})"
            )
    conns = [c for c in network.connections.values() if c.src == src and c.tgt == tgt]
    if not conns:
        known = [f"{c.src}->{c.tgt}" for c in network.connections.values()]
        raise AnypropError(
            f"weight '{text}': no connection from '{src}' to '{tgt}'"
            f"{suggest(f'{src}->{tgt}', known)}"
        )
    for c in conns:
        src, tgt, index = c.unit_pairs(network.params[c.param].shape)
        hit = np.flatnonzero((src == i) & (tgt == j))
        if hit.size:
            return c, i, j, int(index[hit[0]])
    raise AnypropError(
        f"weight '{text}': the connection from '{src}' to '{tgt}' does not join "
        f"unit {i} to unit {j}"
    )


def _unit_weight(network: Any, text: str) -> tuple[Any, int, int, int]:
    """'3->7' (unit names of a network compiled from a unit list) -> as parse_weight."""
    units = network.units
    parts = text.split("->")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise AnypropError(
            f"weight '{text}': write it as SOURCE->TARGET by unit names (e.g. "
            f"{units.inputs[0]}->{units.outputs[0]}), or as GROUP[i]->GROUP[j]"
        )
    u, v = (units.parse_label(p.strip(), f"weight '{text}'") for p in parts)
    try:
        c, k = units.edge(u, v)
    except AnypropError as e:
        raise AnypropError(f"weight '{text}': {e}") from None
    return c, units.where(u)[1], units.where(v)[1], k


def _relabel(e: Explanation, units: Any) -> None:
    """Name the units of a network compiled from a unit list by their own names."""

    def name(text: str) -> str:
        group, index = text[:-1].split("[")
        return f"unit {units.label(group, int(index))}"

    def walk(d: Delta) -> None:
        d.unit = name(d.unit)
        for t in d.terms:
            t.unit = name(t.unit)
            if t.expansion is not None:
                walk(t.expansion)

    e.source, e.target = name(e.source), name(e.target)
    walk(e.delta)


def _outgoing_terms(
    net: Any, bp: Any, group: str, unit: int
) -> list[tuple[str, str, float, float]]:
    """(connection, unit reached, w_jk, δ_k) for every connection leaving a unit."""
    terms = []
    params = net.params
    for c in net.connections.values():
        if c.src != group or c.tgt not in bp.deltas:
            continue
        w = params[c.param].reshape(-1)
        d = bp.deltas[c.tgt][0]
        src, tgt, index = c.unit_pairs(params[c.param].shape)
        for at in np.flatnonzero(src == unit):
            k = tgt[at]
            terms.append((c.name, f"{c.tgt}[{k}]", float(w[index[at]]), float(d[k])))
    return terms


def _delta(
    net: Any,
    bp: Any,
    group: str,
    unit: int,
    depth: int,
    top: int,
    loss_grads: dict[str, np.ndarray],
) -> Delta:
    g = net.groups[group]
    t = g.transfer
    netv = float(bp.nets[group][0, unit])
    outv = float(bp.outputs[group][0, unit])
    deriv = None
    if not t.vector and t.differentiable:
        deriv = float(
            t.prime(bp.nets[group][:, unit : unit + 1], bp.outputs[group][:, unit : unit + 1])[0, 0]
        )
    d = Delta(
        f"{group}[{unit}]",
        float(bp.deltas[group][0, unit]),
        netv,
        outv,
        repr(t),
        getattr(t, "derivative", None),
        deriv,
    )
    plan = net.plan()
    if g.loss is not None:
        if plan.fused(group):
            d.fused = f"{t.name} with {g.loss.name}: δ = o − t (the stable fused form)"
            return d
        d.loss_gradient = float(loss_grads[group][0, unit])
    raw = _outgoing_terms(net, bp, group, unit)
    raw.sort(key=lambda r: -abs(r[2] * r[3]))
    for conn, reached, w, dk in raw[:top]:
        term = Term(conn, reached, w, dk, w * dk)
        if depth > 1:
            tg, tu = reached[:-1].split("[")
            term.expansion = _delta(net, bp, tg, int(tu), depth - 1, top, loss_grads)
        d.terms.append(term)
    d.terms_left_out = max(0, len(raw) - top)
    return d


def _layered_names(net: Any) -> list[str] | None:
    """The groups in order when the network is a plain chain of dense layers."""
    order = net.order()
    conns = list(net.connections.values())
    chain = [f"{a}->{b}" for a, b in itertools.pairwise(order)]
    if (
        len(net.inputs) == 1
        and sorted(c.name for c in conns) == sorted(chain)
        and all(c.kind == "dense" for c in conns)
    ):
        return order
    return None


def explain_weight(
    network: Any,
    inputs: Any,
    targets: Any,
    weight: str,
    sample: int | None = 0,
    depth: int = 2,
    lr: float = 0.01,
    top: int = 8,
    eps: float = 1e-6,
    optimizer: Any = None,
) -> Explanation:
    """Explain the update of one weight (``'h1[3]->out[0]'``) on ``sample`` (an index), or
    on the whole batch (``sample=None``: the gradient sums over it, δ are shown for the
    first sample and the per-sample terms are summarised)."""
    net = float64_copy(network)
    x, n = _rows(inputs, "inputs", np.float64)
    y, _ = _rows(targets, "targets", None)
    for name, v in x.items() if isinstance(x, dict) else [("inputs", x)]:
        if v.ndim != 2:
            raise AnypropError(
                f"explain: {name} must be a table (samples, features), got {v.shape}"
            )
    if sample is not None:
        if not 0 <= sample < n:
            raise AnypropError(f"explain: sample {sample} is out of range (0 to {n - 1})")
        x, y = _take(x, sample), _take(y, sample)
        n = 1
    conn, i, j, k = parse_weight(net, weight)
    bp = net.backprop(x, y)
    grads = {n: g.copy() for n, g in bp.grads.items()}
    deltas = {n: v.copy() for n, v in bp.deltas.items()}
    outs = {n: v.copy() for n, v in bp.outputs.items()}
    nets = {n: v.copy() for n, v in bp.nets.items()}
    first = _Snapshot(deltas, outs, nets)
    loss_grads = {}  # ∂L/∂o of each output group (with the 1/N of the mean)
    plan = net.plan()
    by_group = plan.targets(y)
    for name in plan.loss_groups:
        grp = net.groups[name]
        t = grp.loss.prepare_target(by_group[name], grp.size, np.float64)
        loss_grads[name] = grp.loss.per_sample(outs[name], t)[1] * (grp.loss_weight / n)
    delta = _delta(net, first, conn.tgt, j, depth, top, loss_grads)
    flat = net.params[conn.param].reshape(-1)
    w = float(flat[k])
    gradient = float(grads[conn.param].reshape(-1)[k])
    keep = flat[k]
    flat[k] = keep + eps
    up = net.plan().loss(x, y)
    flat[k] = keep - eps
    down = net.plan().loss(x, y)
    flat[k] = keep
    numeric = (up - down) / (2 * eps)
    # a loss is computed from terms of order 1 at least (targets, log-sum-exp of the
    # outputs) even when it is small: its rounding is about ε·max(|L|, 1)
    rounding = float(np.finfo(np.float64).eps * max(abs(up), abs(down), 1.0) / eps)
    rel = abs(gradient - numeric) / max(abs(gradient), abs(numeric), 1e-12)
    o_i = float(outs[conn.src][0, i])
    per_sample = None
    if sample is None and n > 1:
        per_sample = (outs[conn.src][:, i] * deltas[conn.tgt][:, j] * n).tolist()
    textbook: dict[str, str] = {}
    if _layered_names(net) is not None:
        textbook = {
            "BP1 (output layer)": "δ^L = ∇_a C ⊙ σ'(z^L)  — here δ of an output unit",
            "BP2 (hidden layers)": "δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l)  — the Σ_k w_jk δ_k sum",
            "BP3 (biases)": "∂C/∂b^l_j = δ^l_j",
            "BP4 (weights)": "∂C/∂w^l_jk = a^{l-1}_k δ^l_j  — here ∂L/∂w = o_i · δ_j",
        }
    e = Explanation(
        weight.strip(),
        f"{conn.src}[{i}]",
        f"{conn.tgt}[{j}]",
        w,
        o_i,
        delta,
        gradient,
        float(numeric),
        float(rel),
        lr,
        -lr * gradient,
        n,
        per_sample,
        textbook,
    )
    e.rounding = rounding
    if net.units is not None:
        _relabel(e, net.units)
    if optimizer is not None:
        _optimizer_step(e, optimizer, conn.param, k, w, gradient)
    return e


def _rows(data: Any, what: str, dtype: Any) -> tuple[Any, int]:
    """An array, or a dict of arrays by group, and its number of samples (rows)."""
    if isinstance(data, dict):
        arrays = {k: np.asarray(v, dtype=dtype) for k, v in data.items()}
        counts = {len(v) for v in arrays.values()}
        if len(counts) != 1:
            sizes = ", ".join(f"{k}: {len(v)}" for k, v in arrays.items())
            raise AnypropError(f"explain: the {what} have different numbers of samples ({sizes})")
        return arrays, counts.pop()
    arr = np.asarray(data, dtype=dtype)
    return arr, len(arr)


def _take(data: Any, sample: int) -> Any:
    if isinstance(data, dict):
        return {k: v[sample : sample + 1] for k, v in data.items()}
    return data[sample : sample + 1]


def _optimizer_step(
    e: Explanation, optimizer: Any, param: str, k: int, w: float, gradient: float
) -> None:
    """The step the optimizer takes for this one weight: its rule is elementwise, so it is
    applied to this element alone, with this element's state."""
    state = {
        key: np.array([arr.reshape(-1)[k]], dtype=np.float64)
        for key, arr in optimizer.state.get(param, {}).items()
    }
    e.optimizer = repr(optimizer)
    e.optimizer_rule = (type(optimizer).__doc__ or "").strip().split("\n")[0]
    e.optimizer_state = {key: float(v[0]) for key, v in state.items()}
    w_arr = np.array([w])
    g = optimizer.decayed_gradient(np.array([gradient]), w_arr)
    steps = optimizer.steps
    optimizer.steps = steps + 1  # the rule sees the step count it will have
    try:
        optimizer.update(param, w_arr, g, optimizer.lr * optimizer.scales.get(param, 1.0), state)
    finally:
        optimizer.steps = steps
    e.lr = optimizer.lr
    e.step = float(w_arr[0] - w)


class _Snapshot:
    """Copies of a pass's deltas, outputs and net inputs (the plan reuses its buffers)."""

    def __init__(self, deltas: dict, outputs: dict, nets: dict) -> None:
        self.deltas, self.outputs, self.nets = deltas, outputs, nets
