"""Sparse connections: only listed (source unit, target unit) pairs have weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from anyprop.autodiff import ops
from anyprop.errors import NetworkError, ShapeError
from anyprop.limits import check_bytes
from anyprop.nn.connections.base import Connection, connection_kind
from anyprop.nn.values import numbers


@connection_kind("sparse")
class Sparse(Connection):
    """Only the listed pairs (i, j) have a weight: net_tgt[j] += Σ_{(i, j)} w_ij · o_src[i].

    The parameter is a vector with one weight per pair, **in the order the pairs were
    given** (``pairs=``) or drawn (``density=``); ``cols`` and ``rows`` hold each pair's
    source and target unit in that order. Products run on a (target, source) CSR
    matrix, whose data are the weights in CSR order (``perm``; the weights themselves
    where the pairs are already in that order). Backward: g_src += δ · Wᵀ by the same
    matrix, and ∂L/∂w_k = Σ_n δ[n, rows[k]] · o_src[n, cols[k]].
    """

    options = ("pairs", "density")
    layout = "one per pair"

    rows: np.ndarray  # target unit of each pair
    cols: np.ndarray  # source unit of each pair
    perm: np.ndarray | None = None  # the pairs in CSR order, or None when they are

    def build(self, rng: np.random.Generator, where: str, **options: Any) -> None:
        pairs, density = options.pop("pairs", None), options.pop("density", None)
        super().build(rng, where, **options)
        n_src, n_tgt = self.shape
        if pairs is not None:
            if density is not None:
                raise NetworkError(f"{where}: give pairs or density, not both")
            rows, cols = sparse_pairs(pairs, n_src, n_tgt, where)
        elif density is not None:
            if isinstance(density, bool) or not isinstance(density, (int, float)):
                raise NetworkError(f"{where}: density must be a number in (0, 1], got {density!r}")
            rows, cols = random_pairs(rng, n_src, n_tgt, float(density), where)
        else:
            raise NetworkError(f"{where}: a sparse connection needs pairs= or density=")
        self._set_pairs(rows, cols)

    def _set_pairs(self, rows: np.ndarray, cols: np.ndarray) -> None:
        self.rows, self.cols = rows, cols
        order = np.lexsort((cols, rows))
        self.perm = None if np.array_equal(order, np.arange(order.size)) else order

    def share_from(self, owner: Connection) -> None:
        if self.transpose:  # the owner's pairs read backwards
            self._set_pairs(owner.cols, owner.rows)
        else:
            self.rows, self.cols, self.perm = owner.rows, owner.cols, owner.perm

    @property
    def nnz(self) -> int:
        return int(self.rows.size)

    def param_shape(self) -> tuple[int, ...]:
        return (self.nnz,)

    def fans(self) -> tuple[float, float]:
        return self.nnz / self.shape[1], self.nnz / self.shape[0]

    def check_weights(self, weights: Any, dtype: Any, where: str) -> np.ndarray:
        w = numbers(weights, f"{where}: weights", dtype).reshape(-1)
        if w.shape != (self.nnz,):
            raise ShapeError(
                f"{where}: {w.size} weights given for {self.nnz} pairs; give one weight per pair"
            )
        return super().check_weights(w, dtype, where)

    def structure(self) -> dict[str, Any]:
        return {"pairs": np.stack([self.cols, self.rows], axis=1)}

    def tags(self) -> list[str]:
        return [f"{self.nnz} pairs"]

    def unit_pairs(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.cols), np.asarray(self.rows), np.arange(self.nnz)

    mergeable = True

    def operand(self, w: np.ndarray, cache: dict[str, Any]) -> sp.csr_matrix:
        """The (target, source) CSR matrix of the current weights. Its structure is made
        once; each call only refreshes its data (the weights themselves, or one ``take``
        into CSR order)."""
        m = cache.get(self.name)
        if self.perm is None:
            if m is None or m.data is not w:
                m = cache[self.name] = csr(self.rows, self.cols, w, self.shape[1], self.shape[0])
            return m
        if m is None or m.data.dtype != w.dtype:
            data = np.empty(self.nnz, w.dtype)
            rows, cols = self.rows[self.perm], self.cols[self.perm]
            m = cache[self.name] = csr(rows, cols, data, self.shape[1], self.shape[0])
        np.take(w, self.perm, out=m.data)
        return m

    def forward(self, o: np.ndarray, op: Any, out: np.ndarray | None = None) -> np.ndarray:
        contrib = (op @ o.T).T
        if out is None:
            return contrib
        out[...] = contrib
        return out

    def backward(self, delta: np.ndarray, op: Any) -> np.ndarray:
        return (op.T @ delta.T).T

    def weight_grad(self, o: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return np.einsum("nk,nk->k", delta[:, self.rows], o[:, self.cols])

    def on_tape(self, o: Any, w: Any) -> Any:
        gathered = o[:, self.cols] * w  # (samples, pairs)
        nnz, n_tgt = self.nnz, self.shape[1]
        scatter = sp.csr_matrix(  # (target units, pairs): sums pair k into unit rows[k]
            (np.ones(nnz, dtype=o.data.dtype), (self.rows, np.arange(nnz))), shape=(n_tgt, nnz)
        )
        return ops.sparse_matmul(scatter, gathered.T).T


def sparse_pairs(pairs: Any, n_src: int, n_tgt: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate (source unit, target unit) pairs; return (rows, cols): each pair's
    target and source unit, in the order given."""
    arr = numbers(pairs, f"{where}: pairs", whole=True)
    if arr.size == 0:
        raise NetworkError(f"{where}: a sparse connection needs at least one (source, target) pair")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ShapeError(
            f"{where}: pairs must be a list of (source unit, target unit), got shape {arr.shape}"
        )
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
    dup = (np.diff(rows[order]) == 0) & (np.diff(cols[order]) == 0)
    if dup.any():
        k = int(order[np.argmax(dup) + 1])
        raise NetworkError(
            f"{where}: the pair ({int(cols[k])}, {int(rows[k])}) is listed twice (pair {k})"
        )
    return rows, cols


def random_pairs(
    rng: np.random.Generator, n_src: int, n_tgt: int, density: float, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """A random subset of all (source, target) pairs at the given density (FANN's sparse),
    in target-major order."""
    if not 0 < density <= 1:
        raise NetworkError(f"{where}: density must be in (0, 1], got {density}")
    total = n_src * n_tgt
    k = max(1, round(density * total))
    # the pairs drawn (rows, columns, positions, weights); NumPy draws a large share of
    # the cells through a permutation of all of them, a small one through a set of k
    drawing = total if total <= 10_000 or k > total // 50 else 2 * k
    check_bytes(8 * (4 * k + drawing), f"{where}: {k:,} pairs of {total:,} at density {density}")
    flat = np.sort(rng.choice(total, size=k, replace=False))
    rows, cols = np.divmod(flat, n_src)  # row-major over (target, source)
    return rows.astype(np.int64), cols.astype(np.int64)


def csr(
    rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n_tgt: int, n_src: int
) -> sp.csr_matrix:
    """The (target, source) CSR matrix of pairs given in CSR order (rows sorted, then
    columns) whose ``data`` is ``data`` itself (not a copy)."""
    idx = np.int32 if max(n_src, n_tgt, rows.size) < 2**31 - 1 else np.int64
    indptr = np.zeros(n_tgt + 1, dtype=idx)
    np.cumsum(np.bincount(rows, minlength=n_tgt), out=indptr[1:])
    m = sp.csr_matrix((n_tgt, n_src), dtype=data.dtype)
    m.indptr, m.indices, m.data = indptr, cols.astype(idx), data
    return m
