"""Training steps of layered networks against the hand-written delta rule in NumPy.

One step = forward, backward and the plain SGD update w <- w - 0.01·∂L/∂w, float32.
anyprop runs through its public API (``Network.backprop`` and the parameter
arrays); the reference is the explicit delta rule written out in NumPy for the
same network, with the same loss convention.

- XOR 2-2-1, sigmoid, MSE, full batch of 4: µs per step.
- 784-300-10, relu hidden, softmax + cross-entropy, batch 128, random data: ms per step.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from anyprop.nn import Network
from bench.timing import measure

LR = 0.01


def anyprop_step(net: Network, x: np.ndarray, t: np.ndarray):
    params = net.params

    def step() -> None:
        bp = net.backprop(x, t)
        for name, g in bp.grads.items():
            p = params[name]
            p -= LR * g

    return step


class XorReference:
    """The delta rule for a 2-2-1 sigmoid network, MSE with the ½ convention, mean over samples."""

    def __init__(self, net: Network) -> None:
        p = net.params
        self.w1, self.b1 = p["input->h1.weight"].copy(), p["h1.bias"].copy()
        self.w2, self.b2 = p["h1->output.weight"].copy(), p["output.bias"].copy()

    def step(self, x: np.ndarray, t: np.ndarray) -> None:
        h = special.expit(x @ self.w1 + self.b1)
        o = special.expit(h @ self.w2 + self.b2)
        d2 = (o - t) * o * (1 - o) / x.shape[0]
        d1 = (d2 @ self.w2.T) * h * (1 - h)
        self.w2 -= LR * (h.T @ d2)
        self.b2 -= LR * d2.sum(axis=0)
        self.w1 -= LR * (x.T @ d1)
        self.b1 -= LR * d1.sum(axis=0)


class MlpReference:
    """784-300-10: relu hidden layer, softmax output with cross-entropy (δ = (p - t)/N)."""

    def __init__(self, net: Network) -> None:
        p = net.params
        self.w1, self.b1 = p["input->h1.weight"].copy(), p["h1.bias"].copy()
        self.w2, self.b2 = p["h1->output.weight"].copy(), p["output.bias"].copy()

    def step(self, x: np.ndarray, t: np.ndarray) -> None:
        a = x @ self.w1
        a += self.b1
        h = np.maximum(a, 0)
        z = h @ self.w2
        z += self.b2
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        d2 = (p - t) / x.shape[0]
        d1 = (d2 @ self.w2.T) * (a > 0)
        self.w2 -= LR * (h.T @ d2)
        self.b2 -= LR * d2.sum(axis=0)
        self.w1 -= LR * (x.T @ d1)
        self.b1 -= LR * d1.sum(axis=0)


def run(quick: bool = False) -> list[dict]:
    repeat = 3 if quick else 7
    rows = []
    net = Network.layered([2, 2, 1], transfer="sigmoid", loss="mse", seed=0)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    t = np.array([[0], [1], [1], [0]], dtype=np.float32)
    ref = XorReference(net)
    ours = measure(anyprop_step(net, x, t), repeat=repeat)
    base = measure(lambda: ref.step(x, t), repeat=repeat)
    rows.append(
        {
            "workload": "XOR 2-2-1 sigmoid, batch 4",
            "unit": "µs/step",
            "anyprop": ours.best * 1e6,
            "numpy": base.best * 1e6,
            "ratio": ours.best / base.best,
        }
    )

    rng = np.random.default_rng(0)
    net = Network.layered(
        [784, 300, 10], transfer="relu", output_transfer="softmax", loss="cross_entropy", seed=0
    )
    x = rng.random((128, 784), dtype=np.float32)
    t = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)]
    ref = MlpReference(net)
    ours = measure(anyprop_step(net, x, t), repeat=repeat)
    base = measure(lambda: ref.step(x, t), repeat=repeat)
    rows.append(
        {
            "workload": "784-300-10 relu, softmax CE, batch 128",
            "unit": "ms/step",
            "anyprop": ours.best * 1e3,
            "numpy": base.best * 1e3,
            "ratio": ours.best / base.best,
        }
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
