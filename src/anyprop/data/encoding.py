"""Text feature columns: categories, one-hot encoded, saved with the model.

A feature column whose every value is text (a colour, a town) becomes one input
per category, 1 where the row has it and 0 elsewhere, named ``column=category``.
The categories are those of the training file, in sorted order, and are saved in
the model: at prediction time the same columns are made, and a category the model
never saw is an error naming it.

>>> c = Columns([("size", None), ("colour", ["blue", "red"])])
>>> c.names()
['size', 'colour=blue', 'colour=red']
>>> c.encode([["2.5", "red"]], "rows", [1]).tolist()
[[2.5, 0.0, 1.0]]
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from anyprop.data.dataset import DataError


def number(cell: str, where: str, missing: bool = False) -> float:
    """One input cell as a number (NaN for an empty cell, with ``missing``); ``where``
    (file, line and column) starts the message of a cell that is not one."""
    if missing and not cell:
        return float("nan")
    try:
        v = float(cell)
    except ValueError:
        what = "is empty" if not cell else f"'{cell}' is not a number"
        raise DataError(f"{where}: {what}") from None
    if not math.isfinite(v):
        raise DataError(f"{where}: {cell} is not a finite number")
    return v


def csv_rows(
    text: str, source: str, delimiter: str = ",", empty: str = "no inputs"
) -> list[tuple[int, list[str]]]:
    """The non-blank rows of CSV text, each with its line number; a row csv cannot read
    (a cell over its length limit, a NUL byte) is an error naming its line."""
    # (as a file read with newline="": a quoted cell may hold a line break, and only
    # \n, \r\n and \r end a row, as csv reads a file)
    rows = list(iter_csv_rows(io.StringIO(text, newline=""), source, delimiter))
    if not rows:
        raise DataError(f"{source}: {empty}")
    return rows


def iter_csv_rows(
    lines: Iterable[str], source: str, delimiter: str = ","
) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows of CSV lines one by one, each with its line number (for a file
    read as a stream: :func:`anyprop.data.files.load_csv` with a part)."""
    reader = csv.reader(lines, delimiter=delimiter)
    last = 0  # the line the previous row ended on (a quoted line break spans lines)
    try:
        for r in reader:
            line, last = last + 1, reader.line_num
            if r and any(c.strip() for c in r):
                yield line, r
    except csv.Error as e:
        problem = str(e)
        if "field larger than field limit" in problem:
            problem = f"a cell longer than {csv.field_size_limit()} characters"
        raise DataError(f"{source}: line {reader.line_num}: {problem}") from None


class Columns:
    """The feature columns as the file has them: (name, None) for a number, (name,
    categories) for text, in order."""

    def __init__(self, columns: Sequence[tuple[str, list[str] | None]]) -> None:
        self.columns = [(str(n), None if c is None else [str(v) for v in c]) for n, c in columns]

    def names(self) -> list[str]:
        """The inputs' names, a category's column expanded (``colour=red``)."""
        out: list[str] = []
        for name, cats in self.columns:
            out += [name] if cats is None else [f"{name}={c}" for c in cats]
        return out

    @property
    def categorical(self) -> bool:
        return any(c is not None for _, c in self.columns)

    def encode(
        self,
        rows: Sequence[Sequence[str]],
        source: str,
        lines: Sequence[int],
        missing: bool = False,
    ) -> np.ndarray:
        """The inputs of text rows (one cell per column, in ``columns`` order); with
        ``missing``, an empty number is NaN (for an imputer to fill)."""
        width = len(self.names())
        x = np.zeros((len(rows), width), dtype=np.float64)
        for i, (line, row) in enumerate(zip(lines, rows, strict=True)):
            at = 0
            for (name, cats), cell in zip(self.columns, row, strict=True):
                cell = cell.strip()
                if cats is None:
                    x[i, at] = number(cell, f"{source}: line {line}, column '{name}'", missing)
                    at += 1
                    continue
                if cell not in cats:
                    shown = ", ".join(cats[:8]) + (", ..." if len(cats) > 8 else "")
                    raise DataError(
                        f"{source}: line {line}, column '{name}': the category '{cell}' was not "
                        f"in the training data (its categories: {shown})"
                    )
                x[i, at + cats.index(cell)] = 1.0
                at += len(cats)
        return x

    def read(self, text: str, source: str, missing: bool = False) -> np.ndarray:
        """Inputs for prediction from CSV text with these columns: by name when the first
        row is a header (other columns, such as a target, are ignored), else in order."""
        rows = csv_rows(text, source)
        first = [c.strip() for c in rows[0][1]]
        wanted = [n for n, _ in self.columns]
        if all(n in first for n in wanted):
            picks, rows = [first.index(n) for n in wanted], rows[1:]
        elif len(first) == len(wanted):
            picks = list(range(len(wanted)))
        else:
            missing = next(n for n in wanted if n not in first)
            raise DataError(
                f"{source}: the header has no column '{missing}' (the model's columns are "
                f"{', '.join(wanted[:6])}{'...' if len(wanted) > 6 else ''})"
            )
        for line, r in rows:
            if len(r) != len(first):
                raise DataError(f"{source}: line {line} has {len(r)} cells, expected {len(first)}")
        cells = [[r[k] for k in picks] for _, r in rows]
        return self.encode(cells, source, [ln for ln, _ in rows], missing)

    def to_json(self) -> list[Any]:
        return [[n, c] for n, c in self.columns]

    @classmethod
    def from_json(cls, data: Any) -> Columns:
        return cls([(n, c) for n, c in data])
