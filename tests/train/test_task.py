"""Classification or regression: numeric labels read as classes by a stated rule."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from anyprop import AnypropError, Network, fit
from anyprop.cli import main
from anyprop.train.model_io import load_model


def write_csv(path, n=300, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = rng.integers(0, classes, size=n)  # every class appears (n >> classes)
    rows = [",".join(f"{v:.4f}" for v in r) + f",{k}" for r, k in zip(x, y, strict=True)]
    path.write_text("a,b,c,d,label\n" + "\n".join(rows) + "\n")
    return path


def train(*argv):
    out, err = io.StringIO(), io.StringIO()
    status = main(["train", *argv, "--json"], stdout=out, stderr=err)
    return status, (json.loads(out.getvalue()) if status == 0 else None), err.getvalue()


def test_integer_labels_are_classes_and_the_summary_says_why(tmp_path):
    data = write_csv(tmp_path / "d.csv", classes=8)
    status, summary, err = train(
        "--data",
        str(data),
        "--target",
        "label",
        "--epochs",
        "3",
        "--out",
        str(tmp_path / "m.anyprop"),
    )
    assert status == 0, err
    assert summary["task"] == "classification"
    assert "whole numbers with 8 distinct values" in summary["task_reason"]
    assert "accuracy" in summary["final"]
    m = load_model(tmp_path / "m.anyprop")
    assert m.labels == [str(k) for k in range(8)] and m.network.target_width == 8
    out = io.StringIO()
    assert main(["evaluate", str(tmp_path / "m.anyprop"), "--json"], stdout=out) == 0
    assert 0 <= json.loads(out.getvalue())["accuracy"] <= 1
    out = io.StringIO()
    assert (
        main(
            ["explain", str(tmp_path / "m.anyprop"), "--weight", "h1[0]->output[3]"],
            stdout=out,
            stderr=io.StringIO(),
        )
        == 0
    )


def test_a_spec_with_a_softmax_output_takes_the_integer_column(tmp_path):
    data = write_csv(tmp_path / "d.csv", classes=10)
    spec = tmp_path / "net.toml"
    spec.write_text(
        "[layered]\nsizes = [4, 6, 10]\ntransfer = 'tanh'\n"
        "output_transfer = 'softmax'\nloss = 'cross_entropy'\n"
    )
    status, summary, err = train(
        str(spec), "--data", str(data), "--target", "label", "--epochs", "2", "--no-save"
    )
    assert status == 0, err
    assert summary["task"] == "classification" and "cross_entropy" in summary["task_reason"]


def test_task_overrides_and_many_values_stay_numbers(tmp_path):
    data = write_csv(tmp_path / "d.csv", classes=8)
    status, summary, err = train(
        "--data",
        str(data),
        "--target",
        "label",
        "--task",
        "regression",
        "--epochs",
        "2",
        "--no-save",
    )
    assert status == 0, err
    assert summary["task"] == "regression" and summary["task_reason"].endswith("--task regression")
    many = write_csv(tmp_path / "many.csv", classes=40, n=400)
    status, summary, err = train(
        "--data", str(many), "--target", "label", "--epochs", "1", "--no-save"
    )
    assert status == 0 and summary["task"] == "regression", err
    status, summary, err = train(
        "--data",
        str(many),
        "--target",
        "label",
        "--task",
        "classification",
        "--epochs",
        "1",
        "--no-save",
    )
    assert status == 0 and summary["task"] == "classification", err
    status, _, err = train("--data", str(data), "--task", "clasification", "--no-save")
    assert status == 2 and "invalid choice: 'clasification'" in err


def test_xor_and_the_classic_problems_keep_their_task(tmp_path):
    status, summary, err = train("--data", "xor", "--epochs", "2", "--no-save")
    assert status == 0 and summary["task"] == "binary", err


def test_fit_takes_text_labels_and_names_wrong_types():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    y = np.where(x[:, 0] > 0, "yes", "no")
    net = Network.layered(
        [2, 4, 2], transfer="tanh", output_transfer="softmax", loss="cross_entropy", seed=0
    )
    h = fit(net, (x, y), optimizer="adam", lr=0.05, epochs=30, verbose=False)
    assert h.last("accuracy") > 0.8
    with pytest.raises(AnypropError, match="the inputs must be numbers"):
        fit(net, (np.array([["a", "b"]] * 3), np.array([0, 1, 0])), epochs=1, verbose=False)


def test_check_reads_a_model_s_data_as_it_was_trained(tmp_path):
    data = write_csv(tmp_path / "d.csv", classes=3, n=60)
    lines = data.read_text().splitlines()
    lines[3] = "," + lines[3].split(",", 1)[1]  # a missing input, imputed in training
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.anyprop"
    status, _, err = train(
        "--data",
        str(data),
        "--target",
        "label",
        "--hidden",
        "4",
        "--impute",
        "mean",
        "--epochs",
        "2",
        "--out",
        str(model),
    )
    assert status == 0, err
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", str(model)], stdout=out, stderr=err) == 0, err.getvalue()
    assert "all gradients agree" in out.getvalue()


def _spec(path, units, transfer, loss):
    path.write_text(
        f'[groups.x]\nsize = 3\ninput = true\n[groups.h]\nsize = 5\ntransfer = "tanh"\n'
        f'[groups.out]\nsize = {units}\ntransfer = "{transfer}"\nloss = "{loss}"\n'
        '[[connections]]\nfrom = "x"\nto = "h"\n[[connections]]\nfrom = "h"\nto = "out"\n'
    )
    return str(path)


OUTPUTS = {
    "cross_entropy": (4, "softmax"),
    "nll": (4, "log_softmax"),
    "multiclass_hinge": (4, "identity"),
}


@pytest.mark.parametrize("loss", sorted(OUTPUTS))
def test_class_indices_train_a_spec_from_every_source_alike(tmp_path, loss):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), rng.integers(0, 4, 60)
    units, transfer = OUTPUTS[loss]
    spec = _spec(tmp_path / "s.toml", units, transfer, loss)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.save(tmp_path / "d.npy", np.column_stack([x, y]))
    rows = [",".join(repr(float(v)) for v in r) + f",{k}" for r, k in zip(x, y, strict=True)]
    (tmp_path / "d.csv").write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    models = []
    for source in ("d.npz", "d.npy", "d.csv"):
        out = tmp_path / f"{source}.anyprop"
        flags = ["--target", "label"] if source.endswith(".csv") else []
        status, summary, err = train(
            spec, "--data", str(tmp_path / source), *flags, "--epochs", "3", "--out", str(out)
        )
        assert status == 0, err
        assert summary["task"] == "classification" and "takes classes" in summary["task_reason"]
        models.append(load_model(out))
    import anyprop

    models.append(anyprop.train_model((x, y), spec=spec, epochs=3))
    for m in models:
        assert m.labels == ["0", "1", "2", "3"]
        for k, v in m.network.params.items():
            np.testing.assert_array_equal(v, models[0].network.params[k])


@pytest.mark.parametrize("columns", [1, 3])
def test_zero_one_targets_of_a_binary_cross_entropy_spec_are_yes_or_no(tmp_path, columns):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = (x[:, :columns] > 0).astype(np.int64)  # (a multilabel target when columns > 1)
    y = y[:, 0] if columns == 1 else y
    spec = _spec(tmp_path / "s.toml", columns, "sigmoid", "binary_cross_entropy")
    np.savez(tmp_path / "d.npz", x=x, y=y)
    out = tmp_path / "m.anyprop"
    status, summary, err = train(
        spec,
        "--data",
        str(tmp_path / "d.npz"),
        "--epochs",
        "150",
        "--lr",
        "0.05",
        "--out",
        str(out),
    )
    assert status == 0, err
    assert summary["task"] == "binary" and "each output a yes or no" in summary["task_reason"]
    assert summary["final"]["accuracy"] > 0.8
    model = load_model(out)
    labels = model.predict_labels(x[:4])
    if columns == 1:
        assert set(labels) <= {0, 1}
    else:
        assert all(len(row) == 3 and set(row) <= {0, 1} for row in labels)
    report = model.evaluate(str(tmp_path / "d.npz"))
    assert report["accuracy"] == pytest.approx(summary["final"]["accuracy"], abs=0.05)
    if columns > 1:
        assert set(report["per_label"]) == {"y0", "y1", "y2"} and "exact_match" in report
    else:
        assert "confusion" in report and "roc_auc" in report


def test_task_classification_wins_over_a_value_loss_for_an_integer_array(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    np.savez(tmp_path / "b.npz", x=x, y=y)
    spec = _spec(tmp_path / "s.toml", 2, "softmax", "mse")
    status, summary, err = train(
        spec,
        "--data",
        str(tmp_path / "b.npz"),
        "--task",
        "classification",
        "--epochs",
        "2",
        "--no-save",
    )
    assert status == 0, err
    assert summary["task"] == "classification"
    assert summary["task_reason"] == "classification: --task classification"
    status, _, err = train(spec, "--data", str(tmp_path / "b.npz"), "--epochs", "2", "--no-save")
    assert status == 2 and "1 target column(s), but the network's output has 2 units" in err


def test_a_test_file_for_a_yes_no_task(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    rows = [",".join(f"{v:.5f}" for v in r) + f",{int(r[0] > 0)}" for r in x]
    data = tmp_path / "d.csv"
    data.write_text("a,b,c,y\n" + "\n".join(rows) + "\n")
    spec = _spec(tmp_path / "s.toml", 1, "sigmoid", "binary_cross_entropy")
    status, summary, err = train(
        spec, "--data", str(data), "--test", str(data), "--epochs", "3", "--no-save"
    )
    assert status == 0, err
    assert summary["task"] == "binary" and summary["test"]["samples"] == 60
    status, summary, err = train("--data", "xor", "--test", "xor", "--epochs", "2", "--no-save")
    assert status == 0, err
