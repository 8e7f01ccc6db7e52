"""The classic sequence tasks over seeds, each with its paper's criterion, judged on
fresh test sequences: Elman's temporal XOR (1990), and the embedded Reber grammar and
the adding problem at T = 50 (Hochreiter and Schmidhuber 1997), where an LSTM should
succeed and a plain recurrent (Elman) network mostly fails.

``python -m bench.sequence_tasks [--quick] [--out docs/sequence_tasks.md]``; it takes
minutes (``--quick``: fewer seeds, shorter runs, for a look).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

import anyprop
from anyprop import Network
from anyprop.datasets import load


def elman(inputs: int, hidden: int, outputs: int, out: str, loss: str, seed: int) -> Network:
    net = Network(seed=seed, dtype="float64", name="elman")
    net.add_input("x", inputs)
    net.add_group("h", hidden, transfer="tanh")
    net.add_output("y", outputs, transfer=out, loss=loss)
    net.connect("x", "h")
    net.connect("h", "h", delay=1)
    net.connect("h", "y")
    return net


def lstm(inputs: int, hidden: int, outputs: int, out: str, loss: str, seed: int) -> Network:
    net = Network(seed=seed, dtype="float64", name="lstm")
    net.add_input("x", inputs)
    net.add_lstm("h", hidden, ["x"])
    net.add_output("y", outputs, transfer=out, loss=loss)
    net.connect("h", "y")
    net.params["h_f.bias"][...] = 1.0  # (remember by default, as is usual)
    return net


@dataclass
class Task:
    name: str
    data: str  # the data set, with its options
    criterion: str
    hidden: int
    out: str
    loss: str
    epochs: int
    lr: float
    batch: int

    def solved(self, net: Network, test: object) -> tuple[bool, float]:
        """(the criterion met, the figure it reads) on the test sequences."""
        outs = net.sequence_plan().forward(test.x)["y"]
        if self.name == "adding":
            mse = float(np.mean((outs[:, -1] - test.y) ** 2))
            return mse < 0.01, mse
        keep = test.mask != 0
        right = (outs > 0.5) == (test.y > 0.5)
        per_seq = np.array([right[i][keep[i]].all() for i in range(len(test.x))])
        return bool(per_seq.all()), float(per_seq.mean())


TASKS = [
    Task(
        "temporal_xor",
        "temporal_xor:n=100,steps=30",
        "every predictable bit right",
        8,
        "sigmoid",
        "binary_cross_entropy",
        300,
        0.01,
        32,
    ),
    Task(
        "embedded_reber",
        "embedded_reber:n=256",
        "every output right on every string",
        16,
        "sigmoid",
        "binary_cross_entropy",
        150,
        0.01,
        16,
    ),
    Task(
        "adding",
        "adding:n=2000,steps=50",
        "test MSE < 0.01 (baseline 0.167)",
        32,
        "identity",
        "mse",
        60,
        0.003,
        32,
    ),
]


def run_task(task: Task, cell: str, seed: int, scale: float = 1.0) -> tuple[bool, float, float]:
    train = load(task.data, seed=seed)
    test = load(task.data, seed=1000 + seed)
    make = lstm if cell == "lstm" else elman
    net = make(train.x.shape[2], task.hidden, train.y.shape[-1], task.out, task.loss, seed)
    t0 = time.perf_counter()
    anyprop.fit(
        net,
        train,
        epochs=max(1, int(task.epochs * scale)),
        optimizer="adam",
        lr=task.lr,
        batch_size=task.batch,
        verbose=False,
        seed=seed,
    )
    ok, figure = task.solved(net, test)
    return ok, figure, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sequence_tasks", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--out", default=None, help="write the table to this Markdown file")
    args = parser.parse_args(argv)
    seeds = args.seeds or (2 if args.quick else 5)
    scale = 0.3 if args.quick else 1.0
    lines = [
        "| task | criterion | network | solved | figures | seconds per run |",
        "|---|---|---|---:|---|---:|",
    ]
    for task in TASKS:
        cells = ["elman"] if task.name == "temporal_xor" else ["lstm", "elman"]
        for cell in cells:
            runs = [run_task(task, cell, s, scale) for s in range(seeds)]
            solved = sum(ok for ok, _, _ in runs)
            figs = ", ".join(f"{f:.3g}" for _, f, _ in runs)
            secs = np.mean([t for *_, t in runs])
            lines.append(
                f"| {task.name} | {task.criterion} | {cell} | {solved}/{seeds} | {figs} | "
                f"{secs:.1f} |"
            )
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
