"""What an explanation says of the optimizer's rule and of what a learner could misread:
shared by the explanations of a step on tables and through time."""

from __future__ import annotations

from typing import Any

from anyprop.explain.names import Target
from anyprop.explain.step import StepRecord


def rule_lines(
    record: StepRecord, target: Target, gradient: float
) -> tuple[float, list[dict], dict[str, float], float]:
    """(the gradient the optimizer's rule received, after clipping and weight decay; the
    rule's lines with this weight's numbers; its state before the step; its η)."""
    opt = record.trainer.optimizer
    k = target.index
    w0 = float(record.before[target.param].reshape(-1)[k])
    trained = target.param in opt.scales  # a fixed connection's weights are not
    used = gradient * (record.clip_scale if record.clip_scale is not None else 1.0)
    if trained and opt.weight_decay and not opt.decoupled_decay:
        used = used + opt.weight_decay * w0
    before = {
        name: float(v.reshape(-1)[k])
        for name, v in record.state_before.get(target.param, {}).items()
    }
    lr = opt.lr * opt.scales.get(target.param, 1.0)
    if not trained:
        fixed = "0: a fixed weight (trainable = false) carries signals and deltas, never changes"
        return 0.0, [{"name": "Δw", "formula": fixed, "value": 0.0}], before, lr
    saved = opt.steps
    opt.steps = record.steps  # the rule's arithmetic as it was during the step
    try:
        lines = [line._asdict() for line in opt.explain(used, w0, before, lr)]
    finally:
        opt.steps = saved
    return used, lines, before, lr


def notes(record: StepRecord, n: int, target: Target | None = None) -> list[str]:
    """What a learner could misread, in words."""
    tr = record.trainer
    notes = []
    if target is not None and target.kind == "weight":
        uses = [c.name for c in tr.network.connections.values() if c.param == target.param]
        if len(uses) > 1:
            notes.append(
                f"this weight is shared by {len(uses)} connections ({', '.join(uses)}): its "
                f"gradient sums o_i·δ_j over every use; the terms shown are {target.connection}'s"
            )
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


def step_fields(record: StepRecord, target: Target, gradient: float) -> dict[str, Any]:
    """The fields of an :class:`~anyprop.explain.explanation.Explanation` that say what
    the step did to the weight and how the optimizer's rule made it: the weight before
    and after, Δw read off the weight itself, the batch's place in the epoch, the rule
    with this weight's numbers, clipping and decay, and the run's settings."""
    tr = record.trainer
    opt = tr.optimizer
    k = target.index
    w0 = float(record.before[target.param].reshape(-1)[k])
    w1 = float(record.after[target.param].reshape(-1)[k])
    used, lines, before, lr = rule_lines(record, target, gradient)
    return {
        "w": w0,
        "w_after": w1,
        "step": w1 - w0,
        "gradient": gradient,
        "loss": float(record.passed.loss),
        "epoch": record.epoch,
        "batch": record.batch,
        "batches": record.batches,
        "lr": lr,
        "optimizer": repr(opt),
        "optimizer_rule": " ".join((type(opt).__doc__ or "").split()),
        "optimizer_state": before,
        "optimizer_lines": lines,
        "gradient_used": float(used),
        "clip_scale": record.clip_scale,
        "norm": record.norm,
        "weight_decay": float(opt.weight_decay),
        "settings": {
            "loss_reduction": tr.settings.loss_reduction,
            "prime_offset": tr.settings.prime_offset,
            "atanh_error": tr.settings.atanh_error,
            "batch_size": tr.settings.batch_size,
        },
        "rows": None if record.rows is None else [int(v) for v in record.rows],
    }
