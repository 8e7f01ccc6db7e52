"""unit_pairs: every weight of a connection as (source unit, target unit, index), any kind."""

from __future__ import annotations

import numpy as np

from anyprop.nn.connections import Connection, unit_pairs


def test_dense_plain_and_transposed():
    src, tgt, index = unit_pairs(Connection("a->b", "a", "b"), (2, 3))  # (source, target)
    w = np.arange(6.0).reshape(2, 3)
    assert all(w.reshape(-1)[k] == w[s, t] for s, t, k in zip(src, tgt, index, strict=True))
    shared = Connection("b->a", "b", "a", share="a->b", transpose=True)
    src, tgt, index = unit_pairs(shared, (2, 3))  # a's weights read backwards: (target, source)
    assert all(w.reshape(-1)[k] == w[t, s] for s, t, k in zip(src, tgt, index, strict=True))


def test_one_to_one_and_sparse():
    src, tgt, index = unit_pairs(Connection("a->b", "a", "b", kind="one_to_one"), (4,))
    assert (src == tgt).all() and (index == np.arange(4)).all()
    c = Connection("a->b", "a", "b", kind="sparse", rows=np.array([0, 2]), cols=np.array([1, 0]))
    src, tgt, index = unit_pairs(c, (2,))
    assert src.tolist() == [1, 0] and tgt.tolist() == [0, 2] and index.tolist() == [0, 1]
