"""Evaluation: one module computes the validation figures and ``anyprop evaluate``'s."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from anyprop import Network, datasets
from anyprop.cli import main
from anyprop.data import Dataset
from anyprop.train import Trainer
from anyprop.train.evaluate import evaluate
from anyprop.train.model_io import load_model, save_model


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_evaluate_gives_the_figures_validation_logged(tmp_path, reduction):
    data = datasets.load("digits")
    train, val = data.subset(np.arange(0, 300)), data.subset(np.arange(300, 400))
    net = Network.layered(
        [64, 16, 10], transfer="tanh", output_transfer="softmax", loss="cross_entropy", seed=0
    )
    tr = Trainer(net, "adam", lr=0.01, batch_size=50, loss_reduction=reduction, seed=0)
    h = tr.fit(train, 2, validation=val)
    save_model(tmp_path / "m.anyprop", net, trainer=tr, task="classification")
    result = evaluate(load_model(tmp_path / "m.anyprop"), val)
    assert result["loss"] == h.last("val_loss")
    assert result["accuracy"] == h.last("val_accuracy")
    assert result["samples"] == len(val)


def test_anyprop_evaluate_equals_the_python_api(tmp_path):
    model = tmp_path / "m.anyprop"
    argv = [
        "train",
        "--data",
        "xor",
        "--epochs",
        "20",
        "--loss-reduction",
        "sum",
        "--out",
        str(model),
    ]
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    out = io.StringIO()
    assert main(["evaluate", str(model), "--json"], stdout=out, stderr=io.StringIO()) == 0
    shown = json.loads(out.getvalue())
    m = load_model(model)
    xor = datasets.load("xor")
    direct = evaluate(m, xor)
    assert shown["loss"] == direct["loss"]
    # the summed loss of the trained model, as the training's own pass computes it
    net = m.network
    x = m.prepare(xor.x).astype(net.dtype)
    assert direct["loss"] == net.plan().loss(
        x, xor.y, options=Trainer.from_state(net, m.trainer_state).options
    )


def test_a_unit_graph_is_evaluated_on_its_output_units():
    from anyprop.nn.unitgraph import from_units

    g = from_units([(0, 2), (1, 2), (2, 3), (0, 3)], outputs=[3, 2], dtype="float64", seed=0)
    x = np.random.default_rng(0).normal(size=(6, 2))
    y = np.random.default_rng(1).normal(size=(6, 2))
    tr = Trainer(g, "sgd", lr=0.0, seed=0)
    h = tr.fit((x, y), 1, validation=Dataset(x, y))
    assert h.last("val_loss") == pytest.approx(g.loss(x, y))
    assert h.last("val_mse") == pytest.approx(float(np.mean((g.forward(x) - y) ** 2)))


def test_inputs_that_are_not_finite_are_named_before_training():
    from anyprop import AnypropError

    net = Network.layered([2, 2, 1], seed=0)
    x = np.array([[0.0, 1.0], [np.nan, 0.0]])
    with pytest.raises(AnypropError, match=r"row 1, column 0 is not a finite number"):
        Trainer(net, seed=0).fit((x, np.array([[0.0], [1.0]])), 1)


def test_accuracy_counted_batch_by_batch_is_the_accuracy_of_the_whole():
    from anyprop.train.metrics import METRICS, streaming

    rng = np.random.default_rng(0)
    o, t = rng.normal(size=(50, 4)), np.eye(4)[rng.integers(0, 4, 50)]
    acc = streaming(["accuracy"], "classification", 4)["accuracy"]
    for part in (slice(0, 17), slice(17, 40), slice(40, 50)):
        acc.add(o[part], t[part])
    assert acc.value() == METRICS.get("accuracy")(o, t, task="classification")
    assert streaming(["accuracy", "mse"], "classification", 4) is None  # mse: the whole
    assert streaming(["accuracy"], "binary", 1) is None  # (its threshold reads the whole)
