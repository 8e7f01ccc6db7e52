"""The README's commands, run in order, as a new user would: each must succeed."""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from anyprop.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[list[str]]:
    """Every `anyprop ...` (and `mpiexec -n P anyprop ...`) command of the README's
    indented blocks, continuation lines joined, comments removed."""
    commands, current = [], ""
    for line in README.read_text().splitlines():
        text = line.strip()
        if current:
            current += " " + text
        elif text.startswith(("anyprop ", "mpiexec ")) and line.startswith("    "):
            current = text
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1]
            continue
        words = shlex.split(current, comments=True)
        commands.append(words[1:] if words[0] == "anyprop" else words)
        current = ""
    return commands


def test_the_readme_commands_run_in_order(tmp_path, monkeypatch):
    """In a copy of the checkout's examples (the files they name ship with it)."""

    root = README.parent
    shutil.copytree(root / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    commands = readme_commands()
    assert len(commands) >= 8
    import importlib.util

    onnx = importlib.util.find_spec("onnx") is not None
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent))
    for argv in commands:
        if argv[0] == "export" and not onnx:  # the onnx extra (absent on NumPy 1.26)
            continue
        if argv[0] == "mpiexec":  # the mpi extra: the command as a user runs it
            if mpiexec is None or importlib.util.find_spec("mpi4py") is None:
                continue
            k = argv.index("anyprop")
            cmd = [mpiexec, *argv[1:k], sys.executable, "-m", "anyprop", *argv[k + 1 :]]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
            assert p.returncode == 0, (argv, p.stderr)
            continue
        out, err = io.StringIO(), io.StringIO()
        status = main(argv, stdout=out, stderr=err)
        assert status == 0, (argv, err.getvalue())
        assert "Traceback" not in err.getvalue()
