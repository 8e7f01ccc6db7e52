"""Several runs from consecutive seeds: epochs to success, as the classic papers report.

Rumelhart, Hinton and Williams (1986) and Fahlman (1988) give, for a problem such
as XOR or the 8-3-8 encoder, the epochs a network takes until every output is
within the margin of its target, over many random starts, and how many starts
failed, and how both change with the learning rate and the momentum (their
figures of epochs against η and α). ``anyprop train --seeds N`` runs
:func:`run_seeds`; ``--sweep NAME VALUE...`` (repeated for a grid) runs
:func:`run_sweep`: the same seeds at every point of the grid.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.train import stacked
from anyprop.train.job import TrainJob, finish, start
from anyprop.train.settings import TrainSettings

#: the most runs one --seeds asks for (the classic papers report tens to a hundred), and
#: the most a whole sweep makes (its points × its seeds)
MAX_SEEDS = 10_000

#: the job's own options a sweep may vary (beside every training setting: batch size,
#: margin, loss...); the data, the seed and where things are written stay as given
SWEEPABLE = (
    "spec",
    "hidden",
    "transfer",
    "epochs",
    "optimizer",
    "lr",
    "momentum",
    "rule",
    "weight_decay",
    "clip_norm",
    "schedule",
    "dtype",
    "recipe",
    "task",
    "validation_split",
    "standardize",
    "standardize_targets",
    "early_stopping",
    "min_delta",
    "target_loss",
)


@dataclass
class SeedsResult:
    """Epochs to success over several seeds, as the classic papers report them."""

    epochs: list[int]
    failures: int
    runs: int
    max_epochs: int = 0  # the epochs each run had at most (the job's, as filled)
    #: how many of the runs were trained together, stacked (train/stacked.py)
    together: int = 0
    #: why the others ran one at a time ("" when none did)
    alone_because: str = ""

    def stats(self) -> dict[str, Any]:
        e = np.array(self.epochs, dtype=float)
        out = {
            "runs": self.runs,
            "solved": len(self.epochs),
            "failures": self.failures,
            "max_epochs": self.max_epochs,
            "together": self.together,
        }
        if self.alone_because:
            out["alone_because"] = self.alone_because
        if e.size:
            out.update(
                min=int(e.min()),
                max=int(e.max()),
                mean=float(e.mean()),
                std=float(e.std(ddof=1)) if e.size > 1 else 0.0,
                median=float(np.median(e)),
            )
        return out


def run_seeds(
    job: TrainJob,
    seeds: int,
    progress: Callable[[int, int | None], None] | None = None,
    together: bool = True,
) -> SeedsResult:
    """Train from ``seeds`` different seeds (job.seed, job.seed + 1, ...), stopping each
    run when solved; a run that is not solved within ``job.epochs`` counts as a failure
    (a restart, in Fahlman's terms). The runs are trained together, stacked along a
    leading axis (:mod:`anyprop.train.stacked`), where they can be, each with its own
    solo run's numbers; ``together=False`` runs them one at a time. A ``distributed``
    job spreads the runs over the processes of the MPI run (process r trains seeds r,
    r + P, ...), and every process gets the whole result; ``progress`` is then called
    on each, after the runs, in the order of the seeds."""
    each = None if progress is None else (lambda _point, k, solved: progress(k, solved))
    return run_sweep(job, seeds, {}, each, together)[0][1]


def sweep_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every point of the grid, the first name's values slowest: ``{"lr": [0.1, 0.5],
    "momentum": [0, 0.9]}`` gives (0.1, 0), (0.1, 0.9), (0.5, 0), (0.5, 0.9). An empty
    grid is one point: the job as given."""
    names = list(grid)
    settings = {f.name for f in dataclasses.fields(TrainSettings)}
    for name in names:
        if name == "seed":
            raise AnypropError(
                "--sweep seed: the seeds of every point are --seed (the first) and --seeds "
                "(how many)"
            )
        if name not in SWEEPABLE and name not in settings:
            raise AnypropError(
                f"--sweep {name}: not an option a sweep can vary; it varies "
                f"{', '.join(SWEEPABLE)} or a training setting (batch_size, margin, ...)"
            )
        values = list(grid[name])
        if not values:
            raise AnypropError(f"--sweep {name}: give at least one value")
        if name == "spec":  # a missing spec found now, not after the other points' runs
            for v in values:
                if isinstance(v, str) and not os.path.isfile(v):
                    raise AnypropError(f"--sweep spec {v}: no such file")
    return [dict(zip(names, vs, strict=True)) for vs in itertools.product(*grid.values())]


def _count(grid: Mapping[str, Sequence[Any]]) -> int:
    """The points of the grid, counted without making them."""
    return math.prod(len(list(v)) for v in grid.values())


def check_point(job: TrainJob) -> None:
    """What a point's job would find wrong at its first epoch, found now: its numbers
    (epochs among them), its schedule and its optimizer (made for a one-weight network)."""
    from anyprop.nn import Network
    from anyprop.optim import make as make_optimizer
    from anyprop.optim.schedules import make as make_schedule
    from anyprop.train.job import _check_numbers, _optimizer_options

    job.given_settings()
    _check_numbers(job)
    tiny = Network(seed=0)
    tiny.add_input("x", 1)
    tiny.add_output("y", 1, loss="mse")
    tiny.connect("x", "y")
    name = "formula" if job.rule is not None else job.optimizer
    optimizer = make_optimizer(name or "sgd", tiny, **_optimizer_options(job))
    if job.schedule is not None:
        make_schedule(job.schedule, optimizer.lr)


def with_options(job: TrainJob, point: Mapping[str, Any]) -> TrainJob:
    """The job with the point's options in place of its own (a training setting goes
    into its settings; a spec replaces the embedded default's spec text)."""
    fields = {k: v for k, v in point.items() if k in SWEEPABLE}
    given = {k: v for k, v in point.items() if k not in SWEEPABLE}
    if "spec" in fields:
        fields["spec_text"] = None
    if given:
        settings = job.settings
        fields["settings"] = (
            dataclasses.replace(settings, **given)
            if isinstance(settings, TrainSettings)
            else {**settings, **given}
        )
    return dataclasses.replace(job, **fields)


def run_sweep(
    job: TrainJob,
    seeds: int,
    grid: Mapping[str, Sequence[Any]],
    progress: Callable[[dict[str, Any], int, int | None], None] | None = None,
    together: bool = True,
) -> list[tuple[dict[str, Any], SeedsResult]]:
    """:func:`run_seeds` at every point of ``grid`` (option name → values, see
    :func:`sweep_points`): the same seeds at each, so that the points differ by their
    options alone. A ``distributed`` job spreads all the runs (every point's seeds) over
    the processes, round robin, and every process gets the whole result; ``progress(point,
    k, solved)`` is called for each run, in the order of the points and their seeds (on a
    distributed job, after all the runs). ``together``: as for :func:`run_seeds`."""
    if not 1 <= seeds <= MAX_SEEDS:
        raise AnypropError(f"--seeds must be between 1 and {MAX_SEEDS}, got {seeds}")
    if job.shard_data or job.shard_rows:
        raise AnypropError(
            "--seeds and --sweep spread whole runs over the processes, each on all the data; "
            "a data file for each process or --shard-rows is for one run shared out"
        )
    count = _count(grid)
    if count * seeds > MAX_SEEDS:
        raise AnypropError(
            f"--sweep makes {count} points × {seeds} seeds = {count * seeds} runs; "
            f"at most {MAX_SEEDS} are allowed"
        )
    if {"hidden", "transfer"} & set(grid) and (
        job.spec is not None or job.spec_text is not None or job.network is not None
    ):
        name = "hidden" if "hidden" in grid else "transfer"
        raise AnypropError(
            f"--sweep {name}: the spec gives the network; {name} shapes a network made for "
            "the data (sweep spec over spec files instead)"
        )
    points = sweep_points(grid)
    for point in points:
        try:  # every point checked before the data are read and the first run starts
            check_point(with_options(job, point))
        except AnypropError as e:
            raise AnypropError(f"--sweep {_at(point)}: {e}") from None
    job = _read_once(job)
    jobs = [with_options(job, p) for p in points]
    runs = [(i, k) for i in range(len(points)) for k in range(seeds)]
    if job.distributed:
        from anyprop.train.distributed import mpi

        comm = mpi().COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
        mine = runs[rank::size]
    else:
        mine = runs
    done: list[tuple] = []  # (point, k, solved epoch or None, epochs at most, together)
    whys: dict[int, str] = {}
    for i, point in enumerate(points):
        ks = [k for p, k in mine if p == i]
        if not ks:
            continue
        one = dataclasses.replace(jobs[i], distributed=False)
        ran, whys[i] = _run_many(one, ks, point, together)
        done += [(i, *r) for r in ran]
        if progress is not None and not job.distributed:
            for _, k, solved, *_ in done[-len(ran) :]:
                progress(point, k, solved)
    if job.distributed:
        parts = comm.allgather((done, whys))
        done = sorted(r for part, _ in parts for r in part)
        whys = {}
        for _, ws in parts:  # a reason of the runs' own before "a single run" on a process
            for i, w in ws.items():
                if w and whys.get(i) in (None, "a single run"):
                    whys[i] = w
    else:
        progress = None
    out = []
    for i, point in enumerate(points):
        mine_i = [d for d in done if d[0] == i]
        epochs = [int(d[2]) for d in mine_i if d[2] is not None]
        if progress is not None:
            for _, k, solved, *_ in mine_i:
                progress(point, k, solved)
        most = max((d[3] for d in mine_i), default=0)
        stacked = sum(1 for d in mine_i if d[4])
        why = whys.get(i, "") if stacked < seeds else ""
        out.append((point, SeedsResult(epochs, seeds - len(epochs), seeds, most, stacked, why)))
    return out


def _read_once(job: TrainJob) -> TrainJob:
    """The job with its data file or named data set read (once for all its runs, not
    once each)."""
    if job.resume or job.start is not None or not isinstance(job.data, (str, os.PathLike)):
        return job
    from anyprop.train.sources import load_data

    if not os.path.exists(job.data) and job.target is not None:  # (start says what is wrong)
        return job
    return dataclasses.replace(
        job, data=load_data(job.data, job.target, missing=job.impute is not None)
    )


def _parsed_once(job: TrainJob, point: Mapping[str, Any] | None) -> TrainJob:
    """The job with its spec file read into a network (once for all its runs: each run
    copies it and draws its weights from its own seed, as ``reseed`` does)."""
    if job.spec is None or job.spec_text is not None or job.network is not None:
        return job
    from anyprop.nn.spec import read

    try:
        network = read.load(job.spec)
    except AnypropError as e:
        raise _named(point, e) from None
    return dataclasses.replace(job, network=network, spec=None)


def _at(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in point.items())


def _seed_job(job: TrainJob, k: int) -> TrainJob:
    """The job of run k: from seed job.seed + k, stopped when solved, writing nothing."""
    return dataclasses.replace(
        job,
        seed=job.seed + k,
        stop_when_solved=True,
        out=None,
        resume=None,
        reseed=True,
        extra_callbacks=[],
    )


def _named(point: Mapping[str, Any] | None, e: AnypropError) -> AnypropError:
    return e if not point else AnypropError(f"--sweep {_at(point)}: {e}")


def _run_many(
    job: TrainJob, ks: list[int], point: Mapping[str, Any] | None, together: bool
) -> tuple[list[tuple[int, int | None, int, bool]], str]:
    """((k, solved epoch or None, epochs at most, trained together) for each run k in
    ``ks``, why any ran alone): trained together in stacks where they can be
    (:func:`anyprop.train.stacked.unstackable`), the others one at a time."""
    if not together:
        return [(*_run_one(job, k, point), False) for k in ks], "together=False"
    if len(ks) < 2:
        return [(*_run_one(job, k, point), False) for k in ks], "a single run"
    job = _parsed_once(job, point)
    done: list[tuple[int, int | None, int, bool]] = []
    at = 0
    size = 0
    while at < len(ks):
        first = _started(job, ks[at], point)
        reason = _unstackable([first])
        if reason is not None:  # (the first says it for all: no others started)
            done.append((*_finished(first, ks[at], point), False))
            done += [(*_run_one(job, k, point), False) for k in ks[at + 1 :]]
            return done, reason
        size = size or stacked.stack_size(first.trainer, len(first.train))
        chunk = ks[at : at + size]
        runs = [first] + [_started(job, k, point) for k in chunk[1:]]
        reason = _unstackable(runs)
        outcomes = None
        if reason is None:
            s0 = runs[0]
            try:
                outcomes = stacked.train_together(
                    [r.trainer for r in runs],
                    s0.train,
                    s0.job.epochs,
                    s0.job.target_loss,
                    s0.job.stop_when_solved,
                )
            except stacked.Diverged:  # alone, the run that diverges says where
                reason = "a run's step went non-finite"
            except AnypropError as e:
                raise _named(point, e) from None
        if outcomes is None:
            return done + [(*_run_one(job, k, point), False) for k in ks[at:]], reason or ""
        done += [
            (k, o.solved_epoch, r.job.epochs, True)
            for k, o, r in zip(chunk, outcomes, runs, strict=True)
        ]
        at += len(chunk)
    return done, ""


def _started(job: TrainJob, k: int, point: Mapping[str, Any] | None) -> Any:
    """Run k up to its first epoch (:func:`anyprop.train.job.start`); an error names the
    point."""
    try:
        return start(_seed_job(job, k))
    except AnypropError as e:
        raise _named(point, e) from None


def _finished(started: Any, k: int, point: Mapping[str, Any] | None) -> tuple[int, int | None, int]:
    """(k, the epoch run k was solved at or None, its epochs at most): run k, started,
    fitted as it is alone; an error names the point."""
    try:
        result = finish(started)
    except AnypropError as e:
        raise _named(point, e) from None
    solved = result.history.solved_epoch
    return k, None if solved is None else int(solved), result.job.epochs


def _unstackable(runs: list[Any]) -> str | None:
    """Why these started runs cannot train together (None: they can)."""
    s0 = runs[0]
    why = stacked.unstackable([r.trainer for r in runs], s0.train, s0.val, s0.train.weights)
    if why is not None:
        return why
    if len(runs) > 1 and any(
        r.train is not s0.train
        and not (np.array_equal(r.train.x, s0.train.x) and np.array_equal(r.train.y, s0.train.y))
        for r in runs[1:]
    ):
        return "each run trains on its own part of the data"
    if any(r.job.epochs != s0.job.epochs for r in runs):
        return "the runs' epochs differ"
    return None


def _run_one(
    job: TrainJob, k: int, point: Mapping[str, Any] | None = None
) -> tuple[int, int | None, int]:
    """Run k alone: the job from seed job.seed + k, stopped when solved, writing nothing
    (as :func:`_finished` says it)."""
    return _finished(_started(job, k, point), k, point)
