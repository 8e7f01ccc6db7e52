"""``anyprop ops``: the primitives and their derivative formulas, from the registry."""

from __future__ import annotations

import argparse
import inspect
import json
from typing import TextIO

from anyprop.autodiff import PRIMITIVES


def _summary(name: str) -> str:
    doc = inspect.getdoc(PRIMITIVES.get(name)) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def ops_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.name:
        doc = inspect.getdoc(PRIMITIVES.get(args.name)) or ""
        if args.json:
            out.write(json.dumps({"name": args.name, "doc": doc}) + "\n")
        else:
            out.write(f"{args.name}\n\n{doc}\n")
        return 0
    rows = [(name, _summary(name)) for name in PRIMITIVES.names()]
    if args.json:
        out.write(json.dumps([{"name": n, "formula": d} for n, d in rows], indent=1) + "\n")
        return 0
    width = max(len(n) for n, _ in rows)
    for name, summary in rows:
        out.write(f"{name:<{width}}  {summary}\n")
    return 0
