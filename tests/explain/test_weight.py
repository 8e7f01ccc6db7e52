"""One weight's explanation: the numbers equal the engine's gradient, finite differences,
and values worked out by hand; skip and fan-out terms add up to the delta."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from anyprop import AnypropError, Network
from anyprop.cli import main
from anyprop.explain import explain_weight
from tests.nn.zoo import ZOO


def sig(v):
    return 1 / (1 + math.exp(-v))


def test_golden_2_2_1_sigmoid_by_hand():
    net = Network.layered([2, 2, 1], transfer="sigmoid", loss="mse", dtype="float64", seed=0)
    net.set_params(
        {
            "input->h1.weight": [[0.1, -0.2], [0.3, 0.4]],
            "h1.bias": [0.05, -0.05],
            "h1->output.weight": [[0.5], [-0.6]],
            "output.bias": [0.1],
        }
    )
    x, t = np.array([[1.0, 0.5]]), np.array([[1.0]])
    # by hand: the forward pass
    h0 = sig(0.1 * 1 + 0.3 * 0.5 + 0.05)
    h1 = sig(-0.2 * 1 + 0.4 * 0.5 - 0.05)
    o = sig(0.5 * h0 - 0.6 * h1 + 0.1)
    d_out = o * (1 - o) * (o - t[0, 0])  # BP1, MSE with the ½: ∂L/∂o = o − t
    d_h0 = h0 * (1 - h0) * (0.5 * d_out)  # BP2
    e = explain_weight(net, x, t, "input[1]->h1[0]", lr=0.5)
    assert e.delta.value == pytest.approx(d_h0, rel=1e-12)
    assert e.o_i == 0.5
    assert e.gradient == pytest.approx(0.5 * d_h0, rel=1e-12)  # BP4: o_i · δ_j
    assert e.step == pytest.approx(-0.5 * 0.5 * d_h0, rel=1e-12)
    assert e.delta.derivative == pytest.approx(h0 * (1 - h0), rel=1e-12)
    (term,) = e.delta.terms
    assert term.weight == 0.5 and term.delta == pytest.approx(d_out, rel=1e-12)
    assert term.expansion.loss_gradient == pytest.approx(o - 1.0, rel=1e-12)
    assert e.numeric == pytest.approx(e.gradient, rel=1e-7)
    assert "BP2" in e.to_text()


def test_skip_and_fan_out_terms_add_up_to_the_delta():
    net = Network(dtype="float64", seed=3)
    net.add_input("x", 2)
    net.add_group("h", 3, transfer="tanh")
    net.add_group("g", 2, transfer="elu")
    net.add_output("out", 2, transfer="identity", loss="mse")
    for s_, t_ in [("x", "h"), ("h", "g"), ("h", "out"), ("g", "out"), ("x", "out")]:
        net.connect(s_, t_)
    x = np.array([[0.3, -0.7]])
    t = np.array([[0.5, -0.5]])
    e = explain_weight(net, x, t, "x[1]->h[2]", depth=3, top=100)
    d = e.delta
    assert {t_.connection for t_ in d.terms} == {"h->g", "h->out"}  # fan-out to two groups
    total = sum(t_.product for t_ in d.terms)
    assert d.value == pytest.approx(d.derivative * total, rel=1e-12)
    bp = net.backprop(x, t)
    assert e.gradient == pytest.approx(bp.grads["x->h.weight"][1, 2], rel=1e-6)
    assert e.relative_error < 1e-6


def test_a_batch_is_summarised():
    net = Network.layered([2, 3, 1], transfer="tanh", seed=1, dtype="float64")
    x = np.random.default_rng(0).normal(size=(6, 2))
    t = np.random.default_rng(1).normal(size=(6, 1))
    e = explain_weight(net, x, t, "h1[0]->output[0]", sample=None)
    assert e.samples == 6 and len(e.per_sample) == 6
    # the step's gradient is the sum of the samples' terms (each δ carries the 1/N)
    assert np.sum(e.per_sample) == pytest.approx(e.gradient, rel=1e-10)
    assert e.relative_error < 1e-6
    assert "over the 6 samples" in e.to_text()


def test_sparse_one_to_one_and_fused_weights():
    net = Network(dtype="float64", seed=2)
    net.add_input("x", 3)
    net.add_group("h", 3, transfer="sigmoid")
    net.add_group("k", 3, transfer="relu")
    net.add_output("y", 2, transfer="softmax", loss="cross_entropy")
    net.connect("x", "h", "sparse", pairs=[(0, 1), (2, 2)])
    net.connect("h", "k", "one_to_one")
    net.connect("k", "y")
    x, t = np.array([[1.0, 2.0, -1.0]]), np.array([1])
    for weight in ("x[2]->h[2]", "h[1]->k[1]", "k[0]->y[1]"):
        e = explain_weight(net, x, t, weight, depth=3)
        assert e.relative_error < 1e-6, weight
    assert "fused" in explain_weight(net, x, t, "k[0]->y[1]").to_text()


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ("h1[0]output[0]", "write it as SOURCE"),
        ("hh[0]->output[0]", "unknown group 'hh'"),
        ("input[0]->output[0]", "no connection from 'input' to 'output'"),
        ("h1[9]->output[0]", "group 'h1' has 3 units"),
    ],
)
def test_weight_mistakes(weight, message):
    net = Network.layered([2, 3, 1], seed=0)
    with pytest.raises(AnypropError, match=message):
        explain_weight(net, np.zeros((1, 2)), np.zeros((1, 1)), weight)


def test_cli_explain(tmp_path):
    model = tmp_path / "m.anyprop"
    out, err = io.StringIO(), io.StringIO()
    assert (
        main(
            ["train", "--data", "xor", "--recipe", "plain", "--epochs", "3", "--out", str(model)],
            out,
            err,
        )
        == 0
    )
    out = io.StringIO()
    assert (
        main(["explain", str(model), "--weight", "input[0]->h1[2]", "--sample", "1"], out, err) == 0
    )
    text = out.getvalue()
    assert "the next step of training (epoch 4, batch 1 of 1; 4 samples" in text
    assert "the rule sgd(lr=0.01" in text and "sample 1 of the batch" in text
    assert "finite differences" in text
    out = io.StringIO()
    assert (
        main(["explain", str(model), "--weight", "input[0]->h1[2]", "--lr", "0.5"], out, err) == 0
    )
    assert "one step on the batch given" in out.getvalue()
    assert "Δw = −η·g = −0.5·" in out.getvalue()
    out = io.StringIO()
    assert main(["explain", str(model), "--weight", "h1[0]->output[0]", "--json"], out, err) == 0
    data = json.loads(out.getvalue())
    assert data["samples"] == 4 and data["relative_error"] < 1e-6


@pytest.mark.parametrize(
    "opt",
    [
        {"name": "adam", "lr": 0.05},
        {"name": "sgd", "lr": 0.3, "momentum": 0.9},
        {"name": "formula", "rule": "w - lr*sign(g)*sqrt(abs(g))"},
    ],
)
def test_the_optimizer_step_shown_is_the_step_training_takes(opt):
    from anyprop.train import Trainer

    net = Network.layered([2, 3, 1], transfer="tanh", seed=4, dtype="float64")
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, -0.5]])
    t = np.array([[1.0], [1.0], [0.0], [0.2]])
    tr = Trainer(net, dict(opt), seed=0)
    tr.fit((x, t), 3)
    e = explain_weight(net, x, t, "h1[1]->output[0]", sample=None, optimizer=tr.optimizer)
    before = float(net.params["h1->output.weight"][1, 0])
    tr.step(x, t, None, 0)
    after = float(net.params["h1->output.weight"][1, 0])
    assert e.step == pytest.approx(after - before, rel=1e-9, abs=1e-15)
    assert e.optimizer is not None and "the rule" in e.to_text()


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_zoo_network_explains_its_first_weight(name):
    """Several input groups (a dict of inputs), formula and ops transfers, sparse, shared."""
    from anyprop.explain.html import default_weight

    net, x, t = ZOO[name]()
    weight = default_weight(net)
    e = explain_weight(net, x, t, weight, sample=None)
    assert e.relative_error < 1e-6
    one = explain_weight(net, x, t, weight, sample=1)
    assert one.sample == 1 and one.step == e.step  # the same step, another sample's terms
    assert one.delta.derivative is not None or one.delta.fused


def test_a_difference_within_the_rounding_of_finite_differences_is_called_agreement():
    import dataclasses

    net = Network.layered([2, 2, 1], transfer="sigmoid", seed=0)
    e = explain_weight(net, np.array([[0.5, -1.0]]), np.array([[1.0]]), "h1[0]->output[0]")
    assert 0 < e.rounding < 1e-8 and "rounding" in e.to_dict()
    near = dataclasses.replace(e, numeric=e.gradient + e.rounding, relative_error=1e-4)
    far = dataclasses.replace(e, numeric=e.gradient + 100 * e.rounding, relative_error=1e-4)
    assert "they agree" in near.to_text() and "they agree" not in far.to_text()
    assert "they agree" not in e.to_text()  # an exact match needs no excuse


def test_a_unit_graph_weight_is_explained_by_its_unit_names(tmp_path):
    """'2->3' names the edge from unit 2 to unit 3; the explanation's numbers are the
    engine's and the step is the one training takes."""
    from anyprop.nn.unitgraph import from_units

    g = from_units(
        [(0, 2), (1, 2), (0, 3), (1, 3), (2, 3)], transfer="tanh", dtype="float64", seed=1
    )
    x, t = np.array([[0.3, -0.8], [1.0, 0.2]]), np.array([[0.5], [-0.2]])
    e = explain_weight(g, x, t, "2->3", sample=None, lr=0.1)
    bp = g.backprop(x, t)
    assert e.gradient == pytest.approx(g.units.edge_grad(bp, 2, 3), rel=1e-12)
    assert e.w == g.units.edge_weight(2, 3)
    assert e.source == "unit 2" and e.target == "unit 3"
    assert abs(e.gradient - e.numeric) < 1e-7
    before = g.units.edge_weight(2, 3)
    for name, grad in bp.grads.items():  # one step of the rule with η = 0.1
        g.params[name] -= 0.1 * grad
    assert g.units.edge_weight(2, 3) - before == pytest.approx(e.step, rel=1e-12)
    with pytest.raises(AnypropError, match="no connection from unit 3 to unit 2"):
        explain_weight(g, x, t, "3->2")
    with pytest.raises(AnypropError, match="unknown unit 9"):
        explain_weight(g, x, t, "9->3")
    with pytest.raises(AnypropError, match="the units are numbered; 'a' is not"):
        explain_weight(g, x, t, "a->3")


def test_anyprop_explain_takes_a_unit_graph_model(tmp_path):
    spec = tmp_path / "units.toml"
    spec.write_text(
        "[network]\nseed = 2\n[units]\nconnections = [[0, 2], [1, 2], [0, 3], [2, 3]]\n"
    )
    model = tmp_path / "u.anyprop"
    out, err = io.StringIO(), io.StringIO()
    argv = ["train", str(spec), "--data", "xor", "--epochs", "3", "--out", str(model)]
    assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    out = io.StringIO()
    assert main(["explain", str(model), "--weight", "2->3", "--json"], stdout=out) == 0
    e = json.loads(out.getvalue())
    assert e["source"] == "unit 2" and e["target"] == "unit 3"
    assert abs(e["gradient"] - e["numeric"]) <= 1e-6 * max(1.0, abs(e["numeric"]))


def test_a_unit_graph_with_outputs_in_two_groups_is_explained_on_a_batch():
    from anyprop.nn.unitgraph import from_units

    g = from_units([(0, 2), (1, 2), (2, 3), (0, 3)], outputs=[3, 2], dtype="float64", seed=0)
    x, t = np.array([[0.3, -0.8], [1.0, 0.2]]), np.array([[0.5, 0.1], [-0.2, 0.3]])
    e = explain_weight(g, x, t, "0->2", sample=None)
    assert e.gradient == pytest.approx(g.units.edge_grad(g.backprop(x, t), 0, 2), rel=1e-12)
    assert abs(e.gradient - e.numeric) < 1e-7
    assert e.delta.loss_gradient is not None  # unit 2 is an output that also feeds unit 3
