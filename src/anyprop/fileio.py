"""Writing files users keep: atomically, so that a crash never leaves a broken file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from anyprop.errors import AnypropError


def read_file(
    path: str | os.PathLike,
    what: str = "file",
    error: type[AnypropError] = AnypropError,
    encoding: str | None = None,
) -> Any:
    """The file's bytes, or its text in ``encoding``; ``error`` names the file (and what
    it is meant to be: "spec file", say) when it is missing or cannot be read."""
    p = Path(path)
    try:
        return p.read_bytes() if encoding is None else p.read_text(encoding=encoding)
    except FileNotFoundError:
        raise error(f"{p}: no such {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{p}: cannot read the {what}: {e}") from None


def _umask() -> int:
    """The process's umask (read by setting it, then putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
        # mkstemp makes the file private (0600); give it the mode a plain open() would,
        # or the replaced file's own
        with contextlib.suppress(OSError):
            os.chmod(tmp, p.stat().st_mode & 0o7777 if p.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
