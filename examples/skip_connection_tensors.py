"""A small network with a skip connection, trained by the general rule.

    x (2) ──> h1 (tanh, 24) ──> h2 (tanh, 24) ──> out (sigmoid, 1)
      └───────────────── skip ──────────────────┘

The data are the two interleaved spirals. Every weight, hidden or output, follows
the same rule: w <- w - lr * dL/dw (here with momentum), the gradient coming from
anyprop's backpropagation. Run it with ``python examples/skip_connection_tensors.py``.
"""

from __future__ import annotations

import argparse

import numpy as np

import anyprop
from anyprop import Tensor


def two_spirals(n: int, rng: np.random.Generator, noise: float = 0.05):
    """n points per spiral, two classes: inputs (2n, 2), targets (2n, 1)."""
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * 2.5 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (2.5 * np.pi)
    x = np.concatenate([arm, -arm]) + noise * rng.standard_normal((2 * n, 2))
    y = np.concatenate([np.zeros(n), np.ones(n)])[:, None]
    return x.astype(np.float32), y.astype(np.float32)


def init(rng: np.random.Generator, fan_in: int, fan_out: int) -> Tensor:
    limit = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform
    return Tensor(rng.uniform(-limit, limit, (fan_in, fan_out)), requires_grad=True)


def train(
    epochs: int = 1500,
    lr: float = 0.3,
    momentum: float = 0.9,
    seed: int = 0,
    report_every: int = 150,
    quiet: bool = False,
) -> list[float]:
    rng = np.random.default_rng(seed)
    x, y = two_spirals(200, rng)
    hidden = 24
    params = {
        "x->h1": init(rng, 2, hidden),
        "h1->h2": init(rng, hidden, hidden),
        "h2->out": init(rng, hidden, 1),
        "x->out (skip)": init(rng, 2, 1),
        "h1.bias": Tensor(np.zeros(hidden), requires_grad=True),
        "h2.bias": Tensor(np.zeros(hidden), requires_grad=True),
        "out.bias": Tensor(np.zeros(1), requires_grad=True),
    }
    p = params
    steps = {name: np.zeros_like(t.data) for name, t in params.items()}
    losses = []
    for epoch in range(1, epochs + 1):
        h1 = (x @ p["x->h1"] + p["h1.bias"]).tanh()
        h2 = (h1 @ p["h1->h2"] + p["h2.bias"]).tanh()
        out = (h2 @ p["h2->out"] + x @ p["x->out (skip)"] + p["out.bias"]).sigmoid()
        loss = ((out - y) ** 2).mean()
        for t in params.values():
            t.zero_grad()
        loss.backward()
        for name, t in params.items():  # the rule: Δw(t) = -lr ∂L/∂w + momentum Δw(t-1)
            steps[name] = -lr * t.grad + momentum * steps[name]
            t.data += steps[name]
        losses.append(loss.item())
        if not quiet and (epoch == 1 or epoch % report_every == 0):
            accuracy = float(np.mean((out.data > 0.5) == (y > 0.5)))
            print(f"epoch {epoch:5d}   loss {loss.item():.4f}   accuracy {accuracy:6.1%}")
    return losses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(
        f"anyprop {anyprop.__version__}: a 2-24-24-1 network with a skip connection "
        "from the inputs to the output, on two spirals (400 points)"
    )
    losses = train(epochs=args.epochs, seed=args.seed)
    print(f"loss fell from {losses[0]:.4f} to {losses[-1]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
