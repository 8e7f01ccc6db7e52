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
    (a restart, in Fahlman's terms)."""
    if not 1 <= seeds <= MAX_SEEDS:
        raise AnypropError(f"--seeds must be between 1 and {MAX_SEEDS}, got {seeds}")
    epochs, failures, most = [], 0, 0
    for k in range(seeds):
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
        most = result.job.epochs
        solved = result.history.solved_epoch
        if solved is None:
            failures += 1
        else:
            epochs.append(int(solved))
        if progress is not None:
            progress(k, solved)
    return SeedsResult(epochs, failures, seeds, most)
