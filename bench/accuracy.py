"""Accuracy of the no-flag run: anyprop's defaults against scikit-learn's MLP defaults.

``python -m bench.accuracy`` (``make accuracy``) trains, on each data set of a
panel that works offline with scikit-learn (iris, wine, breast cancer, digits,
diabetes, and ``make_friedman1(n_samples=5000, noise=1.0)``), split 75/25 by
each of 10 seeds:

- anyprop as ``anyprop train --data FILE`` trains with no flags:
  ``anyprop.train_model((x, y), seed=seed)``, the same code;
- ``MLPClassifier(random_state=seed)`` / ``MLPRegressor(random_state=seed)`` with
  every other argument at its default.

Both get the same inputs, standardised on the training part (anyprop by its own
rule, scikit-learn by ``StandardScaler``); the two fits of a seed run one after
the other in one process, and each is timed in that process (``perf_counter``
around the fit alone). Test scores: accuracy for classes, R² for values.

A data set passes when anyprop's mean test score is at or above scikit-learn's
minus one standard error of the paired difference (the differences seed by
seed); "above" counts where the mean difference is positive.
``--out docs/accuracy.md`` writes the table into that page.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

PANEL = ("iris", "wine", "breast_cancer", "digits", "diabetes", "friedman1")


def panel() -> Iterator[tuple[str, np.ndarray, np.ndarray, str]]:
    """(name, inputs, targets, "classification" or "regression") of each data set."""
    from sklearn import datasets as sk

    loaders: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
        "iris": lambda: sk.load_iris(return_X_y=True),
        "wine": lambda: sk.load_wine(return_X_y=True),
        "breast_cancer": lambda: sk.load_breast_cancer(return_X_y=True),
        "digits": lambda: sk.load_digits(return_X_y=True),
        "diabetes": lambda: sk.load_diabetes(return_X_y=True),
        "friedman1": lambda: sk.make_friedman1(n_samples=5000, noise=1.0, random_state=0),
    }
    for name in PANEL:
        x, y = loaders[name]()
        yield name, x, y, "regression" if name in ("diabetes", "friedman1") else "classification"


def score(task: str, truth: np.ndarray, predicted: np.ndarray) -> float:
    """Accuracy for classes, R² for values."""
    if task == "classification":
        return float(np.mean(np.asarray(truth) == np.asarray(predicted)))
    truth, predicted = np.asarray(truth, float), np.asarray(predicted, float).reshape(truth.shape)
    return float(1 - ((truth - predicted) ** 2).sum() / ((truth - truth.mean()) ** 2).sum())


@dataclass
class Row:
    name: str
    task: str
    rows: int
    anyprop: list[float]
    sklearn: list[float]
    anyprop_s: list[float]
    sklearn_s: list[float]
    #: the same defaults through anyprop.sklearn's estimator (the same job underneath)
    estimator: list[float] = field(default_factory=list)

    @property
    def difference(self) -> tuple[float, float]:
        """Mean and standard error of anyprop's score minus scikit-learn's, seed by seed."""
        d = np.array(self.anyprop) - np.array(self.sklearn)
        se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
        return float(d.mean()), se

    @property
    def passed(self) -> bool:
        mean, se = self.difference
        return mean >= -se


def run(
    seeds: int = 10, only: list[str] | None = None, log: Callable[[str], None] = print
) -> list[Row]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    import anyprop
    from anyprop.sklearn import AnypropClassifier, AnypropRegressor

    rows = []
    for name, x, y, task in panel():
        if only and name not in only:
            continue
        row = Row(name, task, len(x), [], [], [], [])
        for seed in range(seeds):
            xtr, xte, ytr, yte = train_test_split(
                x,
                y,
                test_size=0.25,
                random_state=seed,
                stratify=y if task == "classification" else None,
            )
            t0 = time.perf_counter()
            model = anyprop.train_model((xtr, ytr), seed=seed)
            row.anyprop_s.append(time.perf_counter() - t0)
            assert model.task == task, (name, model.task)
            guess = model.predict_labels(xte) if task == "classification" else model.predict(xte)
            row.anyprop.append(score(task, yte, guess))
            kind = AnypropClassifier if task == "classification" else AnypropRegressor
            est = kind(random_state=seed).fit(xtr, ytr)
            row.estimator.append(score(task, yte, est.predict(xte)))

            scaler = StandardScaler().fit(xtr)
            mlp = (MLPClassifier if task == "classification" else MLPRegressor)(random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # its 200 epochs, as given
                t0 = time.perf_counter()
                mlp.fit(scaler.transform(xtr), ytr)
                row.sklearn_s.append(time.perf_counter() - t0)
            row.sklearn.append(score(task, yte, mlp.predict(scaler.transform(xte))))
        rows.append(row)
        log(line(row))
    return rows


def line(r: Row) -> str:
    mean, se = r.difference
    return (
        f"{r.name}: anyprop {np.mean(r.anyprop):.4f}, scikit-learn {np.mean(r.sklearn):.4f}, "
        f"difference {mean:+.4f} ± {se:.4f}, fit {np.mean(r.anyprop_s):.3f} s vs "
        f"{np.mean(r.sklearn_s):.3f} s"
    )


def table(rows: list[Row]) -> str:
    head = (
        "| data set | task | rows | score | anyprop mean ± sd | AnypropClassifier/Regressor "
        "mean | scikit-learn MLP mean ± sd | "
        "difference ± se | anyprop fit s | scikit-learn fit s | time ratio | verdict |\n"
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    for r in rows:
        mean, se = r.difference
        a, s = np.array(r.anyprop), np.array(r.sklearn)
        ta, ts = float(np.mean(r.anyprop_s)), float(np.mean(r.sklearn_s))
        verdict = ("above" if mean > 0 else "within 1 se") if r.passed else "**below**"
        measure = "accuracy" if r.task == "classification" else "R²"
        lines.append(
            f"| {r.name} | {r.task} | {r.rows} | {measure} "
            f"| {a.mean():.4f} ± {a.std(ddof=1):.4f} "
            f"| {f'{np.mean(r.estimator):.4f}' if r.estimator else '–'} "
            f"| {s.mean():.4f} ± {s.std(ddof=1):.4f} "
            f"| {mean:+.4f} ± {se:.4f} | {ta:.3f} | {ts:.3f} | {ta / ts:.2f}× | {verdict} |"
        )
    return "\n".join(lines)


def machine() -> str:
    import sklearn

    import anyprop
    from bench.__main__ import machine as cpu

    return f"{cpu()}, scikit-learn {sklearn.__version__}, anyprop {anyprop.__version__}"


MARK = "<!-- the table below is written by python -m bench.accuracy --out docs/accuracy.md -->"


def write(path: str, rows: list[Row], seeds: int) -> None:
    """Put the table (and the machine) under the marker of ``path``, keeping the text above."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if MARK not in text:
        raise SystemExit(f"{path}: no marker line {MARK!r} to write the table under")
    above = text.split(MARK)[0]
    passed = sum(r.passed for r in rows)
    above_count = sum(r.difference[0] > 0 for r in rows)
    faster = sum(np.mean(r.anyprop_s) < np.mean(r.sklearn_s) for r in rows)
    body = (
        f"{MARK}\n\nMeasured {time.strftime('%Y-%m-%d')} on {machine()}; {seeds} seeds.\n\n"
        f"{table(rows)}\n\n"
        f"At or above scikit-learn's mean minus one standard error: {passed} of {len(rows)}; "
        f"above it: {above_count} of {len(rows)}; faster to fit: {faster} of {len(rows)}.\n"
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(above + body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__)
    parser.add_argument("--seeds", type=int, default=10, help="splits (and seeds) per data set")
    parser.add_argument("--only", action="append", choices=PANEL, help="one data set (repeat)")
    parser.add_argument("--out", help="write the table into this page (docs/accuracy.md)")
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("the accuracy panel needs scikit-learn: pip install scikit-learn", file=sys.stderr)
        return 2
    print(f"machine: {machine()}, Python {platform.python_version()}\n")
    rows = run(args.seeds, args.only)
    print()
    print(table(rows))
    if args.out:
        write(args.out, rows, args.seeds)
        print(f"\nwritten to {args.out}")
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
