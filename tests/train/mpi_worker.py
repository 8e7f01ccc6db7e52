"""What the distributed tests run under ``mpiexec -n 2``: the command line as a user
runs it, with a fault made on one process where a test asks for one (the first argument:
``none``, ``raise``, ``kill`` or ``differ``), the rest being anyprop train's arguments."""

from __future__ import annotations

import os
import signal
import sys

from anyprop.cli.main import main
from anyprop.train import trainer as trainer_module


def _fault(kind: str, rank: int) -> None:
    if rank != 1 or kind == "none":
        return
    base = trainer_module.Trainer.step
    calls = {"n": 0}

    def step(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            if kind == "raise":
                raise RuntimeError("a fault made by the test on this process")
            if kind == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
        return base(self, *args, **kwargs)

    trainer_module.Trainer.step = step


if __name__ == "__main__":
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.Get_rank()
    kind, argv = sys.argv[1], sys.argv[2:]
    if kind == "differ" and rank == 1:
        argv = [*argv, "--seed", "99"]  # other initial weights on one process
    _fault(kind, rank)
    sys.exit(main(argv))
