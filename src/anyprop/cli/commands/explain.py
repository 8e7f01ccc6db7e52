"""``anyprop check``: the whole-network gradient check of a model or a spec."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from anyprop.cli.output import table, to_json
from anyprop.errors import AnypropError
from anyprop.explain import check_gradients
from anyprop.nn import spec as spec_io
from anyprop.train.job import load_data
from anyprop.train.model_io import load_model


def check_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    target = (args.target[0] if len(args.target) == 1 else args.target) if args.target else None
    if Path(args.network).suffix.lower() == ".toml":
        network = spec_io.load(args.network)
        if args.data is None:
            raise AnypropError("give the data to check on: --data NAME or --data FILE")
        data = load_data(args.data, target)
        x = data.x
    else:
        model = load_model(args.network)
        network = model.network
        job = model.info.get("job", {})
        source = args.data or job.get("data")
        if source is None:
            raise AnypropError(f"{args.network} does not say what it was trained on: give --data")
        data = load_data(source, target if args.data else job.get("target"))
        x = model.prepare(data.x)
    report = check_gradients(network, x, data.y, samples=args.samples, tolerance=args.tolerance)
    if args.json:
        to_json(out, report.to_dict())
    else:
        rows = [
            [
                r.name,
                r.kind,
                r.size,
                r.checked,
                r.max_abs_error,
                r.max_rel_error,
                "ok" if r.passed else "FAIL",
            ]
            for r in report.rows
        ]
        table(
            out,
            f"Gradients by backpropagation against central differences (float64, "
            f"{report.samples} samples, tolerance {report.tolerance:g})",
            ["parameter", "kind", "size", "checked", "max abs error", "max rel error", ""],
            rows,
        )
        out.write("all gradients agree\n" if report.passed else "some gradients disagree\n")
    return 0 if report.passed else 1
