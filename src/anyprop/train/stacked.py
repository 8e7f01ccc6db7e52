"""Several runs of one network shape trained together, stacked along a leading axis.

The classic papers report epochs to success over many random starts (a hundred
seeds of XOR, say). Each start is a small network whose step costs NumPy's
per-call overhead many times over; stacked, the S networks take each step as one
(:class:`anyprop.nn.plan.stacked.StackedPlan`): S batches gathered in each run's
own order, one stacked product per connection, the loss and the deltas row by
row, and one elementwise update over an (S, P) array of their flat weights.

Each run is that of its own :class:`~anyprop.train.trainer.Trainer`: its epochs'
orders are drawn from its own generator, its weights start as its network's, and
it stops when its own rule says so (solved, or its loss at the target), when it
leaves the stack. The numbers are those of its pass alone with the NumPy plan
(the same BLAS product for each pair, the same row-wise functions, the same
elementwise rule), and where ``target_loss`` is given, each run's loss is computed
by the same calls on its own rows, so it stops where its run alone stops.
:func:`unstackable` says which runs can be stacked;
the others run one at a time (:mod:`anyprop.train.seeds` decides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.data.sequences import Sequences
from anyprop.errors import AnypropError
from anyprop.nn.plan import stacked as stacked_plan
from anyprop.nn.plan.results import Options
from anyprop.optim import make as make_optimizer
from anyprop.optim.schedules import Schedule
from anyprop.train.callbacks import TargetLoss
from anyprop.train.evaluation import Prepared
from anyprop.train.trainer import Trainer

#: the most bytes one stack's data copies, activations and weights take; more runs
#: than fit are trained as several stacks, one after another
STACK_BYTES = 256 * 2**20


class Diverged(Exception):
    """A stacked step went non-finite: the runs are to be done one at a time, where the
    one that diverges says where (the step's own message)."""


@dataclass
class Outcome:
    """How one stacked run ended, as its trainer would have recorded it."""

    epochs: int  # epochs run
    solved_epoch: int | None  # the first epoch with every output within the margin
    stop_reason: str
    loss: float | None  # the last epoch's training loss (None: not computed)


def _config(trainer: Trainer) -> tuple:
    opt = trainer.optimizer
    sched = None if trainer.schedule is None else trainer.schedule.config()
    return type(trainer), trainer.settings, opt.config(), sched


def unstackable(trainers: list[Trainer], train: Any, val: Any, weights: Any) -> str | None:
    """Why these trainers cannot train together on ``train`` (None: they can)."""
    first = trainers[0]
    if isinstance(train, Sequences):
        return "the data are sequences"
    if val is not None:
        return "each run has a validation part of its own"
    if weights is not None:
        return "the samples are weighted"
    if any(type(t) is not Trainer for t in trainers):
        return "the runs are data-parallel"
    if any(t.callbacks for t in trainers):
        return "the runs have callbacks (early stopping, reports, checkpoints)"
    if any(t.epoch for t in trainers):
        return "a run is resumed"
    if first.settings.options != Options(reduction=first.settings.options.reduction):
        return "prime_offset or atanh_error changes the deltas"
    opt = first.optimizer
    if opt.clip_norm is not None or opt.lr_scale:
        return "clip_norm and lr_scale are per run"
    if not type(opt).elementwise:
        return f"optimizer '{opt.name}' is not elementwise"
    if first.schedule is not None and type(first.schedule).observe is not Schedule.observe:
        return "the schedule watches each run's loss"
    if first.settings.class_weight:
        return "the classes are weighted"
    if first.engine.mode == "always":
        return "compile='always' asks for each run's compiled step"
    config = _config(first)
    if any(_config(t) != config for t in trainers[1:]):
        return "the runs' options differ"
    return stacked_plan.unstackable([t.network.plan() for t in trainers])


def stack_size(trainer: Trainer, rows: int) -> int:
    """How many runs like ``trainer``'s, on ``rows`` samples, one stack holds (at least 1)."""
    net = trainer.network
    params = sum(p.size for p in net.params.values())
    units = sum(g.size for g in net.groups.values())
    batch = min(trainer.settings.batch_size or rows, rows)
    cells = 6 * params + 4 * units * batch + 2 * rows * (net.input_width + net.target_width)
    return max(1, STACK_BYTES // max(1, cells * np.dtype(net.dtype).itemsize))


def train_together(
    trainers: list[Trainer],
    data: Any,
    epochs: int,
    target_loss: float | None = None,
    stop_when_solved: bool = False,
) -> list[Outcome]:
    """Train every trainer's network for up to ``epochs`` epochs on ``data``, together
    (see the module's docstring; :func:`unstackable` must have found nothing). Each
    network ends with its weights as its run left them and each trainer with its epoch
    count and the history's solved epoch and stop reason (not its epochs' figures, nor
    its optimizer's state); raises :class:`Diverged` when a step goes non-finite."""
    first = trainers[0]
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise AnypropError(f"epochs must be a whole number >= 0, got {epochs!r}")
    if target_loss is not None:
        TargetLoss(target_loss)  # (refused as fit refuses it)
    if not isinstance(data, Prepared):
        data = Prepared.of(first.network, data)
    first.check_table_run(len(data), 0)  # what fit refuses before a step, refused alike
    settings = first.settings
    options = settings.options
    stack = stacked_plan.StackedPlan([t.network.plan() for t in trainers])
    config = first.optimizer.config()
    holder = {"(stacked)": stack.weights}  # the optimizer updates the (S, P) weights
    optimizer = make_optimizer(config.pop("name"), holder, **config)
    schedule = first.schedule
    n = len(data)
    size = settings.batch_size or n
    x_all, y_all = data.x, data.y
    summed = settings.loss_reduction == "sum"
    values = target_loss is not None  # each run's loss, only where a rule reads it
    regression = data.data.task != "classification"
    margin = settings.margin
    active = list(range(len(trainers)))
    outcomes: list[Outcome | None] = [None] * len(trainers)
    solved_at = np.zeros(len(trainers), np.int64)  # 0: not solved yet
    base = np.arange(n)
    epoch = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while epoch < epochs and active:
            if schedule is not None:
                optimizer.lr = schedule.lr(epoch)
            # each run's order from its own generator, as its solo epoch draws it
            # (Generator.permutation(n) is a shuffle of 0..n−1: the same draws, done in
            # place, without an array made per run)
            orders = np.empty((len(active), n), np.intp)
            orders[:] = base
            if settings.shuffle:
                for k, row in zip(active, orders, strict=True):
                    trainers[k].rng.shuffle(row)
            xs, ys = x_all[orders], y_all[orders]  # (S, n, columns): batches are slices
            seen = np.empty(ys.shape, stack.dtype)
            loss_sum = np.zeros(len(active)) if values else None
            for start in range(0, n, size):
                part = slice(start, min(start + size, n))
                outs = stack.forward(xs[:, part])
                total, grads, every = stack.loss(outs, ys[:, part], options, values)
                deltas = stack.backward(outs, grads)
                if not math.isfinite(every + _check_sum(stack, deltas)):
                    raise Diverged
                optimizer.step({"(stacked)": stack.grads})
                seen[:, part] = stack.gather(outs)
                if loss_sum is not None:
                    loss_sum += total if summed else total * (part.stop - part.start)
            epoch += 1
            # the epoch's ends, for every run at once: the first epoch solved, and the
            # stop rules in the trainer's order (where both stop a run, the later names it)
            at = np.array(active, dtype=np.intp)
            if regression:
                solved = np.abs(seen - ys).max(axis=(1, 2)) <= margin
                solved_at[at[solved & (solved_at[at] == 0)]] = epoch
            by_solved = (solved_at[at] > 0) & stop_when_solved
            loss = None if loss_sum is None else loss_sum / (1.0 if summed else n)
            by_loss = np.zeros(len(at), bool) if loss is None else loss <= target_loss
            leaving = np.flatnonzero(by_solved | by_loss | (epoch == epochs))
            for i in leaving:
                k = active[i]
                if by_loss[i]:
                    reason = f"target loss {target_loss:g} reached"
                elif by_solved[i]:
                    reason = f"solved: every output within {margin} of its target"
                else:
                    reason = f"{epoch} epochs done"
                value = None if loss is None else float(loss[i])
                outcomes[k] = Outcome(epoch, int(solved_at[k]) or None, reason, value)
            if leaving.size:
                _leave(stack, optimizer, holder, active, leaving.tolist(), trainers)
    for k, t in enumerate(trainers):  # (epochs = 0: nothing run)
        out = outcomes[k] or Outcome(0, None, "0 epochs done", None)
        outcomes[k] = out
        t.epoch = out.epochs
        t.history.solved_epoch = out.solved_epoch
        t.history.stop_reason = t.stop_reason = out.stop_reason
    return outcomes  # type: ignore[return-value]


def _check_sum(stack: Any, deltas: dict[str, np.ndarray]) -> float:
    """A sum that is non-finite when any run's delta is, as the trainer's own check
    (:func:`anyprop.train.divergence.delta_sum`) for each run: every gradient of a small
    network, else each group's bias gradients, or its deltas where it has no bias."""
    if stack.grads.shape[1] <= 65536:
        return float(np.add.reduce(stack.grads, axis=None))
    total = 0.0
    for step in stack.plan.steps:
        a = stack.grad_views[step.bias] if step.bias is not None else deltas[step.name]
        total += float(np.add.reduce(a, axis=None))
    return total


def _leave(
    stack: Any,
    optimizer: Any,
    holder: dict[str, np.ndarray],
    active: list[int],
    leaving: list[int],
    trainers: list[Trainer],
) -> None:
    """The runs at positions ``leaving`` of the stack leave it: their weights go back to
    their networks, and the stack, the optimizer's state and ``active`` keep the rest."""
    stack.write_back(leaving)
    gone = set(leaving)
    rows = np.array([i for i in range(len(active)) if i not in gone], dtype=np.intp)
    active[:] = [active[i] for i in rows]
    if not active:
        return
    stack.keep(rows)
    holder["(stacked)"] = stack.weights
    for name in optimizer.state:
        optimizer.state[name] = {k: v[rows] for k, v in optimizer.state[name].items()}
