"""Where data come from: a data set's name, a file, arrays or pandas objects.

Below the trainer, the model files and the jobs: each of them reads data through
here, so that the command line and Python read the same things the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from anyprop.data import Dataset, from_pair, load_file
from anyprop.data.files import part_rows
from anyprop.data.sequences import Sequences, sequences_from
from anyprop.errors import AnypropError
from anyprop.fileio import as_path


def as_dataset(data: Any, target: Any = None, columns: Any = None) -> Dataset:
    """A Dataset from what a user has: a Dataset, an (inputs, targets) pair of arrays,
    lists or pandas objects (text labels become classes), a data set's name or a file."""
    if isinstance(data, (str, os.PathLike)):
        return load_data(str(data), target, columns)
    if isinstance(data, Dataset):
        return data
    seqs = sequences_from(data, "data")
    if seqs is not None:
        return seqs
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        names = [str(c) for c in getattr(x, "columns", [])]  # a pandas DataFrame's
        x = x.to_numpy() if hasattr(x, "to_numpy") else x
        y = y.to_numpy() if hasattr(y, "to_numpy") else y
        d = from_pair((np.asarray(x), np.asarray(y)), "data")
        if names and len(names) == d.x.shape[1]:
            d.feature_names = names
        return d
    raise AnypropError(
        "data must be a Dataset, an (inputs, targets) pair, a data set's name or a file; "
        f"got {type(data).__name__}"
    )


def load_data(
    source: str | Dataset,
    target: Any = None,
    columns: Any = None,
    missing: bool = False,
    part: tuple[int, int] | None = None,
) -> Dataset:
    """A data set by name (``parity:n=6``) or a data file (.csv, .npy, .npz); ``columns``,
    a model's feature columns where some are text categories, reads a CSV as it did;
    ``part`` (r, P), only part r of P of the rows (``anyprop.data.files.part_rows``):
    a file's, read alone where the format allows, or a named set's."""
    if isinstance(source, (Dataset, Sequences)):
        if part is None:
            return source
        a, b = part_rows(len(source), part, source.name)
        return source.subset(np.arange(a, b))
    if not isinstance(source, (str, os.PathLike)):
        raise AnypropError(
            f"the data are a data set's name, a file or a Dataset, got {type(source).__name__} "
            "(an (inputs, targets) pair goes to anyprop.train_model)"
        )
    as_path(source, "the data")
    from anyprop.datasets import load as load_named  # (datasets sit beside train, on data)

    path = Path(source)
    if path.suffix.lower() in (".csv", ".tsv", ".txt", ".npy", ".npz") or path.exists():
        return load_file(path, target, columns, missing, part)
    if target is not None:
        raise AnypropError(f"--target applies to data files; '{source}' is a named data set")
    data = load_named(source)
    if part is None:
        return data
    a, b = part_rows(len(data), part, source)
    return data.subset(np.arange(a, b))
