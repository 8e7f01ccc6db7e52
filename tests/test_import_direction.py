"""Imports flow one way: autodiff <- nn <- optim, train <- explain <- cli."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "anyprop"
LAYERS = {
    "errors": 0,
    "registry": 0,
    "fileio": 0,
    "limits": 0,
    "_version": 0,
    "_threads": 0,  # (one BLAS thread per MPI process; imported first)
    "autodiff": 1,
    "nn": 2,
    "data": 2,
    "optim": 3,
    "train": 3,
    "datasets": 3,  # on data (train.job loads them by name)
    "explain": 4,
    "sklearn": 4,  # estimators on train (next to explain)
    "export": 4,  # ONNX export of a trained model
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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The anyprop modules ``path`` imports, at any depth of the file (a function's
    import counts too): ``from P import m`` is module P.m when there is one, else P."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if sub in modules else base)
    return {m for m in out if m in modules and m != name}


def test_no_import_circle_outside_the_engine():
    """No module imports one that (through others) imports it back, except inside
    autodiff (the engine's ops and tensor refer to each other by design)."""
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    modules = set(files)
    graph = {m: _imports(p, m, modules) for m, p in files.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(start: str) -> None:
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(child) == 1:
                loop = [*path[path.index(child) :], child]
                if not all(m.startswith("anyprop.autodiff") for m in loop):
                    cycles.append(" -> ".join(loop))
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import circles:\n" + "\n".join(cycles)
