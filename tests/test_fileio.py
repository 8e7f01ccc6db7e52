"""atomic_write: the whole file or the old one, with the mode a plain open() gives."""

from __future__ import annotations

import os
import stat

import pytest

from anyprop.errors import AnypropError
from anyprop.fileio import atomic_write


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_new_file_gets_the_umask_mode_and_a_replaced_file_keeps_its_own(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", b"one")
        assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
        os.chmod(tmp_path / "a.txt", 0o600)
        atomic_write(tmp_path / "a.txt", b"two")
        assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o600
        assert (tmp_path / "a.txt").read_bytes() == b"two"
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left


def test_a_missing_folder_or_a_folder_is_named(tmp_path):
    with pytest.raises(AnypropError, match="does not exist"):
        atomic_write(tmp_path / "no" / "a.txt", b"x")
    with pytest.raises(AnypropError, match="is a folder"):
        atomic_write(tmp_path, b"x")


def test_read_file_names_a_missing_or_unreadable_file(tmp_path):
    from anyprop.fileio import read_file

    (tmp_path / "a.txt").write_bytes("é".encode("latin-1"))
    assert read_file(tmp_path / "a.txt") == b"\xe9"
    with pytest.raises(AnypropError, match=r"a\.txt: cannot read the spec file"):
        read_file(tmp_path / "a.txt", "spec file", encoding="utf-8")
    with pytest.raises(AnypropError, match=r"b\.txt: no such data file"):
        read_file(tmp_path / "b.txt", "data file")


def test_a_ctrl_c_during_a_write_leaves_the_new_file_and_no_temporary(tmp_path, monkeypatch):
    """Ctrl-C right after the temporary file is made (before anything could remove it)
    is held back until the write is done: the file is whole, nothing else is left."""
    import os
    import signal
    import tempfile

    real = tempfile.mkstemp

    def interrupted_mkstemp(*args, **kwargs):
        made = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)  # lands here, between two bytecodes
        return made

    monkeypatch.setattr(tempfile, "mkstemp", interrupted_mkstemp)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "a.txt", b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_bytes() == b"whole"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = int(child.stdout)  # a process that has ended
    stale = tmp_path / f".m.anyprop.anyprop-{dead}-abc.tmp"
    live = tmp_path / f".m.anyprop.anyprop-{os.getppid()}-abc.tmp"  # (a running process)
    other = tmp_path / ".notes.txt.tmp"  # not ours: never touched
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    atomic_write(tmp_path / "m.anyprop", b"model")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "m.anyprop").read_bytes() == b"model"


def test_a_write_error_names_the_file(tmp_path, monkeypatch):
    import errno

    real = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(AnypropError, match=r"m\.anyprop: cannot write: No space left on device"):
        atomic_write(tmp_path / "m.anyprop", b"model")
    monkeypatch.setattr(os, "fsync", real)
    assert list(tmp_path.iterdir()) == []  # no temporary file left
