"""The state before the first step: carried from a previous chunk of the same sequences,
or learned (a group's initial state parameter), in the plan over sequences and in the
tape reference, to 1e-10 in float64."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network
from anyprop.errors import AnypropError, NetworkError, ShapeError
from anyprop.nn import spec as spec_io
from anyprop.nn.sequence import sequence_forward, sequence_gradients
from tests.nn.test_recurrent_plan import NETWORKS, _data


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_chunks_with_the_carried_state_run_as_the_whole_sequences(name):
    net = NETWORKS[name]()
    x, _ = _data(net, n=3, steps=7)
    plan = net.sequence_plan()
    whole = {g: v.copy() for g, v in plan.forward(x).items()}
    end = plan.final_state()
    plan.forward(x[:, :3])
    state = plan.final_state()
    assert set(state) == set(plan.state_groups)
    for g, s in state.items():
        assert s.shape == (3, plan.history, net.groups[g].size)
    rest = plan.forward(x[:, 3:], state=state)
    for g in net.groups:
        np.testing.assert_allclose(rest[g], whole[g][:, 3:], rtol=1e-12, atol=1e-14, err_msg=g)
    for g, s in plan.final_state().items():  # and it leaves the state the whole run left
        np.testing.assert_allclose(s, end[g], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_gradients_from_a_given_state_equal_the_tape(name):
    net = NETWORKS[name]()
    x, t = _data(net, n=3, steps=5, seed=1)
    plan = net.sequence_plan()
    rng = np.random.default_rng(5)
    state = {
        g: rng.uniform(-0.9, 0.9, size=(3, plan.history, net.groups[g].size))
        for g in plan.state_groups
    }
    bp = plan.backprop(x, t, state=state)
    loss, grads = sequence_gradients(net, x, t, state=state)
    assert bp.loss == pytest.approx(loss, rel=1e-12)
    for k, g in bp.grads.items():
        np.testing.assert_allclose(g, grads[k], rtol=1e-9, atol=1e-11, err_msg=k)
    ref = sequence_forward(net, x, state=state)
    np.testing.assert_allclose(bp.outputs["y"], ref["y"], rtol=1e-12, atol=1e-14)


def _learned(dtype="float64"):
    net = Network(seed=0, dtype=dtype)
    net.add_input("x", 2)
    net.add_group("h", 4, transfer="tanh", initial_state="learned")
    net.add_group("c", 3, transfer="sigmoid", initial_state="learned")
    net.add_output("y", 1, transfer="identity", loss="mse")
    net.connect("x", "h")
    net.connect("h", "h", delay=1)
    net.connect("h", "c")
    net.connect("c", "h", delay=2, gate="h", gate_delay=1)
    net.connect("c", "y")
    net.params["h.initial"][...] = [0.3, -0.2, 0.5, 0.1]
    net.params["c.initial"][...] = [0.7, 0.2, 0.4]
    return net


def test_a_learned_initial_state_is_trained_as_the_tape_and_finite_differences_say():
    net = _learned()
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 5, 1))
    bp = net.sequence_plan().backprop(x, t)
    loss, grads = sequence_gradients(net, x, t)
    assert bp.loss == pytest.approx(loss, rel=1e-12)
    for k in ("h.initial", "c.initial", "h->h.weight", "c->h.weight"):
        np.testing.assert_allclose(bp.grads[k], grads[k], rtol=1e-9, atol=1e-12, err_msg=k)
    assert np.all(bp.grads["h.initial"] != 0)
    flat = net.params["c.initial"]
    for j in range(3):  # ∂L/∂s by central differences
        keep = flat[j]
        flat[j] = keep + 1e-6
        up = net.sequence_plan().backprop(x, t).loss
        flat[j] = keep - 1e-6
        down = net.sequence_plan().backprop(x, t).loss
        flat[j] = keep
        assert (up - down) / 2e-6 == pytest.approx(grads["c.initial"][j], rel=1e-6)
    # a state given takes the learned one's place, and no gradient flows into it
    plan = net.sequence_plan()
    given = plan.initial_state(3)
    again = plan.backprop(x, t, state=given)
    assert again.loss == pytest.approx(loss, rel=1e-12)
    assert not np.any(again.grads["h.initial"])


def test_a_learned_state_goes_through_specs_and_a_copy():
    net = _learned()
    text = spec_io.dumps(net, weights=True)
    assert 'initial_state = "learned"' in text and "initial_weights" in text
    back = spec_io.loads(text)
    np.testing.assert_array_equal(back.params["h.initial"], net.params["h.initial"])
    copy = net.astype("float32")
    assert copy.groups["h"].initial_state == "learned"
    assert copy.params["h.initial"].dtype == np.float32


def test_bad_states_are_named():
    net = _learned()
    plan = net.sequence_plan()
    x, _ = _data(net, n=2, steps=3)
    good = plan.initial_state(2) or {
        g: np.zeros((2, plan.history, net.groups[g].size)) for g in plan.state_groups
    }
    g = plan.state_groups[0]
    with pytest.raises(ShapeError, match=f"state for group '{g}' has shape"):
        plan.forward(x, state={**good, g: good[g][:1]})
    with pytest.raises(AnypropError, match="no state given for group"):
        plan.forward(x, state={})
    with pytest.raises(AnypropError, match="state for 'nope': it is not read"):
        plan.forward(x, state={**good, "nope": good[g]})
    with pytest.raises(AnypropError, match="must be a dict by group name"):
        plan.forward(x, state=[1, 2])
    with pytest.raises(AnypropError, match="holds NaN or infinity"):
        plan.forward(x, state={**good, g: np.full_like(good[g], np.nan)})


def test_a_learned_state_needs_a_delayed_reader_and_a_known_name():
    net = Network(seed=0)
    net.add_input("x", 1)
    net.add_group("h", 2, initial_state="learned")
    net.add_output("y", 1, loss="mse")
    net.connect("x", "h")
    net.connect("h", "y")
    with pytest.raises(NetworkError, match="group 'h' has a learned initial state, but no"):
        net.plan()
    with pytest.raises(NetworkError, match="initial_state must be 'zero' or 'learned'"):
        net.add_group("k", 2, initial_state="random")
    with pytest.raises(AnypropError, match=r"groups\.h\.initial_state.*'zero' or 'learned'"):
        spec_io.loads(
            "[groups.x]\nsize = 1\ninput = true\n[groups.h]\nsize = 1\ninitial_state = 1\n"
        )
