"""Trained models out of Python: ONNX (``onnx`` and ``onnxruntime`` are an optional
extra, ``pip install 'anyprop[onnx]'``)."""

from __future__ import annotations

import os
from typing import Any

from anyprop.errors import AnypropError


def export_onnx(thing: Any, path: str | os.PathLike, dense_limit: int | None = None) -> Any:
    """Write a Model, a model file or a Network as an ONNX file
    (:func:`anyprop.export.onnx.export_onnx`); returns the validated ModelProto."""
    try:
        from anyprop.export import onnx as exporter
    except ImportError:
        raise AnypropError(
            "ONNX export needs the onnx package: pip install 'anyprop[onnx]'"
        ) from None
    limit = exporter.DENSE_LIMIT if dense_limit is None else dense_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise AnypropError(f"dense_limit must be a whole number >= 0, got {dense_limit!r}")
    return exporter.export_onnx(thing, path, limit)


__all__ = ["export_onnx"]
