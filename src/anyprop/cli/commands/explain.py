"""``anyprop check`` and ``anyprop explain``: the rule at work on a model or a spec."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from anyprop.cli.output import table, to_json
from anyprop.data.sequences import Sequences
from anyprop.errors import AnypropError
from anyprop.explain import check_gradients, explain_step, explain_weight
from anyprop.fileio import check_output
from anyprop.nn import spec as spec_io
from anyprop.train import sequence_task
from anyprop.train.evaluate import model_settings
from anyprop.train.job import load_data, training_data
from anyprop.train.model_io import load_model
from anyprop.train.task import model_task_data
from anyprop.train.trainer import Trainer


def _model_data(args: argparse.Namespace, model: Any) -> tuple[Any, Any, Any]:
    """(prepared inputs, targets, mask): --data, else the data the model was trained on,
    else Nones (the mask: sequences' only)."""
    job = model.info.get("job", {})
    source = args.data or job.get("data")
    if source is None:
        return None, None, None
    target = args.target if args.data else job.get("target")
    if isinstance(target, list) and len(target) == 1:
        target = target[0]
    read = load_data(source, target, model.columns, model.imputer is not None)
    if isinstance(read, Sequences):  # (taken as they are: see train/sequence_task.py)
        task = model.task if model.task != "binary" else None
        seqs = sequence_task.decide_task(read, task, model.network)[0]
        return seqs.x, seqs.y, seqs.mask
    # read as the model reads its data: its feature columns, imputation and classes
    data = model_task_data(model, read)
    return model.prepare(data.x), data.y, None


def _network_and_data(args: argparse.Namespace, what: str) -> tuple[Any, Any, Any, Any, Any]:
    """(network, prepared inputs, targets, the model or None, the mask of sequences or
    None) from a model or a spec file and --data."""
    if Path(args.network).suffix.lower() == ".toml":
        network = spec_io.load(args.network)
        if args.data is None:
            raise AnypropError(f"give the data to {what} on: --data NAME or --data FILE")
        target = args.target[0] if args.target and len(args.target) == 1 else args.target
        data = load_data(args.data, target)
        if isinstance(data, Sequences):
            data = sequence_task.decide_task(data, None, network)[0]
            return network, data.x, data.y, None, data.mask
        return network, data.x, data.y, None, None
    model = load_model(args.network)
    x, y, mask = _model_data(args, model)
    if x is None:
        raise AnypropError(f"{args.network} does not say what it was trained on: give --data")
    return model.network, x, y, model, mask


def explain_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    common = {"sample": args.sample, "depth": args.depth, "step": args.step}
    if Path(args.network).suffix.lower() == ".toml":  # a spec: one plain step on all the data
        network = spec_io.load(args.network)
        if args.data is None:
            raise AnypropError("give the data to explain on: --data NAME or --data FILE")
        _no_batch(args, "a spec has no trainer yet: its first step is on all the data")
        if not network.seeded:  # the weights `anyprop train` would start from (seed 0)
            network.reinitialize(0)
        data = load_data(args.data, _target(args))
        if isinstance(data, Sequences):
            data = sequence_task.decide_task(data, None, network)[0]
            common["mask"] = data.mask
        lr = 0.01 if args.lr is None else args.lr
        e = explain_weight(network, data.x, data.y, args.weight, lr=lr, **common)
    else:
        model = load_model(args.network)
        gaps = model.imputer is not None
        given = load_data(args.data, _target(args), model.columns, gaps) if args.data else None
        data = training_data(model, given)
        if args.lr is not None or not model.trainer_state:
            _no_batch(args, "--lr explains one plain step on all the data")
            settings = model_settings(model)
            lr = 0.01 if args.lr is None else args.lr
            if isinstance(data, Sequences):
                common["mask"] = data.mask
            e = explain_weight(
                model.network, data.x, data.y, args.weight, lr=lr, settings=settings, **common
            )
        else:
            trainer = Trainer.from_state(model.network, model.trainer_state)
            e = explain_step(trainer, data, args.weight, batch=args.batch, **common)
            if args.data:
                e.notes.append(
                    f"the step is taken on the data given (--data {args.data}), not on the part "
                    "training draws its batches from"
                )
        if model.standardizer is not None:
            e.notes.append("x is shown as the network takes it: standardised as in training")
    if args.json:
        to_json(out, e.to_dict())
    else:
        out.write(e.to_text() + "\n")
    return 0


def _not_through_time(network: Any, what: str) -> None:
    """Refuse, by connection, what does not run through time yet."""
    odd = next((c for c in network.connections.values() if c.delay or c.gate), None)
    if odd is not None:
        kind = "delayed" if odd.delay else "gated"
        raise AnypropError(
            f"connection '{odd.name}' is {kind}: {what} of a recurrent network, through time, "
            "is not there yet (anyprop explain and check run through time; anyprop report "
            "shows its deltas through time, --diagram draws it)"
        )


def _no_batch(args: argparse.Namespace, why: str) -> None:
    if args.batch:
        raise AnypropError(f"--batch {args.batch} does not apply here: {why}")


def _target(args: argparse.Namespace) -> Any:
    return args.target[0] if args.target and len(args.target) == 1 else args.target


def check_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if Path(args.network).suffix.lower() == ".toml" and args.data is None:
        from anyprop.explain.check import random_batch

        network = spec_io.load(args.network)  # no data: random inputs of the right shape
        x, y = random_batch(network, args.samples)
        mask = None
        err.write(f"no --data: checking on {args.samples} random inputs and targets\n")
    else:
        network, x, y, _, mask = _network_and_data(args, "check")
    report = check_gradients(
        network, x, y, samples=args.samples, tolerance=args.tolerance, mask=mask
    )
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
        kinks = sum(r.kinks for r in report.rows)
        if kinks:
            out.write(
                f"{kinks} element{'s' if kinks != 1 else ''} at or near a kink of a transfer "
                "function "
                "(checked again with smaller steps: on the kink, the gradient lies between its "
                "one-sided slopes, as its convention there picks)\n"
            )
        out.write("all gradients agree\n" if report.passed else "some gradients disagree\n")
    return 0 if report.passed else 1


def report_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from anyprop.cli.output import table as print_table
    from anyprop.explain import group_figures, network_warnings, plot_flow

    inputs = (args.model, args.data)
    for flag, path, kind in (
        ("--out", args.out, "page"),
        ("--plot", args.plot, "picture"),
        ("--diagram", args.diagram, "picture"),
        ("--units", args.units, "picture"),
        ("--time-plot", args.time_plot, "picture"),
    ):
        if path is not None:  # checked before any work: nothing is destroyed
            check_output(path, kind, flag, inputs)
    model = load_model(args.model)
    gradients = (model.history or {}).get("gradients") or []
    over_time = model.network.recurrent
    if args.time_plot and not over_time:
        raise AnypropError(
            f"--time-plot draws the deltas of a recurrent network through time; {args.model}'s "
            "network has no delayed connection"
        )
    wanted = args.diagram or args.out or args.units or over_time
    if not gradients and (args.plot or not wanted):
        raise AnypropError(
            f"{args.model} holds no record of its gradients: train it with 'anyprop train --report'"
        )
    flow = _through_time(args, model) if over_time else None
    if args.diagram:
        from anyprop.explain.diagram import draw_network, last_gradient_norms

        draw_network(model.network, args.diagram, last_gradient_norms(gradients))
    if args.units:
        from anyprop.explain.diagram import draw_units

        x, t, mask = _model_data(args, model)
        if x is None:
            raise AnypropError(f"{args.model} does not say what it was trained on: give --data")
        if mask is not None or getattr(x, "ndim", 2) == 3:
            _not_through_time(model.network, "drawing one sample's deltas")
        draw_units(model.network, args.units, x, t, sample=args.sample)
    if args.out:
        _html_report(args, model, err)
    files = {"plot": args.plot, "diagram": args.diagram, "units": args.units, "html": args.out}
    files["time_plot"] = args.time_plot
    through = None
    if flow is not None:
        from anyprop.explain.time_flow import plot_through_time, time_rows, time_warnings

        through = {"groups": time_rows(flow), "warnings": time_warnings(flow)}
        if args.time_plot:
            plot_through_time(flow, args.time_plot)
        if not args.json:
            _time_table(out, through, flow)
    if not gradients:  # the pictures drawn, no flow to report
        if args.json:
            extra = {} if through is None else {"through_time": through}
            to_json(out, {"epochs": 0, "widths": "weight norm", **extra, **files})
        else:
            _say_written(out, args, "weight norms")
        return 0
    net = model.network
    order = [g for g in net.order() if not net.groups[g].is_input]
    rows = group_figures(gradients[-1], order)
    warnings = network_warnings(model.network, gradients)
    if args.plot:
        plot_flow(model.network, gradients, args.plot)
    if args.json:
        extra = {} if through is None else {"through_time": through}
        figures = {"epochs": len(gradients), "groups": rows, "warnings": warnings}
        to_json(out, {**figures, **extra, **files})
        return 0
    print_table(
        out,
        f"Where gradients flowed in the last of {len(gradients)} epochs",
        ["group", "mean |δ|", "saturated", "dead"],
        [
            [
                r["group"],
                r["mean_abs_delta"],
                "" if r["saturated"] is None else f"{r['saturated']:.0%}",
                "" if r["dead"] is None else f"{r['dead']:.0%}",
            ]
            for r in rows
        ],
    )
    for w in warnings or ["no vanishing, exploding, saturated or dead units"]:
        out.write(f"- {w}\n")
    _say_written(out, args, "gradient norms")
    return 0


def _through_time(args: argparse.Namespace, model: Any) -> Any:
    """Mean |δ(t)| of a recurrent model's groups on (up to 64 of) its sequences, or None
    when it has none to run on."""
    from anyprop.explain.time_flow import deltas_through_time

    x, _, _ = _model_data(args, model)
    if x is None or getattr(x, "ndim", 2) != 3:
        return None
    return deltas_through_time(model.network, x[:64])


def _time_table(out: TextIO, through: dict, flow: dict) -> None:
    from anyprop.cli.output import table as print_table

    rows = through["groups"]
    backs = sorted({k for r in rows for k in r["steps_back"]})
    steps = len(next(iter(flow.values())))
    print_table(
        out,
        f"How |δ| fades backwards in time (an error at the last of {steps} steps)",
        ["group", *(f"{k} back" for k in backs), "× per step"],
        [
            [
                r["group"],
                *(f"{r['steps_back'][k]:.3g}" if k in r["steps_back"] else "" for k in backs),
                "" if r["per_step"] is None else f"{r['per_step']:.3g}",
            ]
            for r in rows
        ],
    )
    for w in through["warnings"] or ["no vanishing or exploding deltas through time"]:
        out.write(f"- {w}\n")


def _say_written(out: TextIO, args: argparse.Namespace, widths: str) -> None:
    """One line for each file report_command wrote."""
    if args.plot:
        out.write(f"plot written to {args.plot}\n")
    if args.diagram:
        out.write(f"diagram written to {args.diagram} (arrow widths: {widths})\n")
    if args.units:
        out.write(f"units drawn to {args.units} (δ on sample {args.sample})\n")
    if args.time_plot:
        out.write(f"deltas through time drawn to {args.time_plot}\n")
    if args.out:
        out.write(f"report written to {args.out}\n")


def _html_report(args: argparse.Namespace, model: Any, err: TextIO) -> None:
    """The HTML report; a weight is explained on the training data (or --data) when it loads."""
    from anyprop.explain.html import write_report

    mask = None
    try:
        data = training_data(model, load_data(args.data, _target(args)) if args.data else None)
        x, t = data.x, data.y
        mask = getattr(data, "mask", None)
    except AnypropError as e:
        if args.data:
            raise
        # the training data is gone or moved: the report goes on without the explained weight
        err.write(f"warning: {e}; the report explains no weight (give --data)\n")
        x = t = None
    trainer = (
        Trainer.from_state(model.network, model.trainer_state) if model.trainer_state else None
    )
    write_report(model, args.out, x, t, weight=args.weight, trainer=trainer, mask=mask)
