"""``anyprop evaluate``, ``anyprop predict`` and ``anyprop info``: using a trained model."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any, TextIO

from anyprop.cli.output import table, to_json
from anyprop.data import read_inputs
from anyprop.data.dataset import DataError
from anyprop.data.files import read_sequence_inputs
from anyprop.data.long_form import read_long_form_text
from anyprop.data.sequences import Sequences
from anyprop.errors import AnypropError
from anyprop.fileio import atomic_write, check_output, read_file
from anyprop.train.evaluate import evaluate, predict_sequence_table, predict_table
from anyprop.train.job import load_data
from anyprop.train.model_io import load_model


def evaluate_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.plot is not None:
        check_output(args.plot, "picture", "--plot", (args.model, args.data))
    model = load_model(args.model)
    job = model.info.get("job", {})
    source = args.data or job.get("data")
    if source is None:
        raise AnypropError(f"{args.model} does not say what it was trained on: give --data")
    target = (
        (args.target[0] if args.target and len(args.target) == 1 else args.target)
        if args.data
        else job.get("target")
    )
    data = load_data(source, target, model.columns, model.imputer is not None)
    if args.plot and isinstance(data, Sequences):
        raise AnypropError("--plot draws a table's evaluation; for sequences, give no --plot")
    result = evaluate(model, data)
    if args.plot:
        from anyprop.train.plots import plot_evaluation
        from anyprop.train.task import model_task_data

        read = model_task_data(model, data)
        truth = model.network.prepare_targets(read.y) if "confusion" not in result else None
        plot_evaluation(
            result, model.predict(read.x), truth, args.plot, f"{args.model} on {data.name}"
        )
        result["plot"] = args.plot
    if args.json:
        to_json(out, {"data": data.name, **result})
        return 0
    scalars = [(k, v) for k, v in result.items() if not isinstance(v, dict)]
    table(out, f"{args.model} on {data.name}", ["", "value"], scalars)
    if "per_class" in result:
        rows = [
            [name, v["precision"], v["recall"], v["f1"], v["support"]]
            for name, v in result["per_class"].items()
        ]
        table(out, "Per class", ["class", "precision", "recall", "F1", "support"], rows)
        conf = result["confusion"]
        table(
            out,
            "Confusion matrix (rows: true class, columns: predicted)",
            ["", *conf["labels"]],
            [[name, *row] for name, row in zip(conf["labels"], conf["matrix"], strict=True)],
        )
    if "per_label" in result:
        rows = [
            [name, v["precision"], v["recall"], v["f1"], v["support"], v["roc_auc"]]
            for name, v in result["per_label"].items()
        ]
        head = ["output", "precision", "recall", "F1", "support", "ROC-AUC"]
        table(out, "Per output (yes: above 0.5)", head, rows)
    return 0


def predict_command(
    args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO | None = None
) -> int:
    if args.out != "-":
        check_output(args.out, "table", "--out", (args.model, args.input))
    model = load_model(args.model)
    if args.input != "-" and args.input.lower().endswith(".npz"):
        return _predict_sequences(model, args, out, err)
    if args.input == "-":
        text, source = (stdin or sys.stdin).read(), "<standard input>"
    else:
        text = read_file(args.input, "file of inputs", DataError, encoding="utf-8-sig")
        source = args.input
    gaps = model.imputer is not None  # the model fills in what is missing
    if model.network.recurrent:  # sequences in long form: one row per sequence and step
        names = model.feature_names or [f"x{i}" for i in range(model.network.input_width)]
        x, mask, ids, steps = read_long_form_text(text, source, names)
        lines = predict_sequence_table(model, x, mask, ids, steps)
        _write_rows(args.out, lines, out, err, f"{len(lines) - 1} predictions")
        return 0
    if model.columns is not None:  # text categories: read by the file's own columns
        x = model.columns.read(text, source, gaps)
    else:
        names = model.feature_names or [f"x{i}" for i in range(model.network.input_width)]
        x = read_inputs(text, source, names, gaps)
    lines = _table_lines(model, x)
    _write_rows(args.out, lines, out, err, f"{len(lines) - 1} predictions")
    return 0


def _table_lines(model: Any, x: Any) -> list[list[Any]]:
    """A header, then one row of predictions per sample (the label first, for classes)."""
    cols, values, labels = predict_table(model, x)
    lines: list[list[Any]] = [(["label"] if labels else []) + cols]
    for k, row in enumerate(values):
        lines.append(([labels[k]] if labels else []) + [f"{v:.6g}" for v in row])
    return lines


def _predict_sequences(model: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Predictions for sequences (an .npz's ``x``, ``mask``) in long form: one row per
    sequence and step (the steps the mask keeps), ``sequence``, ``step``, then the
    outputs (and the label first, for classes)."""
    x, mask = read_sequence_inputs(args.input)
    if x.ndim == 2:  # a table in an .npz: one row per sample, as from a CSV
        lines = _table_lines(model, x)
        _write_rows(args.out, lines, out, err, f"{len(lines) - 1} predictions")
        return 0
    if x.shape[2] != model.network.input_width:
        raise AnypropError(
            f"{args.input}: {x.shape[2]} input features per step, but the model takes "
            f"{model.network.input_width}"
        )
    lines = predict_sequence_table(model, x, mask)
    _write_rows(args.out, lines, out, err, f"{len(lines) - 1} predictions")
    return 0


def _write_rows(path: str, lines: list, out: TextIO, err: TextIO, what: str) -> None:
    if path == "-":
        csv.writer(out, lineterminator="\n").writerows(lines)
        return
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(lines)
    atomic_write(path, buf.getvalue().encode("utf-8"))
    err.write(f"{what} written to {path}\n")


def info_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    model = load_model(args.model)
    net = model.network
    history = model.history or {}
    epochs = history.get("epochs") or []
    final = {k: v for k, v in (epochs[-1] if epochs else {}).items() if k != "time"}
    opt = (model.trainer_state or {}).get("optimizer", {}).get("config")
    info = {
        "model": args.model,
        "network": net.name,
        "groups": [
            {
                "name": g.name,
                "size": g.size,
                "transfer": None if g.is_input else repr(g.transfer),
                "loss": None if g.loss is None else repr(g.loss),
                "input": g.is_input,
            }
            for g in net.groups.values()
        ],
        "connections": [repr(c).strip("<>") for c in net.connections.values()],
        "parameters": net.num_params,
        "data": {
            "features": len(model.feature_names),
            "labels": model.labels,
            "task": model.task,
            "standardized": model.standardizer is not None,
        },
        "training": {
            "epochs": len(epochs),
            "final": final,
            "stop_reason": history.get("stop_reason"),
            "solved_epoch": history.get("solved_epoch"),
            "optimizer": opt,
        },
    }
    if args.json:
        to_json(out, info)
        return 0
    out.write(net.summary() + "\n\n")
    d = info["data"]
    out.write(
        f"data: {d['features']} features, task {d['task']}"
        f"{', labels ' + ', '.join(d['labels']) if d['labels'] else ''}"
        f"{', standardised' if d['standardized'] else ''}\n"
    )
    if epochs:
        out.write(
            f"training: {len(epochs)} epochs, {info['training']['stop_reason']}"
            f"{', optimizer ' + opt['name'] if opt else ''}\n"
        )
        table(out, "Final figures", ["", "value"], list(final.items()))
    else:
        out.write("training: none recorded\n")
    return 0
