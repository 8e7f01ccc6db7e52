"""Every example runs, with small settings, and does what it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_script_has_a_test():
    scripts = {p.stem for p in EXAMPLES.glob("*.py")}
    tested = {
        "skip_connection_tensors",
        "classic",
        "digits_mlp",
        "skip_network",
        "unit_graph",
        "custom_transfer",
        "custom_update_rule",
    }
    assert scripts == tested, f"untested examples: {sorted(scripts - tested)}"


def test_skip_connection_demo_learns(capsys):
    demo = load("skip_connection_tensors")
    losses = demo.train(epochs=300, quiet=True)
    assert losses[-1] < 0.25 * losses[0]
    assert demo.main(["--epochs", "20"]) == 0
    assert "loss fell from" in capsys.readouterr().out


@pytest.mark.parametrize("problem", ["xor", "encoder"])
def test_classic_problems_are_solved_with_the_papers_settings(problem, capsys):
    classic = load("classic")
    assert classic.epochs_to_success(problem, seed=0) is not None
    assert classic.main([problem, "--seeds", "2"]) == 0
    assert "epochs to success min" in capsys.readouterr().out


def test_symmetry_runs(capsys):
    classic = load("classic")
    assert classic.main(["symmetry", "--seeds", "1", "--max-epochs", "50"]) == 0
    assert "symmetry:" in capsys.readouterr().out


def test_digits_mlp(capsys):
    assert load("digits_mlp").main(["--epochs", "3"]) == 0
    assert "validation accuracy" in capsys.readouterr().out


def test_skip_network(capsys):
    assert load("skip_network").main(["--epochs", "30"]) == 0
    out = capsys.readouterr().out
    assert "xy->spiral: dense" in out and "accuracy" in out


def test_unit_graph(capsys):
    assert load("unit_graph").main([]) == 0
    out = capsys.readouterr().out
    assert "solved" in out and "weight h -> out" in out


def test_custom_transfer(capsys):
    assert load("custom_transfer").main(["--epochs", "50"]) == 0
    out = capsys.readouterr().out
    assert out.count("final loss") == 3


def test_custom_update_rule(capsys):
    assert load("custom_update_rule").main(["--epochs", "100"]) == 0
    out = capsys.readouterr().out
    assert out.count("loss") == 4
