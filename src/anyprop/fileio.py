"""Writing files users keep: atomically, so that a crash never leaves a broken file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from anyprop.errors import AnypropError


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, flushed to
    disk and then renamed over ``path``: readers see the old file or the new, never half."""
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise AnypropError(f"{p}: the folder {folder} does not exist")
    if p.is_dir():
        raise AnypropError(f"{p}: is a folder, not a file")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
