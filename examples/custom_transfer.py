"""Home-made transfer functions, three ways, each with its derivative found for you:
a formula string, a function built from anyprop's ops, and a NumPy pair (f, f')
checked numerically when registered.

    python examples/custom_transfer.py
"""

from __future__ import annotations

import argparse

import numpy as np

from anyprop import Network, datasets, fit
from anyprop.nn import transfer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1500)
    args = parser.parse_args(argv)
    if "bent" not in transfer.names():
        transfer.register(
            "bent",
            lambda x: (np.sqrt(x * x + 1) - 1) / 2 + x,
            lambda x: x / (2 * np.sqrt(x * x + 1)) + 1,
        )
    kinds = {
        "formula": "x/(1+abs(x))",
        "ops function": lambda v: v * (v * 1.702).sigmoid(),
        "registered pair": "bent",
    }
    print("f'(x) of the formula:", transfer.describe("x/(1+abs(x))")["df"])
    for label, f in kinds.items():
        net = Network(seed=0)
        net.add_input("x", 2)
        net.add_group("h", 4, transfer=f)
        net.add_output("out", 1, transfer="sigmoid", loss="mse")
        net.connect("x", "h")
        net.connect("h", "out")
        history = fit(
            net,
            datasets.load("xor"),
            optimizer="sgd",
            lr=0.5,
            momentum=0.9,
            epochs=args.epochs,
            seed=0,
            verbose=False,
        )
        print(
            f"{label:16s} {f if isinstance(f, str) else '(lambda)':14s} final loss "
            f"{history.last('loss'):.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
