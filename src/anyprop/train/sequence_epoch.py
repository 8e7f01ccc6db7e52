"""Training on sequences: an epoch of backpropagation through time over whole sequences,
in batches of sequences, through the trainer's own step (the same optimizers, callbacks,
divergence checks and state), and the evaluation of a network on sequences.

Each step is one pass of the plan over sequences (:class:`~anyprop.nn.plan.recurrent.
SequencePlan`): L is the mean of the loss over the batch's kept sample-steps (each
sequence's last kept step for last-step targets). The epoch's figures (loss, metrics)
are those of the outputs at the sample-steps the loss was taken on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.data.dataset import DataError
from anyprop.data.sequences import Sequences
from anyprop.errors import ShapeError
from anyprop.limits import check_bytes
from anyprop.train.evaluation import metric_logs
from anyprop.train.metrics import METRICS


@dataclass
class PreparedSequences:
    """Sequences as the network takes them: inputs cast once, targets laid out (one-hot
    rows for classes), per step or at the last step."""

    x: np.ndarray  # (sequences, steps, features) in the network's dtype
    y: np.ndarray  # (sequences, steps, outputs) or (sequences, outputs)
    mask: np.ndarray | None
    data: Sequences

    @classmethod
    def of(cls, network: Any, data: Sequences) -> PreparedSequences:
        width = network.input_width
        if len(network.inputs) != 1:
            raise DataError(
                f"{data.name}: sequences feed one input group; the network has "
                f"{len(network.inputs)} ({', '.join(network.inputs)})"
            )
        if data.x.shape[2] != width:
            raise ShapeError(
                f"{data.name}: {data.x.shape[2]} input features per step, but the network "
                f"has {width} input units"
            )
        x = data.x.astype(network.dtype, copy=False)
        y = data.y
        if data.per_step:
            n, steps = y.shape[:2]
            rows = y.reshape(n * steps, -1)
            rows = rows[:, 0] if rows.shape[1] == 1 else rows
            y = network.prepare_targets(rows, network.dtype).reshape(n, steps, -1)
        else:
            y = network.prepare_targets(y, network.dtype)
        return cls(x, y, data.mask, data)

    def __len__(self) -> int:
        return len(self.x)

    def kept_targets(self, kept: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The targets of the sample-steps in ``kept`` ((n, steps) of the sequences
        ``rows``): per-step targets there, or each sequence's last-step target."""
        y = self.y[rows]
        return y[kept != 0] if self.data.per_step else y

    def figures(self, outputs: np.ndarray, targets: np.ndarray, settings: Any) -> dict:
        return metric_logs(outputs, targets, self.data.task, settings)


def check_memory(trainer: Any, data: Sequences, val_rows: int) -> None:
    """Refuse, before the first step, a run whose buffers would not fit (every unit at
    every step, net inputs, outputs and deltas, for a batch and the validation part)."""
    net = trainer.network
    params = sum(p.size for p in net.params.values())
    units = sum(g.size for g in net.groups.values())
    batch = trainer.settings.batch_size or len(data)
    cells = 6 * params + 4 * units * data.steps * max(batch, val_rows) + 2 * data.x.size
    what = f"training this network on sequences of {data.steps:,} steps, batches of {batch:,}"
    check_bytes(cells * np.dtype(net.dtype).itemsize, what)


def run_epoch(trainer: Any, data: PreparedSequences, weights: np.ndarray | None) -> dict:
    """One pass over the sequences in batches, one step of the rule each (BPTT over the
    batch's whole sequences); returns the epoch's figures."""
    settings = trainer.settings
    n = len(data)
    order = trainer.epoch_order(n)
    size = settings.batch_size or n
    summed = settings.loss_reduction == "sum"
    loss_sum, weight_sum = 0.0, 0.0
    seen, wanted = [], []
    primary = trainer.network.primary_output
    for b, start in enumerate(range(0, n, size)):
        rows = order[start : start + size]
        mask = None if data.mask is None else data.mask[rows]
        w = None if weights is None else weights[rows]
        bp = trainer.step(data.x[rows], data.y[rows], w, b, mask=mask)
        kept = bp.mask
        seen.append(bp.outputs[primary][kept != 0])  # (a copy: the buffers are reused)
        wanted.append(data.kept_targets(kept, rows))
        if summed:
            loss_sum += bp.loss
            weight_sum = 1.0
        else:  # a batch's mean is over its kept steps: weight it by them
            k = float((kept != 0).sum())
            loss_sum += bp.loss * k
            weight_sum += k
        for cb in trainer.callbacks:
            cb.on_batch_end(trainer, b, bp)
    outputs, targets = np.concatenate(seen), np.concatenate(wanted)
    logs = {"loss": loss_sum / weight_sum}
    logs.update(data.figures(outputs, targets, settings))
    trainer.epoch_solved = data.data.task != "classification" and bool(
        METRICS.get("solved")(outputs, targets, margin=settings.margin)
    )
    return logs


def evaluate(
    network: Any, data: PreparedSequences, settings: Any, prefix: str = ""
) -> tuple[dict[str, float], np.ndarray]:
    """({prefix}loss and each metric, the outputs at the kept sample-steps) of
    ``network`` on sequences, without gradients."""
    plan = network.sequence_plan()
    loss, outs, kept = plan.evaluate(data.x, data.y, data.mask, settings.options)
    outputs = outs[network.primary_output][kept != 0]
    targets = data.kept_targets(kept, np.arange(len(data)))
    logs = {prefix + "loss": loss}
    logs.update({prefix + k: v for k, v in data.figures(outputs, targets, settings).items()})
    return logs, outputs
