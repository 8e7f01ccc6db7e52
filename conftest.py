"""Pages whose examples need an optional extra are collected only where it is installed
(the oldest-NumPy run in CI has no onnx: its wheels need NumPy 2)."""

import importlib.util

collect_ignore = [
    page
    for page, module in (("docs/export.md", "onnxruntime"), ("docs/sklearn.md", "sklearn"))
    if importlib.util.find_spec(module) is None
]
