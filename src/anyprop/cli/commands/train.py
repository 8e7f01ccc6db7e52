"""``anyprop train``: run a training job and show it."""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import os
import socket
import sys
import time
from typing import Any, TextIO

from anyprop.cli.output import table, to_json
from anyprop.cli.progress import BarProgress, LineProgress
from anyprop.errors import AnypropError
from anyprop.fileio import check_output
from anyprop.train.job import TrainJob, job_inputs, run
from anyprop.train.seeds import run_sweep
from anyprop.train.settings import TrainSettings, cli_options


def job_from(args: argparse.Namespace) -> TrainJob:
    fields: dict[str, Any] = {}
    for name in (
        "clip_norm",
        "epochs",
        "optimizer",
        "lr",
        "momentum",
        "rule",
        "validation_split",
        "standardize",
        "standardize_targets",
        "early_stopping",
        "min_delta",
        "target_loss",
        "test_split",
        "test",
        "impute",
        "recipe",
    ):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    if args.target:
        fields["target"] = args.target[0] if len(args.target) == 1 else args.target
    fields.update(
        seed=args.seed,
        hidden=args.hidden,
        transfer=args.transfer,
        weight_decay=args.weight_decay,
        stop_when_solved=args.stop_when_solved,
        out=None if args.no_save else _out(args),
        resume=args.resume,
        task=args.task,
        checkpoint_seconds=args.checkpoint_every,
        compile=args.compile,
        threads=args.threads,
        report=args.report,
    )
    if args.schedule:  # (a cosine schedule anneals over the run's epochs: run() says how many)
        fields["schedule"] = {"name": args.schedule}
    # the training settings given on the command line (the others keep their defaults)
    given = {name: getattr(args, name) for name, _, _ in cli_options() if hasattr(args, name)}
    if args.resume is not None:
        _check_resume(args, given)
    if args.spec is None and args.data is None and args.resume is None:
        return TrainJob.default(settings=given, **fields)
    TrainSettings(**given)  # checked now, before any data are read
    return TrainJob(data=args.data, spec=args.spec, settings=given, **fields)


def _out(args: argparse.Namespace) -> str:
    """Where the model goes: --out as given (an empty one is an error, not the default),
    else the model resumed, else model.anyprop."""
    if args.out is not None:
        return args.out
    return args.resume or "model.anyprop"


def _check_resume(args: argparse.Namespace, given: dict[str, Any]) -> None:
    """A resumed run goes on with its own settings and optimizer: a flag that asks for
    something else is an error naming it, not silently ignored; so is a run that has
    already done the epochs asked for."""
    from anyprop.train.model_io import load_model

    model = load_model(args.resume)
    state = model.trainer_state
    if state is None:
        raise AnypropError(f"{args.resume}: this model has no training state to resume from")
    saved = TrainSettings.from_state(state.get("config") or {})
    for name, value in given.items():
        mine = getattr(TrainSettings(**{name: value}), name)
        if mine != getattr(saved, name):
            flag = "--" + name.replace("_", "-")
            raise AnypropError(
                f"{flag} {value} differs from the resumed model's {name} "
                f"({getattr(saved, name)}): a resumed run keeps its settings; train afresh to "
                "change them"
            )
    if args.schedule:
        raise AnypropError(
            f"--schedule {args.schedule}: a resumed run keeps its learning-rate schedule "
            f"({(state.get('config') or {}).get('schedule') or 'none'}); train afresh to change it"
        )
    opt = dict(state["optimizer"]["config"])
    for flag, key in (("optimizer", "name"), ("lr", "lr"), ("momentum", "momentum")):
        value = getattr(args, flag, None)
        if value is not None and opt.get(key) != value:
            raise AnypropError(
                f"--{flag} {value} differs from the resumed model's ({opt.get(key)}): a resumed "
                "run keeps its optimizer; train afresh to change it"
            )


def run_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if getattr(args, "distributed", False):
        return _distributed(args, out, err)
    if args.shard_rows:
        raise AnypropError("--shard-rows shares the data among the processes of --distributed")
    return _run(job_from(args), args, out, err)


def _distributed(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The run as one process of an MPI run: process 0 prints and writes; an error on any
    process is said with its rank, and stops every process (MPI_Abort), so that none
    waits for the others forever."""
    from anyprop.train.distributed import mpi

    comm = mpi().COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    # which process is which: mpiexec names a process that dies by its pid and host
    where = comm.allgather((os.getpid(), socket.gethostname()))
    if rank == 0 and size > 1:
        err.write(
            f"distributed over {size} processes: "
            + ", ".join(
                f"process {r} is pid {pid} on {host}" for r, (pid, host) in enumerate(where)
            )
            + "\n"
        )
    job = dataclasses.replace(job_from(args), distributed=True, shard_rows=args.shard_rows)
    if isinstance(job.data, str) and "{rank}" in job.data:  # a file for each process
        if args.shard_rows:
            raise AnypropError(
                "--shard-rows shares out one file's rows; with {rank} in --data each process "
                "has a file of its own: give one or the other"
            )
        mine = job.data.replace("{rank}", str(rank))
        job = dataclasses.replace(job, data=mine, shard_data=True)
    quiet = io.StringIO()
    try:
        if rank == 0:
            return _run(job, args, out, err)
        # the others write nothing: no plot, no progress, their summary to nowhere
        silent = argparse.Namespace(**{**vars(args), "plot": None, "progress": False})
        return _run(job, silent, quiet, quiet)
    except KeyboardInterrupt:  # (mpiexec passes Ctrl-C on to every process)
        if size == 1:
            raise
        # the others may be waiting for this one in a collective: stop them all; the last
        # checkpoint, written whole by process 0 at an epoch's end, stays as it was
        sys.stderr.write(
            f"anyprop train: interrupted (process {rank} of {size}); the last checkpoint "
            "(if any) is intact\n"
        )
        sys.stderr.flush()
        time.sleep(0.5)
        comm.Abort(130)
        raise
    except BaseException as e:
        if size == 1:
            raise
        what = str(e) if isinstance(e, AnypropError) else f"{type(e).__name__}: {e}"
        sys.stderr.write(f"anyprop train: error on process {rank} of {size}: {what}\n")
        sys.stderr.flush()
        time.sleep(1.0)  # (for mpiexec to pass the line on before the abort ends it all)
        comm.Abort(2)
        raise  # (not reached: Abort ends the process)


def _run(job: TrainJob, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.seeds is not None or args.sweep:
        what = "--sweep" if args.sweep else "--seeds"
        for flag, given in (("--out", args.out), ("--plot", args.plot)):
            if given is not None:
                raise AnypropError(
                    f"{what} trains many runs and writes neither a model nor curves: leave "
                    f"out {flag}"
                )
    if args.plot is not None:  # before training: a bad path is not found after an hour
        check_output(args.plot, "picture", "--plot", job_inputs(job))
    if args.seeds is not None or args.sweep:
        return _seeds(job, args, out, err)
    show_bar = args.progress if args.progress is not None else (err.isatty() and not args.json)
    progress: list[Any] = []

    def on_start(trainer: Any, data: Any, epochs: int) -> None:
        n = len(data)  # the training part
        size = trainer.settings.batch_size or n
        cb = (
            BarProgress(err, epochs, math.ceil(n / size))
            if show_bar
            else (LineProgress(err, epochs) if not args.json else None)
        )
        if cb is not None:
            trainer.callbacks.insert(0, cb)  # fit() starts it
            progress.append(cb)

    if job.spec_text is not None and not args.json:
        err.write(
            "anyprop train: the embedded default: a 64-48-10 network with a skip connection "
            "and the transfer function x/(1+abs(x)), on the bundled digits\n"
        )
    result = run(job, on_start=on_start)
    summary = result.summary()
    if args.plot:
        from anyprop.train.plots import plot_history

        plot_history(result.history, args.plot, title=f"{summary['data']}")
        summary["plot"] = args.plot
    if args.json:
        to_json(out, {**summary, "history": result.history.to_dict()["epochs"]})
    else:
        rows = [
            (k, summary["final"][k], summary["best"].get(k, ""))
            for k in summary["final"]
            if k != "lr"
        ]
        table(out, "Training summary", ["", "final", "best"], rows)
        out.write(
            f"epochs: {summary['epochs']}"
            f"{f' (resumed after {result.resumed_from})' if result.resumed_from else ''}"
            f"   time: {summary['seconds']:.2f} s   stopped: {summary['stop_reason']}\n"
        )
        if summary["solved_epoch"] is not None and (
            job.stop_when_solved or result.data.task == "binary"
        ):
            out.write(
                f"solved (every output within {result.job.settings.margin} of its target) at epoch "
                f"{summary['solved_epoch']}\n"
            )
        if summary.get("test"):
            t = summary["test"]
            shown = {k: v for k, v in t.items() if not isinstance(v, (dict, list))}
            table(
                out, f"Held-out test ({t['samples']} samples)", ["", "value"], list(shown.items())
            )
        if summary["task_reason"]:
            out.write(f"task: {summary['task_reason']}\n")
        if summary["step"] and (job.compile != "auto" or summary["step"].startswith("compiled")):
            out.write(f"steps: {summary['step']}\n")
        if summary["targets_standardized"]:
            out.write(
                "targets: standardised for training (the loss is in those units); predictions "
                "and the test's other figures are in the targets' own\n"
            )
        if summary["defaults"]:
            said = ", ".join(summary["defaults"])
            out.write(f"defaults (recipe {summary['recipe']}): {said}\n")
        if summary["model"]:
            again = " (replacing the model that was there)" if result.replaced else ""
            out.write(f"model written to {summary['model']}{again}\n")
        if args.plot:
            out.write(f"curves written to {args.plot}\n")
        if args.report:
            from anyprop.explain import network_warnings

            warnings = network_warnings(result.network, result.history.gradients)
            out.write(
                "gradient flow: "
                + (
                    "; ".join(warnings)
                    if warnings
                    else "no vanishing, exploding, saturated or dead units"
                )
                + "\n"
            )
    if job.stop_when_solved and summary["solved_epoch"] is None:
        err.write(f"anyprop train: not solved within {result.job.epochs} epochs\n")
        return 1
    return 0


_STATS = ("runs", "solved", "failures", "min", "max", "mean", "std", "median")


def _seeds(job: TrainJob, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if job.resume:
        what = "--sweep" if args.sweep else "--seeds"
        raise AnypropError(f"{what} starts fresh runs; it cannot be combined with --resume")
    grid = args.sweep or {}
    seeds = 1 if args.seeds is None else args.seeds

    def progress(point: dict[str, Any], k: int, solved: int | None) -> None:
        if not args.json:
            what = f"solved at epoch {solved}" if solved else "not solved"
            at = "".join(f", {name} {_shown(v)}" for name, v in point.items())
            err.write(f"seed {job.seed + k}{at}: {what}\n")

    results = run_sweep(job, seeds, grid, progress)
    rows = [(point, result.stats()) for point, result in results]
    if args.json:
        if grid:
            to_json(out, {"sweep": [{**point, **stats} for point, stats in rows]})
        else:
            to_json(out, rows[0][1])
    else:
        most = max(stats["max_epochs"] for _, stats in rows)
        table(
            out,
            f"Epochs to success over {seeds} seeds{' at each point' if grid else ''} (margin "
            f"{job.given_settings().margin}, at most {most} epochs)",
            [*(n.replace("_", "-") for n in grid), *_STATS],
            [
                [*(_shown(point[n]) for n in grid), *(stats.get(k, "") for k in _STATS)]
                for point, stats in rows
            ],
        )
        stacked = sum(r.together for _, r in results)
        runs = sum(r.runs for _, r in results)
        why = next((r.alone_because for _, r in results if r.alone_because), "")
        if why == "a single run" and grid:
            why = "a single run at each point"
        if stacked == runs:
            out.write(f"runs: {runs}, trained together (stacked)\n")
        elif stacked:
            out.write(
                f"runs: {runs}, {stacked} trained together (stacked), the others alone ({why})\n"
            )
        else:
            out.write(f"runs: {runs}, one at a time ({why})\n")
    return 0 if any(stats["solved"] for _, stats in rows) else 1


def _shown(value: Any) -> str:
    """A swept value as the command line gives it (8,4 for two layers)."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)
