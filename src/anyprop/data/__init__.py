"""Data: the :class:`Dataset`, standardisation, and the file readers (CSV, .npy, .npz).

Below training and the named data sets in the layering: both build on it.
"""

from anyprop.data.dataset import IMPUTE, DataError, Dataset, Imputer, Standardizer, from_pair
from anyprop.data.files import load_arrays, load_csv, load_file, read_inputs

__all__ = [
    "IMPUTE",
    "DataError",
    "Dataset",
    "Imputer",
    "Standardizer",
    "from_pair",
    "load_arrays",
    "load_csv",
    "load_file",
    "read_inputs",
]
