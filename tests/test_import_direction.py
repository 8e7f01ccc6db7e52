"""Imports flow one way: autodiff <- nn <- optim, train <- explain <- cli."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "anyprop"
LAYERS = {
    "errors": 0,
    "registry": 0,
    "fileio": 0,
    "_version": 0,
    "autodiff": 1,
    "nn": 2,
    "data": 2,
    "optim": 3,
    "train": 3,
    "datasets": 3,  # on data, beside train (neither imports the other)
    "explain": 4,
    "cli": 5,
}


def _package(path: Path) -> str | None:
    parts = path.relative_to(SRC).with_suffix("").parts
    return parts[0] if parts and parts[0] in LAYERS else None


def test_no_module_imports_a_later_layer():
    problems = []
    for path in SRC.rglob("*.py"):
        own = _package(path)
        if own is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] != "anyprop":
                    continue
                target = parts[1] if len(parts) > 1 else None
                if target is None or target not in LAYERS:
                    if own != "cli":
                        problems.append(f"{path.relative_to(SRC)} imports {name}")
                    continue
                if LAYERS[target] > LAYERS[own]:
                    problems.append(f"{path.relative_to(SRC)} imports {name}")
    assert not problems, "imports against the layering:\n" + "\n".join(problems)
