"""Many sparse connections run as one block (a compiled unit graph's, say).

A group fed by several sparse connections of its own would cost a few NumPy and
SciPy calls per connection per step; a unit graph compiles into thousands of
them. The block runs them all over two unit-major buffers that hold every
group's outputs (OT) and deltas (DT), rows in topological order, so that

    forward,  for each target group g:  netᵀ_g = F_g · OT[:start_g]
    backward, for each source group s:  gᵀ_s   = B_s · DT[end_s:]

are one sparse product each over a contiguous slice: no gather, no scatter.
F_g (target units × earlier units) and B_s (source units × later units) hold
the same weights in two orders; every weight is a view into one flat vector,
so both are refreshed with a single ``take`` per step. Each pair's gradient,
Σ_n δ[n, j] · o[n, i], is read from a small dense product where that is cheaper
than gathering the pairs' rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.nn.connections.sparse import csr


def _kernel() -> Any:
    """SciPy's own CSR × dense kernel, Y += A·X (``csr_matvecs``), where it is there and
    computes what ``A @ X`` does: called directly, it skips ``@``'s checks and dispatch
    (about 10 µs a product, a few hundred products a step in a unit graph)."""
    try:
        from scipy.sparse import _sparsetools
    except ImportError:  # (a private module: SciPy may move it)
        return None
    fn = getattr(_sparsetools, "csr_matvecs", None)
    if fn is None:
        return None
    a = csr(np.array([0, 1, 1]), np.array([1, 0, 1]), np.array([2.0, 3.0, 4.0]), 2, 2)
    x = np.arange(6.0).reshape(2, 3)
    y = np.zeros((2, 3))
    try:
        fn(2, 2, 3, a.indptr, a.indices, a.data, x.ravel(), y.ravel())
    except Exception:  # (any change in its calling convention: not used)
        return None
    return fn if np.array_equal(y, a @ x) else None


_MATVECS = _kernel()


def times(m: Any, x: np.ndarray) -> np.ndarray:
    """The CSR matrix ``m`` times the C-contiguous (columns of m, samples) array ``x``."""
    if _MATVECS is None or not x.flags.c_contiguous or x.dtype != m.data.dtype:
        return m @ x
    y = np.zeros((m.shape[0], x.shape[1]), x.dtype)
    _MATVECS(m.shape[0], m.shape[1], x.shape[1], m.indptr, m.indices, m.data, x.ravel(), y.ravel())
    return y


class SparseBlock:
    """The merged sparse connections of a plan (see the module's docstring).

    ``uses`` maps each target group to its merged connection uses; ``offsets``
    gives each group's first row in the unit-major buffers.
    """

    def __init__(
        self,
        uses: dict[str, list[Any]],
        sizes: dict[str, int],
        offsets: dict[str, int],
        units: int,
        dtype: Any,
    ) -> None:
        self.uses = [u for us in uses.values() for u in us]
        self.targets = list(uses)
        tgt_rows, src_cols = [], []
        for g, us in uses.items():
            for u in us:
                tgt_rows.append(offsets[g] + u.conn.rows)
                src_cols.append(offsets[u.src] + u.conn.cols)
        rows = np.concatenate(tgt_rows)  # global target unit of each pair, in flat order
        cols = np.concatenate(src_cols)  # global source unit
        self.cuts = np.cumsum([u.conn.nnz for u in self.uses])[:-1]
        self.flat = np.empty(rows.size, dtype)
        self.views: list[np.ndarray] = []
        self._version: int | None = None

        # forward matrices: for each target group, its pairs in CSR order
        fperm, self.forward_mats, self.grad_plan = [], {}, {}
        fdata = np.empty(rows.size, dtype)
        at = 0
        for g in self.targets:
            lo, n_g = offsets[g], sizes[g]
            mine = np.flatnonzero((rows >= lo) & (rows < lo + n_g))
            order = mine[np.lexsort((cols[mine], rows[mine]))]
            r, c = rows[order] - lo, cols[order]
            self.forward_mats[g] = csr(r, c, fdata[at : at + order.size], n_g, lo)
            # a small dense product beats gathering the pairs' rows where the pairs fill more
            # than about 1/20 of it (measured on random DAGs of 2,000 units, batch 64)
            dense = n_g * lo <= 20 * order.size
            self.grad_plan[g] = (order.astype(np.intp), r.astype(np.intp), c.astype(np.intp), dense)
            fperm.append(order)
            at += order.size
        self.fperm = np.concatenate(fperm)
        self.fdata = fdata

        # backward matrices: for each source group, its pairs into later units
        bperm, self.backward_mats = [], {}
        bdata = np.empty(rows.size, dtype)
        at = 0
        for s in sorted({u.src for u in self.uses}, key=offsets.get):
            lo, n_s = offsets[s], sizes[s]
            end = lo + n_s
            mine = np.flatnonzero((cols >= lo) & (cols < end))
            order = mine[np.lexsort((rows[mine], cols[mine]))]
            self.backward_mats[s] = (
                csr(
                    cols[order] - lo,
                    rows[order] - end,
                    bdata[at : at + order.size],
                    n_s,
                    units - end,
                ),
                end,
            )
            bperm.append(order)
            at += order.size
        self.bperm = np.concatenate(bperm)
        self.bdata = bdata
        self.grad_flat: np.ndarray | None = None

    def attach(self, weights: np.ndarray, grads: np.ndarray) -> None:
        """Use the plan's flat storage (where this block's weights lie contiguous, in
        ``uses`` order) instead of a flat vector of its own; the plan then re-homes."""
        self.flat, self.grad_flat = weights, grads
        self.external = True

    external = False

    def rehome(self, params: dict[str, np.ndarray]) -> None:
        """Make the connections' weights views into one flat vector (values kept).

        Checked by the parameter dict's version: only an assignment can replace an array.
        """
        if self.external:
            return
        version = getattr(params, "version", None)
        if self.views and version is not None and version == self._version:
            return
        if len(self.views) == len(self.uses) and all(
            params[u.param] is v for u, v in zip(self.uses, self.views, strict=True)
        ):
            self._version = version
            return
        self.flat[...] = np.concatenate([params[u.param] for u in self.uses])
        self.views = np.split(self.flat, self.cuts)
        for u, v in zip(self.uses, self.views, strict=True):
            params[u.param] = v
        self._version = getattr(params, "version", None)

    def grad_views(self, grads: dict[str, np.ndarray]) -> None:
        """One flat gradient vector; each trainable connection's gradient is a view of it."""
        if self.external:
            return
        self.grad_flat = np.zeros(self.flat.size, self.flat.dtype)
        for u, v in zip(self.uses, np.split(self.grad_flat, self.cuts), strict=True):
            if u.trainable:
                grads[u.param] = v

    def refresh(self, params: dict[str, np.ndarray]) -> None:
        """Copy the current weights into the forward and backward matrices."""
        self.rehome(params)
        np.take(self.flat, self.fperm, out=self.fdata)
        np.take(self.flat, self.bperm, out=self.bdata)

    def forward(self, g: str, ot: np.ndarray) -> np.ndarray:
        """netᵀ of target group g from the merged connections: (units of g, samples)."""
        m = self.forward_mats[g]
        return times(m, ot[: m.shape[1]])

    def backward(self, s: str, dt: np.ndarray) -> np.ndarray:
        """The deltas the merged connections send back to source group s, transposed."""
        m, end = self.backward_mats[s]
        return times(m, dt[end:])

    #: the compiled pairs' gradients (kernel_source's ``pair_grads``) where the trainer
    #: chose them (train/compiled_step.py), else None: NumPy's products and gathers
    pairs: Any = None

    def weight_grads(self, g: str, delta_t: np.ndarray, ot: np.ndarray) -> None:
        """Each pair's gradient Σ_n δ[n, j] o[n, i] for the connections into g."""
        order, r, c, dense = self.grad_plan[g]
        if self.pairs is not None and delta_t.dtype == self.grad_flat.dtype:
            self.pairs(r, c, order, delta_t, ot, self.grad_flat)  # one dot product a pair
        elif dense:
            outer = delta_t @ ot[: self.forward_mats[g].shape[1]].T  # (units of g, earlier units)
            self.grad_flat[order] = outer[r, c]
        else:
            self.grad_flat[order] = np.einsum("kn,kn->k", delta_t[r], ot[c])
