"""The merged sparse block's products: SciPy's kernel called directly gives what ``@``
gives, and the pairs' gradients read either way agree."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop.nn import sparse_block
from anyprop.nn.connections.sparse import csr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_direct_product_is_scipys(dtype):
    rng = np.random.default_rng(0)
    pairs = np.unique(rng.integers(0, 30 * 40, 200))
    rows, cols = np.divmod(pairs, 40)
    m = csr(rows, cols, rng.normal(size=pairs.size).astype(dtype), 30, 40)
    x = rng.normal(size=(40, 7)).astype(dtype)
    np.testing.assert_array_equal(sparse_block.times(m, x), m @ x)
    strided = np.asfortranarray(x)  # not C-contiguous: SciPy's own way
    np.testing.assert_allclose(sparse_block.times(m, strided), m @ x, rtol=1e-6)
    assert sparse_block._MATVECS is not None  # (this SciPy has the kernel)


def test_the_pairs_gradients_by_dense_product_and_by_gathers_agree():
    from anyprop.nn.unitgraph import from_units

    rng = np.random.default_rng(1)
    pairs = np.unique(rng.integers(0, 60 * 60, 600))
    a, b = np.divmod(pairs, 60)
    keep = a < b
    grads = []
    for dense in (True, False):
        net = from_units((a[keep], b[keep]), transfer="tanh", seed=0)
        plan = net.plan()
        for g, (order, r, c, _) in plan.block.grad_plan.items():
            plan.block.grad_plan[g] = (order, r, c, dense)
        if not grads:
            x = rng.normal(size=(5, net.input_width))
            t = rng.normal(size=(5, net.target_width))
        grads.append(plan.backprop(x, t).grads.flat.copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)
