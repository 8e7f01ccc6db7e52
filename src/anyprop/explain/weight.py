"""One weight's update, explained with its numbers: the general rule on the user's network.

    Δw_ij = the optimizer's rule applied to ∂L/∂w_ij,   ∂L/∂w_ij = Σ_n o_i · δ_j,
    δ_j = f'_j(net_j) · (Σ_k w_jk δ_k + ∂L/∂o_j)

:func:`explain_step` explains the step a trainer takes next: it takes that step
on a copy of the trainer (:mod:`anyprop.explain.step`) and lays out every number
of it for one weight or bias: the batch, one sample's x and t, o_i, δ_j and its
expansion over every connection leaving unit j (recursively, to ``depth``), f'_j
as a formula with its parameters, ∂L/∂o with the loss's formula, the gradient,
then the optimizer's rule with this weight's state, ending in the new weight.
The gradient is checked against central differences in float64.
:func:`explain_weight` does the same for one step of plain gradient descent (or a
given optimizer) on a batch given whole.

>>> from anyprop import Network
>>> import numpy as np
>>> net = Network.layered([2, 2, 1], transfer="sigmoid", seed=0, dtype="float64")
>>> e = explain_weight(net, np.array([[1.0, 0.0]]), np.array([[1.0]]), "h1[0]->output[0]")
>>> abs(e.gradient - e.numeric) < 1e-8, abs(e.step + 0.01 * e.gradient) < 1e-15
(True, True)
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.explain.explanation import Delta, Explanation, Term
from anyprop.explain.step import StepRecord, copy_trainer, next_step, take_step
from anyprop.nn.plan import Options
from anyprop.registry import suggest
from anyprop.train.settings import TrainSettings
from anyprop.train.trainer import Trainer

_WEIGHT = re.compile(r"^\s*([^\[\]]+)\[(\d+)\]\s*->\s*([^\[\]]+)\[(\d+)\]\s*$")
_BIAS = re.compile(r"^\s*([^\[\]]+)\.bias\[(\d+)\]\s*$")
_UNIT_BIAS = re.compile(r"^\s*([^\[\]]+)\.bias\s*$")


@dataclass
class Target:
    """What is explained: a parameter's element, and the units it joins."""

    param: str
    index: int  # into the flattened parameter
    kind: str  # "weight" or "bias"
    src: str | None  # the source group (None for a bias)
    i: int
    tgt: str
    j: int
    connection: str | None


def parse_target(network: Any, text: str) -> Target:
    """A weight ('h1[3]->out[0]', or '2->3' by unit names in a unit graph) or a bias
    ('h1.bias[3]', or '3.bias' by unit name)."""
    m = _BIAS.match(text)
    if m is not None:
        group, j = m.group(1).strip(), int(m.group(2))
        g = network.group(group)
        if g.bias_param is None:
            why = "an input group" if g.is_input else "a group without a bias"
            raise AnypropError(f"bias '{text}': '{group}' is {why}")
        if j >= g.size:
            raise AnypropError(
                f"bias '{text}': group '{group}' has {g.size} units (0 to {g.size - 1})"
            )
        return Target(g.bias_param, j, "bias", None, 0, group, j, None)
    m = _UNIT_BIAS.match(text)
    if m is not None and network.units is not None:
        unit = network.units.parse_label(m.group(1).strip(), f"bias '{text}'")
        group, j = network.units.where(unit)
        return parse_target(network, f"{group}.bias[{j}]")
    c, i, j, k = parse_weight(network, text)
    return Target(c.param, k, "weight", c.src, i, c.tgt, j, c.name)


def parse_weight(network: Any, text: str) -> tuple[Any, int, int, int]:
    """'h1[3]->out[0]' -> (connection, i, j, index into its weight parameter). A network
    compiled from a unit list also takes its units' names: '3->7'."""
    m = _WEIGHT.match(text)
    if m is None and network.units is not None:
        return _unit_weight(network, text)
    if m is None:
        raise AnypropError(
            f"weight '{text}': write it as SOURCE[i]->TARGET[j], e.g. h1[3]->out[0], or a bias "
            "as GROUP.bias[j], e.g. h1.bias[3]"
        )
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
        if not text.endswith("]"):  # (a bias's source, "1")
            return text
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


def _delta(
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
        if lg[0] == "fused":
            d.fused = f"{t.name} with {g.loss.name}: δ = (o − t) · scale (the stable fused form)"
            return d
        d.loss_gradient = float(lg[1][r, unit])
        d.loss_derivative = (
            "atanh(o − t) (Fahlman's atanh error)"
            if settings.atanh_error and g.loss.name == "mse"
            else _loss_derivative(g.loss)
        )
    raw = _outgoing_terms(net, record.before, p.deltas, group, unit, r)
    d.terms_sum = float(sum(w * dk for _, _, w, dk in raw))
    raw.sort(key=lambda term: -abs(term[2] * term[3]))
    for conn, reached, w, dk in raw[:top]:
        term = Term(conn, reached, w, dk, w * dk)
        if depth > 1:
            tg, tu = reached[:-1].split("[")
            term.expansion = _delta(net, record, tg, int(tu), r, depth - 1, top)
        d.terms.append(term)
    d.terms_left_out = max(0, len(raw) - top)
    return d


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


def explain_step(
    trainer: Trainer,
    data: Any,
    weight: str,
    *,
    sample: int | None = None,
    batch: int = 0,
    sample_weight: Any = None,
    depth: int = 2,
    top: int = 8,
    eps: float = 1e-6,
) -> Explanation:
    """Explain the step ``trainer`` takes next on ``data`` (its training data: a Dataset or
    an (inputs, targets) pair) for one weight or bias: step ``batch`` of the next epoch
    (the first by default), with sample ``sample`` of that batch (the first by default)
    shown term by term as its contribution. ``trainer`` is not changed."""
    from anyprop.train.trainer import _as_dataset

    record = next_step(trainer, _as_dataset(data, "data"), sample_weight, batch)
    return _explain(record, weight, sample, depth, top, eps)


def explain_weight(
    network: Any,
    inputs: Any,
    targets: Any,
    weight: str,
    sample: int | None = None,
    depth: int = 2,
    lr: float = 0.01,
    top: int = 8,
    eps: float = 1e-6,
    optimizer: Any = None,
    settings: TrainSettings | None = None,
    sample_weight: Any = None,
) -> Explanation:
    """Explain one step on the whole batch (``inputs``, ``targets``) for one weight or bias:
    plain gradient descent with ``lr``, or ``optimizer`` (an Optimizer of this network, in
    its current state), with the given training ``settings`` (loss reduction, Fahlman's
    fixes). Sample ``sample`` of the batch is shown term by term. ``network`` is not changed."""
    base = settings or TrainSettings()
    settings = TrainSettings.take({"batch_size": None, "shuffle": False}, base)
    if optimizer is not None:
        owner = Trainer(network, optimizer, settings=settings)
    else:
        owner = Trainer(network, "sgd", lr=lr, settings=settings)
    tr = copy_trainer(owner)
    x, y = _rows(inputs, "inputs"), _rows(targets, "targets")
    w = None if sample_weight is None else np.asarray(sample_weight, np.float64).reshape(-1)
    record = take_step(tr, x, y, w)
    record.batches = 0
    return _explain(record, weight, sample, depth, top, eps)


def _rows(data: Any, what: str) -> Any:
    if isinstance(data, dict):
        arrays = {k: np.asarray(v) for k, v in data.items()}
        if len({len(v) for v in arrays.values()}) > 1:
            sizes = ", ".join(f"{k}: {len(v)}" for k, v in arrays.items())
            raise AnypropError(f"explain: the {what} have different numbers of samples ({sizes})")
        return arrays
    arr = np.asarray(data)
    if what == "inputs" and arr.ndim != 2:
        raise AnypropError(f"explain: inputs must be a table (samples, features), got {arr.shape}")
    return arr


def _explain(
    record: StepRecord, weight: str, sample: int | None, depth: int, top: int, eps: float
) -> Explanation:
    tr = record.trainer
    net = tr.network
    target = parse_target(net, weight)
    p = record.passed
    n = len(p.deltas[target.tgt])
    r = 0 if sample is None else sample
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < n:
        raise AnypropError(
            f"explain: sample {sample} is out of range: the batch has {n} (0 to {n - 1})"
        )
    r = int(r)
    delta = _delta(net, record, target.tgt, target.j, r, depth, top)
    if target.kind == "bias":
        o = np.ones(n)
        source = "1 (the bias)"
    else:
        o = p.outputs[target.src][:, target.i].astype(np.float64)
        source = f"{target.src}[{target.i}]"
    d = p.deltas[target.tgt][:, target.j].astype(np.float64)
    k = target.index
    w0 = float(record.before[target.param].reshape(-1)[k])
    w1 = float(record.after[target.param].reshape(-1)[k])
    gradient = float(p.grads[target.param].reshape(-1)[k]) if target.param in p.grads else 0.0
    opt = tr.optimizer
    used = gradient * (record.clip_scale if record.clip_scale is not None else 1.0)
    if opt.weight_decay and not opt.decoupled_decay:
        used = used + opt.weight_decay * w0
    before = {
        name: float(v.reshape(-1)[k])
        for name, v in record.state_before.get(target.param, {}).items()
    }
    lr = opt.lr * opt.scales.get(target.param, 1.0)
    saved = opt.steps
    opt.steps = record.steps  # the rule's arithmetic as it was during the step
    try:
        lines = [line._asdict() for line in opt.explain(used, w0, before, lr)]
    finally:
        opt.steps = saved
    numeric, plain, rounding = _check(record, target, eps)
    rel = abs(plain - numeric) / max(abs(plain), abs(numeric), 1e-12)
    x_by = record.x if isinstance(record.x, dict) else {net.inputs[0]: record.x}
    t_by = net.plan().targets(record.y)
    e = Explanation(
        weight.strip(),
        target.kind,
        source,
        f"{target.tgt}[{target.j}]",
        w0,
        w1,
        w1 - w0,
        gradient,
        float(o[r]),
        delta,
        float(o[r] * d[r]),
        r,
        None if record.rows is None else int(record.rows[r]),
        {g: np.asarray(v[r], dtype=np.float64).reshape(-1).tolist() for g, v in x_by.items()},
        {g: np.asarray(v[r], dtype=np.float64).reshape(-1).tolist() for g, v in t_by.items()},
        n,
        float(p.loss),
        record.epoch,
        record.batch,
        record.batches,
        lr,
        repr(opt),
        " ".join((type(opt).__doc__ or "").split()),
        before,
        lines,
        float(used),
        record.clip_scale,
        record.norm,
        float(opt.weight_decay),
        {
            "loss_reduction": tr.settings.loss_reduction,
            "prime_offset": tr.settings.prime_offset,
            "atanh_error": tr.settings.atanh_error,
            "batch_size": tr.settings.batch_size,
        },
        numeric,
        plain,
        float(rel),
        rounding,
        (o * d).tolist() if n > 1 else None,
        None if record.rows is None else [int(v) for v in record.rows],
        _notes(record, n),
    )
    if _layered_names(net) is not None:
        e.textbook = {
            "BP1 (output layer)": "δ^L = ∇_a C ⊙ σ'(z^L)  — here δ of an output unit",
            "BP2 (hidden layers)": "δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l)  — the Σ_k w_jk δ_k sum",
            "BP3 (biases)": "∂C/∂b^l_j = δ^l_j",
            "BP4 (weights)": "∂C/∂w^l_jk = a^{l-1}_k δ^l_j  — here ∂L/∂w = o_i · δ_j",
        }
    e.digits = 9 if net.dtype == np.float64 else 6
    if net.units is not None:
        _relabel(e, net.units)
    return e


def _notes(record: StepRecord, n: int) -> list[str]:
    """What a learner could misread, in words."""
    tr = record.trainer
    notes = []
    if n > 1:
        notes.append(
            f"the step is the batch's: its gradient sums the {n} samples' terms; one sample "
            "alone would not make this step"
        )
    if record.batches > 1:
        notes.append(
            f"mini-batch training: this is batch {record.batch + 1} of the {record.batches} of "
            "the next epoch, in the order the trainer draws them"
        )
    name = tr.optimizer.name
    if name in ("irprop", "quickprop") and record.batches > 1:
        notes.append(
            f"{name} is a full-batch method: here it adapts its steps from each mini-batch's "
            "gradient, which changes from batch to batch"
        )
    if tr.optimizer.state_names:
        notes.append(
            "the rule keeps state from earlier steps (shown above): the step depends on them, "
            "not on this gradient alone"
        )
    if tr.settings.prime_offset or tr.settings.atanh_error:
        notes.append(
            "Fahlman's changes make the step follow a modified gradient; the check below is "
            "of the true ∂L/∂w, without them"
        )
    return notes


def _check(record: StepRecord, target: Target, eps: float) -> tuple[float, float, float]:
    """(∂L/∂w by central differences, by backpropagation; both float64 with the weights
    before the step and the run's loss reduction, without Fahlman's changes; and the
    rounding of the difference quotient)."""
    net64 = record.trainer.network.astype(np.float64)
    net64.set_params(record.before)
    options = Options(record.trainer.settings.loss_reduction)
    x = (
        {k: np.asarray(v, np.float64) for k, v in record.x.items()}
        if isinstance(record.x, dict)
        else np.asarray(record.x, np.float64)
    )
    y, w = record.y, record.sample_weight
    plain = float(
        net64.backprop(x, y, w, options=options).grads[target.param].reshape(-1)[target.index]
    )
    flat = net64.params[target.param].reshape(-1)
    keep = flat[target.index]
    plan = net64.plan()
    flat[target.index] = keep + eps
    up = plan.loss(x, y, w, options)
    flat[target.index] = keep - eps
    down = plan.loss(x, y, w, options)
    flat[target.index] = keep
    rounding = float(np.finfo(np.float64).eps * max(abs(up), abs(down), 1.0) / eps)
    return (up - down) / (2 * eps), plain, rounding
