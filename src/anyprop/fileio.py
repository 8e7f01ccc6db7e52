"""Writing files users keep: atomically, so that a crash never leaves a broken file."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
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


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) for the duration, and raise it once the block is done.

    A KeyboardInterrupt can land between any two bytecodes: between creating a
    temporary file and the ``try`` that removes it, say. Held back, it arrives after
    the write has finished or cleaned up. Only the main thread receives signals, and
    only Python's own handler is replaced (a program's own handler is left alone).
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, flushed to
    disk and then renamed over ``path``: readers see the old file or the new, never half,
    and no temporary file is left behind, even by a Ctrl-C in the middle."""
    with interrupts_deferred():
        _write_replacing(Path(path), data)


def _write_replacing(p: Path, data: bytes) -> None:
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
