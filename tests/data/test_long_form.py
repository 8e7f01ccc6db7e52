"""Sequences from a CSV in long form (one row per sequence and step): the arrays, the
mask and the targets as documented, the mistakes named by line and column, and the
command line training, predicting and evaluating on them as on the same arrays."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from anyprop.cli.main import main
from anyprop.data.dataset import DataError
from anyprop.data.files import load_file
from anyprop.train.model_io import load_model

ECHO = Path(__file__).resolve().parents[2] / "examples" / "data" / "echo.csv"
SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


def _write(tmp_path, text, name="seq.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_rows_become_sequences_in_step_order_padded_and_masked(tmp_path):
    text = "id,sequence,step,a,b,y\n"
    text += "9,s2,5,1,2,0.5\n9,s1,1,3,4,1\n9,s1,0,5,6,2\n9,s2,4,7,8,\n9,s2,6,9,10,0.25\n"
    s = load_file(_write(tmp_path, text), target="y")
    assert s.feature_names == ["id", "a", "b"] and s.target_names == ["y"]
    # s2 first (its first row comes first), steps 4, 5, 6; s1 steps 0, 1, then padding
    np.testing.assert_array_equal(s.x[0, :, 1:], [[7, 8], [1, 2], [9, 10]])
    np.testing.assert_array_equal(s.x[1, :, 1:], [[5, 6], [3, 4], [0, 0]])
    np.testing.assert_array_equal(s.mask, [[0, 1, 1], [1, 1, 0]])  # no target at s2's step 4
    assert s.per_step and s.task == "regression"
    np.testing.assert_array_equal(s.y[0, :, 0], [0, 0.5, 0.25])


def test_text_and_whole_number_targets_are_classes_and_last_rows_alone_a_last_step(tmp_path):
    s = load_file(_write(tmp_path, "sequence,step,x,label\na,0,1,\na,1,2,up\nb,0,3,down\n"))
    assert s.labels == ["down", "up"] and s.task == "classification"
    np.testing.assert_array_equal(s.mask, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(s.y[:, :, 0], [[0, 1], [0, 0]])
    s = load_file(_write(tmp_path, "sequence,step,x,c\na,0,1,2\na,1,2,0\n", "n.csv"))
    assert s.task == "classification" and s.y.dtype.kind == "i"
    s = load_file(_write(tmp_path, "sequence,step,x,v\na,0,1,2.5\na,1,2,0\n", "v.csv"))
    assert s.task == "regression"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sequence,step,x,y\na,0,1,1\na,0,2,1\n",
            "line 3: sequence 'a' has step 0 twice (also line 2)",
        ),
        (
            "sequence,step,x,y\na,0,1,1\na,2,2,1\n",
            "sequence 'a' has no step 1 between 0 (line 2) and 2",
        ),
        (
            "sequence,step,x,y\na,1.5,1,1\n",
            "line 2, column 'step': '1.5' is not a whole number >= 0",
        ),
        ("sequence,step,x,y\na,-1,1,1\n", "'-1' is not a whole number >= 0"),
        ("sequence,step,x,y\n,0,1,1\n", "line 2, column 'sequence': is empty"),
        ("sequence,step,x,y\na,0,red,1\n", "line 2, column 'x': 'red' is not a finite number"),
        ("sequence,step,x,y\na,0,,1\n", "line 2, column 'x': is empty"),
        ("sequence,step,x,y\na,0,inf,1\n", "'inf' is not a finite number"),
        ("sequence,step,x,y\na,0,1,\nb,0,1,1\n", "sequence 'a' has no target at any step"),
        ("sequence,step,x,y,z\na,0,1,1,\n", "column 'z': the target is empty while the row's"),
        ("sequence,step,x,y,z\na,0,1,1,up\n", "column 'z': target 'up' is not a number"),
        ("sequence,step,y\na,0,1\n", "no input columns are left"),
    ],
)
def test_mistakes_are_named_by_line_and_column(tmp_path, text, message):
    path = _write(tmp_path, text)
    target = ["y", "z"] if ",z\n" in text else None
    with pytest.raises(DataError, match=re.escape(message)):
        load_file(path, target=target)


def test_the_target_cannot_be_the_sequence_column(tmp_path):
    with pytest.raises(DataError, match="cannot be the 'sequence' or 'step' column"):
        load_file(_write(tmp_path, "sequence,step,x,y\na,0,1,1\n"), target="step")


def _rows(text):
    return list(csv.reader(text.strip().splitlines()))


def test_the_cli_on_a_long_form_csv_gives_the_model_the_same_arrays_give(tmp_path, capsys):
    seqs = load_file(ECHO)
    npz = tmp_path / "echo.npz"
    np.savez(npz, x=seqs.x, y=seqs.y.astype(np.int64), mask=seqs.mask)
    spec = str(SPECS / "elman.toml")
    common = ["--epochs", "5", "--optimizer", "adam", "--lr", "0.01", "--seed", "3"]
    a, b = tmp_path / "a.anyprop", tmp_path / "b.anyprop"
    assert main(["train", spec, "--data", str(ECHO), *common, "--out", str(a)]) == 0
    assert main(["train", spec, "--data", str(npz), *common, "--out", str(b)]) == 0
    ma, mb = load_model(a), load_model(b)
    for k, w in ma.network.params.items():
        np.testing.assert_array_equal(w, mb.network.params[k])
    capsys.readouterr()
    assert main(["predict", str(a), str(ECHO)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows[0] == ["sequence", "step", "echo"] and rows[1][:2] == ["s0", "0"]
    assert len(rows) - 1 == int(seqs.x.shape[0] * 0) + sum(
        1 for line in ECHO.read_text().splitlines()[1:] if line
    )  # one prediction per row of the file
    out = ma.predict(seqs.x)
    assert float(rows[3][2]) == pytest.approx(float(out[0, 2, 0]), rel=1e-5)
    assert main(["evaluate", str(a), "--data", str(ECHO), "--json"]) == 0
    assert '"loss"' in capsys.readouterr().out
    assert main(["explain", str(a), "--weight", "h[0]->h[1]"]) == 0
    assert "δ of h[1] at t=" in capsys.readouterr().out


def test_predict_names_what_a_long_form_file_lacks(tmp_path, capsys):
    model = tmp_path / "m.anyprop"
    assert (
        main(
            [
                "train",
                str(SPECS / "elman.toml"),
                "--data",
                str(ECHO),
                "--epochs",
                "1",
                "--out",
                str(model),
            ]
        )
        == 0
    )
    capsys.readouterr()
    table = _write(tmp_path, "bit,echo\n1,0\n", "table.csv")
    assert main(["predict", str(model), str(table)]) == 2
    assert "give them one row per sequence and step" in capsys.readouterr().err
    other = _write(tmp_path, "sequence,step,bits\na,0,1\n", "other.csv")
    assert main(["predict", str(model), str(other)]) == 2
    assert "the header has no column 'bit'" in capsys.readouterr().err
