"""Data sets by name: the classic problems, generated, and a few real ones.

>>> ds = load("xor")
>>> ds.x.tolist(), ds.y.ravel().tolist()
([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])

``load("parity", n=6)`` passes options; ``load("encoder:n=4")`` is the same
written as one string (as ``--data`` takes it on the command line).
"""

from anyprop.datasets import classic, real, sequences  # noqa: F401  (fill the registry)
from anyprop.datasets.registry import DATASETS, DatasetInfo, load, parse_name

__all__ = ["DATASETS", "DatasetInfo", "load", "parse_name"]
