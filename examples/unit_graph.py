"""A network given unit by unit: XOR with one hidden unit and direct input-to-output
connections (Rumelhart, Hinton and Williams' 2-1-1 XOR network), plus a weight's
gradient read by its two units.

    python examples/unit_graph.py
"""

from __future__ import annotations

import argparse

from anyprop import datasets, fit
from anyprop.nn.unitgraph import from_units

EDGES = [("x1", "h"), ("x2", "h"), ("x1", "out"), ("x2", "out"), ("h", "out")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args(argv)
    g = from_units(EDGES, transfer="sigmoid", inputs=["x1", "x2"], outputs=["out"], seed=args.seed)
    print(g.summary())
    data = datasets.load("xor")
    history = fit(
        g,
        data,
        optimizer="sgd",
        lr=0.5,
        momentum=0.9,
        epochs=args.epochs,
        stop_when_solved=True,
        seed=args.seed,
        verbose=False,
    )
    bp = g.backprop(data.x, data.y)
    print(f"{history.stop_reason}; loss {history.last('loss'):.4f}")
    print(
        f"weight h -> out = {g.units.edge_weight('h', 'out'):+.3f}, "
        f"dL/dw = {g.units.edge_grad(bp, 'h', 'out'):+.5f}"
    )
    print("outputs:", g.forward(data.x).ravel().round(3).tolist())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
