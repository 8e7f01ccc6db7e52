"""Python equal to the command line: train_model, load and save."""

from __future__ import annotations

import io

import numpy as np
import pytest

import anyprop
from anyprop import AnypropError, Network
from anyprop.cli import main


def csv(path, n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.2]
    label = np.where(x[:, 0] + x[:, 1] / 5 > 0, "yes", "no")
    rows = [f"{a:.4f},{b:.4f},{c:.4f},{lab}" for (a, b, c), lab in zip(x, label, strict=True)]
    path.write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "flags",
    [
        {},
        {
            "optimizer": "adam",
            "lr": 0.01,
            "batch_size": 16,
            "validation_split": 0.25,
            "early_stopping": 3,
            "hidden": [6, 4],
            "epochs": 12,
        },
    ],
)
def test_the_same_arguments_give_the_same_model_from_python_and_the_cli(tmp_path, flags):
    data = csv(tmp_path / "d.csv")
    argv = ["train", "--data", str(data), "--target", "label", "--out", str(tmp_path / "c.anyprop")]
    for k, v in flags.items():
        argv += [
            f"--{k.replace('_', '-')}",
            ",".join(map(str, v)) if isinstance(v, list) else str(v),
        ]
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    cli = anyprop.load(tmp_path / "c.anyprop")
    py = anyprop.train_model(str(data), target="label", **flags)
    assert py.labels == cli.labels == ["no", "yes"] and py.task == cli.task
    for k, v in cli.network.params.items():
        np.testing.assert_array_equal(v, py.network.params[k])
    np.testing.assert_array_equal(py.standardizer.mean, cli.standardizer.mean)
    assert py.history["epochs"][-1]["loss"] == cli.history["epochs"][-1]["loss"]


def test_a_model_from_python_predicts_evaluates_saves_and_loads(tmp_path):
    data = csv(tmp_path / "d.csv")
    model = anyprop.train_model(str(data), target="label", optimizer="adam", lr=0.05, epochs=40)
    x = [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]]
    assert model.predict_labels(x) == ["yes", "no"]
    p = model.predict_proba(x)
    assert p.shape == (2, 2) and np.allclose(p.sum(axis=1), 1)
    r = model.evaluate(str(data), target="label")
    assert r["accuracy"] > 0.85 and "confusion" in r
    model.save(tmp_path / "m.anyprop")
    again = anyprop.load(tmp_path / "m.anyprop")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.evaluate(str(data), target="label")["accuracy"] == r["accuracy"]
    # it resumes from the command line like any model file
    out, err = io.StringIO(), io.StringIO()
    assert main(["train", "--resume", str(tmp_path / "m.anyprop"), "--epochs", "41"], out, err) == 0


def test_arrays_text_labels_and_pandas_are_taken():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 2))
    y = np.where(x[:, 0] > 0, "up", "down")
    m = anyprop.train_model((x, y), optimizer="adam", lr=0.05, epochs=30)
    assert m.labels == ["down", "up"] and m.predict_labels([[2.0, 0.0]]) == ["up"]
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(x, columns=["p", "q"])
    m2 = anyprop.train_model((frame, pd.Series(y)), optimizer="adam", lr=0.05, epochs=30)
    assert m2.feature_names == ["p", "q"]
    for k, v in m.network.params.items():
        np.testing.assert_array_equal(v, m2.network.params[k])


def test_save_takes_a_bare_network_and_mistakes_are_named(tmp_path):
    net = Network.layered([2, 3, 1], seed=0)
    anyprop.save(net, tmp_path / "n.anyprop")
    loaded = anyprop.load(tmp_path / "n.anyprop")
    np.testing.assert_array_equal(
        loaded.predict([[0.5, 0.5]]), net.forward(np.array([[0.5, 0.5]], dtype=np.float32))
    )
    with pytest.raises(AnypropError, match="has no option 'epoch'; did you mean 'epochs'"):
        anyprop.train_model("xor", epoch=3)
    with pytest.raises(AnypropError, match="writes a model or a network"):
        anyprop.save(42, tmp_path / "x.anyprop")
    with pytest.raises(AnypropError, match="predict_proba is for classifiers"):
        anyprop.train_model("xor", task="regression", epochs=1).predict_proba([[0, 0]])


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_the_panels_small_data_sets_give_the_same_model_both_ways(tmp_path, name):
    pytest.importorskip("sklearn")
    flags = [
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--batch-size",
        "16",
        "--epochs",
        "5",
        "--validation-split",
        "0.25",
        "--test-split",
        "0.2",
    ]
    out = io.StringIO()
    argv = ["train", "--data", name, *flags, "--out", str(tmp_path / "c.anyprop"), "--json"]
    assert main(argv, stdout=out, stderr=io.StringIO()) == 0
    cli = anyprop.load(tmp_path / "c.anyprop")
    py = anyprop.train_model(
        name,
        optimizer="adam",
        lr=0.01,
        batch_size=16,
        epochs=5,
        validation_split=0.25,
        test_split=0.2,
    )
    for k, v in cli.network.params.items():
        np.testing.assert_array_equal(v, py.network.params[k])


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_the_no_flag_run_on_a_csv_of_integer_labels_equals_python_on_arrays(tmp_path, name):
    """A practitioner's CSV (scikit-learn's data written out, labels 0..K-1) trained with
    no flags, and the same arrays given to train_model: one model, bit for bit."""
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    x, y = getattr(sklearn_datasets, f"load_{name}")(return_X_y=True)
    path = tmp_path / f"{name}.csv"
    header = ",".join(f"f{k}" for k in range(x.shape[1])) + ",label"
    lines = [",".join(repr(float(v)) for v in row) + f",{t}" for row, t in zip(x, y, strict=True)]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    out = io.StringIO()
    argv = ["train", "--data", str(path), "--target", "label", "--out", str(tmp_path / "c.anyprop")]
    assert main(argv, stdout=out, stderr=io.StringIO()) == 0
    assert "task: classification: its targets are whole numbers with 3 distinct values" in (
        out.getvalue()
    )
    assert "defaults (recipe tabular): optimizer adam at lr 0.001" in out.getvalue()
    cli = anyprop.load(tmp_path / "c.anyprop")
    py = anyprop.train_model((x, y))
    assert cli.labels == py.labels == ["0", "1", "2"] and cli.task == py.task
    for k, v in cli.network.params.items():
        np.testing.assert_array_equal(v, py.network.params[k])
    losses = [[e["loss"] for e in m.history["epochs"]] for m in (cli, py)]
    assert losses[0] == losses[1]
    assert cli.predict_labels(x[:5]) == py.predict_labels(x[:5])
    assert all(isinstance(v, int) for v in py.predict_labels(x[:5]))
