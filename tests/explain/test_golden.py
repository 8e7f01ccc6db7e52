"""The classic worked example, through the command line, digit for digit.

Mazur's "A Step by Step Backpropagation Example" (2015): a 2-2-2 sigmoid network,
inputs 0.05 and 0.10, targets 0.01 and 0.99, η = 0.5, every weight and bias given
in a float64 spec (examples/specs/mazur.toml), plain SGD, full batch, no
standardisation. The textbook's figures: E = 0.298371109, w5 → 0.35891648,
w1 → 0.149780716.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from anyprop.cli import main
from anyprop.train.model_io import load_model

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "examples" / "specs" / "mazur.toml")
DATA = str(ROOT / "examples" / "data" / "mazur.csv")
DATA_ARGS = ["--data", DATA, "--target", "t1", "--target", "t2"]
TRAIN = ["--optimizer", "sgd", "--lr", "0.5", "--batch-size", "full", "--no-standardize"]


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    assert status == 0, err.getvalue()
    return out.getvalue()


def test_explain_on_the_spec_prints_the_textbook_numbers():
    text = run("explain", SPEC, *DATA_ARGS, "--lr", "0.5", "--weight", "hidden[0]->output[0]")
    assert "loss L = 0.298371109" in text
    assert "w ← 0.4 + (-0.0410835203) = 0.35891648" in text
    assert "δ of output[0] = 0.138498562" in text
    w1 = run("explain", SPEC, *DATA_ARGS, "--lr", "0.5", "--weight", "input[0]->hidden[0]")
    assert "w ← 0.15 + (-0.000219283867) = 0.149780716" in w1
    assert "Σ_k w_jk δ_k = 0.0363503064" in w1  # Mazur's ∂E_total/∂out_h1


def test_one_epoch_of_training_takes_the_explained_step(tmp_path):
    model = tmp_path / "mazur.anyprop"
    before = json.loads(
        run("explain", SPEC, *DATA_ARGS, "--lr", "0.5", "--weight", "input[0]->hidden[0]", "--json")
    )
    summary = json.loads(
        run("train", SPEC, *DATA_ARGS, *TRAIN, "--epochs", "1", "--out", str(model), "--json")
    )
    assert summary["final"]["loss"] == pytest.approx(0.298371109, abs=5e-10)
    net = load_model(model).network
    assert net.params["hidden->output.weight"][0, 0] == pytest.approx(0.35891648, abs=5e-9)
    assert net.params["input->hidden.weight"][0, 0] == pytest.approx(0.149780716, abs=5e-10)
    assert net.params["input->hidden.weight"][0, 0] == before["w_after"]
    assert list(net.params["hidden.bias"]) != [0.35, 0.35]  # the given biases were trained from
    # the model's own next step, explained, is the one the resumed training takes
    nxt = json.loads(run("explain", str(model), "--weight", "hidden.bias[1]", "--json"))
    run("train", "--resume", str(model), "--epochs", "2", "--out", str(model))
    assert load_model(model).network.params["hidden.bias"][1] == nxt["w_after"]


def test_the_spec_biases_are_kept_when_training_starts(tmp_path):
    model = tmp_path / "m.anyprop"
    run("train", SPEC, *DATA_ARGS, *TRAIN, "--lr", "0", "--epochs", "1", "--out", str(model))
    net = load_model(model).network
    assert list(net.params["hidden.bias"]) == [0.35, 0.35]
    assert list(net.params["output.bias"]) == [0.6, 0.6]
