"""Sequences from a CSV table in long form: one row per sequence and step.

A CSV whose header has a column named ``sequence`` and one named ``step`` holds
sequences: the rows with the same ``sequence`` (any text or number) are one sequence,
in the order of their ``step`` (whole numbers, consecutive within a sequence; the first
may be any), and the sequences come in the order they first appear. The target columns
(``--target``; by default the last column other than those two) hold the target at each
step; a row whose targets are empty has no loss at that step (targets only on each
sequence's last row make a loss at the last step alone). Every other column is an
input, a number at every step. As for tables, text targets are classes, and so is a
single column of at most 20 distinct whole numbers >= 0. Sequences of different
lengths are padded at their end; the mask leaves the padding, and the steps without a
target, out of the loss::

    sequence,step,x,y
    a,0,0.5,
    a,1,-1.0,1
    b,0,0.25,1
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from anyprop.data.dataset import DataError
from anyprop.data.sequences import Sequences
from anyprop.limits import check_bytes

SEQUENCE, STEP = "sequence", "step"


def is_long_form(names: list[str] | None) -> bool:
    """Whether a CSV header names a table of sequences in long form."""
    return names is not None and SEQUENCE in names and STEP in names


def _number(cell: str) -> float | None:
    try:
        v = float(cell)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def order_rows(
    names: list[str], body: list[tuple[int, list[str]]], source: str
) -> tuple[list[str], list[list[tuple[int, list[str]]]], list[list[int]]]:
    """(the sequences' ids, each sequence's rows in step order, their step values),
    checked: an id on every row, whole and consecutive steps, none twice."""
    sid, stp = names.index(SEQUENCE), names.index(STEP)
    found: dict[str, list[tuple[int, int, list[str]]]] = {}
    for line, r in body:
        key = r[sid].strip()
        if not key:
            raise DataError(f"{source}: line {line}, column '{SEQUENCE}': is empty")
        cell = r[stp].strip()
        v = _number(cell)
        if v is None or v != int(v) or v < 0:
            raise DataError(
                f"{source}: line {line}, column '{STEP}': '{cell}' is not a whole number >= 0"
            )
        found.setdefault(key, []).append((int(v), line, r))
    ids, rows, steps = [], [], []
    for key, items in found.items():
        items.sort(key=lambda item: item[0])
        for (s0, l0, _), (s1, l1, _) in itertools.pairwise(items):
            if s1 == s0:
                raise DataError(
                    f"{source}: line {l1}: sequence '{key}' has step {s1} twice (also line {l0})"
                )
            if s1 != s0 + 1:
                raise DataError(
                    f"{source}: line {l1}: sequence '{key}' has no step {s0 + 1} between "
                    f"{s0} (line {l0}) and {s1}: its steps must follow each other"
                )
        ids.append(key)
        rows.append([(line, r) for _, line, r in items])
        steps.append([s for s, _, _ in items])
    return ids, rows, steps


def read_long_inputs(
    names: list[str], body: list, source: str, fcols: list[int], width: int
) -> tuple[np.ndarray, np.ndarray | None, list[str], list[list[int]], list[list]]:
    """(inputs (sequences, steps, features), the mask or None, the sequences' ids, their
    step values, their rows) from long-form rows, the inputs in the columns ``fcols``."""
    ids, rows, steps = order_rows(names, body, source)
    n, longest = len(rows), max(len(r) for r in rows)
    check_bytes(2 * n * longest * (len(fcols) + 1) * 8, f"{source}: sequences")
    x = np.zeros((n, longest, len(fcols)))
    for s, seq in enumerate(rows):
        for t, (line, r) in enumerate(seq):
            if len(r) != width:
                raise DataError(f"{source}: line {line} has {len(r)} cells, expected {width}")
            for j, c in enumerate(fcols):
                cell = r[c].strip()
                v = _number(cell)
                if v is None:
                    what = "is empty" if not cell else f"'{cell}' is not a finite number"
                    raise DataError(
                        f"{source}: line {line}, column '{names[c]}': {what} (the inputs of "
                        "sequences are numbers at every step)"
                    )
                x[s, t, j] = v
    lengths = np.array([len(r) for r in rows])
    mask = None
    if np.any(lengths != longest):
        mask = (np.arange(longest)[None, :] < lengths[:, None]).astype(np.float64)
    return x, mask, ids, steps, rows


def long_form_sequences(
    names: list[str], body: list, tcols: list[int], source: str, name: str
) -> Sequences:
    """Sequences from a long-form CSV's header and rows (see the module)."""
    skip = {names.index(SEQUENCE), names.index(STEP), *tcols}
    fcols = [c for c in range(len(names)) if c not in skip]
    if not fcols:
        raise DataError(f"{source}: no input columns are left beside sequence, step and target")
    if names.index(SEQUENCE) in tcols or names.index(STEP) in tcols:
        raise DataError(f"{source}: the target cannot be the '{SEQUENCE}' or '{STEP}' column")
    x, mask, ids, _, rows = read_long_inputs(names, body, source, fcols, len(names))
    cells = [[[r[c].strip() for c in tcols] for _, r in seq] for seq in rows]
    n, steps = x.shape[:2]
    taken = np.zeros((n, steps))
    for s, (seq, seq_rows) in enumerate(zip(cells, rows, strict=True)):
        for t, (row, (line, _)) in enumerate(zip(seq, seq_rows, strict=True)):
            if all(row):
                taken[s, t] = 1
            elif any(row):
                empty = names[tcols[row.index("")]]
                raise DataError(
                    f"{source}: line {line}, column '{empty}': the target is empty while the "
                    "row's other targets are not (leave all of a row's targets empty for no "
                    "loss at that step)"
                )
        if not taken[s].any():
            raise DataError(f"{source}: sequence '{ids[s]}' has no target at any step")
    flat = [row for seq in cells for row in seq if all(row)]
    labels = None
    if len(tcols) == 1 and not all(_number(r[0]) is not None for r in flat):
        labels = sorted({r[0] for r in flat})
        index = {lab: k for k, lab in enumerate(labels)}
        value = lambda row: index[row[0]]  # noqa: E731
        y = np.zeros((n, steps), np.int64)
        task = "classification"
    else:
        for seq, seq_rows in zip(cells, rows, strict=True):
            for row, (line, _) in zip(seq, seq_rows, strict=True):
                for c, cell in zip(tcols, row, strict=True):
                    if cell and _number(cell) is None:
                        raise DataError(
                            f"{source}: line {line}, column '{names[c]}': target '{cell}' is "
                            "not a number (labels work only in a single target column)"
                        )
        value = lambda row: [float(v) for v in row]  # noqa: E731
        y = np.zeros((n, steps, len(tcols)))
        task = "regression"
        found = {float(r[0]) for r in flat} if len(tcols) == 1 else set()
        if found and len(found) <= 20 and all(v == int(v) and v >= 0 for v in found):
            value = lambda row: int(float(row[0]))  # noqa: E731  (whole numbers: classes)
            y = np.zeros((n, steps), np.int64)
            task = "classification"
    for s, seq in enumerate(cells):
        for t, row in enumerate(seq):
            if taken[s, t]:
                y[s, t] = value(row)
    if not taken.all() or mask is not None:  # (taken implies within the sequence's length)
        mask = taken
    return Sequences(
        x,
        y,
        mask,
        name,
        task,
        labels,
        [names[c] for c in fcols],
        [names[c] for c in tcols],
        per_step=True,
        label_kind="text" if labels is not None else "number",
    )


def read_long_form_text(
    text: str, source: str, feature_names: list[str]
) -> tuple[np.ndarray, np.ndarray | None, list[str], list[list[int]]]:
    """(inputs, mask or None, the sequences' ids, their step values) for predictions,
    from long-form CSV text whose header names ``sequence``, ``step`` and the model's
    features (other columns, such as a target, are ignored)."""
    from anyprop.data.encoding import csv_rows
    from anyprop.registry import suggest

    rows = csv_rows(text, source)
    names = [c.strip() for c in rows[0][1]]
    if not is_long_form(names):
        raise DataError(
            f"{source}: the model runs over sequences: give them one row per sequence and "
            f"step, with a header naming the columns '{SEQUENCE}', '{STEP}' and its inputs "
            f"({', '.join(feature_names[:6])}), or as an .npz with an array 'x'"
        )
    absent = [f for f in feature_names if f not in names]
    if absent:
        raise DataError(
            f"{source}: the header has no column '{absent[0]}'{suggest(absent[0], names)} "
            f"(the model's inputs are {', '.join(feature_names[:6])})"
        )
    if len(rows) < 2:
        raise DataError(f"{source}: the file has a header but no data rows")
    fcols = [names.index(f) for f in feature_names]
    x, mask, ids, steps, _ = read_long_inputs(names, rows[1:], source, fcols, len(names))
    return x, mask, ids, steps
