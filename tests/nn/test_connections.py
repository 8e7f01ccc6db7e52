"""Connection kinds: unit pairs of every kind, the registry, one class each."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network, NetworkError
from anyprop.nn.connections import KINDS, Dense, OneToOne, Sparse


def test_dense_plain_and_transposed():
    src, tgt, index = Dense("a->b", "a", "b", shape=(2, 3)).unit_pairs((2, 3))  # (source, target)
    w = np.arange(6.0).reshape(2, 3)
    assert all(w.reshape(-1)[k] == w[s, t] for s, t, k in zip(src, tgt, index, strict=True))
    shared = Dense("b->a", "b", "a", share="a->b", transpose=True, shape=(3, 2))
    src, tgt, index = shared.unit_pairs((2, 3))  # a's weights read backwards: (target, source)
    assert all(w.reshape(-1)[k] == w[t, s] for s, t, k in zip(src, tgt, index, strict=True))


def test_one_to_one_and_sparse():
    src, tgt, index = OneToOne("a->b", "a", "b", shape=(4, 4)).unit_pairs((4,))
    assert (src == tgt).all() and (index == np.arange(4)).all()
    c = Sparse("a->b", "a", "b", shape=(2, 3))
    c.build(np.random.default_rng(0), "here", pairs=[(1, 0), (0, 2)])
    src, tgt, index = c.unit_pairs((2,))
    assert src.tolist() == [1, 0] and tgt.tolist() == [0, 2] and index.tolist() == [0, 1]


def test_every_kind_is_one_registered_class():
    assert set(KINDS) >= {"dense", "sparse", "one_to_one"}
    for name in KINDS:
        assert KINDS.get(name).kind == name


def test_options_of_another_kind_are_refused():
    net = Network()
    net.add_input("x", 2)
    net.add_output("y", 2)
    with pytest.raises(NetworkError, match="connection 'x->y': dense connections take no pairs="):
        net.connect("x", "y", pairs=[(0, 0)])
    with pytest.raises(NetworkError, match="unknown kind 'sparce'; did you mean 'sparse'"):
        net.connect("x", "y", "sparce")


@pytest.mark.parametrize("kind", ["dense", "sparse", "one_to_one"])
def test_every_kind_forward_backward_match_its_dense_matrix(kind):
    """Each kind's forward, backward and weight gradient equal those of the dense matrix
    its weights stand for (built from its unit pairs)."""
    rng = np.random.default_rng(1)
    net = Network(dtype="float64", seed=0)
    net.add_input("x", 3)
    net.add_output("y", 3, transfer="identity")
    opts = {"pairs": [(1, 1), (2, 2), (0, 1), (2, 0)]} if kind == "sparse" else {}
    c = net.connect("x", "y", kind, **opts)
    w = net.params[c.param]
    dense = np.zeros((3, 3))
    s, t, k = c.unit_pairs(w.shape)
    dense[s, t] = w.reshape(-1)[k]
    o, delta = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    op = c.operand(w, {})
    np.testing.assert_allclose(c.forward(o, op), o @ dense)
    np.testing.assert_allclose(c.backward(delta, op), delta @ dense.T)
    full = o.T @ delta
    np.testing.assert_allclose(c.weight_grad(o, delta).reshape(-1)[k], full[s, t])
