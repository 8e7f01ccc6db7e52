"""Matrix products: dense (any batch dimensions) and constant-sparse."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from anyprop.autodiff.engine import primitive


def _mT(a):
    return np.swapaxes(a, -1, -2)


@primitive
def matmul(a, b):
    """a @ b with NumPy's rules (1-D operands, batch broadcasting).

    d/da = g @ bᵀ, d/db = aᵀ @ g (on the trailing two axes; a 1-D operand is
    treated as a row or column and squeezed back).
    """
    out = np.matmul(a, b)

    def vjp(g):
        # Promote 1-D operands to a row (a) or a column (b), as NumPy does, and g with them.
        a2 = a[None, :] if a.ndim == 1 else a  # (..., m, k)
        b2 = b[:, None] if b.ndim == 1 else b  # (..., k, n)
        if a.ndim == 1 and b.ndim == 1:
            g2 = np.reshape(g, (1, 1))
        elif a.ndim == 1:
            g2 = np.expand_dims(g, -2)
        elif b.ndim == 1:
            g2 = np.expand_dims(g, -1)
        else:
            g2 = g

        def da():
            d = np.matmul(g2, _mT(b2))  # (..., m, k)
            return d[..., 0, :] if a.ndim == 1 else d

        def db():
            d = np.matmul(_mT(a2), g2)  # (..., k, n)
            return d[..., 0] if b.ndim == 1 else d

        return da, db

    return out, vjp


@primitive
def spmm(x, *, matrix):
    """A @ x for a constant SciPy sparse matrix A (CSR); d/dx = Aᵀ @ g.

    ``x`` is a vector or a matrix whose first axis matches A's columns.
    """
    a = matrix if sp.issparse(matrix) and matrix.format == "csr" else sp.csr_matrix(matrix)
    if x.ndim not in (1, 2) or a.shape[1] != x.shape[0]:
        raise ValueError(
            f"sparse matrix of shape {a.shape} cannot multiply an operand of shape {x.shape}"
        )
    out = np.asarray(a @ x).astype(x.dtype, copy=False)
    return out, lambda g: (np.asarray(a.T @ g),)
