"""Training steps of layered networks against the hand-written delta rule in NumPy.

One step = forward, backward and the plain SGD update w <- w - 0.01·∂L/∂w, float32,
through the public API (``Trainer.step``), against the explicit delta rule of
bench/reference.py for the same network, timed in alternating rounds.

- XOR 2-2-1, sigmoid, MSE, full batch of 4: µs per step.
- 784-300-10, relu hidden, softmax + cross-entropy, batch 128, random data: ms per step.
"""

from __future__ import annotations

import numpy as np

from anyprop import Network
from anyprop.train import Trainer
from bench.reference import from_network
from bench.timing import compare

LR = 0.01


def _row(
    name: str,
    unit: str,
    scale: float,
    net: Network,
    hidden: str,
    output: str,
    x: np.ndarray,
    t: np.ndarray,
    rounds: int,
) -> dict:
    trainer = Trainer(net, "sgd", lr=LR, seed=0)
    ref = from_network(net, hidden, output, LR)
    c = compare(lambda: trainer.step(x, t, None, 0), lambda: ref.step(x, t), rounds=rounds)
    return {
        "workload": name,
        "unit": unit,
        "anyprop": c.a.median * scale,
        "numpy": c.b.median * scale,
        "ratio": c.ratio,
    }


def run(quick: bool = False) -> list[dict]:
    rounds = 9 if quick else 21
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    t = np.array([[0], [1], [1], [0]], dtype=np.float32)
    xor = Network.layered([2, 2, 1], transfer="sigmoid", loss="mse", seed=0)
    rows = [
        _row("XOR 2-2-1 sigmoid, batch 4", "µs/step", 1e6, xor, "sigmoid", "sigmoid", x, t, rounds)
    ]
    rng = np.random.default_rng(0)
    mlp = Network.layered(
        [784, 300, 10], transfer="relu", output_transfer="softmax", loss="cross_entropy", seed=0
    )
    x = rng.random((128, 784), dtype=np.float32)
    t = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    rows.append(
        _row(
            "784-300-10 relu, softmax CE, batch 128",
            "ms/step",
            1e3,
            mlp,
            "relu",
            "softmax",
            x,
            t,
            rounds,
        )
    )
    return rows


def table(rows: list[dict]) -> str:
    out = ["| workload | unit | anyprop | hand-written NumPy | ratio |", "|---|---|---:|---:|---:|"]
    for r in rows:
        out.append(
            f"| {r['workload']} | {r['unit']} | {r['anyprop']:.2f} | {r['numpy']:.2f} | "
            f"{r['ratio']:.2f}× |"
        )
    return "\n".join(out) + "\n"
