"""The argument parser of ``anyprop``; no maths and no handlers here."""

from __future__ import annotations

import argparse
from typing import Any

from anyprop._version import __version__
from anyprop.train.compiled_step import MODES as COMPILE_MODES
from anyprop.train.recipes import DEFAULT_HIDDEN, DEFAULT_TRANSFER, RECIPES
from anyprop.train.settings import cli_options


def _sub(
    sub: argparse._SubParsersAction,
    name: str,
    help_: str,
    example: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help_,
        description=description or help_,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


#: the most samples a gradient check takes: it runs two forward passes over them for
#: every parameter, so more would take hours without telling anything new
MOST_CHECK_SAMPLES = 10_000


def _batch(value: str) -> int | str:
    if value in ("online", "full"):
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"batch size must be a number, 'online' or 'full', got {value!r}"
        ) from None


def _settings_options(p: argparse.ArgumentParser) -> None:
    """One option per training setting, from its definition (TrainSettings' metadata);
    an option not given leaves no attribute, so the job's own defaults apply."""
    for name, cli, default in cli_options():
        kwargs: dict = {"dest": name, "default": argparse.SUPPRESS, "help": cli["help"]}
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction if default else "store_true"
        elif name == "batch_size":
            kwargs["type"] = _batch
        else:
            kwargs.update({k: cli[k] for k in ("type", "choices") if k in cli})
        p.add_argument(cli["flag"], **kwargs)


def _at_least(minimum: int, most: int | None = None):
    """An argparse type: a whole number >= minimum (and <= most, when given)."""

    def whole(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {n}")
        if most is not None and n > most:
            raise argparse.ArgumentTypeError(f"must be at most {most}, got {value}")
        return n

    return whole


def _positive(value: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number") from None
    if not 0 < x < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {value}")
    return x


def _sizes(value: str) -> int | list[int]:
    """'32' or '64,32': hidden layer sizes."""
    parts = [p.strip() for p in value.split(",")]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not p.lstrip("-").isdigit())
        raise argparse.ArgumentTypeError(
            f"'{bad}' is not a whole number: give sizes such as 32 or 64,32"
        ) from None
    if any(s < 0 for s in sizes) or (len(sizes) > 1 and any(s == 0 for s in sizes)):
        raise argparse.ArgumentTypeError(
            f"layer sizes must be whole numbers >= 1 (or a single 0 for none), got {value!r}"
        )
    return sizes[0] if len(sizes) == 1 else sizes


def _transfers(value: str) -> str | list[str]:
    """'tanh', or 'relu,tanh' (commas inside a formula's parentheses do not split)."""
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(value):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(value[start:k].strip())
            start = k + 1
    parts.append(value[start:].strip())
    if any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"an empty transfer function in {value!r}")
    return parts[0] if len(parts) == 1 else parts


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class _Sweep(argparse.Action):
    """``--sweep NAME VALUE...``: the values read as train's own option NAME reads its
    value (``--sweep hidden 4 8,4`` as ``--hidden 4`` and ``--hidden 8,4``; a switch's
    as true or false); repeated for a grid. Gathers {name: [values]}."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        name, *texts = values
        dest = name.lstrip("-").replace("-", "_")
        if not texts:
            raise argparse.ArgumentError(self, f"give {name} its values: --sweep {name} V1 V2 ...")
        option = next(
            (a for a in parser._actions if a.dest == dest and a is not self),
            None,
        )
        if option is None or dest in ("sweep", "seeds", "help"):
            raise argparse.ArgumentError(self, f"{name!r} is not an option of train to vary")
        grid = dict(getattr(namespace, self.dest, None) or {})
        if dest in grid:
            raise argparse.ArgumentError(self, f"{name} is swept twice: give all its values once")
        grid[dest] = [_option_value(self, option, name, t) for t in texts]
        setattr(namespace, self.dest, grid)


def _option_value(sweep: argparse.Action, option: argparse.Action, name: str, text: str) -> Any:
    """One --sweep value, read as ``option`` reads its own."""
    if option.nargs == 0:  # a switch: --standardize / --no-standardize, --stop-when-solved
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise argparse.ArgumentError(sweep, f"{name} {text!r}: a switch is true or false")
    try:
        value = option.type(text) if option.type is not None else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
        raise argparse.ArgumentError(
            sweep, f"{name} {text!r}: {e or 'not a valid value'}"
        ) from None
    if option.choices is not None and value not in option.choices:
        raise argparse.ArgumentError(
            sweep, f"{name} {text!r}: one of {', '.join(map(str, option.choices))}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anyprop",
        description="Train neural networks of any shape with one rule: backpropagation.",
        epilog="Run 'anyprop COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"anyprop {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks of errors")
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="the most memory one array (weights, a data set) may take, such as 512M or 8G "
        "(default: what the system has available; or ANYPROP_MEMORY_LIMIT)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    t = _sub(
        sub,
        "train",
        "train a network (with no arguments: the embedded digits example)",
        "anyprop train examples/specs/xor.toml --data xor --optimizer sgd --lr 0.5 "
        "--momentum 0.9 --epochs 2000 --stop-when-solved --seeds 10",
        "Train a network. SPEC is a network spec file (TOML); without one, a network that "
        "fits the data is made (one hidden layer). With no arguments at all, trains the "
        "embedded default: a network with a skip connection and a formula transfer "
        "function on the bundled digits.",
    )
    t.add_argument("spec", nargs="?", help="network spec file (.toml)")
    t.add_argument(
        "--data", help="a data set name (see 'anyprop datasets list') or a file (.csv, .npy, .npz)"
    )
    t.add_argument(
        "--target",
        action="append",
        help="target column of a data file: a name or number, a range y0:y9, or a pattern "
        "'y*' (repeat for several); default: the last column",
    )
    t.add_argument(
        "--epochs",
        type=int,
        help="epochs to train (in all, when resuming; default: the recipe's, at most 200)",
    )
    t.add_argument(
        "--optimizer",
        help="sgd, adam, adamw, rmsprop, adagrad, irprop, quickprop (default: the recipe's, adam)",
    )
    t.add_argument(
        "--lr",
        type=float,
        help="learning rate (default: the optimizer's own: sgd 0.01, adam 0.001)",
    )
    t.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        help="what fills the options not given: tabular (the default, measured: adam, batches "
        "of 64, up to 200 epochs, early stopping from 10000 rows; docs/accuracy.md) or plain "
        "(the rule itself: full-batch sgd at 0.01, 100 epochs)",
    )
    t.add_argument("--momentum", type=float, help="momentum α for sgd")
    t.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay λ")
    t.add_argument("--clip-norm", type=float, help="clip the gradients to this global norm")
    t.add_argument("--rule", help="an update rule as a formula, e.g. 'w - lr*g + 0.9*dw'")
    t.add_argument("--schedule", help="learning-rate schedule: step, exponential, cosine, plateau")
    t.add_argument("--seed", type=int, default=0, help="random seed (weights, shuffling)")
    t.add_argument(
        "--hidden",
        type=_sizes,
        default=DEFAULT_HIDDEN,
        metavar="SIZES",
        help=f"hidden layers when no spec is given: a size, or sizes such as 64,32 (0: none; "
        f"default {DEFAULT_HIDDEN})",
    )
    t.add_argument(
        "--transfer",
        type=_transfers,
        default=None,
        help=f"hidden transfer function when no spec is given (default {DEFAULT_TRANSFER}, "
        "tanh for sequences; a name or a formula in x), or one per hidden layer: relu,tanh",
    )
    t.add_argument(
        "--task",
        choices=["classification", "regression"],
        help="how to read the targets (default: decided from the data and the spec, and "
        "said in the summary: whole numbers with at most 20 values are classes)",
    )
    t.add_argument(
        "--validation-split",
        type=float,
        help="fraction held out for validation (default: the recipe's: 0.1 from 10000 rows, "
        "else none; 0: none)",
    )
    t.add_argument(
        "--test-split",
        type=float,
        help="fraction held out before anything else and scored at the end (as evaluate)",
    )
    t.add_argument("--test", metavar="DATA", help="a file or data set scored at the end")
    t.add_argument(
        "--impute",
        choices=["mean", "median", "most_frequent"],
        help="fill missing input values with the training part's mean, median or most "
        "frequent value (saved in the model; by default missing values are an error)",
    )
    t.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise the inputs (default: when not all in [-1, 1])",
    )
    t.add_argument(
        "--standardize-targets",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise regression targets for training; predictions come back in their "
        "own units (default: for a linear output, when the targets are not all in [-1, 1])",
    )
    t.add_argument(
        "--early-stopping",
        type=int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without improvement (of the validation loss, or "
        "else the training loss); keep the best weights (default: the recipe's: 10 where "
        "there is a validation part)",
    )
    t.add_argument(
        "--no-early-stopping",
        dest="early_stopping",
        action="store_const",
        const=False,
        help="no early stopping, not even the recipe's: every epoch is run",
    )
    t.add_argument(
        "--min-delta",
        type=float,
        metavar="DELTA",
        help="the least improvement early stopping counts (default 0; the recipe's stop "
        "once the training loss settles: 1e-4)",
    )
    t.add_argument("--target-loss", type=float, help="stop when the loss reaches this")
    t.add_argument(
        "--stop-when-solved",
        action="store_true",
        help="stop when every output is within --margin of its target",
    )
    _settings_options(t)
    t.add_argument(
        "--seeds",
        type=int,
        help="train from this many seeds and report the epochs to "
        "success (min, max, mean, std), as the classic papers",
    )
    t.add_argument(
        "--sweep",
        nargs="+",
        action=_Sweep,
        metavar=("NAME", "VALUE"),
        help="the --seeds runs (default 1) at each of these values of an option, read as "
        "the option reads them: --sweep lr 0.1 0.5 1; repeat for a grid (--sweep momentum "
        "0 0.9); one row of epochs to success per point",
    )
    t.add_argument(
        "--out",
        help="where to write the model (default: model.anyprop; with --resume, the model "
        "resumed, replaced atomically)",
    )
    t.add_argument("--no-save", action="store_true", help="do not write a model file")
    t.add_argument(
        "--checkpoint-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="write the model at most this often while training (default 5; 0: "
        "every epoch); Ctrl-C keeps the last one",
    )
    t.add_argument(
        "--resume",
        metavar="MODEL",
        help="continue a run from its model file, to --epochs in all (its settings, "
        "optimizer and data as they were; a flag that differs is an error)",
    )
    t.add_argument("--plot", metavar="PNG", help="write training curves to this PNG")
    t.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel training over the processes of an MPI run (mpiexec -n P anyprop "
        "train ... --distributed): each takes its part of every batch of P × --batch-size "
        "rows; process 0 prints and writes the model (needs anyprop[mpi])",
    )
    t.add_argument(
        "--compile",
        choices=list(COMPILE_MODES),
        default="auto",
        help="run the steps compiled (numba, anyprop[fast]) where that pays (auto: by a "
        "model of both paths' time, in a run long enough to gain), from the first step, "
        "or never; the same model either way, up to the order of floating-point sums",
    )
    t.add_argument(
        "--threads",
        type=_at_least(1, most=1024),
        metavar="N",
        help="threads for the matrix products (default: the BLAS's own, one a process "
        "under mpiexec); the same model for any count, up to the order of sums",
    )
    t.add_argument(
        "--shard-rows",
        action="store_true",
        help="with --distributed, for data too large for one process: each reads only its "
        "share of the data file's rows (process r of P: rows r·N/P to (r+1)·N/P); or put "
        "{rank} in --data for a file per process",
    )
    t.add_argument(
        "--report",
        action="store_true",
        help="record where gradients flow; warn of vanishing, exploding, saturated or dead units",
    )
    t.add_argument("--json", action="store_true", help="machine-readable output")
    t.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the progress bar (default: when the terminal is interactive)",
    )

    e = _sub(
        sub,
        "evaluate",
        "a trained model's loss and metrics on data",
        "anyprop evaluate model.anyprop --data digits",
    )
    e.add_argument("model", help="model file")
    e.add_argument("--data", help="data set name or file (default: the training data)")
    e.add_argument("--target", action="append", help="target column(s) of a data file")
    e.add_argument(
        "--plot",
        metavar="PNG",
        help="draw the confusion matrix (classes) or predicted against true (values)",
    )
    e.add_argument("--json", action="store_true", help="machine-readable output")

    p = _sub(
        sub,
        "predict",
        "a trained model's outputs for new inputs",
        "anyprop predict model.anyprop inputs.csv --out predictions.csv",
    )
    p.add_argument("model", help="model file")
    p.add_argument("input", help="CSV of inputs (one row per sample; '-' reads standard input)")
    p.add_argument("--out", default="-", help="CSV to write ('-', the default, is standard output)")

    i = _sub(
        sub,
        "info",
        "what a model file holds: topology, parameters, training",
        "anyprop info model.anyprop",
    )
    i.add_argument("model", help="model file")
    i.add_argument("--json", action="store_true", help="machine-readable output")

    tr = _sub(
        sub,
        "transfer",
        "the transfer functions: list them, or show one and its derivative",
        "anyprop transfer show 'x/(1+abs(x))' --plot softsign.png",
    )
    tsub = tr.add_subparsers(dest="action", metavar="ACTION")
    tl = _sub(tsub, "list", "list the transfer functions", "anyprop transfer list")
    tl.add_argument("--json", action="store_true", help="machine-readable output")
    ts = _sub(
        tsub,
        "show",
        "a transfer function: f, f' as formulas, and values",
        "anyprop transfer show leaky_relu --param alpha=0.2",
    )
    ts.add_argument("name", help="a name or a formula in x")
    ts.add_argument("--param", action="append", default=[], help="a parameter, name=value")
    ts.add_argument("--plot", metavar="PNG", help="draw f and f' to this PNG")
    ts.add_argument("--json", action="store_true", help="machine-readable output")

    c = _sub(
        sub,
        "check",
        "check every gradient against finite differences (float64)",
        "anyprop check examples/specs/skip.toml --data moons",
        "Whole-network gradient check: each connection's weights and each group's biases, "
        "backpropagated, against central differences of the loss, in float64, on a few "
        "samples. Exit status 1 when any is above the tolerance.",
    )
    c.add_argument("network", help="a model file or a spec file (.toml)")
    c.add_argument("--data", help="data set name or file (default for a model: its training data)")
    c.add_argument("--target", action="append", help="target column(s) of a data file")
    c.add_argument(
        "--samples",
        type=_at_least(1, most=MOST_CHECK_SAMPLES),
        default=4,
        help=f"samples to check on (4; at most {MOST_CHECK_SAMPLES})",
    )
    c.add_argument("--tolerance", type=_positive, default=1e-5, help="largest error allowed (1e-5)")
    c.add_argument("--json", action="store_true", help="machine-readable output")

    x = _sub(
        sub,
        "explain",
        "one weight's next step, with every number on its path",
        'anyprop explain model.anyprop --weight "h1[3]->output[0]" --sample 0',
        "Explain the step training takes next for one weight or bias, as the trainer takes "
        "it (its batch, loss reduction, Fahlman's fixes, optimizer state, schedule): one "
        "sample's x and t, o_i, δ_j expanded by the general rule over every connection "
        "leaving the unit, f' and ∂L/∂o with their formulas, the gradient, then the "
        "optimizer's rule with this weight's state, ending in the new weight; and the "
        "gradient by finite differences beside it. A recurrent model is explained through "
        "time: the gradient's terms step by step, δ at one step (--step) expanded over the "
        "paths at that step and the delayed paths to later steps.",
    )
    x.add_argument("network", help="a model file or a spec file (.toml)")
    x.add_argument(
        "--weight",
        required=True,
        help='the weight, as "SOURCE[i]->TARGET[j]" (a unit graph: "U->V"), or a bias, '
        'as "GROUP.bias[j]"',
    )
    x.add_argument("--data", help="data set name or file (default for a model: its training data)")
    x.add_argument("--target", action="append", help="target column(s) of a data file")
    x.add_argument(
        "--sample",
        type=int,
        default=0,
        help="the sample of the step's batch whose terms are shown (0)",
    )
    x.add_argument(
        "--batch",
        type=int,
        default=0,
        metavar="K",
        help="explain step K of the next epoch (the steps before it are taken first; 0: "
        "the very next step)",
    )
    x.add_argument(
        "--step",
        type=_at_least(0),
        metavar="T",
        help="a recurrent network on sequences: the time step whose δ is expanded (default: "
        "the step whose term of the gradient is largest)",
    )
    x.add_argument(
        "--depth", type=_at_least(0), default=2, help="how deep to expand the deltas (2)"
    )
    x.add_argument(
        "--lr",
        type=float,
        help="explain one step of plain gradient descent with this learning rate η on the "
        "whole data instead (default: the model's own trainer; for a spec, η = 0.01)",
    )
    x.add_argument("--json", action="store_true", help="machine-readable output")

    r = _sub(
        sub,
        "report",
        "where gradients flowed while a model trained (with --report)",
        "anyprop report model.anyprop --plot flow.png --out report.html",
    )
    r.add_argument("model", help="a model file trained with 'anyprop train --report'")
    r.add_argument("--plot", metavar="PNG", help="draw each group's mean |δ| per epoch")
    r.add_argument(
        "--diagram",
        metavar="FILE",
        help="draw the network (.png or .svg): arrow widths show the last epoch's gradient norms",
    )
    r.add_argument(
        "--units",
        metavar="FILE",
        help="draw every unit (up to 100) coloured by its δ on one sample (.png or .svg)",
    )
    r.add_argument(
        "--sample", type=int, default=0, help="the sample whose δ --units shows (default 0)"
    )
    r.add_argument(
        "--out",
        metavar="HTML",
        help="write one self-contained HTML report: diagram, curves, gradient flow, one weight",
    )
    r.add_argument(
        "--time-plot",
        metavar="PNG",
        help="a recurrent model: draw each recurrent group's mean |δ(t)| against the steps "
        "before an error at the last step (the vanishing-gradient picture)",
    )
    r.add_argument("--weight", help="the weight the HTML report explains (default: a hidden one)")
    r.add_argument(
        "--data", help="data set name or file for the explained weight (default: the training data)"
    )
    r.add_argument("--target", action="append", help="target column(s) of a data file")
    r.add_argument("--json", action="store_true", help="machine-readable output")

    ds = _sub(sub, "datasets", "the data sets anyprop knows by name", "anyprop datasets list")
    dsub = ds.add_subparsers(dest="action", metavar="ACTION")
    dl = _sub(dsub, "list", "list the data sets", "anyprop datasets list --json")
    dl.add_argument("--json", action="store_true", help="machine-readable output")

    xp = _sub(
        sub,
        "export",
        "a trained model as an ONNX file (raw rows in, what predict prints out)",
        "anyprop export model.anyprop --format onnx --out model.onnx",
    )
    xp.add_argument("model", help="model file")
    xp.add_argument("--format", choices=["onnx"], default="onnx", help="the format (onnx)")
    xp.add_argument("--out", required=True, metavar="FILE", help="the file to write (.onnx)")
    xp.add_argument(
        "--dense-limit",
        type=_at_least(0),
        default=None,
        help="sparse connections up to this many cells as dense matrices (default 4194304)",
    )

    ops = _sub(
        sub,
        "ops",
        "list the autodiff primitives with their derivatives",
        "anyprop ops --json",
        "List anyprop's autodiff primitives, each with its derivative's formula.",
    )
    ops.add_argument("name", nargs="?", help="show one primitive in full")
    ops.add_argument("--json", action="store_true", help="machine-readable output")
    return parser
