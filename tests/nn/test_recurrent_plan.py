"""The plan over sequences (nn/plan/recurrent.py) against the reference unrolled on the
tape (nn/sequence.py), to 1e-10 in float64, on recurrent, gated and cell networks, with
masks, last-step targets, sequence weights and the sum reduction."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network
from anyprop.errors import AnypropError, NetworkError, ShapeError
from anyprop.nn.plan.results import Options
from anyprop.nn.sequence import sequence_gradients
from tests.nn.test_sequence import NETWORKS as RECURRENT


def _gated():
    """Sigma-pi connections: a gate now, a delayed gate, a gated self-loop, an input gate."""
    net = Network(seed=2, dtype="float64")
    net.add_input("x", 3)
    net.add_group("a", 4, transfer="sigmoid")
    net.add_group("b", 4, transfer="tanh")
    net.add_group("y", 2, transfer="identity", loss="mse")
    net.connect("x", "a")
    net.connect("x", "b", gate="a")
    net.connect("b", "b", "one_to_one", delay=1, gate="a", gate_delay=1, name="loop")
    net.connect("a", "b", delay=2, gate="b", gate_delay=1, name="odd")
    net.connect("b", "y")
    net.connect("x", "y", "sparse", pairs=[[0, 0], [2, 1]], gate="y", gate_delay=1, name="xy")
    return net


def _lstm():
    net = Network(seed=3, dtype="float64")
    net.add_input("x", 2)
    net.add_lstm("h", 5, ["x"])
    net.add_output("y", 3, transfer="softmax", loss="cross_entropy")
    net.connect("h", "y")
    return net


def _gru():
    net = Network(seed=4, dtype="float64")
    net.add_input("x", 2)
    net.add_gru("h", 4, "x")
    net.add_output("y", 1, transfer="sigmoid", loss="binary_cross_entropy")
    net.connect("h", "y")
    return net


NETWORKS = {**RECURRENT, "gated": _gated, "lstm": _lstm, "gru": _gru}


def _data(net, n=3, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, net.groups["x"].size))
    units = net.groups["y"].size
    t = (
        rng.uniform(size=(n, steps, 1))
        if units == 1
        else np.eye(units)[rng.integers(units, size=(n, steps))]
    )
    return x, t


def _agree(fast, ref_loss, ref_grads):
    assert fast.loss == pytest.approx(ref_loss, rel=1e-12, abs=1e-14)
    assert set(fast.grads) == {k for k in ref_grads if "_" not in k or k in fast.grads}
    for k in fast.grads:
        g = ref_grads[k]
        np.testing.assert_allclose(fast.grads[k], g, rtol=1e-9, atol=1e-11, err_msg=k)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_the_plan_equals_the_tape_through_time(name):
    net = NETWORKS[name]()
    x, t = _data(net)
    bp = net.sequence_plan().backprop(x, t)
    _agree(bp, *sequence_gradients(net, x, t))
    # the outputs too, and a second pass with the same shape reuses the buffers
    again = net.sequence_plan().backprop(x, t)
    assert again.loss == bp.loss


@pytest.mark.parametrize("name", ["elman", "gated", "lstm"])
def test_masks_and_a_new_shape(name):
    net = NETWORKS[name]()
    x, t = _data(net, n=4, steps=5, seed=1)
    mask = np.ones((4, 5))
    mask[1, 3:] = 0
    mask[2, 1:] = 0
    _agree(net.sequence_plan().backprop(x, t, mask), *sequence_gradients(net, x, t, mask))
    x2, t2 = _data(net, n=2, steps=8, seed=2)
    _agree(net.sequence_plan().backprop(x2, t2), *sequence_gradients(net, x2, t2))


def test_last_step_targets_are_the_per_step_loss_masked_to_each_last_step():
    net = _lstm()
    x, _t = _data(net, n=3, steps=5)
    mask = np.ones((3, 5))
    mask[0, 2:] = 0  # sequence 0 ends at step 1
    classes = np.array([2, 0, 1])
    full = np.zeros((3, 5, 3))
    full[0, 1, 2] = full[1, 4, 0] = full[2, 4, 1] = 1
    at_end = np.zeros((3, 5))
    at_end[0, 1] = at_end[1, 4] = at_end[2, 4] = 1
    bp = net.sequence_plan().backprop(x, classes, mask)
    _agree(bp, *sequence_gradients(net, x, full, at_end))
    np.testing.assert_array_equal(bp.mask, at_end)
    # the last steps' one-hot rows give the same
    assert net.sequence_plan().backprop(x, np.eye(3)[classes], mask).loss == pytest.approx(bp.loss)


def test_sequence_weights_and_the_sum_reduction():
    net = _elman()
    x, t = _data(net, n=3, steps=4)
    ref, ref_g = sequence_gradients(net, x, t)
    bp = net.sequence_plan().backprop(x, t, options=Options(reduction="sum"))
    assert bp.loss == pytest.approx(ref * 12)
    np.testing.assert_allclose(bp.grads["h->h.weight"], ref_g["h->h.weight"] * 12, rtol=1e-10)
    # weights of 2 on every sequence double the mean
    bp = net.sequence_plan().backprop(x, t, sample_weight=[2, 2, 2])
    assert bp.loss == pytest.approx(2 * ref)


def _elman():
    return RECURRENT["elman"]()


def test_a_network_without_delays_runs_step_by_step_as_the_plan_does():
    net = Network.layered([2, 3, 1], transfer="tanh", dtype="float64", seed=0)
    x = np.random.default_rng(0).normal(size=(4, 3, 2))
    t = np.random.default_rng(1).uniform(size=(4, 3, 1))
    bp = net.sequence_plan().backprop(x, t)
    flat = net.backprop(x.reshape(12, 2), t.reshape(12, 1))
    assert bp.loss == pytest.approx(flat.loss, rel=1e-12)
    for k, g in flat.grads.items():
        np.testing.assert_allclose(bp.grads[k], g, rtol=1e-10, err_msg=k)


def test_deltas_outputs_and_nets_are_by_sequence_and_step():
    net = _elman()
    x, t = _data(net, n=3, steps=4)
    bp = net.sequence_plan().backprop(x, t)
    assert bp.deltas["h"].shape == bp.nets["h"].shape == bp.outputs["h"].shape == (3, 4, 4)
    np.testing.assert_allclose(bp.outputs["h"], np.tanh(bp.nets["h"]))
    assert bp.outputs["x"].shape == (3, 4, 2)


def test_gates_are_checked_when_connecting():
    net = Network()
    net.add_input("x", 2)
    net.add_group("a", 3)
    net.add_group("b", 2)
    with pytest.raises(ShapeError, match="gate 'a' has 3 units"):
        net.connect("x", "b", gate="a")
    with pytest.raises(NetworkError, match="gate_delay= is given without a gate"):
        net.connect("x", "b", gate_delay=1)
    net.connect("x", "a")
    net.connect("a", "b")
    net.add_output("c", 3, loss="mse")
    net.connect("b", "c")
    with pytest.raises(NetworkError, match="depends on the target within a step"):
        net.connect("x", "a", gate="c", name="loop")
    net.connect("x", "a", gate="c", gate_delay=1, name="loop")  # delayed, it may
    with pytest.raises(NetworkError, match="gate_delay must be a whole number"):
        net.connect("x", "c", gate="a", gate_delay=-1, name="bad")
    with pytest.raises(NetworkError, match="is gated by 'c'"):
        net.plan()


def test_bad_sequences_are_named():
    net = _elman()
    plan = net.sequence_plan()
    x, t = _data(net)
    with pytest.raises(ShapeError, match=r"shape \(sequences, steps, 2\)"):
        plan.backprop(x[:, :, :1], t)
    with pytest.raises(ShapeError, match="must be .3, 6. as the inputs'"):
        plan.backprop(x, t[:, :4])
    with pytest.raises(ShapeError, match="mask must hold 0 or 1"):
        plan.backprop(x, t, np.full((3, 6), 0.5))
    with pytest.raises(AnypropError, match="leaves no step"):
        plan.backprop(x, t, np.zeros((3, 6)))
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(AnypropError, match="NaN or infinity"):
        plan.backprop(bad, t)


def test_a_refused_cell_leaves_the_network_as_it_was():
    net = Network()
    net.add_input("x", 2)
    net.add_group("h_c", 3)
    before = (list(net.groups), list(net.connections))
    with pytest.raises(NetworkError, match="a group 'h_c' already exists"):
        net.add_lstm("h", 3, ["x"])
    with pytest.raises(NetworkError, match="size must be a whole number"):
        net.add_gru("g", 0, ["x"])
    with pytest.raises(NetworkError, match="give the groups that feed the cell"):
        net.add_gru("g", 2, [])
    assert (list(net.groups), list(net.connections)) == before


def test_targets_that_are_not_numbers_or_of_too_many_axes_are_named():
    net = _elman()
    x, t = _data(net)
    with pytest.raises(AnypropError, match="NaN or infinity"):
        net.sequence_plan().backprop(x, np.full_like(t, np.nan))
    with pytest.raises(ShapeError, match="for every step or"):
        net.sequence_plan().backprop(x, t[..., None])
