"""A corpus of hostile invocations, run in-process: each ends with exit status 2, a
message naming the place, no traceback, and every file in the folder as it was."""

from __future__ import annotations

import io

import numpy as np
import pytest

from anyprop.cli import main
from tests.cli.test_output_paths import XOR_SPEC, snapshot

NEG_SEED_SPEC = XOR_SPEC.read_text().replace("[network]", "[network]\nseed = -5", 1)

CORPUS = [
    # flags and values
    (["train", "--data", "xor", "--seed", "-1"], "--seed must be a whole number >= 0"),
    (["train", "--data", "xor", "--margin", "-1"], "margin must be a number >= 0"),
    (["train", "--data", "xor", "--checkpoint-every", "-1"], "--checkpoint-every must be"),
    (["train", "--data", "xor", "--target-loss", "nan"], "target loss must be a number"),
    (["train", "--data", "xor", "--epochs", "-3"], "epochs must be a whole number >= 0"),
    (["train", "--data", "xor", "--validation-split", "nan"], "--validation-split must be"),
    (["train", "--data", "xor", "--min-delta", "-1"], "--min-delta must be a number >= 0"),
    (["train", "--data", "xor", "--early-stopping", "0"], "--early-stopping (the patience"),
    (["train", "--data", "xor", "--momentum", "0.9"], "the default optimizer is adam"),
    (["train", "--data", "xor", "--recipe", "fast"], "invalid choice: 'fast'"),
    (["train", "neg.toml", "--data", "xor"], "a seed must be a whole number >= 0, got -5"),
    (["train", "--data", "moons:n=abc"], "option n='abc' must be a whole number"),
    (["train", "--data", "moons:n=-5"], "option n=-5 must be at least 1"),
    (["train", "--data", "moons:n=1000000000000"], "TiB of memory, more than the"),
    (["--memory-limit", "1M", "train", "--data", "xor", "--hidden", "100000"], "more than the 1"),
    (["--memory-limit", "lots", "train", "--data", "xor"], "memory size"),
    (["check", "m.anyprop", "--tolerance", "-1"], "argument --tolerance: must be a number > 0"),
    (["check", "m.anyprop", "--samples", "0"], "argument --samples: must be at least 1"),
    (["explain", "m.anyprop", "--weight", "h1[0]->output[0]", "--depth", "-1"], "--depth"),
    # formulas
    (["transfer", "show", "x^9^9^9"], "a constant too large for a number at column 4"),
    (["transfer", "show", "x+1/0"], "a constant divided by zero"),
    (["transfer", "show", "1e999999*x"], "the number 1e999999 is too large"),
    (["transfer", "show", "(" * 150 + "x" + ")" * 150], "nests more than 100 deep"),
    (["transfer", "show", "+".join(["x"] * 20000)], "the formula is too long"),
    (["train", "--data", "xor", "--rule", "w - lr*g + 10^10^10"], "too large for a number"),
    (["train", "--data", "xor", "--rule", "w - g/0*lr"], "non-finite value for 'h1."),
    # readers
    (["train", "--data", "big.csv"], "big.csv: line 2: a cell longer than"),
    (["train", "--data", "obj.npz"], "obj.npz: an array anyprop cannot read"),
    (["train", "--data", "complex.npy"], "complex.npy: the inputs are complex numbers"),
    (["predict", "m.anyprop", "latin1.csv"], "latin1.csv: cannot read the file of inputs"),
    (["predict", "m.anyprop", "binary.csv"], "binary.csv: cannot read the file of inputs"),
    (["train", "deep.toml", "--data", "xor"], "deep.toml: the TOML nests too deep"),
    (["info", "binary.csv"], "binary.csv"),
]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    argv = ["train", "--data", "xor", "--hidden", "3", "--epochs", "2", "--out", "m.anyprop"]
    assert main(argv, out, err) == 0, err.getvalue()
    (tmp_path / "neg.toml").write_text(NEG_SEED_SPEC)
    (tmp_path / "deep.toml").write_text("a = " + "[" * 3000 + "]" * 3000 + "\n")
    (tmp_path / "big.csv").write_text("a,y\n" + "x" * 200_000 + ",1\n1,0\n")
    (tmp_path / "latin1.csv").write_bytes("a,b\n1,2\n\xe9,3\n".encode("latin-1"))
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)))
    np.savez(tmp_path / "obj.npz", x=np.array([[1], [2]], dtype=object), y=np.array([1, 2]))
    np.save(tmp_path / "complex.npy", np.array([[1 + 2j, 1.0], [3.0, 0.0]]))
    return tmp_path


@pytest.mark.parametrize("argv, message", CORPUS, ids=[" ".join(a)[:60] for a, _ in CORPUS])
def test_a_hostile_invocation_is_a_message_and_changes_nothing(folder, argv, message):
    before = snapshot(folder)
    out, err = io.StringIO(), io.StringIO()
    status = main([*argv, "--no-save"] if argv[0] == "train" else argv, out, err)
    text = err.getvalue()
    assert status == 2, (status, text, out.getvalue()[-300:])
    assert message in text, text
    assert "Traceback" not in text and "this is a bug" not in text
    assert snapshot(folder) == before


def test_more_hostile_neighbours(folder):
    np.save(folder / "empty.npy", np.zeros((0, 3)))
    np.save(folder / "dates.npy", np.array([[1, 2], [3, 4]], dtype="timedelta64[s]"))
    for argv, message in (
        (["train", "--data", "empty.npy", "--no-save"], "empty.npy: the file holds no rows"),
        (["train", "--data", "dates.npy", "--no-save"], "dates.npy: the inputs are not numbers"),
        (["predict", "m.anyprop", "."], ".: is a folder, not a file of inputs"),
        (["train", "--data", "xor", "--seeds", "1000000000", "--no-save"], "between 1 and"),
        (["train", "--data", "xor", "--sweep", "lr"], "give lr its values"),
        (["train", "--data", "xor", "--sweep", "lr", "fast"], "lr 'fast': could not convert"),
        (["train", "--data", "xor", "--sweep", "colour", "red"], "'colour' is not an option"),
        (["train", "--data", "xor", "--sweep", "lr", "1", "--sweep", "lr", "2"], "swept twice"),
        (["train", "--data", "xor", "--sweep", "out", "a", "b"], "--sweep out: not an option"),
        (["train", "--data", "xor", "--sweep", "spec", "none.toml"], "spec none.toml: no such"),
        (["train", "--data", "xor", "--sweep", "hidden", "4,x"], "hidden '4,x': 'x' is not"),
        (["train", "--data", "xor", "--sweep", "standardize", "maybe"], "true or false"),
        (["train", "--data", "xor", "--sweep", "recipe", "fast"], "one of plain, tabular"),
        (["train", "--data", "xor", "--sweep", "lr", "1", "--resume", "m.anyprop"], "--sweep"),
        (["train", "--data", "xor", "--sweep", "lr", "1", "--out", "s.anyprop"], "leave out --out"),
        (["train", "--data", "xor", "--seeds", "2", "--plot", "p.png"], "leave out --plot"),
        (["train", "--data", "xor", "--sweep", "epochs", "3", "-1"], "--sweep epochs -1: --epochs"),
        (["train", "--data", "xor", "--sweep", "lr", "0.1", "nan"], "--sweep lr nan: optimizer"),
        (["train", "--sweep", "hidden", "2", "3"], "--sweep hidden: the spec gives the network"),
        (["train", "--data", "xor", "--shard-rows", "--no-save"], "processes of --distributed"),
    ):
        before = snapshot(folder)
        err = io.StringIO()
        assert main(argv, io.StringIO(), err) == 2, (argv, err.getvalue())
        assert message in err.getvalue() and "Traceback" not in err.getvalue()
        assert snapshot(folder) == before


def test_a_tensor_of_several_elements_has_no_truth_value():
    from anyprop import Tensor

    with pytest.raises(TypeError, match="takes a tensor of one element"):
        bool(Tensor([1.0, 2.0]))
    assert bool(Tensor([3.0])) is True
