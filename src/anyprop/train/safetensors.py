"""The safetensors format, read and written by anyprop itself (no pickle, no code).

A file is: 8 bytes (little-endian u64) giving the header's length N, N bytes of
JSON header, then the raw tensor bytes. The header maps each tensor's name to
``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into the byte
buffer after the header) and may hold ``"__metadata__"``, a map of strings.
Files written here load with the ``safetensors`` package, and the other way
round. Reading checks everything, so a truncated, corrupted or tampered file
gives a clear :class:`FormatError` instead of garbage.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from anyprop.errors import AnypropError
from anyprop.fileio import atomic_write, read_file

DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024


class FormatError(AnypropError, ValueError):
    """A file that is not a valid safetensors file (or not an anyprop model)."""


def dumps(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> bytes:
    """The bytes of a safetensors file holding ``tensors`` and ``metadata``."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        if a.dtype not in CODES:
            raise FormatError(f"tensor '{name}': dtype {a.dtype} cannot be stored")
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": CODES[a.dtype],
            "shape": list(a.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # align the data to 8 bytes
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def loads(blob: bytes, source: str = "<bytes>") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) from the bytes of a safetensors file, every part checked."""
    if len(blob) < 8:
        raise FormatError(f"{source}: too short to be a model file ({len(blob)} bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER or 8 + n > len(blob):
        raise FormatError(
            f"{source}: the header claims {n} bytes but the file has {len(blob) - 8}: "
            "the file is truncated or not a model file"
        )
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise FormatError(
            f"{source}: the header is not valid JSON: the file is corrupted"
        ) from None
    if not isinstance(header, dict):
        raise FormatError(f"{source}: the header is not a table")
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise FormatError(f"{source}: the metadata must map names to strings")
    data = memoryview(blob)[8 + n :]
    tensors, spans = {}, []
    for name, info in header.items():
        try:
            dtype = np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")
            shape = tuple(_whole(d) for d in info["shape"])
            begin, end = (_whole(o) for o in info["data_offsets"])
            if len(info["data_offsets"]) != 2:
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError):
            raise FormatError(f"{source}: tensor '{name}' has a malformed entry") from None
        if not 0 <= begin <= end <= len(data):
            raise FormatError(
                f"{source}: tensor '{name}' points outside the file: the file is "
                "truncated or corrupted"
            )
        if end - begin != math.prod(shape) * dtype.itemsize:  # (exact: Python integers)
            raise FormatError(
                f"{source}: tensor '{name}' has {end - begin} bytes for shape {shape}"
            )
        spans.append((begin, end, name))
        tensors[name] = (
            np.frombuffer(data[begin:end], dtype=dtype)
            .reshape(shape)
            .astype(dtype.newbyteorder("="))
        )
    spans.sort()
    for (_, e1, n1), (b2, _, n2) in itertools.pairwise(spans):
        if b2 < e1:
            raise FormatError(f"{source}: tensors '{n1}' and '{n2}' overlap: the file is corrupted")
    if spans and spans[-1][1] != len(data):
        raise FormatError(f"{source}: {len(data) - spans[-1][1]} stray bytes after the last tensor")
    return tensors, meta


def _whole(value: object) -> int:
    """A size or an offset: a whole number >= 0 as JSON writes it (not 2.7, not true)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(value)
    return value


def save(
    path: str | os.PathLike,
    tensors: Mapping[str, np.ndarray],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write a safetensors file atomically (a temporary file, then a rename)."""
    atomic_write(path, dumps(tensors, metadata))


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    return loads(read_file(path), str(Path(path)))
