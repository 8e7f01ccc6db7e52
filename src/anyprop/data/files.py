"""Data files: CSV, .npy and .npz, and inputs for prediction.

Every loading mistake names the file, the row and the column: ragged rows,
cells that are not numbers, missing values.
"""

from __future__ import annotations

import fnmatch
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from anyprop.data.dataset import DataError, Dataset
from anyprop.data.encoding import Columns, csv_rows, iter_csv_rows, number
from anyprop.data.long_form import SEQUENCE, STEP, is_long_form, long_form_sequences
from anyprop.data.sequences import Sequences
from anyprop.fileio import read_file
from anyprop.limits import check_bytes


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _resolve_columns(spec: Any, header: list[str] | None, width: int, source: str) -> list[int]:
    """The target columns named by ``spec``: a column name or number (negative counts from
    the end), a range of names or numbers ``"y0:y9"`` (both ends included), a glob pattern
    of names ``"y*"``, or a list of these."""
    items = spec if isinstance(spec, (list, tuple)) else [spec]
    out: list[int] = []

    def one(item: Any) -> int:
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
            return k % width
        if header is not None and item in header:
            return header.index(item)
        from anyprop.registry import suggest

        names = header or []
        hint = suggest(item, names) if names else " (the file has no header: give a column number)"
        raise DataError(f"{source}: no column named '{item}'{hint}")

    for item in items:
        text = item if isinstance(item, str) else None
        if text is not None and text not in (header or []) and ":" in text:
            first, _, last = text.partition(":")
            a, b = one(first.strip()), one(last.strip())
            if b < a:
                raise DataError(f"{source}: the target range '{text}' runs backwards")
            out += list(range(a, b + 1))
        elif text is not None and text not in (header or []) and any(c in text for c in "*?["):
            hits = [k for k, name in enumerate(header or []) if fnmatch.fnmatchcase(name, text)]
            if not hits:
                raise DataError(f"{source}: no column matches the pattern '{text}'")
            out += hits
        else:
            out.append(one(item))
    seen: set[int] = set()
    for k in out:
        if k in seen:
            name = header[k] if header else f"{k + 1}"
            raise DataError(f"{source}: target column '{name}' is named twice")
        seen.add(k)
    return out


def _check_header(names: list[str], source: str) -> None:
    """A header naming a column twice is an error: which one a name means would be a guess."""
    first: dict[str, int] = {}
    for k, name in enumerate(names):
        if name in first:
            raise DataError(
                f"{source}: the header names two columns '{name}' (columns {first[name] + 1} and "
                f"{k + 1}); give each column its own name"
            )
        first[name] = k


def _numbers(
    body: list, fcols: list[int], source: str, col_name: Any, missing: bool = False
) -> np.ndarray:
    """The feature cells as numbers, each mistake named by its line and column (an empty
    cell, with ``missing``, is NaN: a missing value)."""
    x = np.empty((len(body), len(fcols)), dtype=np.float64)
    for i, (line, r) in enumerate(body):
        for j, c in enumerate(fcols):
            where = f"{source}: line {line}, column {col_name(c)}"
            x[i, j] = number(r[c].strip(), where, missing)
    return x


def part_rows(n: int, part: tuple[int, int], source: str) -> tuple[int, int]:
    """Rows [r·n // P, (r + 1)·n // P) of n: part r of P, the parts in order and their
    sizes within one row of each other; an error where some part would be empty."""
    r, size = part
    if not 0 <= r < size:
        raise DataError(f"{source}: there is no part {r} of {size}")
    if n < size:
        raise DataError(
            f"{source}: {n} row{'s' if n != 1 else ''} cannot be shared by {size} processes "
            "(each needs at least one)"
        )
    return r * n // size, (r + 1) * n // size


def _csv_part(
    p: Path, source: str, delimiter: str, header: bool | None, part: tuple[int, int]
) -> tuple[list[tuple[int, list[str]]], bool]:
    """The header (if any) and part ``part`` of the data rows of a CSV file, in two
    streamed passes (the rows counted, then the part's kept), so that a process holds
    its own rows alone; and whether the first row is a header."""
    if p.is_dir():
        raise DataError(f"{p}: is a folder, not a file")

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            with open(p, encoding="utf-8-sig", newline="") as f:
                yield from iter_csv_rows(f, source, delimiter)
        except FileNotFoundError:
            raise DataError(f"{p}: no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"{p}: cannot read the file: {e}") from None

    first, n = None, 0
    for row in rows():
        first = first or row
        n += 1
    if first is None:
        raise DataError(f"{source}: the file holds no data")
    if header is None:
        header = not all(_is_number(c.strip()) for c in first[1])
    if header and n == 1:
        raise DataError(f"{source}: the file has a header but no data rows")
    a, b = part_rows(n - header, part, source)
    kept = [first] if header else []
    for k, row in enumerate(rows()):  # k - header: the row's place among the data rows
        if a <= k - header < b:
            kept.append(row)
        elif k - header >= b:
            break
    return kept, header


def load_csv(
    path: str | os.PathLike,
    target: Any = None,
    header: bool | None = None,
    delimiter: str | None = None,
    columns: Columns | None = None,
    missing: bool = False,
    part: tuple[int, int] | None = None,
) -> Dataset:
    """A table from a CSV file: every column but the target(s) is an input. A header
    with the columns ``sequence`` and ``step`` makes it sequences in long form
    (:mod:`anyprop.data.long_form`).

    ``target``: a column name or number (negative counts from the end), or a list
    of them; the last column by default. ``header``: whether the first row names
    the columns (guessed when None: a first row with a cell that is not a number).
    ``part`` (r, P): only part r of P of the data rows (:func:`part_rows`), the file
    read as a stream, for data too large for one process; its categories and labels
    are those of its own rows (:func:`anyprop.train.shards.agree` unites them).
    """
    p = Path(path)
    source = str(p)
    if delimiter is None:
        delimiter = "\t" if p.suffix.lower() == ".tsv" else ","
    if part is None:
        text = read_file(p, "file", DataError, encoding="utf-8-sig")
        rows = csv_rows(text, source, delimiter, "the file holds no data")
    else:
        rows, header = _csv_part(p, source, delimiter, header, part)
    first = [c.strip() for c in rows[0][1]]
    if header is None:
        header = not all(_is_number(c) for c in first)
    names = first if header else None
    if names is not None:
        _check_header(names, source)
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{source}: the file has a header but no data rows")
    width = len(first)
    for line, r in body:
        if len(r) != width:
            raise DataError(
                f"{source}: line {line} has {len(r)} cells, expected {width} like line {rows[0][0]}"
            )
    if is_long_form(names):  # one row per sequence and step
        if part is not None:
            raise DataError(
                f"{source}: sequences in long form cannot be shared out by rows (a sequence "
                "would be split): give each process a file of its own ('part-{rank}.csv')"
            )
        last = max(c for c in range(width) if names[c] not in (SEQUENCE, STEP))
        tcols = _resolve_columns(last if target is None else target, names, width, source)
        return long_form_sequences(names, body, tcols, source, p.name)
    tcols = _resolve_columns(-1 if target is None else target, names, width, source)
    fcols = [c for c in range(width) if c not in tcols]
    if not fcols:
        raise DataError(f"{source}: no input columns are left once the targets are taken")

    def col_name(c: int) -> str:
        return f"'{names[c]}'" if names else f"{c + 1}"

    # a feature column whose every cell is text is categories (one-hot); one that mixes
    # numbers and text stays an error at its first text cell (most often a typo)
    kinds: list[tuple[str, list[str] | None]] = []
    for c in fcols:
        cells = [r[c].strip() for _, r in body]
        if all(cell and not _is_number(cell) for cell in cells):
            kinds.append((names[c] if names else f"x{c + 1}", sorted(set(cells))))
        else:
            kinds.append((names[c] if names else f"x{c + 1}", None))
    if columns is not None:  # a model's own columns: the same inputs, by name
        given = [n for n, _ in columns.columns]
        if names is None or any(n not in names for n in given):
            missing = next((n for n in given if n not in (names or [])), given[0])
            raise DataError(f"{source}: no column named '{missing}', one the model takes")
        fcols = [names.index(n) for n in given]
        kinds = list(columns.columns)
    columns = Columns(kinds)
    categories = {c for c, (_, cats) in zip(fcols, kinds, strict=True) if cats is not None}
    gaps = [(line, c) for line, r in body for c in fcols if not r[c].strip()]
    if missing:  # numbers may be missing (filled in later by an imputer), categories not
        gaps = [(line, c) for line, c in gaps if c in categories]
    if gaps:  # all of them at once: how many, and in which rows
        line0, c0 = gaps[0]
        lines = sorted({line for line, _ in gaps})
        shown = ", ".join(str(v) for v in lines[:8]) + (", ..." if len(lines) > 8 else "")
        raise DataError(
            f"{source}: line {line0}, column {col_name(c0)}: is empty ({len(gaps)} missing "
            f"value{'s' if len(gaps) != 1 else ''} in the inputs, on line"
            f"{'s' if len(lines) != 1 else ''} {shown}); fill them in, remove those rows, or "
            "impute them (--impute mean|median|most_frequent)"
        )
    if columns.categorical:
        x = columns.encode(
            [[r[c] for c in fcols] for _, r in body], source, [ln for ln, _ in body], missing
        )
    else:
        x = _numbers(body, fcols, source, col_name, missing)
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
        columns.names() if columns.categorical else [n for n, _ in kinds],
        [names[c] if names else f"column {c + 1}" for c in tcols],
        labels,
        task,
        columns if columns.categorical else None,
    )


def load_arrays(
    path: str | os.PathLike, target: Any = None, part: tuple[int, int] | None = None
) -> Dataset | Sequences:
    """From ``.npz`` (arrays ``x`` and ``y``, or ``X`` and ``y``) or ``.npy`` (one table:
    the target column(s) as for CSV, the last by default). No pickles are loaded.

    An ``.npz`` whose ``x`` has three axes holds sequences (:class:`Sequences`): ``x``
    (sequences, steps, features), ``y`` per step or at the last step, and optionally
    ``mask`` (sequences, steps) of 0/1 and ``weights`` (one per sequence). ``part`` (r, P):
    only part r of P of the rows (or sequences, :func:`part_rows`); an ``.npy`` is mapped,
    and only the part's rows are read."""
    p = Path(path)
    source = str(p)
    try:
        data = np.load(p, allow_pickle=False, mmap_mode="r")  # (sizes checked, not read yet)
    except FileNotFoundError:
        raise DataError(f"{source}: no such file") from None
    except MemoryError:
        raise DataError(f"{source}: the file claims more data than memory holds") from None
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
            try:
                x, y = data[xk], data["y"]
                extra = {k: data[k] for k in ("mask", "weights") if k in keys}
            except ValueError as e:  # object arrays need pickles, which are never loaded
                raise DataError(f"{source}: an array anyprop cannot read: {e}") from None
            if np.ndim(x) == 0:
                raise DataError(f"{source}: '{xk}' is a single number, not rows of inputs")
            rows = all(np.ndim(a) and len(a) == len(x) for a in (y, *extra.values()))
            if part is not None and rows:  # (an .npz member is read whole: then cut; arrays
                # of other lengths are left whole, for the error the whole file gets)
                a, b = part_rows(len(x), part, source)
                x, y = x[a:b], y[a:b]
                extra = {k: v[a:b] for k, v in extra.items()}
            if x.ndim == 3:
                return _sequences(source, p.name, x, y, extra)
    else:
        if data.ndim != 2:
            raise DataError(
                f"{source}: an .npy must hold one table (samples, columns), got {data.shape}"
            )
        cols = _resolve_columns(-1 if target is None else target, None, data.shape[1], source)
        if part is not None:  # (mapped: only these rows are read from the file)
            a, b = part_rows(len(data), part, source)
            data = data[a:b]
        check_bytes(3 * data.nbytes, source)  # (its copies while it is read)
        x = np.array(np.delete(data, cols, axis=1))
        y = np.array(data[:, cols[0]] if len(cols) == 1 else data[:, cols])
    if x.ndim == 1:
        x = x[:, None]
    if len(x) == 0:
        raise DataError(f"{source}: the file holds no rows")
    for what, a in (("inputs", x), ("targets", y)):
        if a.dtype.kind not in "biufc":  # (not dates, durations, text or objects)
            raise DataError(f"{source}: the {what} are not numbers (dtype {a.dtype})")
        if np.issubdtype(a.dtype, np.complexfloating):
            raise DataError(f"{source}: the {what} are complex numbers; anyprop takes real ones")
    bad = np.argwhere(~np.isfinite(x.astype(np.float64)))
    if bad.size:
        raise DataError(
            f"{source}: the inputs hold NaN or infinity (row {bad[0][0]}, column {bad[0][1]})"
        )
    task = "classification" if np.issubdtype(y.dtype, np.integer) and y.ndim == 1 else "regression"
    return Dataset(x.astype(np.float64), y, p.name, task=task)


def _sequences(source: str, name: str, x: Any, y: Any, extra: dict) -> Sequences:
    """Sequences from an .npz's arrays, checked (the messages name the file)."""
    for what, a in (("inputs", x), ("targets", y), *extra.items()):
        if a.dtype.kind not in "biuf":
            raise DataError(f"{source}: '{what}' is not an array of real numbers (dtype {a.dtype})")
    check_bytes(2 * (x.nbytes + y.nbytes), source)
    task = "classification" if y.dtype.kind in "iu" else "regression"
    try:
        return Sequences(
            np.asarray(x, dtype=np.float64),
            np.array(y),
            extra.get("mask"),
            name,
            task,
            weights=extra.get("weights"),
        )
    except DataError as e:
        raise DataError(f"{source}: {str(e).removeprefix(name + ': ')}") from None


def read_sequence_inputs(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """(inputs, mask or None) from an .npz's ``x`` (or ``X``) and ``mask``, for
    predictions: sequences (sequences, steps, features), or a table (samples, features)."""
    source = str(path)
    try:
        data = np.load(path, allow_pickle=False, mmap_mode="r")
    except FileNotFoundError:
        raise DataError(f"{source}: no such file") from None
    except (OSError, ValueError, MemoryError) as e:
        raise DataError(f"{source}: not a NumPy file anyprop can read (no pickles): {e}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise DataError(f"{source}: sequences come in an .npz with an array 'x'")
    with data:
        xk = "x" if "x" in data.files else "X" if "X" in data.files else None
        if xk is None:
            raise DataError(f"{source}: an .npz of sequences needs an array named 'x'")
        try:
            x, mask = data[xk], data["mask"] if "mask" in data.files else None
        except ValueError as e:
            raise DataError(f"{source}: an array anyprop cannot read: {e}") from None
    if x.ndim == 2 and mask is None:  # a table of inputs, one row per sample
        if x.dtype.kind not in "biuf" or not np.all(np.isfinite(x)):
            raise DataError(f"{source}: the inputs must be finite real numbers")
        return np.asarray(x, dtype=np.float64), None
    y = np.zeros(len(x)) if x.ndim == 3 else np.zeros(0)
    seqs = _sequences(source, Path(source).name, x, y, {} if mask is None else {"mask": mask})
    return seqs.x, seqs.mask


def load_file(
    path: str | os.PathLike,
    target: Any = None,
    columns: Columns | None = None,
    missing: bool = False,
    part: tuple[int, int] | None = None,
) -> Dataset:
    """A data file by its extension: .csv, .tsv, .txt, .npy or .npz (``columns``: a
    model's feature columns with text categories, for a CSV; ``part`` (r, P): only part
    r of P of its rows, :func:`part_rows`)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".npy", ".npz"):
        return load_arrays(path, target, part)
    if suffix in (".csv", ".tsv", ".txt", ""):
        return load_csv(path, target, columns=columns, missing=missing, part=part)
    raise DataError(f"{path}: unknown data format '{suffix}' (use .csv, .tsv, .npy or .npz)")


def read_inputs(
    text: str, source: str, feature_names: Sequence[str], missing: bool = False
) -> np.ndarray:
    """Inputs for prediction from CSV text: one row per sample, the model's features.

    A header row is optional; with one, the columns are matched to the model's
    feature names (extra columns, such as a target, are ignored).
    """
    rows = csv_rows(text, source)
    first = [c.strip() for c in rows[0][1]]
    n = len(feature_names)
    cols = list(range(len(first)))
    if not all(_is_number(c) for c in first):
        absent = [f for f in feature_names if f not in first]
        if absent:
            from anyprop.registry import suggest

            raise DataError(
                f"{source}: the header has no column '{absent[0]}'"
                f"{suggest(absent[0], first)} (the model's features are "
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
            if missing and not cell:  # the model imputes it
                x[i, j] = np.nan
                continue
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
