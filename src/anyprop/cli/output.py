"""Printing results: rich tables for people, JSON for programs."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table


def console(stream: TextIO, force_terminal: bool | None = None) -> Console:
    """A rich console on ``stream``; plain text unless the stream is a terminal."""
    return Console(
        file=stream,
        force_terminal=force_terminal,
        highlight=False,
        soft_wrap=False,
        width=None if stream.isatty() else 100,
    )


def number(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
    return str(v)


def table(
    out: TextIO, title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    t = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for i, c in enumerate(columns):
        t.add_column(c, justify="right" if i else "left")
    for r in rows:
        t.add_row(*(number(v) for v in r))
    console(out).print(t)


def to_json(out: TextIO, obj: Any) -> None:
    def clean(o: Any) -> Any:
        if isinstance(o, float) and not math.isfinite(o):
            return str(o)
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        if hasattr(o, "item"):
            return clean(o.item())
        return o

    out.write(json.dumps(clean(obj), indent=1) + "\n")
