"""A 64-32-10 network on the handwritten digits, trained with Adam in mini-batches.

python examples/digits_mlp.py --epochs 30
"""

from __future__ import annotations

import argparse

from anyprop import Network, datasets, fit
from anyprop.train import Standardizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    data = datasets.load("digits")
    data.x = Standardizer.fit(data.x).transform(data.x)
    net = Network.layered(
        [64, 32, 10], transfer="tanh", output_transfer="softmax", loss="cross_entropy", seed=0
    )
    history = fit(
        net,
        data,
        optimizer="adam",
        lr=0.005,
        batch_size=32,
        epochs=args.epochs,
        validation_split=0.2,
        seed=0,
        verbose=max(1, args.epochs // 5),
    )
    print(f"validation accuracy: {history.last('val_accuracy'):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
