"""Writing files users keep: atomically, so that a crash never leaves a broken file."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from anyprop.errors import AnypropError

#: the longest file name (one component of a path) the common file systems take, in bytes
NAME_MAX = 255


def as_path(path: Any, what: str = "path") -> str:
    """``path`` as text, or an AnypropError naming what is wrong with it: not text, a
    NUL character (no file system takes one), or a name longer than NAME_MAX bytes."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise AnypropError(f"{what} must be a file name (text), got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str):
        raise AnypropError(f"{what} must be a file name (text), got {text!r}")
    if "\0" in text:
        raise AnypropError(f"{what} {text!r} holds a NUL character, which no file name can")
    long = next((n for n in Path(text).parts if len(n.encode("utf-8", "replace")) > NAME_MAX), None)
    if long is not None:
        raise AnypropError(
            f"{what}: the name {long[:40]}... is {len(long.encode())} bytes long; file "
            f"systems take at most {NAME_MAX}"
        )
    return text


def read_file(
    path: str | os.PathLike,
    what: str = "file",
    error: type[AnypropError] = AnypropError,
    encoding: str | None = None,
) -> Any:
    """The file's bytes, or its text in ``encoding``; ``error`` names the file (and what
    it is meant to be: "spec file", say) when it is missing or cannot be read."""
    try:
        p = Path(as_path(path, f"the {what}"))
    except AnypropError as e:
        raise error(str(e)) from None
    if p.is_dir():
        raise error(f"{p}: is a folder, not a {what}")
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
    path = as_path(path)
    with interrupts_deferred():
        _write_replacing(Path(path), data)


#: the temporary files of a write are named ``.<name>.anyprop-<pid>-<random>.tmp``: the
#: writer's process id lets a later write remove those a killed process left behind
_PARTIAL = ".anyprop-"


def _remove_leftovers(folder: Path, name: str) -> None:
    """Remove the temporary files that writes of ``name`` by processes no longer running
    (killed with -9, say) left in ``folder``."""
    prefix = f".{name}{_PARTIAL}"
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
                continue
            pid = entry.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # (another user's process: leave its file alone)
    return True


def _write_replacing(p: Path, data: bytes) -> None:
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise AnypropError(f"{p}: the folder {folder} does not exist")
    if p.is_dir():
        raise AnypropError(f"{p}: is a folder, not a file")
    if p.exists() and not p.is_file():
        raise AnypropError(f"{p}: is not a regular file (a device or a pipe): not replaced")
    _remove_leftovers(folder, p.name)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{p.name}{_PARTIAL}{os.getpid()}-", suffix=".tmp", dir=folder
        )
    except OSError as e:
        raise AnypropError(f"{p}: cannot write: {e.strerror or e}") from None
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
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):  # disk full, say: named with the file
            raise AnypropError(f"{p}: cannot write: {e.strerror or e}") from None
        raise


def write_figure(fig: Any, path: str | os.PathLike, dpi: int) -> None:
    """A matplotlib figure saved atomically, in the format its suffix names."""
    import io

    check_output(path, "picture", "the picture path")
    p = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=p.suffix.lower().lstrip(".") or "png", dpi=dpi)
    atomic_write(p, buf.getvalue())


#: what each kind of output looks like at its start, so that an existing file is replaced
#: only when it is a file of that kind (a model, a picture, a page, a table)
_KINDS = {
    "model": (".anyprop", ".safetensors"),
    "picture": (".png", ".svg"),
    "page": (".html", ".htm"),
    "onnx": (".onnx",),
    "spec": (".toml",),
    "table": (".csv", ".tsv", ".txt"),
}


def _looks_like(p: Path, kind: str) -> bool:
    try:
        with open(p, "rb") as f:
            head = f.read(2**20 if kind == "spec" else 4096)  # (a spec: read whole)
            if kind == "model" and len(head) >= 8:  # the whole header (up to a MiB)
                size = int.from_bytes(head[:8], "little")
                f.seek(8)
                head = head[:8] + f.read(min(size, 2**20))
    except OSError:
        return False
    if kind == "model":  # a safetensors file whose metadata is anyprop's
        return len(head) >= 8 and b'"anyprop"' in head[8:] and b"__metadata__" in head[8:]
    if kind == "picture":
        return head.startswith(b"\x89PNG") or b"<svg" in head
    if kind == "onnx":  # a protobuf ModelProto: field 1 (ir_version) first, as a varint
        return head[:1] == b"\x08" and b"anyprop" in head
    if kind == "spec":  # TOML text
        import tomllib

        try:
            tomllib.loads(head.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            return False
        return True
    if kind == "page":
        low = head.lower()
        return b"<!doctype html" in low or b"<html" in low
    try:  # a table: text
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_output(
    path: str | os.PathLike,
    kind: str,
    flag: str,
    inputs: Any = (),
    own: str | os.PathLike | None = None,
) -> bool:
    """Refuse, before any work is done, an output path that would destroy something:
    empty; a folder that does not exist; one of the run's ``inputs``; a folder, a device
    or a pipe; a read-only file; an existing file that is not of ``kind`` (an anyprop
    model, a picture, a page, a table). ``own`` (the model ``--resume`` continues) may be
    replaced. True when an existing file will be replaced."""
    text = as_path(path, flag)
    if not text.strip():
        raise AnypropError(f"{flag}: an empty path; give a file name")
    if text.endswith(("/", os.sep)):
        raise AnypropError(f"{flag} {text}: names a folder; give a file name")
    p = Path(text)
    suffixes = _KINDS[kind]
    if kind in ("picture", "page", "onnx", "spec") and p.suffix.lower() not in suffixes:
        what = {"page": "an HTML page", "onnx": "an ONNX model", "spec": "a spec"}.get(
            kind, "a picture"
        )
        raise AnypropError(f"{flag} {p}: the file is {what}: give a {' or '.join(suffixes)} file")
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise AnypropError(f"{flag} {p}: the folder {folder} does not exist")
    if not p.exists():
        if not os.access(folder, os.W_OK) or _read_only(folder):
            raise AnypropError(f"{flag} {p}: the folder {folder} is not writable")
        return False
    if own is not None and _same(p, Path(own)):
        if not os.access(p, os.W_OK) or _read_only(p):
            raise AnypropError(f"{flag} {p}: the file is read-only: not replaced")
        return True
    for source in inputs:
        if source is not None and _same(p, Path(source)):
            raise AnypropError(
                f"{flag} {p}: is an input of this run; give another file for the output"
            )
    if p.is_dir():
        raise AnypropError(f"{flag} {p}: is a folder, not a file")
    if not p.is_file():
        raise AnypropError(f"{flag} {p}: is not a regular file (a device or a pipe)")
    if not os.access(p, os.W_OK) or _read_only(p):
        raise AnypropError(f"{flag} {p}: the file is read-only: not replaced")
    if not _looks_like(p, kind):
        what = "an anyprop model" if kind == "model" else f"a {kind}"
        raise AnypropError(
            f"{flag} {p}: an existing file that is not {what}: not replaced (remove it, or "
            "give another name)"
        )
    return True


def _read_only(p: Path) -> bool:
    """No write permission for anyone in the mode bits (which root, whom os.access lets
    write anything, would otherwise ignore): a file or folder the user made read-only."""
    try:
        return not os.stat(p).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    except OSError:
        return False


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False
