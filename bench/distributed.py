"""Data-parallel training over MPI: W3 (784-300-10 relu, 128 rows a process a step) and
W4 (784-1024-1024-10 relu, 512 rows) on 1 and 2 processes (``mpiexec -n P``, one BLAS
thread each), float32, random inputs: samples per second, ms per step, the time a step
spends in the gradients' Allreduce and the bytes it sends. Each process takes the same
rows a step, so 2 processes do twice the work a step; on this machine's 2 cores they
share the cores one process's BLAS threads had, so no speed-up is expected: the figures
are for the cost of the communication. Runs alternate between 1 and 2 processes;
medians over the rounds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

WORKLOADS = {"W3": ([784, 300, 10], 128), "W4": ([784, 1024, 1024, 10], 512)}


def _worker(name: str, steps: int) -> None:
    """One process of a run: ``steps`` steps of W3 or W4; process 0 prints the figures."""
    from anyprop import Network
    from anyprop.data import Dataset
    from anyprop.train.distributed import DistributedTrainer, mpi
    from anyprop.train.evaluation import Prepared

    comm = mpi().COMM_WORLD
    sizes, batch = WORKLOADS[name]
    size = comm.Get_size()
    n = steps * batch * size
    rng = np.random.default_rng(0)
    x = rng.random((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], n)
    data = Dataset(x, y, name, task="classification", labels=[str(k) for k in range(10)])
    net = Network.layered(
        sizes, transfer="relu", output_transfer="softmax", loss="cross_entropy", seed=0
    )
    tr = DistributedTrainer(net, "sgd", lr=0.01, batch_size=batch, seed=0, check_every=0)
    prepared = Prepared.of(net, data)
    tr.run_epoch(prepared, None)  # warm: the plan's buffers, the first Allreduce
    tr.allreduce_seconds, tr.allreduce_calls = 0.0, 0
    comm.Barrier()
    t0 = time.perf_counter()
    tr.run_epoch(prepared, None)
    seconds = time.perf_counter() - t0
    most = comm.allreduce(seconds, op=mpi().MAX)
    allreduce = comm.allreduce(tr.allreduce_seconds, op=mpi().MAX)
    if comm.Get_rank() == 0:
        params = sum(v.size for v in net.params.values())
        print(
            json.dumps(
                {
                    "step_ms": most / steps * 1e3,
                    "samples_per_s": n / most,
                    "allreduce_ms": allreduce / tr.allreduce_calls * 1e3,
                    "bytes": tr.bytes_per_step,
                    "params": int(params),
                    "gflops": 6 * params * batch * size / (most / steps) / 1e9,
                }
            )
        )


def _mpiexec() -> str | None:
    return shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")


def _launch(name: str, procs: int, steps: int) -> dict:
    cmd = [_mpiexec(), "-n", str(procs), sys.executable, "-m", "bench.distributed"]
    cmd += ["--worker", name, str(steps)]
    root = Path(__file__).resolve().parents[1]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=900, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[dict]:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return []
    if _mpiexec() is None:
        return []
    rounds = 1 if quick else 3
    rows = []
    for name, steps in (("W3", 10 if quick else 40), ("W4", 4 if quick else 12)):
        runs: dict[int, list[dict]] = {1: [], 2: []}
        for _ in range(rounds):  # alternating, so that both see the same machine
            for procs in (1, 2):
                runs[procs].append(_launch(name, procs, steps))
        for procs, got in runs.items():
            med = {k: float(np.median([g[k] for g in got])) for k in got[0]}
            rows.append({"workload": name, "processes": procs, **med})
    return rows


def table(rows: list[dict]) -> str:
    if not rows:
        return "(skipped: mpi4py and mpiexec are not installed; pip install 'anyprop[mpi]')\n"
    out = [
        "| workload | processes | samples/s | ms/step | Allreduce ms/step | share of the step "
        "| bytes/step | GFLOP/s (all processes) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        share = r["allreduce_ms"] / r["step_ms"]
        out.append(
            f"| {r['workload']} | {r['processes']} | {r['samples_per_s']:,.0f} | "
            f"{r['step_ms']:.1f} | {r['allreduce_ms']:.2f} | {share:.0%} | "
            f"{r['bytes'] / 1e6:.2f} MB | {r['gflops']:.1f} |"
        )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], int(sys.argv[3]))
    else:
        print(table(run(quick="--quick" in sys.argv)))
