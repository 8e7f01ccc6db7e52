"""Connections between unit groups, and the index work behind sparse ones.

A connection carries a source group's outputs into a target group's net input.
Its weight parameter is named ``"<connection>.weight"``:

- ``dense``: a (source units, target units) matrix W, net += o_src @ W, so
  W[i, j] is the weight w_ij from source unit i to target unit j;
- ``sparse``: only listed (source unit, target unit) pairs have weights; the
  parameter is a vector with one weight per pair, kept in CSR order of the
  (target, source) matrix (``rows`` = target units, ``cols`` = source units);
- ``one_to_one``: one weight per unit pair (i, i), net += o_src ⊙ w.

A connection may instead *share* another connection's weights (``share``),
as they are or transposed (an autoencoder's tied decoder); it then has no
parameter of its own and its gradient adds to the owner's. A connection with
``trainable=False`` is fixed: it carries signals and deltas, but never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from anyprop.errors import NetworkError, ShapeError

KINDS = ("dense", "sparse", "one_to_one")


@dataclass
class Connection:
    """One connection of a network (see the module's docstring)."""

    name: str
    src: str
    tgt: str
    kind: str = "dense"
    trainable: bool = True
    init: Any = None
    share: str | None = None
    transpose: bool = False
    rows: np.ndarray | None = field(default=None, repr=False)  # sparse: target units
    cols: np.ndarray | None = field(default=None, repr=False)  # sparse: source units

    @property
    def param(self) -> str:
        """The name of the weight parameter this connection uses (its owner's if shared)."""
        return f"{self.share or self.name}.weight"

    @property
    def nnz(self) -> int:
        return 0 if self.rows is None else int(self.rows.size)

    shape: tuple[int, int] | None = field(default=None, repr=False)  # (source, target) units
    explicit: bool = False  # initial weights given by the user (kept by reinitialize)

    def __repr__(self) -> str:
        what = self.kind
        if self.shape is not None:
            what += f" {self.shape[0]} × {self.shape[1]}"
        if self.kind == "sparse":
            what += f", {self.nnz} pairs"
        if self.share:
            what += f", shares {self.share}" + (" transposed" if self.transpose else "")
        if not self.trainable:
            what += ", fixed"
        return f"<connection {self.name}: {what}>"


def sparse_pairs(
    pairs: Any, n_src: int, n_tgt: int, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate (source unit, target unit) pairs; return rows, cols and the CSR order.

    ``order`` maps the CSR position k to the index of the pair as given, so that
    weights listed with the pairs can be reordered the same way.
    """
    arr = np.asarray(pairs)
    if arr.size == 0:
        raise NetworkError(f"{where}: a sparse connection needs at least one (source, target) pair")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ShapeError(
            f"{where}: pairs must be a list of (source unit, target unit), got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.mod(arr, 1) == 0):
            raise NetworkError(f"{where}: unit indices in pairs must be whole numbers")
        arr = arr.astype(np.int64)
    cols, rows = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    for what, idx, n in (("source", cols, n_src), ("target", rows, n_tgt)):
        bad = (idx < 0) | (idx >= n)
        if bad.any():
            k = int(np.argmax(bad))
            raise ShapeError(
                f"{where}: pair {k} names {what} unit {int(idx[k])}, but the {what} group has "
                f"{n} units (0 to {n - 1})"
            )
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    dup = (np.diff(rows) == 0) & (np.diff(cols) == 0)
    if dup.any():
        k = int(np.argmax(dup))
        raise NetworkError(f"{where}: the pair ({int(cols[k])}, {int(rows[k])}) is listed twice")
    return rows, cols, order


def unit_pairs(c: Connection, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every weight of connection ``c`` as (source unit, target unit, index into its
    flattened weight parameter, of the given ``shape``), whatever its kind."""
    if c.kind == "dense":
        first, second = np.indices(shape)
        src, tgt = (second, first) if c.transpose else (first, second)
        return src.reshape(-1), tgt.reshape(-1), np.arange(src.size)
    if c.kind == "one_to_one":
        idx = np.arange(int(np.prod(shape)))
        return idx, idx, idx
    return np.asarray(c.cols), np.asarray(c.rows), np.arange(c.nnz)


def random_pairs(
    rng: np.random.Generator, n_src: int, n_tgt: int, density: float, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """A random subset of all (source, target) pairs at the given density (FANN's sparse)."""
    if not 0 < density <= 1:
        raise NetworkError(f"{where}: density must be in (0, 1], got {density}")
    total = n_src * n_tgt
    k = max(1, round(density * total))
    flat = np.sort(rng.choice(total, size=k, replace=False))
    rows, cols = np.divmod(flat, n_src)  # row-major over (target, source): CSR order already
    return rows.astype(np.int64), cols.astype(np.int64)


def csr(
    rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n_tgt: int, n_src: int
) -> sp.csr_matrix:
    """The (target, source) CSR matrix whose ``data`` is ``data`` itself (not a copy)."""
    idx = np.int32 if max(n_src, n_tgt, rows.size) < 2**31 - 1 else np.int64
    indptr = np.zeros(n_tgt + 1, dtype=idx)
    np.cumsum(np.bincount(rows, minlength=n_tgt), out=indptr[1:])
    m = sp.csr_matrix((n_tgt, n_src), dtype=data.dtype)
    m.indptr, m.indices, m.data = indptr, cols.astype(idx), data
    return m
