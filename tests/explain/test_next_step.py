"""The promise of explain: the step it prints is the step training takes next, exactly.

For every optimizer, loss reduction, Fahlman fix, network shape and batching:
train a few epochs, explain the next step of several weights and a bias, take the
next step for real (the trainer resumes, through the API), and compare.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from anyprop import Network
from anyprop.data import Dataset
from anyprop.explain import explain_step
from anyprop.nn.unitgraph import from_units
from anyprop.train import Callback, Trainer

OPTIMIZERS = {
    "sgd": {"name": "sgd", "lr": 0.3},
    "momentum": {"name": "sgd", "lr": 0.3, "momentum": 0.9},
    "nesterov": {"name": "sgd", "lr": 0.3, "momentum": 0.9, "nesterov": True},
    "adam": {"name": "adam", "lr": 0.05},
    "adamw": {"name": "adamw", "lr": 0.05, "weight_decay": 0.1},
    "rmsprop": {"name": "rmsprop", "lr": 0.01},
    "adagrad": {"name": "adagrad", "lr": 0.1},
    "irprop": {"name": "irprop"},
    "quickprop": {"name": "quickprop", "lr": 0.5},
    "formula": {"name": "formula", "rule": "w - lr*g + 0.5*dw", "lr": 0.2},
    "clipped": {"name": "sgd", "lr": 0.5, "clip_norm": 0.05, "weight_decay": 0.01},
}
FIXES = {
    "mean": {"loss_reduction": "mean"},
    "sum": {"loss_reduction": "sum"},
    "prime_offset": {"loss_reduction": "sum", "prime_offset": 0.1},
    "atanh_error": {"loss_reduction": "mean", "atanh_error": True},
}


def layered():
    return Network.layered(
        [3, 4, 2], transfer="tanh", output_transfer="sigmoid", seed=1, dtype="float64"
    ), ["input[1]->h1[2]", "h1[0]->output[1]", "h1.bias[3]"]


def skip():
    net = Network(dtype="float64", seed=2)
    net.add_input("x", 3)
    net.add_group("h", 4, transfer="x/(1+abs(x))")
    net.add_output("out", 2, transfer="sigmoid", loss="mse")
    for a, b in [("x", "h"), ("h", "out"), ("x", "out")]:
        net.connect(a, b)
    return net, ["x[2]->out[1]", "x[0]->h[1]", "out.bias[0]"]


def sparse():
    net = Network(dtype="float64", seed=3)
    net.add_input("x", 3)
    net.add_group("h", 3, transfer="sigmoid")
    net.add_group("k", 3, transfer="tanh")
    net.add_output("out", 2, transfer="sigmoid", loss="mse")
    net.connect("x", "h", "sparse", pairs=[(2, 1), (0, 0), (1, 2), (2, 0)])
    net.connect("h", "k", "one_to_one")
    net.connect("k", "out")
    return net, ["x[2]->h[0]", "h[1]->k[1]", "k.bias[2]"]


def units():
    edges = [(0, 3), (1, 3), (2, 4), (3, 4), (0, 5), (3, 5), (4, 5), (1, 4)]
    net = from_units(edges, transfer="tanh", outputs=[5, 4], dtype="float64", seed=4)
    return net, ["3->5", "0->3", "5.bias"]


NETWORKS = {"layered": layered, "skip": skip, "sparse": sparse, "units": units}


def data(n=10):
    rng = np.random.default_rng(0)
    return Dataset(rng.normal(size=(n, 3)), rng.uniform(0.1, 0.9, size=(n, 2)))


class FirstStep(Callback):
    """The weights right after the first step of the next epoch."""

    def __init__(self):
        self.after = None

    def on_batch_end(self, trainer, batch, backprop):
        if self.after is None:
            self.after = {k: v.copy() for k, v in trainer.network.params.items()}


def element(net, params, weight):
    """The value of a weight or bias, read independently of explain's own parsing."""
    from anyprop.explain import parse_target

    target = parse_target(net, weight)
    return float(params[target.param].reshape(-1)[target.index])


CASES = list(itertools.product(OPTIMIZERS, FIXES, NETWORKS, ["full", "mini"]))


@pytest.mark.parametrize(("opt", "fix", "shape", "batching"), CASES)
def test_explain_prints_the_step_training_takes(opt, fix, shape, batching):
    net, weights = NETWORKS[shape]()
    d = data()
    batch = None if batching == "full" else 4  # 10 samples: batches of 4, 4, 2
    tr = Trainer(net, dict(OPTIMIZERS[opt]), batch_size=batch, seed=5, **FIXES[fix])
    tr.fit(d, 2)
    explained = [explain_step(tr, d, w) for w in weights]
    first = FirstStep()
    tr.callbacks.append(first)
    tr.fit(d, 3)  # the real next step (and the rest of that epoch)
    for w, e in zip(weights, explained, strict=True):
        before, after = e.w, element(net, first.after, w)
        assert e.w_after == after, (w, e.w_after, after)  # the same arithmetic: the same bits
        assert e.step == pytest.approx(after - before, rel=1e-12, abs=1e-300)
        assert e.samples == (10 if batch is None else 4)
        # the optimizer's lines, recomputed in float64 from the state shown, end in Δw
        last = e.optimizer_lines[-1]
        assert last["name"] == "Δw"
        assert last["value"] == pytest.approx(e.step, rel=1e-9, abs=1e-12), (w, last)


def test_a_later_batch_of_the_epoch_is_the_step_training_takes_there():
    net, weights = layered()
    d = data()
    tr = Trainer(net, "adam", lr=0.05, batch_size=4, seed=5)
    tr.fit(d, 1)
    e = explain_step(tr, d, weights[0], batch=2)

    class ThirdStep(Callback):
        after = None

        def on_batch_end(self, trainer, batch, backprop):
            if batch == 2 and self.after is None:
                self.after = {k: v.copy() for k, v in trainer.network.params.items()}

    third = ThirdStep()
    tr.callbacks.append(third)
    tr.fit(d, 2)
    assert e.w_after == element(net, third.after, weights[0])
    assert e.batch == 2 and e.batches == 3 and e.samples == 2


@pytest.mark.parametrize(
    "schedule",
    [{"name": "exponential", "gamma": 0.5}, {"name": "step", "step_size": 2, "gamma": 0.1}],
)
def test_the_schedules_rate_for_the_next_epoch_is_the_one_explained(schedule):
    net, weights = layered()
    d = data()
    tr = Trainer(net, "sgd", lr=0.5, momentum=0.5, schedule=schedule, seed=5)
    tr.fit(d, 2)
    e = explain_step(tr, d, weights[1])
    first = FirstStep()
    tr.callbacks.append(first)
    tr.fit(d, 3)
    assert e.lr == tr.optimizer.lr != 0.5
    assert e.w_after == element(net, first.after, weights[1])


def test_class_and_sample_weights_weigh_the_explained_step():
    net = Network.layered(
        [3, 4, 3],
        transfer="tanh",
        output_transfer="softmax",
        loss="cross_entropy",
        seed=1,
        dtype="float64",
    )
    rng = np.random.default_rng(0)
    d = Dataset(rng.normal(size=(9, 3)), np.arange(9) % 3, task="classification")
    sw = rng.uniform(0.5, 2.0, size=9)
    tr = Trainer(net, "sgd", lr=0.3, class_weight={0: 3.0, 2: 0.5}, seed=5)
    tr.fit(d, 2, sample_weight=sw)
    e = explain_step(tr, d, "h1[1]->output[2]", sample_weight=sw)
    first = FirstStep()
    tr.callbacks.append(first)
    tr.fit(d, 3, sample_weight=sw)
    assert e.w_after == element(net, first.after, "h1[1]->output[2]")
    assert e.delta.fused and "(o − t)" in e.to_text()


@pytest.mark.parametrize(
    "flags",
    [
        ["--optimizer", "sgd", "--lr", "0.5", "--momentum", "0.9", "--loss-reduction", "sum"],
        ["--optimizer", "adam", "--lr", "0.02"],
        ["--optimizer", "quickprop", "--lr", "0.5", "--prime-offset", "0.1"],
        ["--optimizer", "irprop", "--atanh-error", "--loss-reduction", "sum"],
    ],
)
def test_resuming_through_the_cli_takes_the_step_anyprop_explain_printed(tmp_path, flags):
    import io
    import json

    from anyprop.cli import main
    from anyprop.train.model_io import load_model

    def run(*argv):
        out, err = io.StringIO(), io.StringIO()
        assert main(list(argv), stdout=out, stderr=err) == 0, err.getvalue()
        return out.getvalue()

    model = str(tmp_path / "m.anyprop")
    spec = str(Path(__file__).resolve().parents[2] / "examples" / "specs" / "xor.toml")
    run("train", spec, "--data", "xor", *flags, "--epochs", "3", "--out", model)
    shown = {
        w: json.loads(run("explain", model, "--weight", w, "--json"))
        for w in ("input[1]->h1[0]", "h1[1]->output[0]", "output.bias[0]")
    }
    run("train", "--resume", model, "--epochs", "4", "--out", model)
    params = load_model(model).network.params
    assert params["input->h1.weight"][1, 0] == shown["input[1]->h1[0]"]["w_after"]
    assert params["h1->output.weight"][1, 0] == shown["h1[1]->output[0]"]["w_after"]
    assert params["output.bias"][0] == shown["output.bias[0]"]["w_after"]


def test_a_mini_batch_model_from_the_cli_is_explained_as_its_trainer_resumes(tmp_path):
    import io
    import json

    from anyprop.cli import main
    from anyprop.train.model_io import load_model

    model = str(tmp_path / "m.anyprop")
    argv = ["train", "--data", "moons", "--hidden", "5", "--optimizer", "adam", "--lr", "0.02"]
    argv += ["--batch-size", "16", "--validation-split", "0.25", "--epochs", "2", "--out", model]
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    out = io.StringIO()
    weight = "h1[3]->output[1]"
    assert main(["explain", model, "--weight", weight, "--json"], stdout=out) == 0
    shown = json.loads(out.getvalue())
    assert shown["batches"] > 1 and shown["samples"] == 16
    m = load_model(model)  # resume through the API, on the training part as the CLI split it
    from anyprop.train.job import training_data

    tr = Trainer.from_state(m.network, m.trainer_state)
    first = FirstStep()
    tr.callbacks.append(first)
    tr.fit(training_data(m), tr.epoch + 1)
    assert element(m.network, first.after, weight) == shown["w_after"]
