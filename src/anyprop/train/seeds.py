"""Several runs from consecutive seeds: epochs to success, as the classic papers report.

Rumelhart, Hinton and Williams (1986) and Fahlman (1988) give, for a problem such
as XOR or the 8-3-8 encoder, the epochs a network takes until every output is
within the margin of its target, over many random starts, and how many starts
failed. ``anyprop train --seeds N`` runs :func:`run_seeds`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.train.job import TrainJob, run

#: the most runs one --seeds asks for (the classic papers report tens to a hundred)
MAX_SEEDS = 10_000


@dataclass
class SeedsResult:
    """Epochs to success over several seeds, as the classic papers report them."""

    epochs: list[int]
    failures: int
    runs: int
    max_epochs: int = 0  # the epochs each run had at most (the job's, as filled)

    def stats(self) -> dict[str, Any]:
        e = np.array(self.epochs, dtype=float)
        out = {
            "runs": self.runs,
            "solved": len(self.epochs),
            "failures": self.failures,
            "max_epochs": self.max_epochs,
        }
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
    job: TrainJob, seeds: int, progress: Callable[[int, int | None], None] | None = None
) -> SeedsResult:
    """Train from ``seeds`` different seeds (job.seed, job.seed + 1, ...), stopping each
    run when solved; a run that is not solved within ``job.epochs`` counts as a failure
    (a restart, in Fahlman's terms). A ``distributed`` job spreads the runs over the
    processes of the MPI run (process r trains seeds r, r + P, ...; each run on one
    process), and every process gets the whole result; ``progress`` is then called on
    each, after the runs, in the order of the seeds."""
    if not 1 <= seeds <= MAX_SEEDS:
        raise AnypropError(f"--seeds must be between 1 and {MAX_SEEDS}, got {seeds}")
    if job.distributed:
        from anyprop.train.distributed import mpi

        comm = mpi().COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
        mine = _runs(dataclasses.replace(job, distributed=False), range(rank, seeds, size))
        done = sorted(r for part in comm.allgather(mine) for r in part)
    else:
        done = _runs(job, range(seeds), progress)
        progress = None
    epochs, failures = [], 0
    most = max((m for _, _, m in done), default=0)
    for k, solved, _ in done:
        if solved is None:
            failures += 1
        else:
            epochs.append(int(solved))
        if progress is not None:
            progress(k, solved)
    return SeedsResult(epochs, failures, seeds, most)


def _runs(
    job: TrainJob, ks: Any, progress: Callable[[int, int | None], None] | None = None
) -> list[tuple[int, int | None, int]]:
    """(k, the epoch run k was solved at or None, its epochs at most) for the runs ks."""
    out = []
    for k in ks:
        one = dataclasses.replace(
            job,
            seed=job.seed + k,
            stop_when_solved=True,
            out=None,
            resume=None,
            reseed=True,
            extra_callbacks=[],
        )
        result = run(one)
        solved = result.history.solved_epoch
        out.append((k, None if solved is None else int(solved), result.job.epochs))
        if progress is not None:
            progress(k, solved)
    return out
