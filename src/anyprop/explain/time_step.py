"""The next step of training on sequences, taken on a copy of the trainer and recorded.

As :mod:`anyprop.explain.step` does for tables: the trainer's own
:meth:`~anyprop.train.trainer.Trainer.step` runs on a copy of the trainer, on the
batch of sequences it would take next, and everything the pass through time used is
copied off the plan's buffers: every group's net input, output and δ at every step,
(sequences, steps, units); each output's ∂L/∂o(t) (or the fused δ(t)) as the loss gave
it; the targets at every step and the sample-steps the loss was taken on; and the state
before the first step (a chunk's, under truncated backpropagation through time, or the
learned initial states). The steps of the epoch are those :func:`~anyprop.train.
sequence_epoch.run_epoch` takes: a batch of sequences each, or a chunk of ``bptt`` steps.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from anyprop.data.sequences import Sequences
from anyprop.errors import AnypropError
from anyprop.explain.step import Pass, StepRecord, _state, copy_trainer, record_of
from anyprop.nn.plan.sequence_data import sequence_loss, targets_of, weights_of
from anyprop.train.sequence_epoch import (
    PreparedSequences,
    chunk_arrays,
    epoch_chunks,
    run_chunk,
)
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
    order = tr.epoch_order(len(prepared), copy.deepcopy(tr.rng))
    chunks = epoch_chunks(tr, prepared, order)
    steps = sum(c.trains for c in chunks)
    if isinstance(batch, bool) or not isinstance(batch, int) or not 0 <= batch < steps:
        raise AnypropError(
            f"explain: batch {batch!r} is out of range: the next epoch has {steps} "
            f"step{'s' if steps != 1 else ''} (0 to {steps - 1})"
        )
    plan = tr.network.sequence_plan()
    step, state = 0, None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as fit() runs
        for chunk in chunks:  # the steps of the epoch before this one, as run_epoch takes them
            state = None if chunk.start == 0 else state
            if chunk.trains and step == batch:
                break
            run_chunk(tr, prepared, chunk, weights, step, state)
            state = plan.final_state() if tr.settings.bptt else None
            step += chunk.trains
    x, y, w, mask = chunk_arrays(tr, prepared, chunk, weights)
    record = take_sequence_step(tr, x, y, w, mask, batch, state)
    record.rows, record.batches = chunk.rows, steps
    record.chunk = (chunk.start, chunk.stop) if tr.settings.bptt else None
    return record


def take_sequence_step(
    tr: Trainer, x: Any, y: Any, w: Any, mask: Any, batch: int = 0, state: Any = None
) -> StepRecord:
    """Take one step of ``tr`` (a copy: it is changed) on a batch of sequences (from
    ``state``, if given), and record everything it used and did (arrays by sequence,
    step, unit)."""
    plan = tr.network.sequence_plan()
    # the outputs before the first step the pass reads: the state given, else the
    # learned initial states (None: zero)
    start = state if state is not None else plan.initial_state(len(x))
    start = None if start is None else {g: np.array(v) for g, v in start.items()}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        before = {k: v.copy() for k, v in tr.network.params.items()}
        state_before = _state(tr.optimizer)
        steps_taken = tr.optimizer.steps + 1
        bp = tr.step(x, y, w, batch, mask=mask, state=state)
        # right after the step the plan still holds its pass: the loss's seeds it used
        steps, n = x.shape[1], x.shape[0]
        m = np.ones((steps, n), plan.dtype) if mask is None else np.asarray(mask, plan.dtype).T
        ts, kept = targets_of(plan.groups, plan.loss_groups, plan.dtype, y, m, steps, n)
        seeds = sequence_loss(plan, ts, kept, weights_of(w, n, plan.dtype), tr.options)[2]
    by_step = lambda a: a.reshape(steps, n, -1).transpose(1, 0, 2).copy()  # noqa: E731
    passed = Pass.of(bp, {k: (kind, by_step(v)) for k, (kind, v) in seeds.items()})
    return record_of(
        tr, x, y, w, passed, before, state_before, steps_taken, batch,
        mask=None if mask is None else np.asarray(mask), kept=kept.T.copy(),
        targets={g: by_step(t) for g, t in ts.items()}, state=start, carried=state is not None,
    )  # fmt: skip
