"""Training on sequences: an epoch of backpropagation through time over whole sequences,
in batches of sequences, through the trainer's own step (the same optimizers, callbacks,
divergence checks and state), and the evaluation of a network on sequences.

Each step is one pass of the plan over sequences (:class:`~anyprop.nn.plan.recurrent.
SequencePlan`): L is the mean of the loss over the batch's kept sample-steps (each
sequence's last kept step for last-step targets). The epoch's figures (loss, metrics)
are those of the outputs at the sample-steps the loss was taken on.

Truncated backpropagation through time (``bptt = K``): each batch of sequences is cut
into chunks of K steps, taken in order; each chunk with a loss at some kept step is
one step of the rule (its loss the mean over its own kept sample-steps), a chunk
without one is run forward only, and the state the chunk leaves (each group's outputs
at its last steps) is the next chunk's state before its first step, with no gradient
flowing back into it. A new batch of sequences starts from the initial state again
(zero, or the learned one), so nothing is carried from one batch, or epoch, to the next.
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
    _by_step: tuple[np.ndarray, np.ndarray] | None = None

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

    def by_step(self) -> tuple[np.ndarray, np.ndarray]:
        """(targets at every step, where the loss is taken): last-step targets placed at
        each sequence's last kept step, for cutting the sequences into chunks."""
        if self._by_step is None:
            n, steps = self.x.shape[:2]
            m = np.ones((n, steps)) if self.mask is None else np.asarray(self.mask, np.float64)
            if self.data.per_step:
                self._by_step = (self.y, m)
            else:
                ends = steps - 1 - np.argmax(m[:, ::-1] != 0, axis=1)
                y = np.zeros((n, steps, self.y.shape[1]), self.y.dtype)
                y[np.arange(n), ends] = self.y
                taken = np.zeros((n, steps))
                taken[np.arange(n), ends] = m[np.arange(n), ends]
                self._by_step = (y, taken)
        return self._by_step

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
    steps = min(trainer.settings.bptt or data.steps, data.steps)
    cells = 6 * params + 4 * units * max(steps * batch, data.steps * val_rows) + 3 * data.x.size
    what = f"training this network on sequences of {data.steps:,} steps, batches of {batch:,}"
    check_bytes(cells * np.dtype(net.dtype).itemsize, what)


@dataclass
class Chunk:
    """Steps ``start`` … ``stop − 1`` of the sequences ``rows``: one step of the rule when
    it ``trains`` (a loss at some kept step), else run forward only."""

    rows: np.ndarray
    start: int
    stop: int
    trains: bool
    batch: int  # the batch of sequences it belongs to


def epoch_chunks(trainer: Any, data: PreparedSequences, order: np.ndarray) -> list[Chunk]:
    """The chunks of an epoch in the order the steps take them: per batch of sequences
    (in ``order``), its chunks of ``bptt`` steps (one chunk: whole sequences)."""
    settings = trainer.settings
    n, steps = data.x.shape[:2]
    size = trainer.batch_rows(settings.batch_size or n, n)
    k = settings.bptt or steps
    taken = data.by_step()[1] if settings.bptt else None
    out = []
    for b, start in enumerate(trainer.batch_starts(n, size)):
        lo, hi = trainer.shard(start, min(start + size, n))
        rows, whole = order[lo:hi], order[start : start + size]
        for a in range(0, steps, k):
            z = min(a + k, steps)
            # (whether the whole batch, over every process, has a loss in the chunk)
            trains = taken is None or bool(taken[whole, a:z].any())
            out.append(Chunk(rows, a, z, trains, b))
    return out


def run_chunk(
    trainer: Any, data: PreparedSequences, chunk: Chunk, weights: Any, step: int, state: Any
) -> Any:
    """Take a chunk: a step of the trainer's rule (returning its Backprop) or, without a
    loss, a forward pass only (None); the state it leaves is the plan's final_state()."""
    if not chunk.trains:
        x = data.x[chunk.rows, chunk.start : chunk.stop]
        trainer.network.sequence_plan().forward(x, state)
        return None
    x, y, w, mask = chunk_arrays(trainer, data, chunk, weights)
    return trainer.step(x, y, w, step, mask=mask, state=state)


def chunk_arrays(trainer: Any, data: PreparedSequences, chunk: Chunk, weights: Any) -> tuple:
    """(inputs, targets, sequence weights, mask) of a chunk's step: its steps of the
    targets at every step under truncation, else the sequences' own targets and mask."""
    rows, a, z = chunk.rows, chunk.start, chunk.stop
    w = None if weights is None else weights[rows]
    if trainer.settings.bptt:
        y_all, taken = data.by_step()
        y, mask = y_all[rows, a:z], taken[rows, a:z]
    else:
        y, mask = data.y[rows], None if data.mask is None else data.mask[rows]
    return data.x[rows, a:z], y, w, mask


def run_epoch(trainer: Any, data: PreparedSequences, weights: np.ndarray | None) -> dict:
    """One pass over the sequences in batches, one step of the rule each (BPTT over the
    batch's whole sequences, or over each chunk of ``bptt`` steps); returns the epoch's
    figures."""
    settings = trainer.settings
    summed = settings.loss_reduction == "sum"
    loss_sum, weight_sum = 0.0, 0.0
    seen, wanted = [], []
    primary = trainer.network.primary_output
    plan = trainer.network.sequence_plan()
    step, state = 0, None
    for chunk in epoch_chunks(trainer, data, trainer.epoch_order(len(data))):
        state = None if chunk.start == 0 else state  # a new batch: the initial state
        bp = run_chunk(trainer, data, chunk, weights, step, state)
        if settings.bptt:  # the state the chunk left its sequences
            state = plan.final_state() if bp is None else bp.state
        if bp is None:
            continue
        kept = bp.mask
        if np.any(kept):  # (a process whose part of the batch has no loss adds nothing)
            seen.append(bp.outputs[primary][kept != 0])  # (a copy: the buffers are reused)
            if settings.bptt:
                wanted.append(data.by_step()[0][chunk.rows, chunk.start : chunk.stop][kept != 0])
            else:
                wanted.append(data.kept_targets(kept, chunk.rows))
        if summed:
            loss_sum += bp.loss
            weight_sum = 1.0
        else:  # a batch's mean is over its kept steps: weight it by them
            k = float((kept != 0).sum())
            loss_sum += bp.loss * k
            weight_sum += k
        for cb in trainer.callbacks:
            cb.on_batch_end(trainer, step, bp)
        step += 1
    width = (data.y.shape[-1],) if data.y.ndim > 1 else ()
    outputs = np.concatenate(seen) if seen else np.zeros((0, trainer.network.target_width))
    targets = np.concatenate(wanted) if wanted else np.zeros((0, *width), data.y.dtype)
    loss_sum, weight_sum, outputs, targets = trainer.combine(loss_sum, weight_sum, outputs, targets)
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
