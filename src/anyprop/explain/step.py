"""The next step of training, taken on a copy of the trainer: what it used and what it did.

An explanation must show the step training takes, digit for digit, so it does
not compute the step itself: it runs the trainer's own :meth:`Trainer.step` on a
copy of the trainer (weights, optimizer state, settings, random generator, the
schedule's rate), on the batch the trainer would take next
(:meth:`Trainer.next_batches`), and reads off everything that step used and
did: the batch, the deltas, outputs and net inputs of the pass, the output
gradients, each weight before and after, the optimizer's state before and
after. The trainer given is left as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.data import Dataset
from anyprop.errors import AnypropError
from anyprop.nn.plan.loss import output_loss
from anyprop.train.evaluation import Prepared
from anyprop.train.trainer import Trainer


@dataclass
class Pass:
    """Copies of one pass's numbers (the plan reuses its buffers)."""

    loss: float
    grads: dict[str, np.ndarray]
    deltas: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    nets: dict[str, np.ndarray]
    #: per output group: ("out", ∂L/∂o) or ("fused", δ), as the step used them
    loss_grads: dict[str, tuple[str, np.ndarray]]

    @classmethod
    def of(cls, bp: Any, loss_grads: dict[str, tuple[str, np.ndarray]]) -> Pass:
        """Copies of a pass's numbers (``loss_grads`` already laid out as the record's)."""
        copies = lambda d: {k: v.copy() for k, v in d.items()}  # noqa: E731
        return cls(
            bp.loss, copies(bp.grads), copies(bp.deltas), copies(bp.outputs), copies(bp.nets),
            loss_grads,
        )  # fmt: skip


@dataclass
class StepRecord:
    """One step of training on a copy of the trainer (see the module's docstring)."""

    trainer: Trainer  # the copy, after the step
    epoch: int  # the epoch the step belongs to (from 1)
    batch: int  # its index in that epoch
    batches: int  # the batches in the epoch
    rows: np.ndarray | None  # the data set's rows in the batch (None: a batch given whole)
    x: np.ndarray
    y: np.ndarray  # the targets as the loss takes them (class indices one-hot)
    sample_weight: np.ndarray | None
    data: Prepared | None
    passed: Pass
    before: dict[str, np.ndarray]  # every parameter before the step
    after: dict[str, np.ndarray]
    state_before: dict[str, dict[str, np.ndarray]]  # the optimizer's, per parameter
    state_after: dict[str, dict[str, np.ndarray]]
    lr: float  # the optimizer's learning rate for the step (the schedule's, if any)
    steps: int  # the optimizer's step count t during the step (from 1)
    clip_scale: float | None  # the factor clipping applied to every gradient, if it did
    norm: float | None  # the gradients' global norm before clipping, where clipping is on
    # over sequences: the batch's mask, where the loss was taken (sequences, steps), and
    # the targets at every step as the loss took them
    mask: np.ndarray | None = None
    kept: np.ndarray | None = None
    targets: dict[str, np.ndarray] | None = None
    #: the outputs before the first step, (sequences, H, units) by group (None: zero), and
    #: whether they were a state carried in (no gradient flows into it) or learned ones
    state: dict[str, np.ndarray] | None = None
    carried: bool = False
    chunk: tuple[int, int] | None = None  # the steps of the sequences taken (truncated BPTT)


def copy_trainer(trainer: Trainer) -> Trainer:
    """A trainer that continues exactly as ``trainer`` would, on its own copy of the
    network (the state round trip a resumed run makes)."""
    network = trainer.network.astype(trainer.network.dtype)
    return Trainer.from_state(network, trainer.state_dict())


def _state(optimizer: Any) -> dict[str, dict[str, np.ndarray]]:
    return {n: {k: v.copy() for k, v in s.items()} for n, s in optimizer.state.items()}


def next_step(
    trainer: Trainer, data: Dataset | Prepared, sample_weight: Any = None, batch: int = 0
) -> StepRecord:
    """Take, on a copy of ``trainer``, step ``batch`` of the next epoch on ``data`` (the
    training data: the steps before it are taken first), and record it."""
    tr = copy_trainer(trainer)
    prepared = data if isinstance(data, Prepared) else Prepared.of(tr.network, data)
    weights = tr.sample_weights(prepared.data, sample_weight)
    tr.begin_epoch()
    batches = tr.next_batches(len(prepared))
    if isinstance(batch, bool) or not isinstance(batch, int) or not 0 <= batch < len(batches):
        raise AnypropError(
            f"explain: batch {batch!r} is out of range: the next epoch has {len(batches)} "
            f"batch{'es' if len(batches) != 1 else ''} (0 to {len(batches) - 1})"
        )

    def rows_of(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        return prepared.x[rows], prepared.y[rows], None if weights is None else weights[rows]

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as fit() runs
        for b in range(batch):  # the steps of the epoch before this one
            tr.step(*rows_of(batches[b]), b)
    record = take_step(tr, *rows_of(batches[batch]), batch=batch)
    record.rows, record.batches, record.data = batches[batch], len(batches), prepared
    return record


def take_step(tr: Trainer, x: Any, y: Any, w: np.ndarray | None, batch: int = 0) -> StepRecord:
    """Take one step of ``tr`` (a copy: it is changed) on the batch (x, y, w), and record
    everything it used and did."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        before = {k: v.copy() for k, v in tr.network.params.items()}
        state_before = _state(tr.optimizer)
        steps = tr.optimizer.steps + 1
        bp = tr.step(x, y, w, batch)
        # right after the step the plan still holds its pass: the output gradients it used
        _, _, loss_grads = output_loss(tr.network.plan(), bp.outputs, y, w, tr.options)
    passed = Pass.of(bp, {k: (kind, v.copy()) for k, (kind, v) in loss_grads.items()})
    return record_of(tr, x, y, w, passed, before, state_before, steps, batch)


def record_of(
    tr: Trainer,
    x: Any,
    y: Any,
    w: Any,
    passed: Pass,
    before: dict[str, np.ndarray],
    state_before: dict[str, dict[str, np.ndarray]],
    steps: int,
    batch: int,
    **extra: Any,
) -> StepRecord:
    """The record of the step ``tr`` has just taken on (x, y, w): the pass, the weights
    and the optimizer's state before it and after, its rate and clipping."""
    opt = tr.optimizer
    clip, norm = clipping(opt)
    after = {k: v.copy() for k, v in tr.network.params.items()}
    return StepRecord(
        tr, tr.epoch + 1, batch, 1, None, x, y, w, None, passed, before, after,
        state_before, _state(opt), opt.lr, steps, clip, norm, **extra,
    )  # fmt: skip


def clipping(opt: Any) -> tuple[float | None, float | None]:
    """(the factor clipping applied to every gradient in the last step, if it did; the
    global norm it measured, where clipping is on)."""
    norm = opt.last_norm if opt.clip_norm is not None else None
    if norm is not None and norm > opt.clip_norm > 0:
        return opt.clip_norm / (norm + 1e-12), norm
    return None, norm
