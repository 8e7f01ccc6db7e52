"""Delayed (recurrent) connections and backpropagation through time: the model's rules,
and the unrolled gradients against central differences in float64."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network
from anyprop.errors import AnypropError, NetworkError
from anyprop.nn import spec as spec_io
from anyprop.nn.sequence import sequence_forward, sequence_gradients, sequence_loss


def _elman():
    net = Network(seed=0, dtype="float64")
    net.add_input("x", 2)
    net.add_group("h", 4, transfer="tanh")
    net.add_group("y", 1, transfer="sigmoid", loss="mse")
    net.connect("x", "h")
    net.connect("h", "h", delay=1)
    net.connect("h", "y")
    return net


def _jordan_delay_two():
    net = _elman()
    net.connect("y", "h", delay=2, name="back")
    return net


def _sparse_one_to_one_shared():
    net = Network(seed=1, dtype="float64")
    net.add_input("x", 3)
    net.add_group("h", 3, transfer="tanh")
    net.add_group("g", 3, transfer="x/(1+abs(x))")
    net.add_group("y", 2, transfer="softmax", loss="cross_entropy")
    net.connect("x", "h", name="in")
    net.connect("h", "g", "one_to_one")
    net.connect("g", "h", "sparse", pairs=[[0, 1], [2, 0], [1, 1]], delay=1)
    net.connect("g", "g", "one_to_one", delay=3, name="self")
    net.connect("x", "g", share="in", transpose=True, name="tied", delay=2)
    net.connect("g", "y")
    net.connect("x", "y", delay=1, name="skip")
    return net


NETWORKS = {
    "elman": _elman,
    "jordan, delay 2": _jordan_delay_two,
    "sparse, one-to-one, shared, skip": _sparse_one_to_one_shared,
}


def _data(net, n=3, steps=7, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, net.groups["x"].size))
    units = net.groups["y"].size
    if units == 1:
        t = rng.uniform(size=(n, steps, 1))
    else:
        t = np.eye(units)[rng.integers(units, size=(n, steps))]
    return x, t


def _assert_central_differences(net, x, t, mask, grads, eps=1e-6):
    """Every parameter's gradient equals (L(w + ε) − L(w − ε)) / 2ε, to 1e-8."""
    for k, w in net.params.items():
        flat = w.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            up = sequence_loss(net, x, t, mask)
            flat[i] = keep - eps
            down = sequence_loss(net, x, t, mask)
            flat[i] = keep
            assert grads[k].reshape(-1)[i] == pytest.approx((up - down) / (2 * eps), abs=1e-8)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_gradients_through_time_equal_central_differences(name):
    net = NETWORKS[name]()
    x, t = _data(net)
    mask = np.ones(x.shape[:2])
    mask[1, 5:] = 0  # a shorter sequence
    loss, grads = sequence_gradients(net, x, t, mask)
    assert loss == pytest.approx(sequence_loss(net, x, t, mask), rel=1e-12)
    _assert_central_differences(net, x, t, mask, grads)


def test_the_unrolled_forward_is_the_recurrence_by_hand():
    net = _elman()
    x, _ = _data(net, n=2, steps=4)
    p = net.params
    h = np.zeros((2, 4))
    hs = []
    for t in range(4):
        h = np.tanh(x[:, t] @ p["x->h.weight"] + h @ p["h->h.weight"] + p["h.bias"])
        hs.append(h)
    out = sequence_forward(net, x)
    np.testing.assert_allclose(out["h"], np.stack(hs, axis=1), rtol=1e-12)
    y = 1 / (1 + np.exp(-(np.stack(hs, 1) @ p["h->y.weight"] + p["y.bias"])))
    np.testing.assert_allclose(out["y"], y, rtol=1e-12)


def test_a_delay_lets_a_connection_close_a_cycle_and_only_a_delay():
    net = _elman()
    with pytest.raises(NetworkError, match="would close a cycle.*delay=1"):
        net.connect("y", "h")
    with pytest.raises(NetworkError, match="give it a delay"):
        n2 = Network()
        n2.add_input("x", 1)
        n2.add_group("h", 2)
        n2.connect("h", "h")
    for bad in (-1, 1.5, True, "1"):
        with pytest.raises(NetworkError, match="delay must be a whole number"):
            _elman().connect("y", "h", delay=bad)


def test_a_delay_round_trips_through_the_spec_and_astype():
    net = _jordan_delay_two()
    again = spec_io.loads(spec_io.dumps(net, weights=True))
    assert {c.name: c.delay for c in again.connections.values()} == {
        c.name: c.delay for c in net.connections.values()
    }
    x, t = _data(net)
    assert sequence_loss(again, x, t) == pytest.approx(sequence_loss(net, x, t), rel=1e-12)
    assert net.astype("float32").connections["back"].delay == 2


def test_single_step_passes_refuse_a_recurrent_network_by_name():
    with pytest.raises(NetworkError, match="connection 'h->h' is delayed"):
        _elman().forward(np.zeros((1, 2)))


def test_sequences_of_the_wrong_shape_are_named():
    net = _elman()
    with pytest.raises(AnypropError, match=r"\(sequences, steps, 2\)"):
        sequence_loss(net, np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(AnypropError, match="mask"):
        sequence_loss(net, np.zeros((1, 3, 2)), np.zeros((1, 3, 1)), mask=np.full((1, 3), 2))


def _units():
    from anyprop.nn.unitgraph import from_units

    edges = [[0, 2, 0.5, 0], [1, 2, -0.3, 0], [2, 3, 0.8, 0], [2, 2, 0.4, 1], [3, 2, 0.2, 2]]
    return from_units([*edges, [3, 3, 0.1, 1]], transfer="tanh", dtype="float64", seed=0)


def test_a_recurrent_unit_graph_compiles_to_delayed_sparse_connections():
    net = _units()
    delays = sorted((c.src, c.tgt, c.delay) for c in net.connections.values())
    assert delays == [
        ("L1", "L1", 1),
        ("L1", "L2_out", 0),
        ("L2_out", "L1", 2),
        ("L2_out", "L2_out", 1),
        ("in", "L1", 0),
    ]
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(2, 5, 2)), rng.normal(size=(2, 5, 1))
    loss, grads = sequence_gradients(net, x, t)
    again = spec_io.loads(spec_io.dumps(net, weights=True))
    assert sequence_loss(again, x, t) == pytest.approx(loss, rel=1e-12)
    _assert_central_differences(net, x, t, None, grads)


def test_unit_graph_delays_are_checked():
    from anyprop.nn.unitgraph import from_units

    with pytest.raises(NetworkError, match="to itself: a cycle"):
        from_units([[0, 1, 0.5, 0], [1, 1, 0.2, 0]])
    with pytest.raises(NetworkError, match="is listed twice"):
        from_units([[0, 1, 0.5, 1], [0, 1, 0.2, 1], [0, 1, 0.2, 0]])
    for bad in (-1, 0.5, "a"):
        with pytest.raises(NetworkError, match="delays must be whole numbers"):
            from_units([[0, 1, 0.5, bad]])
