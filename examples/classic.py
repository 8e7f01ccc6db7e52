"""The classic problems with their papers' settings, over many seeds.

Rumelhart, Hinton and Williams (1986), "Learning representations by back-propagating
errors" and PDP vol. 1 ch. 8: sigmoid units, mean squared error, full-batch
gradient descent with momentum, small random initial weights. Fahlman (1988),
"An empirical study of learning speed in back-propagation networks": the
encoder with quickprop, the sigmoid-prime offset of 0.1, weights in ±1. Both papers
minimise the error summed over the patterns, E = ½ Σ_p Σ_j (o − t)², so these
runs use ``loss_reduction="sum"`` and the papers' learning rates as they are.
A run counts as solved when every output is within 0.4 of its target for a
whole epoch (Fahlman's criterion); a run not solved within the epoch limit is a
failure (a restart). Printed as the papers do: min, max, mean, standard
deviation of the epochs to success.

    python examples/classic.py xor --seeds 20
    python examples/classic.py encoder --seeds 10
    python examples/classic.py symmetry --seeds 5
"""

from __future__ import annotations

import argparse

from anyprop import Network, datasets
from anyprop.train import Trainer

#: problem -> (data set, layer sizes, optimizer and options, Fahlman's fixes, epoch limit)
PROBLEMS = {
    "xor": (
        "xor",
        [2, 2, 1],
        {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9},
        {},
        5000,
        {"name": "uniform", "r": 0.3},
    ),
    "encoder": (
        "encoder",
        [8, 3, 8],
        {"optimizer": "quickprop", "lr": 1.5, "mu": 1.75},
        {"prime_offset": 0.1},
        2000,
        {"name": "uniform", "r": 1.0},
    ),
    "symmetry": (
        "symmetry",
        [6, 2, 1],
        {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9},
        {},
        20000,
        {"name": "uniform", "r": 0.3},
    ),
}


def epochs_to_success(problem: str, seed: int, max_epochs: int | None = None) -> int | None:
    data_name, sizes, opt, fixes, limit, init = PROBLEMS[problem]
    data = datasets.load(data_name)
    net = Network.layered(sizes, transfer="sigmoid", loss="mse", init=init, seed=seed)
    options = dict(opt)
    trainer = Trainer(
        net, options.pop("optimizer"), seed=seed, loss_reduction="sum", **fixes, **options
    )
    history = trainer.fit(data, max_epochs or limit, stop_when_solved=True)
    return history.solved_epoch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problem", choices=sorted(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, help="override the epoch limit")
    args = parser.parse_args(argv)
    solved, failures = [], 0
    for seed in range(args.seeds):
        e = epochs_to_success(args.problem, seed, args.max_epochs)
        print(f"seed {seed:3d}: {'solved at epoch ' + str(e) if e else 'not solved (a restart)'}")
        if e is None:
            failures += 1
        else:
            solved.append(e)
    if solved:
        import statistics

        sd = statistics.stdev(solved) if len(solved) > 1 else 0.0
        print(
            f"\n{args.problem}: {len(solved)} of {args.seeds} solved, {failures} restarts; epochs "
            f"to success min {min(solved)}, max {max(solved)}, mean {statistics.mean(solved):.1f}, "
            f"sd {sd:.1f}"
        )
    else:
        print(f"\n{args.problem}: no run solved")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
