"""A data set: inputs, targets and what they mean; splits and standardisation.

Targets may be numbers (regression, or class indices) or labels (any text),
which the file readers turn into class indices with the label names kept.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.errors import AnypropError


class DataError(AnypropError, ValueError):
    """Data that cannot be read or used as asked; the message names the place."""


@dataclass
class Dataset:
    """Inputs ``x`` (samples, features) and targets ``y``: (samples,) class indices or
    (samples, outputs) values. ``labels`` names the classes when the targets are classes."""

    x: np.ndarray
    y: np.ndarray
    name: str = "data"
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    labels: list[str] | None = None
    task: str = "regression"  # or "classification"
    #: the feature columns as the file had them, where some were text categories (one-hot)
    columns: Any = None
    #: "number" where the labels are whole numbers read as classes (as_classes), else "text"
    label_kind: str = "text"
    #: where the targets are standardised for training: the Standardizer that did it, so
    #: that the figures (MSE, MAE, R²) are reported in the targets' own units
    target_scaler: Any = None
    #: each sample's weight in the training loss (None: all 1), kept with its sample
    #: through every subset and split
    weights: np.ndarray | None = None
    #: where these rows are one part of a larger data set (one process's, in data-parallel
    #: training): the distinct target values of the whole (sorted), or False where some
    #: part holds a value that is not a whole number; the classes are decided and
    #: numbered by them (:meth:`integer_labels`), as they would be on the whole
    whole_values: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.x, np.ndarray) or not isinstance(self.y, np.ndarray):
            try:
                self.x, self.y = np.asarray(self.x), np.asarray(self.y)
            except (ValueError, TypeError, OverflowError):
                raise DataError(f"{self.name}: inputs and targets must be arrays") from None
        if self.x.dtype.kind not in "biuf":
            raise DataError(
                f"{self.name}: the inputs must be numbers, got an array of {self.x.dtype}"
            )
        if self.y.ndim == 0:
            raise DataError(f"{self.name}: the targets must be one per sample, got one value")
        if self.y.dtype.kind not in "biuf":
            raise DataError(
                f"{self.name}: the targets must be numbers (class indices or values), got an "
                f"array of {self.y.dtype}; text labels: anyprop.train_model((x, labels))"
            )
        if self.x.ndim != 2:
            raise DataError(
                f"{self.name}: inputs must be a table (samples, features), got {self.x.shape}"
            )
        if len(self.y) != len(self.x):
            raise DataError(f"{self.name}: {len(self.x)} input rows but {len(self.y)} targets")
        if not self.feature_names:
            self.feature_names = [f"x{i}" for i in range(self.x.shape[1])]
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=np.float64).reshape(-1)
            if w.shape != (len(self.x),):
                raise DataError(f"{self.name}: {w.size} sample weights for {len(self.x)} samples")
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise DataError(f"{self.name}: sample weights must be finite and >= 0")
            self.weights = w

    def __len__(self) -> int:
        return len(self.x)

    @property
    def n_outputs(self) -> int:
        """Units an output group needs: the classes, or the target columns."""
        if self.task == "classification":
            return len(self.labels) if self.labels else int(self.y.max()) + 1
        return 1 if self.y.ndim == 1 else self.y.shape[1]

    def integer_labels(self) -> np.ndarray | None:
        """The distinct values of a single target column whose every value is a whole
        number (sorted), or None."""
        y = np.asarray(self.y)
        if y.ndim != 1 and not (y.ndim == 2 and y.shape[1] == 1):
            return None
        if not np.issubdtype(y.dtype, np.number) or y.size == 0:
            return None
        v = y.reshape(-1)
        if not np.all(np.isfinite(v)) or not np.all(v == np.round(v)):
            return None
        if self.whole_values is not None:  # a part: the values of the whole it is part of
            return None if self.whole_values is False else np.asarray(self.whole_values)
        return np.unique(v)

    def as_classes(self, units: int | None = None) -> Dataset:
        """The same data with integer-valued targets read as class labels. With ``units``
        (an output layer's size) and every value in 0..units−1, a value is its class's
        index (class 7 is unit 7); otherwise the classes are the distinct values in order."""
        if self.task == "classification" and self.labels:
            return self
        values = self.integer_labels()
        if values is None:
            raise DataError(
                f"{self.name}: the targets are not whole numbers in one column, so they cannot "
                "be read as classes (--task classification)"
            )
        v = np.asarray(self.y).reshape(-1)
        if units is not None and values.min() >= 0 and values.max() < units:
            y, labels = v.astype(np.int64), [str(k) for k in range(units)]
        else:
            y = np.searchsorted(values, v).astype(np.int64)
            labels = [str(int(k)) for k in values]
        return dataclasses.replace(
            self, y=y, labels=labels, task="classification", label_kind="number"
        )

    def subset(self, index: np.ndarray, name: str | None = None) -> Dataset:
        w = None if self.weights is None else self.weights[index]
        return dataclasses.replace(
            self, x=self.x[index], y=self.y[index], name=name or self.name, weights=w
        )

    def split_indices(
        self, fraction: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(indices kept, indices held out) for a held-out part of ``fraction``."""
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, (int, float))
            or not (0 < fraction < 1)
        ):
            raise DataError(f"a split fraction must be a number between 0 and 1, got {fraction!r}")
        n = len(self)
        k = round(n * fraction)
        if k == 0 or k == n:
            raise DataError(f"{self.name}: a {fraction:g} split of {n} samples leaves a part empty")
        order = rng.permutation(n)
        return np.sort(order[k:]), np.sort(order[:k])

    def split(self, fraction: float, rng: np.random.Generator) -> tuple[Dataset, Dataset]:
        """(the rest, a held-out part of ``fraction``), shuffled by ``rng``."""
        keep, held = self.split_indices(fraction, rng)
        return self.subset(keep), self.subset(held)


@dataclass
class Standardizer:
    """x ↦ (x − mean)/std per feature, fitted on training data only (std 0 → 1)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, weights: np.ndarray | None = None) -> Standardizer:
        """Fitted on ``x``; with ``weights``, the weighted mean and standard deviation (a
        sample of weight 2 counts as two)."""
        if weights is not None and not np.sum(weights) > 0:
            weights = None  # (no sample weighs anything: each counts alike)
        mean = np.average(x, axis=0, weights=weights)
        std = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=weights))
        return cls(mean, np.where(std > 1e-12, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != self.mean.shape[0]:
            raise DataError(
                f"the data have {x.shape[1]} features; the model was trained on "
                f"{self.mean.shape[0]}"
            )
        return (x - self.mean) / self.std

    def transform_targets(self, y: Any) -> np.ndarray:
        """Targets of one column (samples,) or several (samples, k), standardised in their
        own shape (float64)."""
        y = np.asarray(y, dtype=np.float64)
        return self.transform(y.reshape(len(y), -1)).reshape(y.shape)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """z ↦ z·std + mean: standardised values back in their own units."""
        return z * self.std + self.mean


def is_missing(v: Any) -> bool:
    """A missing cell or label: None, NaN, or pandas' NA (which has no truth value)."""
    if v is None:
        return True
    try:
        return bool(v != v)
    except (TypeError, ValueError):
        return True


def from_pair(data: Any, what: str = "data") -> Dataset:
    """``data`` as a Dataset: a Dataset as it is, or an (inputs, targets) pair (text
    labels become classes, whole-number class indices classification)."""
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        try:
            x, y = (np.asarray(a) for a in data)
        except (ValueError, TypeError, OverflowError):
            raise AnypropError(
                f"{what}: the inputs and targets must be tables (rows of equal length)"
            ) from None
        if x.ndim == 1:
            x = x[:, None]
        if y.ndim == 0:
            raise AnypropError(f"{what}: the targets must be one per sample, got one value")
        if x.dtype.kind == "c" or y.dtype.kind == "c":
            which = "inputs" if x.dtype.kind == "c" else "targets"
            raise AnypropError(f"{what}: the {which} are complex numbers; anyprop takes real ones")
        if not np.issubdtype(x.dtype, np.number):
            raise AnypropError(f"{what}: the inputs must be numbers, got an array of {x.dtype}")
        if y.dtype.kind in "USO":  # labels as text: the classes, in sorted order
            if y.ndim != 1:
                raise AnypropError(f"{what}: text labels must be one column, got shape {y.shape}")
            gone = next((k for k, v in enumerate(y.tolist()) if is_missing(v)), None)
            if gone is not None:
                raise AnypropError(f"{what}: the label of row {gone} is missing")
            try:
                labels = sorted({str(v) for v in y.tolist()})
            except TypeError:
                raise AnypropError(f"{what}: the targets are neither numbers nor labels") from None
            index = {lab: k for k, lab in enumerate(labels)}
            codes = np.array([index[str(v)] for v in y.tolist()], dtype=np.int64)
            return Dataset(x, codes, what, labels=labels, task="classification")
        if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
            raise AnypropError(f"{what}: the targets must be numbers or labels, got {y.dtype}")
        table = y[:, None] if y.ndim == 1 else y.reshape(len(y), -1) if y.size else y
        bad = np.argwhere(~np.isfinite(table.astype(np.float64)))
        if bad.size:
            i, j = bad[0][:2]
            value = table[i, j]
            raise AnypropError(f"{what}: the target in row {i}, column {j} is {value}")
        task = (
            "classification" if np.issubdtype(y.dtype, np.integer) and y.ndim == 1 else "regression"
        )
        return Dataset(x, y, what, task=task)
    raise AnypropError(
        f"{what} must be a Dataset or an (inputs, targets) pair, got {type(data).__name__}"
    )


IMPUTE = ("mean", "median", "most_frequent")


@dataclass
class Imputer:
    """Missing inputs (NaN) filled per feature with a value fitted on training data only:
    the column's mean, median or most frequent value."""

    strategy: str
    values: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, strategy: str) -> Imputer:
        if strategy not in IMPUTE:
            raise DataError(f"impute must be one of {', '.join(IMPUTE)}, got {strategy!r}")
        values = np.zeros(x.shape[1])
        for j in range(x.shape[1]):
            col = x[:, j][~np.isnan(x[:, j])]
            if col.size == 0:
                raise DataError(f"input column {j + 1} has no value at all to impute from")
            if strategy == "mean":
                values[j] = col.mean()
            elif strategy == "median":
                values[j] = np.median(col)
            else:
                found, counts = np.unique(col, return_counts=True)
                values[j] = found[np.argmax(counts)]  # (the smallest of the most frequent)
        return cls(strategy, values)

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64)
        if x.shape[1] != self.values.shape[0]:
            raise DataError(
                f"the data have {x.shape[1]} features; the model was trained on "
                f"{self.values.shape[0]}"
            )
        gaps = np.isnan(x)
        x[gaps] = np.broadcast_to(self.values, x.shape)[gaps]
        return x
