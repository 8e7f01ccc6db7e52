"""Where a key stands in the TOML text, for messages that name the file and line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from anyprop.nn.spec.keys import SpecError


class Locator:
    """Finds the line of a key in the TOML text, for messages (best effort)."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def _header(self, pattern: str, nth: int = 0) -> int | None:
        rx = re.compile(pattern)
        hits = [i for i, line in enumerate(self.lines) if rx.match(line.strip())]
        return hits[nth] if nth < len(hits) else None

    def _key_after(self, start: int | None, key: str | None) -> int | None:
        if start is None or key is None:
            return start
        rx = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for i in range(start + 1, len(self.lines)):
            if self.lines[i].lstrip().startswith("["):
                break
            if rx.match(self.lines[i]):
                return i
        return start

    def line(self, path: tuple) -> int | None:
        """1-based line of ``path`` such as ("groups", "h", "size") or ("connections", 2, "to")."""
        if not path:
            return None
        head = path[0]
        i = None
        if head == "groups" and len(path) >= 2:
            name = re.escape(str(path[1]))
            i = self._header(rf"^\[\s*groups\s*\.\s*(\"{name}\"|'{name}'|{name})\s*\]")
            i = self._key_after(i, path[2] if len(path) > 2 else None)
        elif head == "connections" and len(path) >= 2 and isinstance(path[1], int):
            i = self._header(r"^\[\[\s*connections\s*\]\]", path[1])
            i = self._key_after(i, path[2] if len(path) > 2 else None)
        elif head in ("network", "layered", "units"):
            i = self._header(rf"^\[\s*{head}\s*\]")
            i = self._key_after(i, path[1] if len(path) > 1 else None)
        return None if i is None else i + 1

    def error(self, path: tuple, message: str) -> SpecError:
        line = self.line(path)
        where = f"{self.source}:{line}" if line else self.source
        key = _path_text(path)
        return SpecError(f"{where}: {key}: {message}" if key else f"{where}: {message}")


def _path_text(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def check_keys(table: Mapping, allowed: set[str], path: tuple, loc: Locator) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)  # one, or the list
            hint = (
                f"; did you mean '{close[0]}'?"
                if close
                else f" (keys: {', '.join(sorted(allowed))})"
            )
            raise loc.error((*path, key), f"unknown key '{key}'{hint}")


def typed(table: Mapping, key: str, kinds: tuple, what: str, path: tuple, loc: Locator) -> Any:
    value = table.get(key)
    if value is not None and (
        not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
    ):
        raise loc.error((*path, key), f"must be {what}, got {value!r}")
    return value
