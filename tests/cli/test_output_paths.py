"""Output paths are checked before any work: nothing the user did not ask to write is
touched, and an input of the run is never overwritten."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from anyprop.cli import main

ROOT = Path(__file__).resolve().parents[2]
XOR_SPEC = ROOT / "examples" / "specs" / "xor.toml"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    status = main([str(a) for a in argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry of the folder: a file by its checksum, anything else by its kind."""
    seen = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.is_symlink():
            seen[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            seen[p.name] = stat.filemode(os.lstat(p).st_mode)
    return seen


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    (tmp_path / "spec.toml").write_text(XOR_SPEC.read_text())
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "sub").mkdir()
    assert (
        run("train", "--data", "xor", "--epochs", "2", "--hidden", "3", "--out", "m.anyprop")[0]
        == 0
    )
    return tmp_path


TRAIN = ["train", "spec.toml", "--data", "data.csv", "--epochs", "2"]


@pytest.mark.parametrize(
    "argv, message",
    [
        ([*TRAIN, "--out", "data.csv"], "--out data.csv: is an input of this run"),
        ([*TRAIN, "--out", "spec.toml"], "--out spec.toml: is an input of this run"),
        ([*TRAIN, "--out", "notes.txt"], "an existing file that is not an anyprop model"),
        ([*TRAIN, "--out", ""], "--out: an empty path"),
        ([*TRAIN, "--out", "sub"], "is a folder, not a file"),
        ([*TRAIN, "--out", "nowhere/m.anyprop"], "the folder nowhere does not exist"),
        ([*TRAIN, "--plot", "curves.txt"], "--plot curves.txt: the file is a picture"),
        ([*TRAIN, "--plot", "data.csv"], "the file is a picture"),
        ([*TRAIN, "--no-save", "--plot", "m.anyprop"], "the file is a picture"),
        ([*TRAIN, "--test", "data.csv", "--out", "data.csv"], "is an input of this run"),
        (["predict", "m.anyprop", "data.csv", "--out", "data.csv"], "is an input of this run"),
        (["predict", "m.anyprop", "data.csv", "--out", "m.anyprop"], "is an input of this run"),
        (["report", "m.anyprop", "--out", "m.anyprop"], "the file is an HTML page"),
        (["report", "m.anyprop", "--diagram", "notes.txt"], "the file is a picture"),
        (["evaluate", "m.anyprop", "--data", "xor", "--plot", "sub/"], "names a folder"),
        (["evaluate", "m.anyprop", "--data", "xor", "--plot", "sub"], "the file is a picture"),
        ([*TRAIN, "--out", "new.anyprop/"], "names a folder"),
        (["transfer", "show", "tanh", "--plot", "nowhere/t.png"], "does not exist"),
    ],
)
def test_a_bad_output_path_is_refused_before_any_work_and_nothing_changes(folder, argv, message):
    before = snapshot(folder)
    status, _, err = run(*argv)
    assert status == 2, err
    assert message in err and "Traceback" not in err
    assert snapshot(folder) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX pipes")
def test_a_pipe_or_a_device_is_never_replaced(folder):
    os.mkfifo(folder / "pipe")
    before = snapshot(folder)
    status, _, err = run(*TRAIN, "--out", "pipe")
    assert status == 2 and "not a regular file" in err
    status, _, err = run(*TRAIN, "--out", "/dev/null")
    assert status == 2 and "not a regular file" in err
    assert snapshot(folder) == before and stat.S_ISFIFO(os.stat(folder / "pipe").st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_read_only_model_or_folder_is_respected_even_by_root(folder):
    os.chmod(folder / "m.anyprop", 0o444)
    before = snapshot(folder)
    status, _, err = run(*TRAIN, "--out", "m.anyprop")
    assert status == 2 and "read-only" in err
    assert snapshot(folder) == before
    os.chmod(folder / "sub", 0o555)
    try:
        status, _, err = run(*TRAIN, "--out", "sub/m.anyprop")
        assert status == 2 and "the folder sub is not writable" in err
        assert list((folder / "sub").iterdir()) == []
    finally:
        os.chmod(folder / "sub", 0o755)


def test_an_existing_model_is_replaced_and_the_summary_says_so(folder):
    status, out, _ = run(*TRAIN, "--out", "m.anyprop")
    assert status == 0 and "model written to m.anyprop (replacing the model that was there)" in out
    status, out, _ = run(*TRAIN, "--out", "new.anyprop")
    assert status == 0 and "model written to new.anyprop\n" in out


def test_the_resumed_model_is_the_one_output_that_may_be_an_input(folder):
    assert run(*TRAIN, "--out", "r.anyprop")[0] == 0
    status, _, err = run("train", "--resume", "r.anyprop", "--epochs", "3")
    assert status == 0, err
