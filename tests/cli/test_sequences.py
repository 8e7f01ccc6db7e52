"""Sequences from the command line: an .npz with x of three axes trains, evaluates,
predicts and checks as the Python API does, and bad sequence files are named."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

import anyprop
from anyprop.cli import main

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    return main([str(a) for a in argv], stdout=out, stderr=err), out.getvalue(), err.getvalue()


@pytest.fixture
def xor_file(tmp_path):
    """Temporal XOR with sequences of two lengths (the shorter padded, masked out)."""
    d = anyprop.datasets.load("temporal_xor", n=40, steps=12)
    mask = d.mask.copy()
    mask[::2, 9:] = 0
    path = tmp_path / "txor.npz"
    np.savez(path, x=d.x, y=d.y.astype(int)[:, :, 0], mask=mask)
    return path, mask


def test_train_evaluate_predict_check_on_sequences(xor_file, tmp_path):
    path, mask = xor_file
    model = tmp_path / "m.anyprop"
    args = ["--optimizer", "adam", "--lr", "0.02", "--epochs", "40", "--seed", "3"]
    status, _, err = run("train", SPECS / "elman.toml", "--data", path, *args, "--out", model)
    assert status == 0, err
    # the command line's model is the Python API's, weight for weight
    api = anyprop.train_model(
        str(path), spec=str(SPECS / "elman.toml"), optimizer="adam", lr=0.02, epochs=40, seed=3
    )
    cli = anyprop.load(model)
    for k, w in api.network.params.items():
        np.testing.assert_array_equal(w, cli.network.params[k])
    status, out, err = run("evaluate", model, "--data", path, "--json")
    assert status == 0, err
    figures = json.loads(out)
    assert figures["sequences"] == 40 and figures["samples"] == int(mask.sum())
    assert figures["loss"] == pytest.approx(cli.evaluate(str(path))["loss"])
    status, out, err = run("predict", model, path)
    assert status == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:2] == ["sequence", "step"] and len(rows) - 1 == int(mask.sum())
    assert all(mask[int(r[0]), int(r[1])] == 1 for r in rows[1:])
    status, out, _ = run("check", model)
    assert status == 0 and "all gradients agree" in out


def test_last_step_classes_with_the_default_network(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5, 2))
    y = (x[:, :, 0].sum(axis=1) > 0).astype(int)
    np.savez(tmp_path / "s.npz", x=x, y=y)
    status, out, err = run(
        "train",
        "--data",
        tmp_path / "s.npz",
        "--hidden",
        "8",
        "--transfer",
        "tanh",
        "--epochs",
        "60",
        "--optimizer",
        "adam",
        "--lr",
        "0.02",
        "--out",
        tmp_path / "m.anyprop",
    )
    assert status == 0, err
    assert "classification" in out
    model = anyprop.load(tmp_path / "m.anyprop")
    assert model.network.connections["recurrent"].delay == 1
    assert model.evaluate(str(tmp_path / "s.npz"))["accuracy"] > 0.8


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((4, 3, 1)), "y": np.zeros((4, 2, 1))}, "targets at every step"),
        ({"x": np.zeros((4, 3, 1)), "y": np.zeros((4, 3)), "mask": np.ones((4, 2))}, "mask"),
        ({"x": np.zeros((4, 3, 1)), "y": np.zeros(3)}, "4 input sequences but 3 targets"),
        ({"x": np.full((4, 3, 1), np.nan), "y": np.zeros(4)}, "sequence 0, step 0"),
        ({"x": np.zeros((4, 0, 1)), "y": np.zeros(4)}, "no sequences, or sequences of no"),
        ({"x": np.zeros((4, 3, 2)), "y": np.zeros((4, 3, 1))}, "2 input features per step"),
    ],
)
def test_bad_sequence_files_are_named(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    out = tmp_path / "m.anyprop"
    status, _, err = run(
        "train", SPECS / "elman.toml", "--data", tmp_path / "bad.npz", "--out", out
    )
    assert status == 2 and message in err and "bug" not in err, err
    assert not out.exists()


def test_what_does_not_run_through_time_yet_says_so(xor_file, tmp_path):
    path, _ = xor_file
    model = tmp_path / "m.anyprop"
    assert (
        run("train", SPECS / "elman.toml", "--data", path, "--epochs", "2", "--out", model)[0] == 0
    )
    for argv in (
        ("explain", model, "--weight", "h->h[0,1]"),
        ("report", model, "--units", tmp_path / "u.png"),
        ("export", model, "--format", "onnx", "--out", tmp_path / "m.onnx"),
        ("train", SPECS / "elman.toml", "--data", path, "--impute", "mean", "--out", model),
    ):
        status, _, err = run(*argv)
        assert status == 2 and "bug" not in err and err.strip(), err
    assert not (tmp_path / "u.png").exists() and not (tmp_path / "m.onnx").exists()


def test_predict_takes_a_table_in_an_npz_too(tmp_path):
    model = tmp_path / "t.anyprop"
    assert run("train", "--data", "xor", "--epochs", "3", "--out", model)[0] == 0
    x = np.array([[0.0, 1.0], [1.0, 1.0]])
    np.savez(tmp_path / "tab.npz", x=x)
    status, out, err = run("predict", model, tmp_path / "tab.npz")
    assert status == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    want = anyprop.load(model).predict(x)
    assert len(rows) == 3 and float(rows[1][-1]) == pytest.approx(want[0, -1], rel=1e-5)
