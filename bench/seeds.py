"""Seeds in one pass: 100 seeds of a classic problem against one seed.

XOR (2-2-1 sigmoid, examples/specs/xor.toml; SGD at lr 0.5, momentum 0.9) and the
10-5-10 encoder (sigmoid, weights uniform in ±1; lr 0.25, momentum 0.5), E summed
over the patterns, float32. *Fixed
epochs*: 1,000 epochs for every run (margin 0, so that no run stops early): the
time of ``run_seeds(job, 100)`` against ``run_seeds(job, 1)`` in the same process,
interleaved rounds, medians; the same through the command line (``anyprop train
... --seeds N``, a fresh process each, start-up included); and 100 seeds one at a
time (``together=False``, the way before the runs were stacked), once. *Epochs to
success*: the classic run (margin 0.4, stopped when solved, at most 2,000 epochs)
together and one at a time: the seeds whose epochs to success differ between them
(a run alone may take its steps compiled, whose sums round differently).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from anyprop.train.job import TrainJob
from anyprop.train.seeds import run_seeds

ROOT = Path(__file__).resolve().parents[1]
SEEDS = 100
EPOCHS = 1000

ENCODER = """
[network]
name = "encoder-10-5-10"

[layered]
sizes = [10, 5, 10]
transfer = "sigmoid"
loss = "mse"
init = { name = "uniform", r = 1.0 }
"""

#: each problem: its spec file, its data, its learning rate and momentum
PROBLEMS = {
    "XOR 2-2-1": (str(ROOT / "examples/specs/xor.toml"), "xor", 0.5, 0.9),
    "encoder 10-5-10": (None, "encoder:n=10", 0.25, 0.5),
}


def _spec(name: str, folder: str) -> str:
    spec = PROBLEMS[name][0]
    if spec is None:  # (the encoder's spec, written for the command line)
        spec = os.path.join(folder, "encoder-10-5-10.toml")
        Path(spec).write_text(ENCODER)
    return spec


def _job(spec: str, name: str, epochs: int, margin: float) -> TrainJob:
    _, data, lr, momentum = PROBLEMS[name]
    return TrainJob(
        data=data,
        spec=spec,
        optimizer="sgd",
        lr=lr,
        momentum=momentum,
        epochs=epochs,
        out=None,
        settings={"loss_reduction": "sum", "margin": margin},
    )


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _cli(spec: str, name: str, seeds: int) -> float:
    _, data, lr, momentum = PROBLEMS[name]
    argv = [sys.executable, "-m", "anyprop", "train", spec, "--data", data, "--optimizer"]
    argv += ["sgd", "--lr", str(lr), "--momentum", str(momentum), "--loss-reduction", "sum"]
    argv += ["--epochs", str(EPOCHS), "--margin", "0", "--seeds", str(seeds), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=False, env=env)
    return time.perf_counter() - t0


def _solved(job: TrainJob, together: bool) -> dict[int, int | None]:
    seen: dict[int, int | None] = {}
    run_seeds(job, SEEDS, lambda k, solved: seen.__setitem__(k, solved), together=together)
    return seen


def row(name: str, rounds: int, folder: str) -> dict:
    spec = _spec(name, folder)
    fixed = _job(spec, name, EPOCHS, 0.0)
    run_seeds(fixed, 2)  # warm-up
    one, many, cli_one, cli_many = [], [], [], []
    for k in range(rounds):  # interleaved: one seed, then a hundred, then the other way
        pair = [(one, lambda: run_seeds(fixed, 1)), (many, lambda: run_seeds(fixed, SEEDS))]
        for times, fn in pair if k % 2 == 0 else pair[::-1]:
            times.append(_timed(fn))
        cli = [(cli_one, 1), (cli_many, SEEDS)]
        for times, seeds in cli if k % 2 == 0 else cli[::-1]:
            times.append(_cli(spec, name, seeds))
    alone = _timed(lambda: run_seeds(fixed, SEEDS, together=False))
    classic = _job(spec, name, 2000, 0.4)
    a, b = _solved(classic, True), _solved(classic, False)
    median = statistics.median
    return {
        "problem": name,
        "one": median(one),
        "many": median(many),
        "ratio": median(many) / median(one),
        "alone": alone,
        "cli_one": median(cli_one),
        "cli_many": median(cli_many),
        "cli_ratio": median(cli_many) / median(cli_one),
        "differ": sum(a[k] != b[k] for k in a),
        "solved": sum(v is not None for v in a.values()),
    }


def run(quick: bool = False) -> list[dict]:
    rounds = 3 if quick else 5
    with tempfile.TemporaryDirectory() as folder:
        return [row(name, rounds, folder) for name in PROBLEMS]


def table(rows: list[dict]) -> str:
    out = [
        f"| problem | 1 seed (s) | {SEEDS} seeds together (s) | ratio | {SEEDS} seeds one at a "
        f"time (s) | CLI 1 seed (s) | CLI {SEEDS} seeds (s) | CLI ratio | epochs to success "
        "differ (of solved) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['problem']} | {r['one']:.3f} | {r['many']:.3f} | {r['ratio']:.1f}× | "
            f"{r['alone']:.2f} | {r['cli_one']:.2f} | {r['cli_many']:.2f} | "
            f"{r['cli_ratio']:.2f}× | {r['differ']} (of {r['solved']}) |"
        )
    return "\n".join(out)
