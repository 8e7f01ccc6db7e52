"""A home-made update rule, written as a formula: "change the constants, add terms
that you find sound". Compared with the textbook rule on the 8-3-8 encoder.

    python examples/custom_update_rule.py
"""

from __future__ import annotations

import argparse

from anyprop import Network, datasets
from anyprop.optim import SGD, FormulaRule
from anyprop.train import Trainer

RULES = {
    "textbook momentum": None,
    "the same, as a formula": ("w - lr*g + 0.9*dw", {}),
    "sign-sqrt with momentum": ("w - lr*sign(g)*sqrt(abs(g)) + 0.5*dw", {}),
    "rmsprop by hand": ("w - lr*g/(sqrt(v) + 1e-8)", {"v": "0.9*v + 0.1*g^2"}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2000)
    args = parser.parse_args(argv)
    data = datasets.load("encoder")
    for label, rule in RULES.items():
        net = Network.layered([8, 3, 8], transfer="sigmoid", seed=0)
        if rule is None:
            opt = SGD(net, lr=0.5, momentum=0.9)
        else:
            text, state = rule
            opt = FormulaRule(net, text, lr=0.5 if "rmsprop" not in label else 0.02, state=state)
        history = Trainer(net, opt, seed=0).fit(data, args.epochs, stop_when_solved=True)
        solved = history.solved_epoch
        print(
            f"{label:24s} {'solved at epoch ' + str(solved) if solved else 'not solved':24s} "
            f"loss {history.last('loss'):.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
