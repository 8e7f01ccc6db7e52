"""One weight's update on a recurrent network, explained through time with its numbers:

    ∂L/∂w_ij = Σ_n Σ_t o_i(n, t − d) [· o_gate,j(n, t − d_g)] · δ_j(n, t)

for a connection of delay d (gated: times the gate's output), the sum over the batch's
sequences and their steps of one term per step; o_i(t − d) = 0 before the first step.
The explanation lays out the sample's terms step by step, expands δ_j at one step
(``step``; by default the step whose term is largest) over the paths at the same step
and the delayed paths to later steps (:mod:`anyprop.explain.time_delta`), then the
optimizer's rule, ending in the new weight, read off the trainer's own step; and checks
∂L/∂w against central differences of the sequence loss in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.explain.explanation import Explanation
from anyprop.explain.names import Target, parse_target
from anyprop.explain.rule import notes, step_fields
from anyprop.explain.step import StepRecord
from anyprop.explain.time_delta import at, unit_delta_at
from anyprop.nn.plan import Options


def _terms(record: StepRecord, target: Target, conn: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """(o_i(t − d) by sequence and step, 0 before the first; δ_j(t); the gate's output
    o_g,j(t − d_g), or None) over the batch, float64."""
    p = record.passed
    d = p.deltas[target.tgt][:, :, target.j].astype(np.float64)
    if target.kind == "bias":
        return np.ones_like(d), d, None
    n, steps = d.shape

    def delayed(group: str, unit: int, lag: int) -> np.ndarray:
        """o(t − lag) at every step t: the state's before the first step, or 0."""
        o = np.zeros((n, steps))
        if lag < steps:
            o[:, lag:] = p.outputs[group][:, : steps - lag, unit]
        state = record.state
        if lag and state is not None and group in state:
            early = min(lag, steps)  # steps t < lag read row t − lag of the state
            o[:, :early] = state[group][:, state[group].shape[1] - lag :][:, :early, unit]
        return o

    o = delayed(target.src, target.i, conn.delay)
    gate = None if conn.gate is None else delayed(conn.gate, target.j, conn.gate_delay)
    return o, d, gate


def explain_through_time(
    record: StepRecord,
    weight: str,
    sample: int | None,
    step: int | None,
    depth: int,
    top: int,
    eps: float,
) -> Explanation:
    """The explanation of one recorded step over sequences (see the module)."""
    tr = record.trainer
    net = tr.network
    target = parse_target(net, weight)
    p = record.passed
    n, steps = p.deltas[target.tgt].shape[:2]
    r = 0 if sample is None else sample
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < n:
        raise AnypropError(
            f"explain: sample {sample} is out of range: the batch has {n} sequences (0 to {n - 1})"
        )
    r = int(r)
    conn = None if target.connection is None else net.connections[target.connection]
    o, d, gate = _terms(record, target, conn)
    terms = o * d * (1.0 if gate is None else gate)
    if step is None:
        t = int(np.argmax(np.abs(terms[r])))
    elif isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step < steps:
        raise AnypropError(
            f"explain: step {step} is out of range: the sequences have {steps} steps "
            f"(0 to {steps - 1})"
        )
    else:
        t = int(step)
    delta = unit_delta_at(net, record, target.tgt, target.j, r, t, depth, top)
    k = target.index
    gradient = float(p.grads[target.param].reshape(-1)[k]) if target.param in p.grads else 0.0
    numeric, plain, rounding = _check(record, target, eps)
    rel = abs(plain - numeric) / max(abs(plain), abs(numeric), 1e-12)
    lag = 0 if conn is None else conn.delay
    source = "1 (the bias)" if target.kind == "bias" else f"{target.src}[{target.i}]"
    x = np.asarray(record.x)[r, t].astype(np.float64).reshape(-1).tolist()
    e = Explanation(
        weight=weight.strip(),
        kind=target.kind,
        source=source,
        target=f"{target.tgt}[{target.j}]",
        o_i=float(o[r, t]),
        delta=delta,
        contribution=float(terms[r, t]),
        sample=r,
        sample_row=None if record.rows is None else int(record.rows[r]),
        x={net.inputs[0]: x},
        t={g: v[r, t].astype(np.float64).tolist() for g, v in record.targets.items()},
        samples=n,
        numeric=numeric,
        plain_gradient=plain,
        relative_error=float(rel),
        rounding=rounding,
        per_sample=terms.sum(axis=1).tolist() if n > 1 else None,
        notes=notes(record, n, target),
        **step_fields(record, target, gradient),
    )
    e.steps = steps
    e.step_shown = t
    e.delay = lag
    e.gate = None if conn is None or conn.gate is None else conn.gate
    e.gate_delay = 0 if conn is None else conn.gate_delay
    e.through_time = [
        {
            "t": s,
            "o_i": float(o[r, s]),
            "gate": None if gate is None else float(gate[r, s]),
            "delta": float(d[r, s]),
            "term": float(terms[r, s]),
            "taken": bool(record.kept[r, s]),
        }
        for s in range(steps)
    ]
    e.source_at = None if target.kind == "bias" else at(target.src, target.i, t - lag)
    if record.carried:
        e.before_first = "the state the chunk before left"
    elif record.state is not None and target.src in record.state:
        learned = net.groups[target.src].initial_param is not None
        e.before_first = "its learned initial state" if learned else "0"
    if record.chunk is not None:
        a, z = record.chunk
        e.notes.append(
            f"truncated backpropagation through time: this step takes steps {a} to {z - 1} "
            f"of the sequences (t counts from the chunk's first); the state the chunk before "
            "left is its start, carried without a gradient"
        )
    if record.mask is not None:
        e.notes.append(
            "the mask leaves some steps out of the loss: no ∂L(t)/∂o there, yet their δ "
            "still carries what later steps send back"
        )
    e.digits = 9 if net.dtype == np.float64 else 6
    return e


def _check(record: StepRecord, target: Target, eps: float) -> tuple[float, float, float]:
    """(∂L/∂w by central differences of the loss over the sequences, by backpropagation
    through time; both float64 with the weights before the step; the rounding of the
    difference quotient)."""
    net64 = record.trainer.network.astype(np.float64)
    net64.set_params(record.before)
    if target.param not in net64.trainable():  # a fixed weight: its gradient all the same
        for c in net64.connections.values():
            if c.param == target.param:
                c.trainable = True
        net64._changed()
    options = Options(record.trainer.settings.loss_reduction)
    x = np.asarray(record.x, np.float64)
    plan = net64.sequence_plan()
    state = None
    if record.carried:
        state = {g: np.asarray(v, np.float64) for g, v in record.state.items()}
    args = (record.y, record.mask, record.sample_weight, options, state)
    grads = plan.backprop(x, *args).grads
    plain = float(grads[target.param].reshape(-1)[target.index])
    flat = net64.params[target.param].reshape(-1)
    keep = flat[target.index]
    flat[target.index] = keep + eps
    up = plan.backprop(x, *args).loss
    flat[target.index] = keep - eps
    down = plan.backprop(x, *args).loss
    flat[target.index] = keep
    rounding = float(np.finfo(np.float64).eps * max(abs(up), abs(down), 1.0) / eps)
    return (up - down) / (2 * eps), plain, rounding
