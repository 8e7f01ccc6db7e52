"""Skip connections: the two spirals learned by a network whose every layer also feeds
the output directly (the shortcuts of FANN and of Lang and Witbrock's spiral network).

    python examples/skip_network.py --epochs 3000
"""

from __future__ import annotations

import argparse

from anyprop import Network, datasets, fit


def build(seed: int = 0) -> Network:
    net = Network(seed=seed)
    net.add_input("xy", 2)
    net.add_group("h1", 16, transfer="tanh")
    net.add_group("h2", 16, transfer="tanh")
    net.add_output("spiral", 1, transfer="sigmoid", loss="binary_cross_entropy")
    for src, tgt in [
        ("xy", "h1"),
        ("h1", "h2"),
        ("h2", "spiral"),  # the layers
        ("xy", "h2"),
        ("xy", "spiral"),
        ("h1", "spiral"),
    ]:  # the skips
        net.connect(src, tgt)
    return net


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3000)
    args = parser.parse_args(argv)
    data = datasets.load("two_spirals")
    data.x = data.x / 6.5
    net = build()
    print(net.summary())
    history = fit(
        net,
        data,
        optimizer="adam",
        lr=0.01,
        epochs=args.epochs,
        seed=0,
        stop_when_solved=True,
        verbose=max(1, args.epochs // 6),
    )
    solved = history.solved_epoch
    state = f"solved at epoch {solved}" if solved else "not solved yet"
    print(f"accuracy {history.last('accuracy'):.1%}; {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
