"""Whole-network gradients: the plan equals the same network on the tape (1e-10, float64),
and the tape equals finite differences, for every shape, transfer function and loss."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import gradcheck
from anyprop.nn import Network, losses, run_on_tape, transfer
from tests.nn.zoo import ZOO


def assert_plan_equals_tape(net, x, t, sample_weight=None):
    bp = net.backprop(x, t, sample_weight)
    grads = {k: v.copy() for k, v in bp.grads.items()}
    tape = run_on_tape(net, x, t, sample_weight)
    tape.loss.backward()
    assert bp.loss == pytest.approx(tape.loss.item(), rel=1e-12, abs=1e-12)
    assert set(grads) == set(net.trainable())
    for name, g in grads.items():
        np.testing.assert_allclose(g, tape.params[name].grad, rtol=1e-10, atol=1e-10, err_msg=name)
    for name, net_t in tape.nets.items():
        np.testing.assert_allclose(bp.nets[name], net_t.data, rtol=1e-10, atol=1e-12)


def assert_tape_passes_gradcheck(net, x, t, sample_weight=None):
    names = list(net.trainable())

    def loss(*tensors):
        return run_on_tape(
            net, x, t, sample_weight, params=dict(zip(names, tensors, strict=True))
        ).loss

    report = gradcheck(loss, *[net.params[k] for k in names])
    assert report.passed, str(report)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_plan_equals_tape(name):
    net, x, t = ZOO[name]()
    assert_plan_equals_tape(net, x, t)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_tape_equals_finite_differences(name):
    net, x, t = ZOO[name]()
    assert_tape_passes_gradcheck(net, x, t)


def test_sample_weights_reach_the_gradients():
    net, x, t = ZOO["skip_and_merge"]()
    w = np.linspace(0.0, 2.0, 6)
    assert_plan_equals_tape(net, x, t, w)
    zero_last = net.backprop(x, t, np.r_[np.ones(5), 0.0]).loss
    only_five = net.backprop(x[:5], t[:5]).loss
    assert zero_last == pytest.approx(only_five * 5 / 6)


TRANSFERS = [n for n in transfer.TRANSFERS.names() if not n.startswith("threshold")]


@pytest.mark.parametrize("name", TRANSFERS)
def test_every_transfer_function_in_a_network(name):
    net = Network(dtype="float64", seed=7)
    net.add_input("x", 3)
    net.add_group("h", 4, transfer=name)
    out_transfer = name if not transfer.get(name).vector else "identity"
    net.add_output("out", 2, transfer=out_transfer, loss="mse")
    net.connect("x", "h")
    net.connect("h", "out")
    net.connect("x", "out")
    rng = np.random.default_rng(8)
    x, t = rng.normal(size=(5, 3)) * 0.7 + 0.05, rng.normal(size=(5, 2))
    assert_plan_equals_tape(net, x, t)
    assert_tape_passes_gradcheck(net, x, t)


@pytest.mark.parametrize("name", losses.LOSSES.names())
def test_every_loss_in_a_network(name):
    out_transfer = {
        "cross_entropy": "softmax",
        "binary_cross_entropy": "sigmoid",
        "nll": "log_softmax",
        "poisson": "softplus",
    }.get(name, "identity")
    net = Network(dtype="float64", seed=9)
    net.add_input("x", 3)
    net.add_group("h", 4, transfer="tanh")
    net.add_output("out", 3, transfer=out_transfer, loss=name)
    net.connect("x", "h")
    net.connect("h", "out")
    rng = np.random.default_rng(10)
    x = rng.normal(size=(6, 3))
    if name in ("cross_entropy", "nll", "multiclass_hinge"):
        t = rng.integers(0, 3, 6)
    elif name == "hinge":
        t = rng.choice([-1.0, 1.0], (6, 3))
    elif name in ("binary_cross_entropy",):
        t = rng.integers(0, 2, (6, 3)).astype(float)
    elif name == "poisson":
        t = rng.poisson(1.0, (6, 3)).astype(float)
    else:
        t = rng.normal(size=(6, 3))
    assert_plan_equals_tape(net, x, t)
    assert_tape_passes_gradcheck(net, x, t)


def test_deltas_follow_the_general_rule_by_hand():
    """δ_out = f'(net)·(o - t)/N and δ_h = f'(net_h)·(δ_out Wᵀ): the textbook rule."""
    net, x, t = ZOO["xor"]()
    bp = net.backprop(x, t)
    o = bp.outputs["output"]
    d_out = o * (1 - o) * (o - t) / 4
    np.testing.assert_allclose(bp.deltas["output"], d_out, rtol=1e-12)
    h = bp.outputs["h1"]
    d_h = h * (1 - h) * (d_out @ net.params["h1->output.weight"].T)
    np.testing.assert_allclose(bp.deltas["h1"], d_h, rtol=1e-12)
    np.testing.assert_allclose(bp.grads["h1->output.weight"], h.T @ d_out, rtol=1e-12)
    np.testing.assert_allclose(bp.grads["input->h1.weight"], x.T @ d_h, rtol=1e-12)


def test_input_gradients_on_request():
    net, x, t = ZOO["skip_and_merge"]()
    bp = net.backprop(x, t, input_grads=True)
    tape = run_on_tape(net, x, t)
    assert bp.input_grads["x"].shape == x.shape
    assert np.isfinite(bp.input_grads["x"]).all()
    assert tape is not None


def test_buffers_are_reused_for_the_same_batch_size():
    net, x, t = ZOO["xor"]()
    a = net.backprop(x, t).nets["output"]
    b = net.backprop(x, t).nets["output"]
    assert a is b
    c = net.backprop(x[:2], t[:2]).nets["output"]
    assert c.shape == (2, 1)
