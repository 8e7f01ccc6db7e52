"""``anyprop transfer`` and ``anyprop datasets``: what anyprop offers by name."""

from __future__ import annotations

import argparse
from typing import TextIO

import numpy as np

from anyprop.cli.output import table, to_json
from anyprop.datasets import DATASETS
from anyprop.errors import AnypropError
from anyprop.fileio import check_output
from anyprop.nn import transfer


def transfer_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.action == "show":
        return _transfer_show(args, out)
    rows = []
    for name in transfer.TRANSFERS.names():
        cls = transfer.TRANSFERS.get(name)
        params = ", ".join(f"{k}={v:g}" for k, v in getattr(cls, "defaults", {}).items())
        alias = "" if cls.name == name else f"(= {cls.name})"
        rows.append([name, cls.formula or "", cls.derivative or "", params or alias])
    if getattr(args, "json", False):
        to_json(out, [dict(zip(["name", "f", "df", "params"], r, strict=True)) for r in rows])
    else:
        table(
            out,
            "Transfer functions (also: any formula in x, e.g. 'x/(1+abs(x))')",
            ["name", "f(x)", "f'(x)", "parameters"],
            rows,
        )
    return 0


def _transfer_show(args: argparse.Namespace, out: TextIO) -> int:
    params = {}
    for item in args.param:
        key, eq, value = item.partition("=")
        if not eq:
            raise AnypropError(f"--param '{item}' must be written name=value")
        try:
            params[key] = float(value)
        except ValueError:
            params[key] = value
    if args.plot is not None:
        check_output(args.plot, "picture", "--plot")
    t = transfer.get(args.name, **params)
    info = transfer.describe(t)
    xs = np.array([[-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0]])
    values = []
    if not t.vector:
        ys = t.forward(xs)
        ds = t.backward(xs, ys, np.ones_like(xs)) if t.differentiable else [[None] * xs.size]
        values = [
            [float(x), float(y), None if d is None else float(d)]
            for x, y, d in zip(xs[0], ys[0], ds[0], strict=True)
        ]
    if args.plot:
        from anyprop.train.plots import plot_transfer

        plot_transfer(t, args.plot)
    if args.json:
        to_json(out, {**info, "values": values, "plot": args.plot})
        return 0
    df = info["df"]
    if df is None and info["kind"] == "formula":  # SymPy, an optional extra, is not installed
        df = "(as a formula with SymPy: pip install 'anyprop[sympy]'; the values below are exact)"
    elif df is None:
        df = "(no formula known; the values below come from the engine)"
    out.write(f"{info['name']}  ({info['kind']})\n  f(x)  = {info['f']}\n  f'(x) = {df}\n")
    if info.get("doc"):
        out.write(f"  {info['doc'].splitlines()[0]}\n")
    if values:
        table(out, None, ["x", "f(x)", "f'(x)"], values)
    if args.plot:
        out.write(f"plot written to {args.plot}\n")
    return 0


def datasets_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rows = []
    for name in DATASETS.names():
        info = DATASETS.get(name)
        opts = ", ".join(f"{k}={v}" for k, v in info.options().items())
        rows.append([name, info.source, opts, info.summary])
    if getattr(args, "json", False):
        to_json(
            out, [dict(zip(["name", "source", "options", "summary"], r, strict=True)) for r in rows]
        )
    else:
        table(
            out,
            "Data sets (use as --data NAME, or NAME:option=value)",
            ["name", "source", "options", "summary"],
            rows,
        )
    return 0
