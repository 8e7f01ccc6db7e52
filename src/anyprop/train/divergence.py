"""A step that went non-finite: found by one cheap sum per step, then named.

After each step's backward pass the trainer adds the loss to a sum that is
non-finite exactly when some delta is; only then does it look for the first
group whose deltas went wrong, and stop with a message that names the epoch,
the batch, the group and the likely causes, before the update touches the
weights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from anyprop.errors import AnypropError


class TrainingError(AnypropError, RuntimeError):
    """Training that cannot go on (a non-finite loss or delta, say)."""


def delta_sum(trainer: Any, plan: Any, bp: Any) -> float:
    """A sum that is non-finite when any delta is: each group's bias gradient (a sum of
    its deltas over the batch), and the deltas themselves where a group has no bias.
    It costs a pass over the activations, not over the weights."""
    cached = trainer._checks  # what to sum, worked out once per plan
    checks = cached[1] if cached is not None and cached[0] is plan else None
    if checks is None:
        checks = [
            (True, g.bias_param) if g.bias_param else (False, g.name)
            for g in trainer.network.groups.values()
            if not g.is_input
        ]
        trainer._checks = (plan, checks)
    grads, deltas = bp.grads, bp.deltas
    flat = getattr(grads, "flat", None)
    if flat is not None and flat.size <= 65536:  # small: one reduction over all gradients
        return float(np.add.reduce(flat))
    total = 0.0
    for is_bias, name in checks:
        total += float(np.add.reduce(grads[name] if is_bias else deltas[name], axis=None))
    return total


def diverged(trainer: Any, bp: Any, batch: int) -> None:
    """Raise the TrainingError that says where a step went non-finite, and what to try."""
    first = None
    for name in reversed(trainer.network.order()):
        d = bp.deltas.get(name)
        if d is not None and not np.all(np.isfinite(d)):
            first = name
    where = f"epoch {trainer.epoch + 1}, batch {batch + 1}"
    if not math.isfinite(bp.loss):
        what = f"the loss became {bp.loss}"
    else:
        what = "a gradient became non-finite"
    group = f"; the first group whose deltas went non-finite is '{first}'" if first else ""
    lr = trainer.optimizer.lr
    raise TrainingError(
        f"training stopped at {where}: {what}{group}. Likely causes: a learning rate too "
        f"large for this network ({lr:g}: try {lr / 10:g}), or a transfer function "
        "overflowing (large net inputs: scale the inputs, or use a bounded function). "
        "The weights are those of the last good step."
    )
