"""Unit graphs against a naive per-unit scalar evaluation written here (1e-10, float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from anyprop import NetworkError, ShapeError
from anyprop.nn import transfer as T
from anyprop.nn.unitgraph import from_units, levels

SCALAR = {  # f and f' of a few transfer functions, one number at a time
    "sigmoid": (lambda v: 1 / (1 + math.exp(-v)), lambda v: math.exp(-v) / (1 + math.exp(-v)) ** 2),
    "tanh": (math.tanh, lambda v: 1 - math.tanh(v) ** 2),
    "identity": (lambda v: v, lambda v: 1.0),
    "softsign": (lambda v: v / (1 + abs(v)), lambda v: 1 / (1 + abs(v)) ** 2),
}


def naive(edges, weights, bias, transfer, inputs, outputs, x, t):
    """Per-unit forward and backward, sample by sample: loss and gradients (mean over samples)."""
    units = sorted({u for e in edges for u in e})
    preds = {u: [s for s, v in edges if v == u] for u in units}
    order, done = [], set(inputs)
    while len(done) < len(units):
        for u in units:
            if u not in done and all(p in done for p in preds[u]):
                order.append(u)
                done.add(u)
    n = len(x)
    gw = dict.fromkeys(weights, 0.0)
    gb = dict.fromkeys(bias, 0.0)
    loss = 0.0
    for xs, ts in zip(x, t, strict=True):
        net, out = {}, dict(zip(inputs, xs, strict=True))
        for u in order:
            net[u] = bias[u] + sum(weights[(s, u)] * out[s] for s in preds[u])
            out[u] = SCALAR[transfer[u]][0](net[u])
        grad = dict.fromkeys(units, 0.0)
        for u, tu in zip(outputs, ts, strict=True):
            loss += 0.5 * (out[u] - tu) ** 2 / n
            grad[u] += (out[u] - tu) / n
        for u in reversed(order):
            delta = SCALAR[transfer[u]][1](net[u]) * grad[u]
            gb[u] += delta
            for s in preds[u]:
                gw[(s, u)] += delta * out[s]
                grad[s] += weights[(s, u)] * delta
    return loss, gw, gb


def random_graph(seed, n_units=12, p=0.35):
    rng = np.random.default_rng(seed)
    edges = [(i, j) for i in range(n_units) for j in range(i + 1, n_units) if rng.random() < p]
    edges = [e for e in edges if e[0] >= 3 or e[1] >= 3]  # units 0-2 are inputs
    edges += [(i, 3 + i) for i in range(3) if (i, 3 + i) not in edges]
    return edges


@pytest.mark.parametrize("seed", range(6))
def test_unit_graph_equals_the_naive_per_unit_reference(seed):
    rng = np.random.default_rng(seed)
    edges = random_graph(seed)
    units = sorted({u for e in edges for u in e})
    names = list(SCALAR)
    transfer = {u: names[rng.integers(len(names))] for u in units}
    weighted = [(s, t, float(rng.normal())) for s, t in edges]
    g = from_units(
        weighted,
        transfer={"default": "tanh", **transfer},
        inputs=[0, 1, 2],
        dtype="float64",
        seed=seed,
    )
    for u in units:
        if u not in g.units.inputs:
            g.params[f"{g.units.where(u)[0]}.bias"][g.units.where(u)[1]] = rng.normal()
    weights = {(s, t): w for s, t, w in weighted}
    bias = {u: g.units.bias(u) for u in units if u not in g.units.inputs}
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, len(g.units.outputs)))
    loss, gw, gb = naive(
        edges, weights, bias, transfer, g.units.inputs, g.units.outputs, x.tolist(), y.tolist()
    )

    bp = g.backprop(x, y)
    assert bp.loss == pytest.approx(loss, rel=1e-10, abs=1e-12)
    for (s, t), v in gw.items():
        assert g.units.edge_grad(bp, s, t) == pytest.approx(v, rel=1e-10, abs=1e-12), (s, t)
    for u, v in gb.items():
        assert g.units.bias_grad(bp, u) == pytest.approx(v, rel=1e-10, abs=1e-12), u


def test_outputs_match_a_scalar_forward():
    edges = [(0, 2, 0.5), (1, 2, -1.0), (2, 3, 2.0), (0, 3, 0.3)]
    g = from_units(edges, transfer="tanh", dtype="float64", seed=0, bias=False)
    x = np.array([[0.2, 0.7], [-1.0, 0.5]])
    h = np.tanh(0.5 * x[:, 0] - 1.0 * x[:, 1])
    expected = np.tanh(2.0 * h + 0.3 * x[:, 0])
    np.testing.assert_allclose(g.forward(x)[:, 0], expected, rtol=1e-12)
    assert g.units.edge_weight(2, 3) == 2.0


def test_named_units_and_outputs_that_feed_on():
    edges = [("a", "h"), ("b", "h"), ("h", "y1"), ("y1", "y2"), ("a", "y2")]
    g = from_units(edges, inputs=["a", "b"], outputs=["y2", "y1"], dtype="float64", seed=1)
    assert g.units.outputs == ["y2", "y1"]
    y = g.forward(np.array([[1.0, 2.0]]))
    assert y.shape == (1, 2)
    bp = g.backprop(np.array([[1.0, 2.0]]), np.array([[0.0, 1.0]]))
    assert set(bp.losses) == {name for name, _ in g.units.output_groups}


def test_levels_and_cycles():
    src = np.array([0, 1, 2, 0])
    tgt = np.array([1, 2, 3, 3])
    assert levels(4, src, tgt).tolist() == [0, 1, 2, 3]
    with pytest.raises(NetworkError, match=r"cycle: \[1, 2, 1\]|cycle: \[2, 1, 2\]"):
        from_units([(0, 1), (1, 2), (2, 1)])
    with pytest.raises(NetworkError, match="joins unit 3 to itself"):
        from_units([(0, 3), (3, 3)])


def test_unit_graph_errors():
    with pytest.raises(NetworkError, match=r"\(0, 1\) is listed twice"):
        from_units([(0, 1), (0, 1)])
    with pytest.raises(NetworkError, match="connection 1: expected"):
        from_units([(0, 1), (0, 1, 2, 3)])
    with pytest.raises(NetworkError, match="input unit 1 has incoming"):
        from_units([(0, 1), (1, 2)], inputs=[0, 1])
    with pytest.raises(NetworkError, match="unit 9 appears in no connection"):
        from_units([(0, 1)], outputs=[9])
    with pytest.raises(NetworkError, match="given for unit 7"):
        from_units([(0, 1)], transfer={7: "tanh"})
    with pytest.raises(NetworkError, match="weight nan is not finite"):
        from_units([(0, 1, 1.0), (0, 2, float("nan"))])
    g = from_units([(0, 1)])
    with pytest.raises(ShapeError, match=r"targets must have shape \(samples, 1\)"):
        g.backprop(np.zeros((2, 1)), np.zeros((2, 3)))
    with pytest.raises(NetworkError, match="no connection from unit 1 to unit 0"):
        g.units.edge_weight(1, 0)


def test_a_large_graph_compiles_quickly_and_runs():
    rng = np.random.default_rng(0)
    n, e = 3000, 100_000
    a, b = rng.integers(0, n, 3 * e), rng.integers(0, n, 3 * e)
    keys = np.unique(np.minimum(a, b)[a != b] * n + np.maximum(a, b)[a != b])[:e]
    src, tgt = np.divmod(keys, n)
    g = from_units((src, tgt), transfer="relu", seed=0)
    assert g.units.num_edges == e
    assert sum(c.nnz for c in g.connections.values()) == e
    y = g.forward(rng.normal(size=(2, len(g.units.inputs))))
    assert np.isfinite(y).all()
    assert T.get("relu").name == "relu"


def test_a_unit_list_compiles_into_a_plain_network_with_its_map():
    from anyprop import Network

    g = from_units([(0, 2), (1, 2), (0, 3), (2, 3)], outputs=[3, 2], dtype="float64", seed=0)
    assert type(g) is Network
    x, t = np.array([[0.5, -1.0]]), np.array([[0.2, 0.7]])
    bp = g.backprop(x, t)  # one target table, split by the map into the output groups
    assert set(bp.losses) == {name for name, _ in g.units.output_groups} and len(bp.losses) == 2
    y = g.forward(x)
    (g3, p3), (g2, p2) = g.units.where(3), g.units.where(2)
    assert y[0, 0] == bp.outputs[g3][0, p3] and y[0, 1] == bp.outputs[g2][0, p2]
    copy = g.astype("float32")  # copies keep the map, bound to themselves
    assert copy.units.network is copy and g.units.network is g
    np.testing.assert_allclose(copy.forward(x), y, rtol=1e-6)


def test_a_units_spec_seed_draws_the_weights():
    from anyprop.nn import spec

    text = "[network]\nseed = 7\n[units]\nconnections = [[0, 2], [1, 2], [2, 3], [0, 3]]\n"
    a, b = spec.loads(text), spec.loads(text)
    other = spec.loads(text.replace("seed = 7", "seed = 8"))
    assert a.seeded
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert any(not np.array_equal(a.params[k], other.params[k]) for k in a.params)
    unseeded = spec.loads(text.replace("seed = 7\n", ""))
    assert not unseeded.seeded
