from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import pytest

from anyprop import PRIMITIVES
from anyprop.cli import main


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_ops_lists_every_primitive_with_its_derivative():
    status, out, _ = run("ops")
    assert status == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == PRIMITIVES.names()
    assert "d/dx = 1 - tanh(x)**2" in out


def test_ops_json_and_one_op():
    status, out, _ = run("ops", "--json")
    assert status == 0 and {d["name"] for d in json.loads(out)} == set(PRIMITIVES.names())
    status, out, _ = run("ops", "sigmoid")
    assert status == 0 and "σ(x)(1 - σ(x))" in out


def test_unknown_op_is_a_user_error_with_a_suggestion_and_no_traceback():
    status, _, err = run("ops", "tahn")
    assert status == 2
    assert "did you mean 'tanh'" in err and "Traceback" not in err


def test_verbose_shows_the_traceback():
    status, _, err = run("--verbose", "ops", "tahn")
    assert status == 2 and "Traceback" in err


def test_help_and_version_exit_zero():
    assert run("--version")[0] == 0
    status, out, _ = run("ops", "--help")  # (the streams given to main, as everything else)
    assert status == 0
    assert "example:\n  anyprop ops" in out
    status, _, err = run("--no-such-flag")
    assert status == 2 and "unrecognized arguments: --no-such-flag" in err


def test_python_dash_m_and_console_script():
    proc = subprocess.run([sys.executable, "-m", "anyprop", "ops"], capture_output=True, text=True)
    assert proc.returncode == 0 and "tanh" in proc.stdout
    script = shutil.which("anyprop", path=str(__import__("pathlib").Path(sys.executable).parent))
    if script is None:
        pytest.skip("the anyprop console script is not installed in this environment")
    proc = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("anyprop ")
