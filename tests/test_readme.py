"""The README's commands, run in order, as a new user would: each must succeed."""

from __future__ import annotations

import io
import shlex
from pathlib import Path

import numpy as np

from anyprop.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[list[str]]:
    """Every `anyprop ...` command of the README's indented blocks, continuation lines
    joined, comments removed."""
    commands, current = [], ""
    for line in README.read_text().splitlines():
        text = line.strip()
        if current:
            current += " " + text
        elif text.startswith("anyprop ") and line.startswith("    "):
            current = text
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1]
            continue
        commands.append(shlex.split(current, comments=True)[1:])
        current = ""
    return commands


def test_the_readme_commands_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    label = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    rows = [f"{a:.4f},{b:.4f},{c:.4f},{lab}" for (a, b, c), lab in zip(x, label, strict=True)]
    (tmp_path / "mydata.csv").write_text("a,b,c,label\n" + "\n".join(rows) + "\n")
    (tmp_path / "new-rows.csv").write_text("a,b,c\n0.5,0.5,0\n-1,-1,0\n")
    root = README.parent
    commands = readme_commands()
    assert len(commands) >= 8
    for argv in commands:
        argv = [str(root / a) if a.startswith("examples/") else a for a in argv]
        out, err = io.StringIO(), io.StringIO()
        status = main(argv, stdout=out, stderr=err)
        assert status == 0, (argv, err.getvalue())
        assert "Traceback" not in err.getvalue()
