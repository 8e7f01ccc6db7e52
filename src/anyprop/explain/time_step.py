"""The next step of training on sequences, taken on a copy of the trainer and recorded.

As :mod:`anyprop.explain.step` does for tables: the trainer's own
:meth:`~anyprop.train.trainer.Trainer.step` runs on a copy of the trainer, on the
batch of sequences it would take next, and everything the pass through time used is
copied off the plan's buffers: every group's net input, output and δ at every step,
(sequences, steps, units); each output's ∂L/∂o(t) (or the fused δ(t)) as the loss gave
it; the targets at every step and the sample-steps the loss was taken on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.data.sequences import Sequences
from anyprop.errors import AnypropError
from anyprop.explain.step import Pass, StepRecord, _state, clipping, copy_trainer
from anyprop.nn.plan.sequence_data import sequence_loss, targets_of, weights_of
from anyprop.train.sequence_epoch import PreparedSequences
from anyprop.train.trainer import Trainer


def next_sequence_step(
    trainer: Trainer, data: Sequences, sample_weight: Any = None, batch: int = 0
) -> StepRecord:
    """Take, on a copy of ``trainer``, step ``batch`` of the next epoch on the sequences
    ``data`` (the steps before it first), and record it."""
    tr = copy_trainer(trainer)
    prepared = PreparedSequences.of(tr.network, data)
    weights = tr.sample_weights(data, sample_weight)
    tr.begin_epoch()
    batches = tr.next_batches(len(prepared))
    if isinstance(batch, bool) or not isinstance(batch, int) or not 0 <= batch < len(batches):
        raise AnypropError(
            f"explain: batch {batch!r} is out of range: the next epoch has {len(batches)} "
            f"batch{'es' if len(batches) != 1 else ''} (0 to {len(batches) - 1})"
        )

    def rows_of(rows: np.ndarray) -> tuple:
        mask = None if prepared.mask is None else prepared.mask[rows]
        w = None if weights is None else weights[rows]
        return prepared.x[rows], prepared.y[rows], w, mask

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as fit() runs
        for b in range(batch):  # the steps of the epoch before this one
            x, y, w, mask = rows_of(batches[b])
            tr.step(x, y, w, b, mask=mask)
    x, y, w, mask = rows_of(batches[batch])
    record = take_sequence_step(tr, x, y, w, mask, batch)
    record.rows, record.batches = batches[batch], len(batches)
    return record


def take_sequence_step(
    tr: Trainer, x: Any, y: Any, w: Any, mask: Any, batch: int = 0
) -> StepRecord:
    """Take one step of ``tr`` (a copy: it is changed) on a batch of sequences, and
    record everything it used and did (arrays by sequence, step, unit)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        before = {k: v.copy() for k, v in tr.network.params.items()}
        state_before = _state(tr.optimizer)
        steps_taken = tr.optimizer.steps + 1
        bp = tr.step(x, y, w, batch, mask=mask)
        # right after the step the plan still holds its pass: the loss's seeds it used
        plan = tr.network.sequence_plan()
        steps, n = x.shape[1], x.shape[0]
        m = np.ones((steps, n), plan.dtype) if mask is None else np.asarray(mask, plan.dtype).T
        ts, kept = targets_of(plan.groups, plan.loss_groups, plan.dtype, y, m, steps, n)
        seeds = sequence_loss(plan, ts, kept, weights_of(w, n, plan.dtype), tr.options)[2]
    by_step = lambda a: a.reshape(steps, n, -1).transpose(1, 0, 2).copy()  # noqa: E731
    passed = Pass(
        bp.loss,
        {k: v.copy() for k, v in bp.grads.items()},
        {k: v.copy() for k, v in bp.deltas.items()},
        {k: v.copy() for k, v in bp.outputs.items()},
        {k: v.copy() for k, v in bp.nets.items()},
        {k: (kind, by_step(v)) for k, (kind, v) in seeds.items()},
    )
    opt = tr.optimizer
    clip, norm = clipping(opt)
    return StepRecord(
        tr,
        tr.epoch + 1,
        batch,
        1,
        None,
        x,
        y,
        w,
        None,
        passed,
        before,
        {k: v.copy() for k, v in tr.network.params.items()},
        state_before,
        _state(opt),
        opt.lr,
        steps_taken,
        clip,
        norm,
        None if mask is None else np.asarray(mask),
        kept.T.copy(),
        {g: by_step(t) for g, t in ts.items()},
    )
