"""Hostile values given to the Python API, one of each kind an adversarial probe found
failing (1 403 cases, 219 failing before the fixes): each ends in an AnypropError with
a message, never another exception, and no file the call was not asked to write is
changed."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import anyprop
from anyprop import Network, Tensor
from anyprop.errors import AnypropError
from anyprop.explain import check_gradients
from anyprop.limits import ENV
from anyprop.nn import spec as spec_io
from anyprop.nn.transfer import describe
from anyprop.train.trainer import Trainer

X4 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
T4 = np.array([[0], [1], [1], [0]], dtype=float)


def net():
    return Network.layered([2, 3, 1], seed=0)


def ce():
    return Network.layered([2, 3, 3], output_transfer="softmax", loss="cross_entropy", seed=0)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    return anyprop.train_model("iris", epochs=2, out=str(folder / "iris.anyprop"))


CASES = {
    # network passes: inputs, targets, weights and options
    "ragged inputs": lambda m: net().forward([[0, 1], [1]]),
    "huge input": lambda m: net().forward([[2**2000, 0]]),
    "text targets": lambda m: net().backprop(X4, [["a"]] * 4),
    "class labels as text": lambda m: ce().backprop(X4, ["a", "b", "a", "b"]),
    "class index past int64": lambda m: ce().backprop(X4, [0, 2**70, 1, 1]),
    "sample weight text": lambda m: net().backprop(X4, T4, sample_weight="abc"),
    "options text": lambda m: net().backprop(X4, T4, options="abc"),
    "empty batch": lambda m: net().backprop(np.zeros((0, 2)), np.zeros((0, 1))),
    # a model's predictions
    "one row, flat": lambda m: m.predict([5.1, 3.5, 1.4, 0.2]),
    "None": lambda m: m.predict(None),
    "a dict": lambda m: m.predict({}),
    "text cell": lambda m: m.predict([[1, "a", 2, 3]]),
    "ragged rows": lambda m: m.predict([[1, 2, 3, 4], [1]]),
    "three dimensions": lambda m: m.predict(np.zeros((2, 3, 1))),
    "complex": lambda m: m.predict(np.ones((1, 4)) * 1j),
    "labels of a flat row": lambda m: m.predict_labels([5.1, 3.5, 1.4, 0.2]),
    # builders and readers given what they do not take
    "spec not text": lambda m: spec_io.loads(5),
    "spec dict not a table": lambda m: spec_io.from_dict(5),
    "dumps not a network": lambda m: spec_io.dumps(5),
    "units inputs not a list": lambda m: spec_io.loads(
        "[units]\nconnections = [[0, 1]]\ninputs = 5\n"
    ),
    "data set not text": lambda m: anyprop.datasets.load(5),
    "layered sizes": lambda m: Network.layered(5),
    "set_params not a dict": lambda m: net().set_params([("a", 1)]),
    "load None": lambda m: anyprop.load(None),
    "load bytes": lambda m: anyprop.load(b"m.anyprop"),
    "load NUL": lambda m: anyprop.load("m\x00.anyprop"),
    "load long name": lambda m: anyprop.load("m" * 300 + ".anyprop"),
    "tensor past float": lambda m: Tensor(2**5000),
    "backward text": lambda m: (Tensor([1.0], requires_grad=True) * 2).backward("abc"),
    # training options
    "settings text": lambda m: anyprop.fit(net(), (X4, T4), epochs=1, settings="abc"),
    "settings unknown key": lambda m: anyprop.train_model("xor", epochs=1, settings={"zz": 1}),
    "callbacks of numbers": lambda m: anyprop.fit(net(), (X4, T4), epochs=1, callbacks=[5]),
    "early stopping text": lambda m: anyprop.fit(net(), (X4, T4), epochs=1, early_stopping="a"),
    "split text": lambda m: anyprop.fit(net(), (X4, T4), epochs=1, validation_split="0.2"),
    "trainer seed": lambda m: Trainer(net(), seed=-1),
    "lr_scale text": lambda m: Trainer(net(), lr_scale={"*": "a"}),
    "schedule option text": lambda m: Trainer(net(), schedule={"name": "plateau", "patience": "a"}),
    "loss parameter text": lambda m: Network.layered([2, 1], loss={"name": "huber", "delta": "a"}),
    "trainer state empty": lambda m: Trainer.from_state(net(), {}),
    "trainer state text": lambda m: Trainer.from_state(net(), "abc"),
    "y one value": lambda m: anyprop.train_model((X4, np.float64(1)), epochs=1),
    "no rows": lambda m: anyprop.train_model((np.zeros((0, 2)), np.zeros((0, 1))), epochs=1),
    "complex inputs": lambda m: anyprop.train_model((X4 + 1j, T4.ravel()), epochs=1),
    "a missing label": lambda m: anyprop.train_model(
        (X4, np.array(["a", None, "b", "a"], dtype=object)), epochs=1
    ),
    "job data a number": lambda m: anyprop.train.job.run(anyprop.train.job.TrainJob(data=5)),
    "loss weight nan": lambda m: Network().add_group("y", 1, loss="mse", loss_weight=float("nan")),
    # explanation and checks
    "check a model": lambda m: check_gradients(m, None, None),
    "check eps 0": lambda m: check_gradients(net(), X4, T4, eps=0),
    "explain weight None": lambda m: anyprop.explain.explain_weight(net(), X4, T4, None),
    "explain eps 0": lambda m: anyprop.explain.explain_weight(
        net(), X4, T4, "input[0]->h1[0]", eps=0
    ),
    "gradcheck eps 0": lambda m: anyprop.gradcheck(lambda a: a * 2, np.ones(2), eps=0),
    "draw an empty network": lambda m: anyprop.explain.draw_network(Network(), "x.svg"),
    "draw strengths text": lambda m: anyprop.explain.draw_network(net(), "x.svg", "abc"),
    "report of None": lambda m: anyprop.explain.write_report(None, "r.html"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_value_is_an_anyprop_error(name, model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AnypropError) as info:
        CASES[name](model)
    assert str(info.value).strip()
    assert list(tmp_path.iterdir()) == []


def test_a_model_checked_against_the_column_names_of_a_frame(model):
    pd = pytest.importorskip("pandas")
    data = anyprop.datasets.load("iris")
    frame = pd.DataFrame(data.x, columns=data.feature_names)
    reordered = frame[list(reversed(frame.columns))]
    np.testing.assert_array_equal(model.predict(reordered), model.predict(data.x))


def test_python_writers_refuse_what_the_cli_refuses(model, tmp_path):
    data = tmp_path / "mydata.csv"
    data.write_text("a,b\n1,2\n")
    ro = tmp_path / "ro.anyprop"
    model.save(ro)
    os.chmod(ro, stat.S_IRUSR)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for write in (
        lambda: model.save(data),
        lambda: model.save(ro),
        lambda: anyprop.save(model.network, data),
        lambda: spec_io.save(model.network, data),
        lambda: anyprop.explain.write_report(model, tmp_path / "r.txt"),
        lambda: anyprop.explain.write_report(model, ro),
        lambda: model.save(tmp_path / "m\x00.anyprop"),
        lambda: model.save(5),
    ):
        with pytest.raises(AnypropError):
            write()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_deep_formulas_describe_quickly():
    """SymPy simplifies only small derivatives: a deep nest is shown as differentiated."""
    info = describe("tanh(" * 40 + "x" + ")" * 40)
    assert info["df"].startswith("(1 - tanh(")


def test_pass_buffers_and_sparse_draws_are_sized_first(monkeypatch):
    monkeypatch.setenv(ENV, "64M")
    with pytest.raises(AnypropError, match="a pass over 1,000,000 samples"):
        Network.layered([2, 3000, 1]).forward(np.zeros((10**6, 2), np.float32))
    big = Network()
    big.add_input("x", 10**5)
    big.add_group("y", 10**5, loss="mse")
    with pytest.raises(AnypropError, match="pairs of 10,000,000,000"):
        big.connect("x", "y", "sparse", density=0.01)
