"""Data: loading CSV, .npy and .npz files, standardisation, and splits.

Every loading mistake names the file, the row and the column: ragged rows,
cells that are not numbers, missing values. Targets may be numbers (regression,
or class indices) or labels (any text), which become class indices with the
label names kept.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.fileio import read_file


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

    def __post_init__(self) -> None:
        if self.x.ndim != 2:
            raise DataError(
                f"{self.name}: inputs must be a table (samples, features), got {self.x.shape}"
            )
        if len(self.y) != len(self.x):
            raise DataError(f"{self.name}: {len(self.x)} input rows but {len(self.y)} targets")
        if not self.feature_names:
            self.feature_names = [f"x{i}" for i in range(self.x.shape[1])]

    def __len__(self) -> int:
        return len(self.x)

    @property
    def n_outputs(self) -> int:
        """Units an output group needs: the classes, or the target columns."""
        if self.task == "classification":
            return len(self.labels) if self.labels else int(self.y.max()) + 1
        return 1 if self.y.ndim == 1 else self.y.shape[1]

    def subset(self, index: np.ndarray, name: str | None = None) -> Dataset:
        return Dataset(
            self.x[index],
            self.y[index],
            name or self.name,
            self.feature_names,
            self.target_names,
            self.labels,
            self.task,
        )

    def split_indices(
        self, fraction: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(indices kept, indices held out) for a held-out part of ``fraction``."""
        if not 0 < fraction < 1:
            raise DataError(f"a split fraction must be between 0 and 1, got {fraction}")
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


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _resolve_columns(spec: Any, header: list[str] | None, width: int, source: str) -> list[int]:
    items = spec if isinstance(spec, (list, tuple)) else [spec]
    out = []
    for item in items:
        if isinstance(item, (int, np.integer)) or (
            isinstance(item, str)
            and item.lstrip("-").isdigit()
            and (header is None or item not in header)
        ):
            k = int(item)
            if not -width <= k < width:
                raise DataError(
                    f"{source}: target column {k} is out of range (the file has {width} columns)"
                )
            out.append(k % width)
        elif header is not None and item in header:
            out.append(header.index(item))
        else:
            from anyprop.registry import suggest

            names = header or []
            hint = (
                suggest(item, names) if names else " (the file has no header: give a column number)"
            )
            raise DataError(f"{source}: no column named '{item}'{hint}")
    return out


def load_csv(
    path: str | os.PathLike,
    target: Any = None,
    header: bool | None = None,
    delimiter: str | None = None,
) -> Dataset:
    """A table from a CSV file: every column but the target(s) is an input.

    ``target``: a column name or number (negative counts from the end), or a list
    of them; the last column by default. ``header``: whether the first row names
    the columns (guessed when None: a first row with a cell that is not a number).
    """
    p = Path(path)
    source = str(p)
    text = read_file(p, "file", DataError, encoding="utf-8-sig")
    if delimiter is None:
        delimiter = "\t" if p.suffix.lower() == ".tsv" else ","
    rows = [
        (i + 1, r)
        for i, r in enumerate(csv.reader(text.splitlines(), delimiter=delimiter))
        if r and any(c.strip() for c in r)
    ]
    if not rows:
        raise DataError(f"{source}: the file holds no data")
    first = [c.strip() for c in rows[0][1]]
    if header is None:
        header = not all(_is_number(c) for c in first)
    names = first if header else None
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{source}: the file has a header but no data rows")
    width = len(first)
    for line, r in body:
        if len(r) != width:
            raise DataError(
                f"{source}: line {line} has {len(r)} cells, expected {width} like line {rows[0][0]}"
            )
    tcols = _resolve_columns(-1 if target is None else target, names, width, source)
    fcols = [c for c in range(width) if c not in tcols]
    if not fcols:
        raise DataError(f"{source}: no input columns are left once the targets are taken")

    def col_name(c: int) -> str:
        return f"'{names[c]}'" if names else f"{c + 1}"

    x = np.empty((len(body), len(fcols)), dtype=np.float64)
    for i, (line, r) in enumerate(body):
        for j, c in enumerate(fcols):
            cell = r[c].strip()
            try:
                v = float(cell)
            except ValueError:
                what = "is empty" if not cell else f"'{cell}' is not a number"
                raise DataError(f"{source}: line {line}, column {col_name(c)}: {what}") from None
            if not math.isfinite(v):
                raise DataError(
                    f"{source}: line {line}, column {col_name(c)}: {cell} is not a finite number"
                )
            x[i, j] = v
    cells = [[r[c].strip() for c in tcols] for _, r in body]
    for (line, _), row in zip(body, cells, strict=True):
        for c, cell in zip(tcols, row, strict=True):
            if not cell:
                raise DataError(f"{source}: line {line}, column {col_name(c)}: the target is empty")
    labels = None
    if len(tcols) == 1 and not all(_is_number(r[0]) for r in cells):
        labels = sorted({r[0] for r in cells})
        index = {lab: k for k, lab in enumerate(labels)}
        y = np.array([index[r[0]] for r in cells], dtype=np.int64)
        task = "classification"
    else:
        for (line, _), row in zip(body, cells, strict=True):
            for c, cell in zip(tcols, row, strict=True):
                if not _is_number(cell) or not math.isfinite(float(cell)):
                    raise DataError(
                        f"{source}: line {line}, column {col_name(c)}: target '{cell}' is "
                        "not a number (labels work only in a single target column)"
                    )
        y = np.array(cells, dtype=np.float64)
        y = y[:, 0] if len(tcols) == 1 else y
        task = "regression"
    return Dataset(
        x,
        y,
        p.name,
        [names[c] if names else f"x{c + 1}" for c in fcols],
        [names[c] if names else f"column {c + 1}" for c in tcols],
        labels,
        task,
    )


def load_arrays(path: str | os.PathLike, target: Any = None) -> Dataset:
    """From ``.npz`` (arrays ``x`` and ``y``, or ``X`` and ``y``) or ``.npy`` (one table:
    the target column(s) as for CSV, the last by default). No pickles are loaded."""
    p = Path(path)
    source = str(p)
    try:
        data = np.load(p, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{source}: no such file") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{source}: not a NumPy file anyprop can read (no pickles): {e}") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            keys = set(data.files)
            xk = "x" if "x" in keys else "X" if "X" in keys else None
            if xk is None or "y" not in keys:
                raise DataError(
                    f"{source}: an .npz needs arrays named 'x' (or 'X') and 'y'; "
                    f"it has {sorted(keys)}"
                )
            x, y = data[xk], data["y"]
    else:
        if data.ndim != 2:
            raise DataError(
                f"{source}: an .npy must hold one table (samples, columns), got {data.shape}"
            )
        cols = _resolve_columns(-1 if target is None else target, None, data.shape[1], source)
        x = np.delete(data, cols, axis=1)
        y = data[:, cols[0]] if len(cols) == 1 else data[:, cols]
    if x.ndim == 1:
        x = x[:, None]
    for what, a in (("inputs", x), ("targets", y)):
        if not np.issubdtype(a.dtype, np.number) and a.dtype != bool:
            raise DataError(f"{source}: the {what} are not numbers (dtype {a.dtype})")
    bad = np.argwhere(~np.isfinite(x.astype(np.float64)))
    if bad.size:
        raise DataError(
            f"{source}: the inputs hold NaN or infinity (row {bad[0][0]}, column {bad[0][1]})"
        )
    task = "classification" if np.issubdtype(y.dtype, np.integer) and y.ndim == 1 else "regression"
    return Dataset(x.astype(np.float64), y, p.name, task=task)


def load_file(path: str | os.PathLike, target: Any = None) -> Dataset:
    """A data file by its extension: .csv, .tsv, .txt, .npy or .npz."""
    suffix = Path(path).suffix.lower()
    if suffix in (".npy", ".npz"):
        return load_arrays(path, target)
    if suffix in (".csv", ".tsv", ".txt", ""):
        return load_csv(path, target)
    raise DataError(f"{path}: unknown data format '{suffix}' (use .csv, .tsv, .npy or .npz)")


@dataclass
class Standardizer:
    """x ↦ (x − mean)/std per feature, fitted on training data only (std 0 → 1)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        return cls(mean, np.where(std > 1e-12, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        if x.shape[1] != self.mean.shape[0]:
            raise DataError(
                f"the data have {x.shape[1]} features; the model was trained on "
                f"{self.mean.shape[0]}"
            )
        return (x - self.mean) / self.std


def read_inputs(text: str, source: str, feature_names: Sequence[str]) -> np.ndarray:
    """Inputs for prediction from CSV text: one row per sample, the model's features.

    A header row is optional; with one, the columns are matched to the model's
    feature names (extra columns, such as a target, are ignored).
    """
    rows = [
        (i + 1, r)
        for i, r in enumerate(csv.reader(text.splitlines()))
        if r and any(c.strip() for c in r)
    ]
    if not rows:
        raise DataError(f"{source}: no inputs")
    first = [c.strip() for c in rows[0][1]]
    n = len(feature_names)
    cols = list(range(len(first)))
    if not all(_is_number(c) for c in first):
        missing = [f for f in feature_names if f not in first]
        if missing:
            from anyprop.registry import suggest

            raise DataError(
                f"{source}: the header has no column '{missing[0]}'"
                f"{suggest(missing[0], first)} (the model's features are "
                f"{', '.join(feature_names[:6])}{'...' if n > 6 else ''})"
            )
        cols = [first.index(f) for f in feature_names]
        rows = rows[1:]
    elif len(first) != n:
        raise DataError(f"{source}: rows have {len(first)} values; the model takes {n} inputs")
    x = np.empty((len(rows), n))
    for i, (line, r) in enumerate(rows):
        if len(r) != len(first):
            raise DataError(f"{source}: line {line} has {len(r)} cells, expected {len(first)}")
        for j, c in enumerate(cols):
            cell = r[c].strip()
            try:
                v = float(cell)
            except ValueError:
                raise DataError(
                    f"{source}: line {line}, column {c + 1}: '{cell}' is not a number"
                ) from None
            if not math.isfinite(v):
                raise DataError(f"{source}: line {line}, column {c + 1}: {cell} is not finite")
            x[i, j] = v
    return x


def as_columns(x: Sequence | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a
