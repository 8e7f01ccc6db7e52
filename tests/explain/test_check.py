"""The whole-network gradient check: it passes on correct networks and finds a wrong derivative."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from anyprop import Network, datasets
from anyprop.cli import main
from anyprop.explain import check_gradients
from anyprop.nn import spec as spec_io
from anyprop.nn.transfer import Elementwise
from tests.nn.zoo import ZOO

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_zoo_network_passes(name):
    net, x, t = ZOO[name]()
    report = check_gradients(net, x, t, samples=3)
    assert report.passed, report.to_dict()
    assert {r.name for r in report.rows} >= {
        c for c in net.connections if not net.connections[c].share and net.connections[c].trainable
    }


class WrongSquare(Elementwise):
    """x² with the derivative x instead of 2x."""

    name = "wrong_square"

    def f(self, x):
        return x * x

    def df(self, x, y):
        return x

    def on_tape(self, x):
        return x * x


def test_a_wrong_derivative_is_found_and_located():
    net = Network(seed=0, dtype="float64")
    net.add_input("x", 2)
    net.add_group("h", 3, transfer=WrongSquare())
    net.add_output("out", 1, transfer="identity", loss="mse")
    net.connect("x", "h")
    net.connect("h", "out")
    report = check_gradients(net, np.array([[0.5, -1.0], [1.0, 2.0]]), np.array([[1.0], [0.0]]))
    assert not report.passed
    failing = {r.name for r in report.rows if not r.passed}
    assert failing == {"h", "x->h"}  # the parameters below the wrong derivative


def test_large_parameters_are_sampled():
    net = Network.layered(
        [64, 200, 10], transfer="tanh", output_transfer="softmax", loss="cross_entropy", seed=0
    )
    d = datasets.load("digits")
    report = check_gradients(net, d.x / 16, d.y, samples=2, per_parameter=20)
    assert report.passed
    assert max(r.checked for r in report.rows) == 20


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("spec", "data"),
    [
        ("skip.toml", "moons"),
        ("units.toml", "xor"),
        ("xor.toml", "xor"),
        ("encoder.toml", "encoder"),
    ],
)
def test_cli_check_on_specs(spec, data):
    status, out, err = run("check", str(SPECS / spec), "--data", data, "--json")
    assert status == 0, err
    assert json.loads(out)["passed"]


def test_cli_check_on_a_model_and_mistakes(tmp_path):
    model = tmp_path / "m.anyprop"
    assert run("train", "--data", "xor", "--epochs", "3", "--out", str(model))[0] == 0
    status, out, _ = run("check", str(model))
    assert status == 0 and "all gradients agree" in out
    # a spec without data (issue 12): checked on random inputs, and said so
    status, out, err = run("check", str(SPECS / "xor.toml"))
    assert status == 0 and "random inputs" in err and "all gradients agree" in out
    status, _, err = run("check", str(SPECS / "xor.toml"), "--data", "nosuchset")
    assert status == 2 and "nosuchset" in err
    assert spec_io.load(SPECS / "xor.toml")


@pytest.mark.parametrize("transfer", ["relu", "abs(x)", "leaky_relu"])
def test_a_unit_on_a_kink_passes_when_its_gradient_is_a_one_sided_slope(transfer):
    from anyprop import Network
    from anyprop.explain.check import check_gradients

    net = Network.layered([2, 3, 1], transfer=transfer, output_transfer="identity", seed=0)
    for name in net.params:
        if name.endswith(".bias"):
            net.params[name][...] = 0.0  # zero inputs, zero biases: every net input is 0
    x = np.array([[0.0, 0.0], [0.5, -1.0]])
    report = check_gradients(net, x, np.array([[1.0], [0.0]]))
    assert report.passed, report.to_dict()
    # abs is symmetric: its convention f'(0) = 0 is the central difference itself
    assert sum(r.kinks for r in report.rows) > 0 or transfer == "abs(x)"
    assert all(r.max_abs_error < 1e-6 for r in report.rows)


def test_a_wrong_gradient_at_a_kink_still_fails(monkeypatch):
    from anyprop import Network
    from anyprop.explain import check as check_module

    net = Network.layered([2, 3, 1], transfer="relu", output_transfer="identity", seed=0)
    for name in net.params:
        if name.endswith(".bias"):
            net.params[name][...] = 0.0

    def broken(x, y):  # a gradient outside both one-sided slopes
        bp = real(x, y)
        bp.grads["h1.bias"] += 1.0
        return bp

    copy = check_module.float64_copy(net)
    real = copy.backprop
    copy.backprop = broken
    monkeypatch.setattr(check_module, "float64_copy", lambda _: copy)
    report = check_module.check_gradients(net, np.zeros((2, 2)), np.array([[1.0], [0.0]]))
    assert not report.passed
    assert [r.name for r in report.rows if not r.passed] == ["h1"]


def test_a_sharp_curve_is_not_taken_for_a_kink(monkeypatch):
    """A smooth network at a sharp minimum (one-sided slopes that differ by ε·L''): a
    gradient off by 50 times the tolerance still fails."""
    from anyprop import Network
    from anyprop.explain import check as check_module

    net = Network.layered([2, 3, 1], transfer="tanh", output_transfer="identity", seed=0)
    net.params["h1->output.weight"][...] *= 300.0  # L'' in the hidden biases ~ 1e4
    copy = check_module.float64_copy(net)
    real = copy.backprop

    def off(x, y):
        bp = real(x, y)
        bp.grads["h1.bias"] += 5e-4
        return bp

    copy.backprop = off
    monkeypatch.setattr(check_module, "float64_copy", lambda _: copy)
    x = np.array([[0.3, -0.2], [0.1, 0.4]])
    at_minimum = np.array(copy.forward(x), dtype=np.float64)  # targets the outputs hit
    report = check_module.check_gradients(net, x, at_minimum)
    row = next(r for r in report.rows if r.name == "h1" and r.kind == "biases")
    assert not row.passed and row.kinks == 0


@pytest.mark.parametrize("d", [0.0, 5e-7, -5e-7, 9e-7, 2e-7, -2e-7])
def test_a_kink_within_the_step_but_not_on_the_weight_passes(d):
    """A ReLU whose net input is d: a kink closer than ε to w, on either side or on it."""
    from anyprop import Network

    net = Network.layered([1, 1, 1], transfer="relu", seed=0)
    for name in net.params:
        net.params[name][...] = 1.0
    net.params["h1.bias"][...] = d - 1.0
    report = check_gradients(net, np.array([[1.0]]), np.array([[3.0]]))
    assert report.passed, report.to_dict()
    assert all(r.max_abs_error < 1e-6 for r in report.rows)
