"""A data set of sequences: inputs (sequences, steps, features), targets at every step or
at each sequence's last step, and a mask for sequences of different lengths.

Targets at every step have shape (sequences, steps, outputs), or (sequences, steps) of
class indices; targets at the last step (sequences, outputs), or (sequences,) of class
indices. The mask, (sequences, steps) of 0/1, marks the steps a sequence has: a shorter
sequence is padded at its end, and the loss (the mean over the kept sample-steps) leaves
the padding out. A last-step target belongs to each sequence's last kept step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.data.dataset import DataError, Dataset


@dataclass
class Sequences:
    """Sequences to train a recurrent network on (see the module's docstring)."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray | None = None
    name: str = "sequences"
    task: str = "regression"  # or "classification"
    labels: list[str] | None = None
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    weights: np.ndarray | None = None  # one per sequence
    #: whether the targets are per step (else at each sequence's last step); None: by shape
    per_step: bool | None = None
    # (what a Dataset also carries, for the code that reads either)
    columns: Any = None
    label_kind: str = "number"
    target_scaler: Any = None

    def __post_init__(self) -> None:
        where = self.name
        try:
            self.x = np.asarray(self.x)
            self.y = np.asarray(self.y)
        except (ValueError, TypeError):
            raise DataError(f"{where}: inputs and targets must be arrays") from None
        for what, a in (("inputs", self.x), ("targets", self.y)):
            if a.dtype.kind not in "biuf":
                raise DataError(f"{where}: the {what} must be real numbers, got {a.dtype}")
        if self.x.ndim != 3:
            raise DataError(
                f"{where}: sequence inputs have shape (sequences, steps, features), got "
                f"{self.x.shape}"
            )
        n, steps, _ = self.x.shape
        if n == 0 or steps == 0:
            raise DataError(f"{where}: no sequences, or sequences of no steps: {self.x.shape}")
        if not np.all(np.isfinite(self.x)):
            s, t, j = np.argwhere(~np.isfinite(self.x))[0]
            raise DataError(
                f"{where}: the input of sequence {s}, step {t}, feature {j} is NaN or infinite"
            )
        if len(self.y) != n:
            raise DataError(f"{where}: {n} input sequences but {len(self.y)} targets")
        if self.per_step is None:
            self.per_step = self.y.ndim == 3 or (
                self.y.ndim == 2 and self.task == "classification" and self.y.shape[1] == steps
            )
        if self.per_step:
            if self.y.ndim == 2:
                self.y = self.y[:, :, None]
            if self.y.ndim != 3 or self.y.shape[1] != steps:
                raise DataError(
                    f"{where}: targets at every step have shape ({n}, {steps}, outputs), got "
                    f"{self.y.shape}"
                )
        elif self.y.ndim not in (1, 2):
            raise DataError(
                f"{where}: targets at the last step have shape ({n}, outputs) or ({n},), got "
                f"{self.y.shape}"
            )
        if not np.all(np.isfinite(self.y)):
            raise DataError(f"{where}: the targets hold NaN or infinity")
        if self.mask is not None:
            m = np.asarray(self.mask)
            if m.shape != (n, steps) or m.dtype.kind not in "biuf" or np.any((m != 0) & (m != 1)):
                raise DataError(
                    f"{where}: the mask must be ({n}, {steps}) of 0 and 1, got "
                    f"{m.shape if m.shape != (n, steps) else 'other values'}"
                )
            if np.any(m.sum(axis=1) == 0):
                raise DataError(f"{where}: sequence {int(np.argmin(m.sum(axis=1)))} has no step")
            self.mask = m.astype(np.float64)
        if not self.feature_names:
            self.feature_names = [f"x{i}" for i in range(self.x.shape[2])]
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64).reshape(-1)
            if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise DataError(f"{where}: give one finite weight >= 0 per sequence")
            self.weights = w

    def __len__(self) -> int:
        return len(self.x)

    @property
    def steps(self) -> int:
        return self.x.shape[1]

    def subset(self, idx: np.ndarray) -> Sequences:
        """The sequences at ``idx`` (their mask and weights with them)."""
        take = lambda a: None if a is None else a[idx]  # noqa: E731
        return dataclasses.replace(
            self, x=self.x[idx], y=self.y[idx], mask=take(self.mask), weights=take(self.weights)
        )

    def split_indices(
        self, fraction: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(kept, held-out) sequence indices, as :meth:`Dataset.split_indices` draws them."""
        return Dataset.split_indices(self, fraction, rng)  # type: ignore[arg-type]

    def split(self, fraction: float, rng: np.random.Generator) -> tuple[Sequences, Sequences]:
        keep, held = self.split_indices(fraction, rng)
        return self.subset(keep), self.subset(held)


def sequences_from(data: Any, what: str) -> Sequences | None:
    """``data`` as Sequences when it is: Sequences, or an (inputs, targets[, mask]) tuple
    whose inputs have three axes; else None (a table's data set)."""
    if isinstance(data, Sequences):
        return data
    if isinstance(data, tuple) and len(data) in (2, 3):
        first = data[0]
        x = first if isinstance(first, np.ndarray) else None
        if x is None:
            try:
                x = np.asarray(first)
            except (ValueError, TypeError):
                return None
        if x.ndim != 3:
            return None
        y = np.asarray(data[1])
        task = "classification" if y.dtype.kind in "iub" else "regression"
        mask = data[2] if len(data) == 3 else None
        return Sequences(x, y, mask, name=what, task=task)
    return None
