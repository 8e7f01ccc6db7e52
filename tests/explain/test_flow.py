"""Gradient-flow warnings: vanishing, exploding, saturated and dead units, in plain words."""

from __future__ import annotations

import numpy as np

from anyprop import Network
from anyprop.explain import flow_warnings, network_warnings
from anyprop.train import GradientStats, Trainer

ORDER = ["h1", "h2", "out"]
KINDS = {"h1": "tanh", "h2": "relu", "out": "sigmoid"}


def test_vanishing_and_exploding():
    w = flow_warnings({"delta/h1": 1e-5, "delta/h2": 1e-3, "delta/out": 1e-2}, ORDER, KINDS)
    assert w == ["deltas shrink 1000× from out to h1: vanishing gradients"]
    w = flow_warnings({"delta/h1": 5.0, "delta/h2": 1.0, "delta/out": 0.1}, ORDER, KINDS)
    assert w == ["deltas grow 50× from out to h1: exploding gradients"]
    assert (
        flow_warnings({"delta/h1": 0.01, "delta/h2": 0.02, "delta/out": 0.03}, ORDER, KINDS) == []
    )


def test_saturated_and_dead_units():
    w = flow_warnings(
        {"delta/h1": 0.1, "delta/out": 0.1, "saturated/h1": 0.9, "dead/h2": 0.5}, ORDER, KINDS
    )
    assert "tanh units in h1 are 90% saturated" in w[0]
    assert "50% of the relu units in h2 are dead" in w[1]


def test_a_saturating_network_is_reported():
    net = Network.layered([4, 8, 1], transfer="tanh", seed=0, init={"name": "uniform", "r": 30})
    x = np.random.default_rng(0).normal(size=(32, 4))
    y = np.random.default_rng(1).random((32, 1))
    tr = Trainer(net, "sgd", lr=0.01, callbacks=[GradientStats()], seed=0)
    tr.fit((x, y), 2)
    warnings = network_warnings(net, tr.history.gradients)
    assert any("h1 are" in w and "saturated" in w for w in warnings), warnings


def test_gradient_stats_on_formula_and_ops_transfers():
    from tests.nn.zoo import ZOO

    net, x, t = ZOO["user_transfers"]()
    tr = Trainer(net, "sgd", lr=0.01, callbacks=[GradientStats()], seed=0)
    tr.fit((x, t), 1)
    record = tr.history.gradients[-1]
    assert all(f"saturated/{g}" in record for g in net.groups if not net.groups[g].is_input)


def test_the_flow_plot_shows_each_layer_relative_to_the_output_layer():
    from anyprop.explain.flow import relative_flow

    net = Network.layered([2, 3, 3, 1], transfer="tanh", seed=0)
    records = [
        {"delta/h1": 0.01, "delta/h2": 0.1, "delta/output": 0.2},
        {"delta/h1": 0.001, "delta/h2": 0.01, "delta/output": 0.02},
    ]
    ratios = relative_flow(net, records)
    # the loss fell 10×, but each layer keeps its share of the output's signal
    np.testing.assert_allclose(ratios["h1"], [0.05, 0.05])
    np.testing.assert_allclose(ratios["h2"], [0.5, 0.5])
    np.testing.assert_allclose(ratios["output"], [1.0, 1.0])
