"""Metrics, in a registry: computed on a whole epoch's outputs and targets.

Each takes the output group's outputs ``o`` (samples, units), the targets ``t``
as the loss prepared them (one-hot rows for classes) and the task, and gives
one number. ``solved`` is the classic papers' criterion: 1 when every output is
within ``margin`` of its target, for every sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from anyprop.registry import Registry

Metric = Callable[..., float]

#: Every metric, by name; the higher-is-better ones are listed in ``HIGHER_IS_BETTER``.
METRICS: Registry[Metric] = Registry("metric")
HIGHER_IS_BETTER = {"accuracy", "r2", "solved"}
_metric = METRICS.entry


@_metric("accuracy")
def accuracy(o: np.ndarray, t: np.ndarray, task: str = "classification", **_: float) -> float:
    """Classes: the fraction of samples whose largest output is the target class. Binary
    targets: the fraction of outputs on the target's side of 0.5."""
    if task == "classification" and o.shape[1] > 1:
        return float(np.mean(o.argmax(axis=1) == t.argmax(axis=1)))
    threshold = 0.0 if o.min() < 0 and t.min() < 0 else 0.5  # ±1 targets for tanh outputs
    return float(np.mean((o > threshold) == (t > threshold)))


@_metric("mse")
def mse(o: np.ndarray, t: np.ndarray, **_: float) -> float:
    """Mean over samples and outputs of (o − t)² (no ½)."""
    return float(np.mean((o - t) ** 2))


@_metric("mae")
def mae(o: np.ndarray, t: np.ndarray, **_: float) -> float:
    """Mean over samples and outputs of |o − t|."""
    return float(np.mean(np.abs(o - t)))


@_metric("r2")
def r2(o: np.ndarray, t: np.ndarray, **_: float) -> float:
    """1 − Σ(t − o)² / Σ(t − mean t)², over all outputs."""
    ss_res = float(((t - o) ** 2).sum())
    ss_tot = float(((t - t.mean(axis=0)) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


@_metric("solved")
def solved(o: np.ndarray, t: np.ndarray, margin: float = 0.4, **_: float) -> float:
    """1.0 when every output of every sample is within ``margin`` of its target, else 0.0."""
    return float(np.all(np.abs(o - t) <= margin))


class RightClasses:
    """Classification accuracy batch by batch: the count of rows whose largest output is
    the target class, over the rows seen (exactly :func:`accuracy`'s figure, without
    keeping the epoch's outputs)."""

    def __init__(self) -> None:
        self.right, self.rows = 0, 0

    def add(self, o: np.ndarray, t: np.ndarray) -> None:
        self.right += int(np.count_nonzero(o.argmax(axis=1) == t.argmax(axis=1)))
        self.rows += len(o)

    def value(self) -> float:
        return self.right / self.rows if self.rows else float("nan")


def streaming(names: list[str], task: str, width: int) -> dict[str, RightClasses] | None:
    """For each metric, what gives its exact figure from the batches one at a time, or
    None where one of them needs the epoch's outputs whole."""
    if task != "classification" or width < 2 or any(m != "accuracy" for m in names):
        return None
    return {m: RightClasses() for m in names}


def default_metrics(task: str) -> list[str]:
    """The metrics a task reports by default."""
    return {
        "classification": ["accuracy"],
        "binary": ["accuracy"],
        "regression": ["mse", "r2"],
    }.get(task, [])
