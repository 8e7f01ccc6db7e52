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
import math
from typing import Any

import numpy as np

from anyprop.data.sequences import sequences_from
from anyprop.errors import AnypropError
from anyprop.explain.delta import unit_delta
from anyprop.explain.explanation import Delta, Explanation
from anyprop.explain.names import Target, parse_target
from anyprop.explain.rule import notes, step_fields
from anyprop.explain.step import StepRecord, copy_trainer, next_step, take_step
from anyprop.explain.time_step import next_sequence_step, take_sequence_step
from anyprop.explain.time_weight import explain_through_time
from anyprop.nn.plan import Options
from anyprop.nn.values import numbers
from anyprop.train.sequence_epoch import PreparedSequences
from anyprop.train.settings import TrainSettings
from anyprop.train.trainer import Trainer


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
    step: int | None = None,
) -> Explanation:
    """Explain the step ``trainer`` takes next on ``data`` (its training data: a Dataset or
    an (inputs, targets) pair) for one weight or bias: step ``batch`` of the next epoch
    (the first by default), with sample ``sample`` of that batch (the first by default)
    shown term by term as its contribution. ``trainer`` is not changed.

    A recurrent network is explained on sequences (Sequences, or (inputs, targets[,
    mask]) with (sequences, steps, features) inputs), through time: ``sample`` is a
    sequence of the batch, and ``step`` the time step whose δ is expanded (by default
    the one whose term is largest)."""
    from anyprop.data import from_pair

    _check_explain_options(weight, depth, top, eps, 0.0)
    if not isinstance(trainer, Trainer):
        raise AnypropError(f"explain_step() takes a Trainer, got {type(trainer).__name__}")
    seqs = sequences_from(data, "data")
    if seqs is not None or trainer.network.recurrent:
        if seqs is None:
            raise AnypropError(_NEEDS_SEQUENCES.format(name=trainer.network.name))
        record = next_sequence_step(trainer, seqs, sample_weight, batch)
        return explain_through_time(record, weight, sample, step, depth, top, eps)
    _no_step(step)
    record = next_step(trainer, from_pair(data, "data"), sample_weight, batch)
    return _explain(record, weight, sample, depth, top, eps)


_NEEDS_SEQUENCES = (
    "{name} has delayed or gated connections: it runs over sequences, so explain it on "
    "sequences ((sequences, steps, features) inputs)"
)


def _no_step(step: Any) -> None:
    if step is not None:
        raise AnypropError(
            f"step={step!r} names a time step: it applies to a recurrent network on sequences"
        )


def _check_explain_options(weight: Any, depth: Any, top: Any, eps: Any, lr: Any) -> None:
    """The options of an explanation, each of its type and range, or an error naming it."""
    if not isinstance(weight, str):
        raise AnypropError(
            f"weight must name a weight or bias, such as 'h1[0]->output[0]', got {weight!r}"
        )
    for name, value in (("depth", depth), ("top", top)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise AnypropError(f"{name} must be a whole number >= 0, got {value!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1:
        raise AnypropError(f"eps must be a number in (0, 1), got {eps!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr):
        raise AnypropError(f"lr must be a finite number, got {lr!r}")


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
    step: int | None = None,
    mask: Any = None,
) -> Explanation:
    """Explain one step on the whole batch (``inputs``, ``targets``) for one weight or bias:
    plain gradient descent with ``lr``, or ``optimizer`` (an Optimizer of this network, in
    its current state), with the given training ``settings`` (loss reduction, Fahlman's
    fixes). Sample ``sample`` of the batch is shown term by term. ``network`` is not changed.
    A recurrent network takes (sequences, steps, features) ``inputs`` (with their
    ``mask``) and is explained through time (see :func:`explain_step`)."""
    _check_explain_options(weight, depth, top, eps, lr)
    base = settings or TrainSettings()
    settings = TrainSettings.take({"batch_size": None, "shuffle": False}, base)
    if optimizer is not None:
        owner = Trainer(network, optimizer, settings=settings)
    else:
        owner = Trainer(network, "sgd", lr=lr, settings=settings)
    tr = copy_trainer(owner)
    w = None if sample_weight is None else numbers(sample_weight, "sample_weight").reshape(-1)
    if getattr(inputs, "ndim", 0) == 3 or network.recurrent:
        seqs = sequences_from((inputs, targets, mask), "inputs")
        if seqs is None:
            raise AnypropError(_NEEDS_SEQUENCES.format(name=network.name))
        x = np.asarray(seqs.x, network.dtype)
        y = PreparedSequences.of(network, seqs).y
        record = take_sequence_step(tr, x, y, w, None if mask is None else seqs.mask)
        record.batches = 0
        return explain_through_time(record, weight, sample, step, depth, top, eps)
    _no_step(step)
    if mask is not None:
        raise AnypropError("mask= applies to sequences ((sequences, steps, features) inputs)")
    x, y = _rows(inputs, "inputs"), _rows(targets, "targets")
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
    delta = unit_delta(net, record, target.tgt, target.j, r, depth, top)
    if target.kind == "bias":
        o = np.ones(n)
        source = "1 (the bias)"
    else:
        o = p.outputs[target.src][:, target.i].astype(np.float64)
        source = f"{target.src}[{target.i}]"
    d = p.deltas[target.tgt][:, target.j].astype(np.float64)
    k = target.index
    gradient = float(p.grads[target.param].reshape(-1)[k]) if target.param in p.grads else 0.0
    numeric, plain, rounding = _check(record, target, eps)
    rel = abs(plain - numeric) / max(abs(plain), abs(numeric), 1e-12)
    x_by = record.x if isinstance(record.x, dict) else {net.inputs[0]: record.x}
    t_by = net.plan().targets(record.y)
    e = Explanation(
        weight=weight.strip(),
        kind=target.kind,
        source=source,
        target=f"{target.tgt}[{target.j}]",
        o_i=float(o[r]),
        delta=delta,
        contribution=float(o[r] * d[r]),
        sample=r,
        sample_row=None if record.rows is None else int(record.rows[r]),
        x={g: np.asarray(v[r], np.float64).reshape(-1).tolist() for g, v in x_by.items()},
        t={g: np.asarray(v[r], np.float64).reshape(-1).tolist() for g, v in t_by.items()},
        samples=n,
        numeric=numeric,
        plain_gradient=plain,
        relative_error=float(rel),
        rounding=rounding,
        per_sample=(o * d).tolist() if n > 1 else None,
        notes=notes(record, n, target),
        **step_fields(record, target, gradient),
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
    if target.param not in net64.trainable():  # a fixed weight: its gradient all the same
        for c in net64.connections.values():
            if c.param == target.param:
                c.trainable = True
        net64._changed()
    grads = net64.backprop(x, y, w, options=options).grads
    plain = float(grads[target.param].reshape(-1)[target.index])
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
