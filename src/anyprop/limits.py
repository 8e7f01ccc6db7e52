"""How much memory one array may take: checked before allocating, so that a mistyped
size (a group of 10⁹ units, ``moons:n=1000000000000``) is a message naming the figure,
not an exhausted machine.

The limit is the memory the system has available now (``MemAvailable``), or what the
environment variable ``ANYPROP_MEMORY_LIMIT`` says (bytes, or a size such as ``512M``,
``8G``); ``anyprop --memory-limit SIZE`` sets it for one command.

>>> parse_size("512M"), parse_size("2g"), parse_size("1000")
(536870912, 2147483648, 1000)
"""

from __future__ import annotations

import os
import re

from anyprop.errors import AnypropError

ENV = "ANYPROP_MEMORY_LIMIT"
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_FALLBACK = 8 * 2**30  # where the system does not say


def parse_size(text: str) -> int:
    """Bytes from '123', '64K', '512M', '8G' or '1T' (powers of 1024; a B may follow)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)b?\s*", str(text).lower())
    if m is None:
        raise AnypropError(
            f"a memory size must be a number of bytes or one such as 512M or 8G, got {text!r}"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def available() -> int:
    """The memory available now, in bytes: the system's, or less where the process is
    capped (``ulimit -v``)."""
    free = _system_available()
    try:
        import resource

        cap, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return free
    return free if cap == resource.RLIM_INFINITY or cap <= 0 else min(free, cap // 2)


def _system_available() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return _FALLBACK


def memory_limit() -> int:
    """The most bytes one array may take (``ANYPROP_MEMORY_LIMIT``, else what is free)."""
    given = os.environ.get(ENV)
    if given:
        try:
            return parse_size(given)
        except AnypropError:
            raise AnypropError(f"{ENV}={given!r}: not a memory size (such as 512M or 8G)") from None
    return available()


def size_text(n: float) -> str:
    if not n < 2**70:  # (inf too)
        return "over a billion TiB"
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} bytes"


#: a size any machine has free: not worth reading /proc/meminfo for (unless a limit is set)
_ALWAYS_FITS = 16 * 2**20


def check_bytes(need: float, what: str) -> None:
    """Refuse ``what`` when it needs more than the limit, with both figures."""
    if need <= _ALWAYS_FITS and not os.environ.get(ENV):
        return
    limit = memory_limit()
    if need > limit:
        raise AnypropError(
            f"{what} needs {size_text(need)} of memory, more than the {size_text(limit)} "
            f"available (the limit: {ENV} or anyprop --memory-limit)"
        )
