"""Every example runs, with small settings, and does what it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skip_connection_demo_learns(capsys):
    demo = load("skip_connection_tensors")
    losses = demo.train(epochs=300, quiet=True)
    assert losses[-1] < 0.25 * losses[0]
    assert demo.main(["--epochs", "20"]) == 0
    assert "loss fell from" in capsys.readouterr().out
