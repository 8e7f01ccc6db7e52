"""Parts of one data set on several processes, read alike.

In data-parallel training over parts of the data (a file for each process, or each
process's rows of one file), a part may lack a class, a text category of an input
column, or the value that makes a column's numbers more than whole ones. Read alone,
the parts would then be encoded differently: other input widths, other class numbers.
:func:`agree` makes every process's part read as the whole would be: the union of the
categories (an input's one-hot columns in the order of the union, sorted as one file's
would be), the union of the text labels (``y`` renumbered), and the distinct target
values of the whole (:attr:`Dataset.whole_values`), by which the task is decided and
whole numbers are numbered as classes. One allgather of the parts' small summaries.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from anyprop.data.dataset import Dataset
from anyprop.data.encoding import Columns
from anyprop.errors import AnypropError


def agree(data: Any, comm: Any) -> Any:
    """``data`` (this process's part) read as every part together would be; the same
    columns, labels and target values on every process. Sequences and data sets read
    from a name are returned as they are (their encoding does not depend on the rows)."""
    if not isinstance(data, Dataset):
        return data
    columns = data.columns.columns if isinstance(data.columns, Columns) else None
    labels = data.labels if data.label_kind == "text" else None
    values = data.integer_labels() if data.labels is None else None
    every = comm.allgather((_layout(data), columns, labels, values is None, values))
    for r, (layout, *_) in enumerate(every):  # before any collective that counts on them
        if layout != every[0][0]:
            raise AnypropError(
                f"the processes' data differ in their columns: process 0 has {every[0][0]}, "
                f"process {r} {layout} (every process's part of the data must have the same "
                "columns)"
            )
    _, all_columns, all_labels, not_whole, all_values = zip(*every, strict=True)
    if columns is not None and all(_same_layout(columns, c) for c in all_columns):
        data = _with_columns(data, _union_columns(list(all_columns)))
    if labels is not None and all(lab is not None for lab in all_labels):
        data = _with_labels(data, sorted({v for lab in all_labels for v in lab}))
    if data.labels is None:
        if any(not_whole):
            data = dataclasses.replace(data, whole_values=False)
        else:
            data = dataclasses.replace(data, whole_values=np.unique(np.concatenate(all_values)))
    return data


def _layout(data: Dataset) -> str:
    """The columns in words: inputs (a text column's categories aside) and targets."""
    if isinstance(data.columns, Columns):
        inputs = [n + ("" if c is None else " (text)") for n, c in data.columns.columns]
    else:
        inputs = list(data.feature_names) or [f"{data.x.shape[1]} columns"]
    targets = list(data.target_names) or [f"{1 if data.y.ndim == 1 else data.y.shape[1]}"]
    text = data.labels is not None and data.label_kind == "text"  # (a part of numbers: not)
    kind = " (text labels)" if text else " (numbers)"
    return f"inputs {_few(inputs)}; targets {_few(targets)}{kind}"


def _few(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:6])}, ... ({len(names)})"


def _same_layout(a: list, b: Any) -> bool:
    """The same columns, by name and kind (number or categories), in the same order: the
    parts of one data set (other layouts are said as an error by the start check)."""
    return (
        b is not None
        and len(a) == len(b)
        and all(n == m and (c is None) == (d is None) for (n, c), (m, d) in zip(a, b, strict=True))
    )


def _union_columns(parts: list[list]) -> Columns:
    first = parts[0]
    out = []
    for k, (name, cats) in enumerate(first):
        if cats is None:
            out.append((name, None))
        else:  # sorted, as one file's categories are (files.load_csv)
            out.append((name, sorted({c for part in parts for c in part[k][1]})))
    return Columns(out)


def _with_columns(data: Dataset, whole: Columns) -> Dataset:
    """The part's inputs with the one-hot columns of the union's categories: a
    category the part lacks is a column of zeros."""
    mine = data.columns
    if mine.columns == whole.columns:
        return data
    x = np.zeros((len(data), len(whole.names())), dtype=data.x.dtype)
    at_mine = at_whole = 0
    for (_, cats), (_, all_cats) in zip(mine.columns, whole.columns, strict=True):
        if cats is None:
            x[:, at_whole] = data.x[:, at_mine]
            at_mine, at_whole = at_mine + 1, at_whole + 1
            continue
        where = [all_cats.index(c) for c in cats]
        x[:, [at_whole + j for j in where]] = data.x[:, at_mine : at_mine + len(cats)]
        at_mine, at_whole = at_mine + len(cats), at_whole + len(all_cats)
    return dataclasses.replace(data, x=x, columns=whole, feature_names=whole.names())


def _with_labels(data: Dataset, labels: list[str]) -> Dataset:
    """The part's class indices renumbered into the union of the parts' labels."""
    if data.labels == labels:
        return data
    new = np.array([labels.index(v) for v in data.labels], dtype=np.int64)
    return dataclasses.replace(data, y=new[np.asarray(data.y, dtype=np.int64)], labels=labels)
