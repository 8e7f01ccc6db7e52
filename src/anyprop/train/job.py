"""A training job: data and network in, trained model out (what ``anyprop train`` runs).

>>> job = TrainJob(data="xor", hidden=3, transfer="tanh", optimizer="sgd", lr=0.5,
...                momentum=0.9, epochs=400, out=None)
>>> result = run(job)
>>> result.history.last("loss") < 0.05
True

A job names its data (a data set or a file), optionally a network spec, and
how to train. Without a spec, a network that fits the data is made: one hidden
layer, and an output layer and loss that fit the task (softmax and
cross-entropy for classes, sigmoid and MSE for 0/1 targets, linear and MSE for
numbers). Inputs are standardised when they are not already in [−1, 1].
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.data import Dataset, Imputer, Standardizer
from anyprop.data.sequences import Sequences
from anyprop.errors import AnypropError
from anyprop.fileio import check_output
from anyprop.nn import Network
from anyprop.nn import spec as spec_io
from anyprop.train import sequence_task
from anyprop.train.callbacks import Callback, Checkpoint, EarlyStopping, GradientStats
from anyprop.train.compiled_step import StepEngine
from anyprop.train.history import History
from anyprop.train.model_io import load_model
from anyprop.train.recipes import DEFAULT_HIDDEN, DEFAULT_TRANSFER, UNSET, recipe
from anyprop.train.settings import TrainSettings, _is_number, known_settings
from anyprop.train.sources import as_dataset, load_data  # noqa: F401 (re-exported)
from anyprop.train.task import MODEL_TASKS, decide_task, model_task_data, one_hot_for
from anyprop.train.trainer import Trainer, split_seed_for

#: The embedded default: a network with a skip connection and a transfer function
#: given as a formula, on the bundled digits. ``anyprop train`` with no arguments.
DEFAULT_SPEC = """
# The embedded default of `anyprop train`: handwritten digits (8x8 pixels, 10 classes).
[network]
name = "digits-skip"
seed = 0

[groups.pixels]
size = 64
input = true

[groups.hidden]
size = 48
transfer = "x/(1+abs(x))"      # softsign, given as a formula: its derivative is found for you

[groups.digit]
size = 10
transfer = "softmax"
loss = "cross_entropy"          # fused with softmax: the output delta is o - t

[[connections]]
from = "pixels"
to = "hidden"

[[connections]]
from = "hidden"
to = "digit"

[[connections]]                 # a skip connection: pixels straight to the output
from = "pixels"
to = "digit"
"""

DEFAULTS = {
    "data": "digits",
    "epochs": 30,
    "optimizer": "adam",
    "lr": 0.003,
    "validation_split": 0.2,
    "early_stopping": False,
}
#: the embedded default's training settings (those not given on the command line)
DEFAULT_SETTINGS = TrainSettings(batch_size=32)


@dataclass
class TrainJob:
    """What to train and how; every field has the meaning of the matching CLI option, and
    ``settings`` holds the training settings (batch size, loss reduction, margin...)."""

    data: str | Dataset | None = None
    spec: str | None = None  # a spec file's path, or None (a network made for the data)
    spec_text: str | None = None  # spec TOML given as text
    network: Any = None  # or a Network made in Python (trained as a copy: it stays as it is)
    dtype: str | None = None  # float32 or float64 for the network; None: the spec's (float32)
    target: Any = None
    hidden: int | list[int] = DEFAULT_HIDDEN  # the hidden layers' sizes when no spec is given
    #: one for all hidden layers, or one each; None: relu for tables, tanh for sequences
    transfer: str | list[str] | None = None
    epochs: int | None = None  # None: the recipe's
    # the settings given (a mapping: the recipe fills the batch size when it is not among
    # them), or all of them (TrainSettings: taken as they are)
    settings: TrainSettings | Mapping[str, Any] = field(default_factory=dict)
    optimizer: str | None = None  # None: the recipe's (at its own default learning rate)
    recipe: str | None = None  # what fills the options not given (recipes.RECIPES)
    lr: float | None = None
    momentum: float | None = None
    rule: str | None = None  # an update rule as a formula (the "formula" optimizer)
    weight_decay: float = 0.0
    clip_norm: float | None = None
    schedule: Any = None
    seed: int = 0
    validation_split: float | None = None  # None: the recipe's (a hold-out for large sets)
    standardize: bool | None = None  # None: when the inputs are not all in [-1, 1]
    # regression targets standardised for training (predictions in their own units);
    # None: when the output is linear (identity) and the targets are not all in [-1, 1]
    standardize_targets: bool | None = None
    # patience; None: the recipe's (a validation part gets early stopping); False: none
    early_stopping: int | bool | None = None
    min_delta: float | None = None  # the least improvement early stopping counts (0)
    restore_best: bool = True  # early stopping puts back the best epoch's weights
    target_loss: float | None = None
    stop_when_solved: bool = False
    out: str | None = "model.anyprop"
    checkpoint_seconds: float = 5.0
    resume: str | None = None
    report: bool = False  # record where gradients flow (GradientStats) for warnings and plots
    task: str | None = None  # "classification" or "regression"; None: decided (decide_task)
    test_split: float = 0.0  # a part held out before anything else, scored at the end
    test: str | None = None  # or a file (or data set) scored at the end
    impute: str | None = None  # fill missing inputs: "mean", "median" or "most_frequent"
    reseed: bool = False  # draw a spec's weights from ``seed`` even when the spec gives its own
    start: Any = None  # a Model in memory to go on training (as ``resume`` does a file)
    extra_callbacks: list[Callback] = field(default_factory=list)
    #: data-parallel over the processes of an MPI run (``mpiexec -n P``): each takes its
    #: part of every batch, and only process 0 writes the model and its checkpoints
    distributed: bool = False
    #: with ``distributed``: each process trains on its own data (``data`` is its file),
    #: standardised by the statistics of every process's data together
    shard_data: bool = False
    #: with ``distributed``: each process reads only its part of the one data file (rows
    #: r·N/P up to (r+1)·N/P of its N, for process r of P) and trains on it as with
    #: ``shard_data``: for data too large for one process
    shard_rows: bool = False
    #: the steps compiled (numba) where that pays, from the first step, or never:
    #: "auto", "always" or "never" (anyprop.train.compiled_step)
    compile: str = "auto"
    #: threads for the matrix products (anyprop.set_threads); None: as the process has
    threads: int | None = None

    def given_settings(self) -> TrainSettings:
        """The training settings as given (the recipe may yet fill the batch size)."""
        if isinstance(self.settings, TrainSettings):
            return self.settings
        return TrainSettings(**known_settings(self.settings))

    @classmethod
    def default(cls, settings: Mapping[str, Any] | None = None, **overrides: Any) -> TrainJob:
        """The embedded default job (the digits network with a skip connection); the
        ``settings`` given replace those of :data:`DEFAULT_SETTINGS`."""
        if overrides.get("recipe") is not None:
            raise AnypropError(
                "--recipe fills the options of a run on your data (--data); the embedded "
                "default sets its own"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise AnypropError(f"a training job has no option '{unknown[0]}'")
        fields = {**DEFAULTS, "spec_text": DEFAULT_SPEC, **overrides}
        given = known_settings(settings or {})
        fields["settings"] = dataclasses.replace(DEFAULT_SETTINGS, **given)
        return cls(**fields)


@dataclass
class TrainResult:
    network: Any
    history: History
    data: Dataset
    standardizer: Standardizer | None
    out: str | None
    seconds: float
    epochs_run: int
    resumed_from: int = 0
    task_reason: str = ""  # the task and why it was chosen (decide_task)
    trainer: Any = None
    extra: dict[str, Any] = field(default_factory=dict)  # what the model file holds besides
    test: dict[str, Any] | None = None  # the held-out test part's figures, when asked for
    job: Any = None  # the job as it ran: every option the recipe filled, filled
    defaults: list[str] = field(default_factory=list)  # what the recipe filled, in words
    replaced: bool = False  # the model file was there before, and is replaced

    def model(self) -> Any:
        """The trained model, as ``load_model`` would give it from the file ``train`` writes."""
        return result_model(self.network, self.standardizer, self.data, self.extra, self.trainer)

    def summary(self) -> dict[str, Any]:
        h = self.history
        final = {k: v for k, v in (h.epochs[-1] if h.epochs else {}).items() if k != "time"}
        best = {}
        for key in h.names():
            if key in ("lr", "time"):
                continue
            values = h[key]
            higher = key.removeprefix("val_") in ("accuracy", "r2", "solved")
            best[key] = max(values) if higher else min(values)
        return {
            "epochs": len(h),
            "final": final,
            "best": best,
            "stop_reason": h.stop_reason,
            "solved_epoch": h.solved_epoch,
            "seconds": self.seconds,
            "model": self.out,
            "data": self.data.name,
            "task": self.data.task,
            "task_reason": self.task_reason,
            "defaults": self.defaults,
            "targets_standardized": self.extra.get("target_scaler") is not None,
            "recipe": recipe(None if self.job is None else self.job.recipe).name,
            "test": self.test,
            "samples": len(self.data),
            "step": None if self.trainer is None else self.trainer.engine.reason,
        }


def result_model(network: Any, std: Any, data: Dataset, extra: dict, trainer: Any) -> Any:
    """A trained network as the model object ``load_model`` gives for its file."""
    from anyprop.train.model_io import Model

    state = None if trainer is None else trainer.state_dict()
    return Model(
        network,
        std,
        extra.get("labels"),
        list(extra.get("feature_names") or []),
        list(extra.get("target_names") or []),
        extra.get("task") or data.task,
        None if state is None else state["history"],
        state,
        extra.get("info") or {},
        extra.get("columns"),
        extra.get("imputer"),
        extra.get("target_scaler"),
        extra.get("label_kind", "text"),
    )


def default_network(data: Dataset, hidden: Any, transfer: Any, seed: int) -> Network:
    """The hidden layers asked for (a size, or a list of sizes; 0 or [] for none), each
    with ``transfer`` (one for all, or a list with one per layer), and the output layer
    and loss the task calls for."""
    out_transfer, loss = {
        "classification": ("softmax", "cross_entropy"),
        "binary": ("sigmoid", "mse"),
    }.get(data.task, ("identity", "mse"))
    layers = list(hidden) if isinstance(hidden, (list, tuple)) else ([hidden] if hidden else [])
    if isinstance(transfer, (list, tuple)) and len(transfer) != len(layers):
        raise AnypropError(
            f"{len(transfer)} transfer functions (--transfer) for {len(layers)} hidden "
            f"layer{'s' if len(layers) != 1 else ''} (--hidden): give one, or one per layer"
        )
    sizes = [data.x.shape[1], *layers, data.n_outputs]
    return Network.layered(
        sizes, transfer=transfer, output_transfer=out_transfer, loss=loss, seed=seed
    )


def _check_fit(network: Any, data: Dataset) -> None:
    if len(data) == 0:
        raise AnypropError(f"the data '{data.name}' have no rows to train on")
    if not any(network.groups[g].loss is not None for g in network.outputs):
        raise AnypropError("the network has no output group with a loss to train")
    n_in, n_out = network.input_width, network.target_width
    if data.x.shape[1] != n_in:
        raise AnypropError(
            f"the data '{data.name}' have {data.x.shape[1]} input columns, but the "
            f"network has {n_in} input units"
        )
    need = data.n_outputs
    if data.task == "classification":
        if n_out != need and not (n_out == 1 and need == 2):  # one unit for two classes: 0/1
            raise AnypropError(
                f"the data '{data.name}' have {need} classes, but the network's "
                f"output has {n_out} units"
            )
    elif n_out != need:
        raise AnypropError(
            f"the data '{data.name}' have {need} target column(s), but the "
            f"network's output has {n_out} units"
        )


def _part(job: TrainJob) -> tuple[int, int] | None:
    """This process's part of the data file, (r, P), for ``shard_rows``."""
    if not job.shard_rows:
        return None
    if not job.distributed:
        raise AnypropError("--shard-rows shares the data among the processes of --distributed")
    from anyprop.train.distributed import mpi

    comm = mpi().COMM_WORLD
    return comm.Get_rank(), comm.Get_size()


def _agreed(job: TrainJob, data: Any) -> Any:
    """A process's own data read as every process's together would be (shards.agree)."""
    if not job.shard_data:
        return data
    from anyprop.train.distributed import mpi
    from anyprop.train.shards import agree

    return agree(data, mpi().COMM_WORLD)


def _standardizer(job: TrainJob, data: Dataset) -> Standardizer | None:
    if job.shard_data:  # every process's data together: one standardisation for all
        from anyprop.train.distributed import global_max_abs, global_standardizer

        want = job.standardize if job.standardize is not None else global_max_abs(data.x) > 1
        return global_standardizer(data.x, data.weights) if want else None
    want = job.standardize
    if want is None:
        want = bool(np.abs(data.x).max() > 1.0)
    return Standardizer.fit(data.x, data.weights) if want else None


def _target_scaler(job: TrainJob, network: Any, data: Dataset) -> Standardizer | None:
    """Regression targets standardised on the training part (y ↦ (y − mean)/std), so that
    one learning rate fits targets of any scale; predictions are mapped back. By default
    where the output is linear and the targets are not already in [-1, 1] (a bounded
    output, such as a sigmoid's, keeps its targets as they are)."""
    if data.task != "regression":
        if job.standardize_targets:
            raise AnypropError("--standardize-targets is for regression; these targets are classes")
        return None
    want = job.standardize_targets
    if want is None:
        linear = all(
            getattr(network.groups[g].transfer, "name", "") == "identity" for g in network.outputs
        )
        if job.shard_data:
            from anyprop.train.distributed import global_max_abs

            want = linear and global_max_abs(data.y) > 1.0
        else:
            want = linear and bool(np.abs(data.y).max() > 1.0)
    if not want:
        return None
    y = np.asarray(data.y, dtype=np.float64).reshape(len(data), -1)
    if job.shard_data:
        from anyprop.train.distributed import global_standardizer

        return global_standardizer(y, data.weights)
    return Standardizer.fit(y, data.weights)


def _decide(data: Any, task: str | None, network: Any = None) -> tuple[Any, str]:
    """The task of a table's data set or of sequences, and why."""
    if isinstance(data, Sequences):
        return sequence_task.decide_task(data, task, network)
    return decide_task(data, task, network)


def _check_sequence_job(job: TrainJob) -> None:
    """What a job on sequences cannot do, named."""
    if job.impute is not None:
        raise AnypropError("--impute is for tables; sequences hold no missing values")
    if job.standardize or job.standardize_targets:
        raise AnypropError(
            "--standardize is for tables; sequences are taken as they are (scale them first)"
        )


def _network(job: TrainJob, data: Dataset) -> Any:
    """The job's network. A spec's weights come from the spec's own seed; without one (or
    when ``reseed``), from the job's seed, so that every run is reproducible."""
    if job.network is not None:
        net = copy.deepcopy(job.network)
    elif job.spec_text is None and job.spec is None:
        sequences = isinstance(data, Sequences)
        make = sequence_task.default_network if sequences else default_network
        transfer = job.transfer
        if transfer is None:  # the usual choice of each: tanh keeps a recurrence bounded
            transfer = sequence_task.DEFAULT_TRANSFER if sequences else DEFAULT_TRANSFER
        net = make(data, job.hidden, transfer, job.seed)
        return net if job.dtype in (None, net.dtype) else net.astype(job.dtype)
    else:
        net = (
            spec_io.loads(
                job.spec_text,
                "<embedded default>" if job.spec_text == DEFAULT_SPEC else "<spec text>",
            )
            if job.spec_text is not None
            else spec_io.load(job.spec)
        )
    if job.dtype not in (None, net.dtype):
        net = net.astype(job.dtype)
    if job.reseed or not net.seeded:
        net.reinitialize(job.seed)
    return net


def _optimizer_options(job: TrainJob) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if job.rule is not None:
        opts["rule"] = job.rule
    if job.lr is not None:
        opts["lr"] = job.lr
    if job.momentum is not None:
        opts["momentum"] = job.momentum
    if job.weight_decay:
        opts["weight_decay"] = job.weight_decay
    if job.clip_norm is not None:
        opts["clip_norm"] = job.clip_norm
    return opts


def _imputed(data: Dataset | None, imputer: Imputer) -> Dataset | None:
    return None if data is None else dataclasses.replace(data, x=imputer.transform(data.x))


def _standardized(
    data: Dataset | None, std: Standardizer | None, target: Standardizer | None = None
) -> Dataset | None:
    if data is None or (std is None and target is None):
        return data
    y = data.y
    if target is not None:
        y = target.transform_targets(y)
    return dataclasses.replace(
        data,
        x=data.x if std is None else std.transform(data.x),
        y=y,
        columns=None,
        target_scaler=target,
    )


def _filled(job: TrainJob, model: Any, rows: int) -> tuple[TrainJob, list[str]]:
    """The job with every option it left unset filled: by its recipe for a fresh run on
    ``rows`` rows (and what was filled, in words); by the resumed model's own run."""
    if model is not None:
        return _check_stopping(_resumed(job, model)), []
    given = job.settings
    if isinstance(given, TrainSettings):
        batch = given.batch_size
        given = {}
    else:
        batch = given.get("batch_size", UNSET)
    filled = recipe(job.recipe).fill(
        rows,
        "formula" if job.rule is not None else job.optimizer,
        job.epochs,
        batch,
        job.validation_split,
        job.early_stopping,
        job.stop_when_solved or job.target_loss is not None,
        job.min_delta,
    )
    fields = dict(filled.fields)
    if fields.get("optimizer") not in (None, "sgd") and job.momentum is not None:
        raise AnypropError(
            f"momentum (--momentum) is an option of sgd, and the default optimizer is "
            f"{fields['optimizer']} (recipe {recipe(job.recipe).name}): give --optimizer sgd "
            "with it"
        )
    settings = job.settings
    if "batch_size" in fields:
        settings = TrainSettings(
            **{**known_settings(given), "batch_size": fields.pop("batch_size")}
        )
    elif not isinstance(settings, TrainSettings):
        settings = TrainSettings(**known_settings(given))
    job = dataclasses.replace(job, settings=settings, **fields)
    return _check_stopping(_cosine_over_the_run(job)), filled.said


def _number(value: Any) -> bool:
    return _is_number(value) and value == value  # (a real number, not NaN)


def _check_numbers(job: TrainJob) -> None:
    """The stopping and splitting options, each a number in its range or an error
    naming its flag."""
    if not isinstance(job.settings, TrainSettings):
        known_settings(job.settings)
    delta = job.min_delta
    if delta is not None and not (_number(delta) and 0 <= delta < math.inf):
        raise AnypropError(f"--min-delta must be a number >= 0, got {delta!r}")
    patience = job.early_stopping
    whole = isinstance(patience, int) and not isinstance(patience, bool) and patience >= 1
    if patience is not None and patience is not False and not whole:
        raise AnypropError(
            f"--early-stopping (the patience, in epochs) must be a whole number >= 1, "
            f"got {patience!r}"
        )
    e = job.epochs
    if e is not None and (isinstance(e, bool) or not isinstance(e, int) or e < 0):
        raise AnypropError(f"--epochs must be a whole number >= 0, got {e!r}")
    seed = job.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise AnypropError(f"--seed must be a whole number >= 0, got {seed!r}")
    every = job.checkpoint_seconds
    if not (_number(every) and 0 <= every < math.inf):
        raise AnypropError(f"--checkpoint-every must be a number of seconds >= 0, got {every!r}")
    for flag, value in (
        ("--validation-split", job.validation_split),
        ("--test-split", job.test_split),
    ):
        if value is not None and not (_number(value) and 0 <= value < 1):
            raise AnypropError(f"{flag} must be a fraction in [0, 1), got {value!r}")


def _resumed(job: TrainJob, model: Any) -> TrainJob:
    """A resumed run's job: it goes on as it was set up (its recipe, hold-out, epochs and
    early stopping), with what is given replacing only itself."""
    saved = model.info.get("job", {})
    epochs = job.epochs if job.epochs is not None else saved.get("epochs")
    done = int(model.trainer_state.get("epoch", 0))
    name = job.recipe if job.recipe is not None else saved.get("recipe")
    if job.recipe is not None and saved.get("recipe") not in (None, job.recipe):
        raise AnypropError(
            f"--recipe {job.recipe} differs from the resumed model's ({saved['recipe']}): a "
            "resumed run keeps its recipe; train afresh to change it"
        )
    if epochs is None:
        epochs = recipe(name).epochs
    if epochs <= done:
        raise AnypropError(
            f"{job.resume} has already done {done} epochs: give --epochs larger than "
            f"{done} to go on (--epochs counts the epochs in all)"
        )
    split = job.validation_split
    if split is None:
        split = saved.get("validation_split") or 0.0
    stop: dict[str, Any] = {}  # the run's early stopping, as it had it (older files: none)
    settle = saved.get("restore_best") is False  # the recipe's stop once the loss settles
    mine = job.early_stopping is None and saved.get("early_stopping") is not None
    if mine and not (settle and job.epochs is not None):  # epochs given: run them all
        stop = {
            "early_stopping": saved["early_stopping"],
            "restore_best": saved.get("restore_best", True),
        }
    if job.early_stopping is not None or stop:
        keep = saved.get("min_delta") if stop else None
        delta = job.min_delta if job.min_delta is not None else keep
        stop["min_delta"] = float(delta or 0.0)
    return dataclasses.replace(job, recipe=name, epochs=epochs, validation_split=split, **stop)


def _cosine_over_the_run(job: TrainJob) -> TrainJob:
    """A cosine schedule given without its length anneals over the run's epochs."""
    sched = job.schedule
    named = sched if isinstance(sched, str) else None
    if isinstance(sched, Mapping) and "epochs" not in sched:
        named = sched.get("name")
    if named != "cosine":
        return job
    spec = {**(sched if isinstance(sched, Mapping) else {"name": "cosine"}), "epochs": job.epochs}
    return dataclasses.replace(job, schedule=spec)


def _check_stopping(job: TrainJob) -> TrainJob:
    """A filled job's early stopping made plain: False (none, by choice) becomes None; a
    min_delta given without early stopping is an error, not ignored."""
    if job.early_stopping is False:
        job = dataclasses.replace(job, early_stopping=None)
    if job.early_stopping is None:
        if job.min_delta:
            raise AnypropError(
                "--min-delta applies to early stopping, which this run does not use: give "
                "--early-stopping PATIENCE with it"
            )
        return job
    if job.min_delta is None:
        return dataclasses.replace(job, min_delta=0.0)
    return job


@dataclass
class Started:
    """A job ready for its first epoch (:func:`start`): its trainer and data made, the
    recipe's options filled; :func:`run` fits it, :mod:`anyprop.train.stacked` fits
    several of them together."""

    job: TrainJob  # as filled by the recipe
    trainer: Any
    train: Any  # the training part, standardised
    val: Any  # the validation part, or None
    test: Any  # the held-out test part (or file), or None
    data: Any  # the data as read (before the splits)
    network: Any
    std: Any
    extra: dict[str, Any]
    task_reason: str
    said: list[str]
    replaced: bool
    resumed_from: int


def run(
    job: TrainJob,
    callbacks: Iterable[Callback] = (),
    on_start: Callable[[Trainer, Dataset, int], None] | None = None,
) -> TrainResult:
    """Run a training job; writes the model (and checkpoints) to ``job.out``.

    The validation part is split off first (by a seed derived from the job's, kept in
    the checkpoint so that a resumed run splits the same way), and the standardisation
    is fitted on the training part only.
    """
    s = start(job, callbacks)
    if on_start is not None:
        on_start(s.trainer, s.train, s.job.epochs)
    return finish(s)


def finish(s: Started) -> TrainResult:
    """The fit of a started job (:func:`start`), and its result as :func:`run` gives it."""
    job, trainer, train, network = s.job, s.trainer, s.train, s.network
    t0 = time.perf_counter()
    history = trainer.fit(
        train,
        job.epochs,
        validation=s.val,
        sample_weight=train.weights,
        target_loss=job.target_loss,
        stop_when_solved=job.stop_when_solved,
    )
    tested = None
    if s.test is not None:  # scored as `anyprop evaluate` scores: the same code, as trained
        from anyprop.train.evaluate import evaluate

        tested = evaluate(result_model(network, s.std, s.data, s.extra, trainer), s.test)
    return TrainResult(
        network,
        history,
        s.data,
        s.std,
        job.out,
        time.perf_counter() - t0,
        trainer.epoch - s.resumed_from,
        s.resumed_from,
        s.task_reason,
        trainer,
        s.extra,
        tested,
        job,
        s.said,
        s.replaced,
    )


def start(job: TrainJob, callbacks: Iterable[Callback] = ()) -> Started:
    """Everything :func:`run` does before the first epoch: the data read and split, the
    network and the trainer made, the recipe's options filled."""
    _check_numbers(job)  # before anything is read or built
    if job.threads is not None:
        from anyprop._threads import set_threads

        set_threads(job.threads)
    part = _part(job)
    if part is not None:
        job = dataclasses.replace(job, shard_data=True)
    resumed_from = 0
    model = None
    replaced = False
    if job.out is not None:  # checked before any work: nothing is destroyed
        replaced = check_output(job.out, "model", "--out", job_inputs(job), own=job.resume)
    if job.resume or job.start is not None:
        model = job.start if job.start is not None else load_model(job.resume)
        if model.trainer_state is None:
            where = job.resume or "the model"
            raise AnypropError(f"{where}: this model has no training state to resume from")
        saved = model.info.get("job", {})
        data = load_data(
            job.data or saved.get("data"),
            job.target if job.data else saved.get("target"),
            model.columns,
            model.imputer is not None,
            part,
        )
        data = _agreed(job, data)
        network = model.network
        saved_task = model.task if model.task in MODEL_TASKS else None
        data, task_reason = _decide(data, job.task or saved_task, network)
        split_seed = int(model.trainer_state.get("split_seed", split_seed_for(job.seed)))
        kept = saved.get("test_split") or 0.0  # the rows it held out stay out
        if job.test_split and job.test_split != kept:
            raise AnypropError(
                f"--test-split {job.test_split} differs from the resumed model's ({kept}): the "
                "rows held out for the test stay as they were"
            )
        job = dataclasses.replace(job, test_split=kept)
    else:
        if job.data is None:
            raise AnypropError("give the data to train on: --data NAME or --data FILE")
        data = load_data(job.data, job.target, missing=job.impute is not None, part=part)
        data = _agreed(job, data)
        if job.spec is None and job.spec_text is None and job.network is None:  # the task shapes it
            data, why = _decide(data, job.task)
            network = _network(job, data)
        else:  # the spec's output decides how to read the targets
            network = _network(job, data)
            data, why = _decide(data, job.task, network)
        task_reason = why
        split_seed = split_seed_for(job.seed)
    task_reason = f"{data.task}: {task_reason}"
    sequences = isinstance(data, Sequences)
    if sequences:
        _check_sequence_job(job)
        sequence_task.check_fit(network, data)
    else:
        _check_fit(network, data)
        data = one_hot_for(data, network)
    test = None
    if job.test_split and job.test and model is None:
        raise AnypropError("give a test file (--test) or a test split (--test-split), not both")
    if job.test_split:  # held out first, by a seed of its own: never seen by training
        data, test = held_out_test(data, job.test_split, split_seed)
    if job.test:  # (resumed with a test file: the split stays out, the file is scored)
        read = load_data(job.test, job.target, data.columns, job.impute is not None)
        if isinstance(read, Sequences) != sequences:
            raise AnypropError(f"{job.test}: test on sequences when training on them, or neither")
        test = _decide(read, data.task if data.task in MODEL_TASKS else None, network)[0]
        test = test if sequences else one_hot_for(test, network)
    rows = len(data)
    if job.shard_data:  # the recipe fills the options by the rows of every process
        from anyprop.train.distributed import mpi

        rows = int(mpi().COMM_WORLD.allreduce(rows))
    job, said = _filled(job, model, rows)
    train, val = data, None
    if job.validation_split:
        train, val = data.split(job.validation_split, np.random.default_rng(split_seed))
    imputer = model.imputer if model is not None else None
    if imputer is None and job.impute is not None:  # fitted on the training part only
        imputer = Imputer.fit(train.x, job.impute)
    if imputer is not None:
        train, val = _imputed(train, imputer), _imputed(val, imputer)
    if sequences:  # taken as they are (see train/sequence_task.py)
        std = ystd = None
    else:
        std = model.standardizer if model is not None else _standardizer(job, train)
        ystd = model.target_scaler if model is not None else _target_scaler(job, network, train)
        train, val = _standardized(train, std, ystd), _standardized(val, std, ystd)
    source, target = job.data, job.target
    if model is not None and not job.data:  # a resumed run goes on with the data it had
        saved = model.info.get("job", {})
        source, target = saved.get("data"), saved.get("target")
    info = {
        "job": {
            "data": source if isinstance(source, str) else data.name,
            "target": target,
            "validation_split": job.validation_split,
            "epochs": job.epochs,
            "seed": job.seed,
            "early_stopping": job.early_stopping,
            "min_delta": job.min_delta,
            "restore_best": job.restore_best,
            "recipe": recipe(job.recipe).name,
            "test_split": job.test_split,
        }
    }
    extra = {
        "standardizer": std,
        "labels": data.labels,
        "feature_names": data.feature_names,
        "columns": data.columns,
        "imputer": imputer,
        "target_scaler": ystd,
        "label_kind": data.label_kind,
        "target_names": data.target_names,
        "task": data.task,
        "info": info,
    }
    cbs = list(callbacks) + list(job.extra_callbacks)
    if job.report:
        cbs.append(GradientStats())
    if job.early_stopping is not None:
        monitor = "val_loss" if job.validation_split else "loss"
        stopper = EarlyStopping(monitor, job.early_stopping, job.min_delta, job.restore_best)
        cbs.insert(0, stopper)
    kind: Any = Trainer
    if job.distributed:
        from anyprop.train.distributed import DistributedTrainer, rank

        kind = DistributedTrainer
        if job.shard_data and job.impute is not None:
            raise AnypropError(
                "--impute with the data shared out among the processes (a file each, or "
                "--shard-rows) is not supported: impute the data first"
            )
    if job.out and (not job.distributed or rank() == 0):  # one process writes the model
        cbs.append(TimedCheckpoint(job.out, job.checkpoint_seconds, extra))
    if model is not None:
        trainer = kind.from_state(network, model.trainer_state, callbacks=cbs)
        resumed_from = trainer.epoch
        if (trainer.history.stop_reason or "").startswith("early stopping"):
            for cb in cbs:  # asked for more epochs after an early stop: patience afresh
                if isinstance(cb, EarlyStopping):
                    cb.wait = 0
    else:
        trainer = kind(
            network,
            "formula" if job.rule is not None else job.optimizer,
            settings=job.settings,
            seed=job.seed,
            schedule=job.schedule,
            callbacks=cbs,
            **_optimizer_options(job),
        )
    trainer.split_seed = split_seed
    # (no setting: a resumed run takes --compile afresh, and goes on as it began)
    trainer.engine = StepEngine(job.compile, trainer.engine.use)
    if job.shard_data:
        trainer.sharded = True
    if said and job.lr is None and job.rule is None:  # the optimizer's own default rate
        said = [
            f"{w} at lr {trainer.optimizer.lr:g}" if w.startswith("optimizer ") else w for w in said
        ]
    return Started(
        job,
        trainer,
        train,
        val,
        test,
        data,
        network,
        std,
        extra,
        task_reason,
        said,
        replaced,
        resumed_from,
    )


class TimedCheckpoint(Checkpoint):
    """A checkpoint written at most every ``seconds`` (and always at the end, or when
    interrupted), so that short epochs do not spend their time writing files."""

    def __init__(self, path: str, seconds: float, extra: dict[str, Any]) -> None:
        super().__init__(path, 1, extra)
        self.seconds = seconds
        self._last = time.perf_counter()

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        if time.perf_counter() - self._last >= self.seconds:
            trainer.save(self.path, **self.extra)
            self._last = time.perf_counter()


def job_inputs(job: TrainJob) -> list[str]:
    """The files a job reads (data, spec, test; the model it resumes): no output of the
    run may be one of them."""
    files = [job.data, job.spec, job.test, job.resume]
    return [f for f in files if isinstance(f, (str, os.PathLike))]


def held_out_test(data: Dataset, fraction: float, split_seed: int) -> tuple[Dataset, Dataset]:
    """(the rest, the test part): split off before anything else, by a seed of its own
    derived from the run's split seed."""
    test_seed = int(np.random.default_rng(split_seed).integers(2**32)) ^ 0x5EED
    return data.split(fraction, np.random.default_rng(test_seed))


def training_data(model: Any, data: Dataset | Sequences | None = None) -> Dataset | Sequences:
    """The data a model's trainer takes its next steps on: ``data`` (raw, standardised as
    the model's inputs are), else the training part of the data it was trained on, split
    off and standardised as ``run`` did."""
    if data is None:
        job = model.info.get("job", {})
        if job.get("data") is None:
            raise AnypropError("the model does not say what it was trained on: give the data")
        data = load_data(job["data"], job.get("target"), model.columns, model.imputer is not None)
        seed = int((model.trainer_state or {}).get("split_seed", split_seed_for(job.get("seed"))))
        if job.get("test_split"):
            data, _ = held_out_test(data, job["test_split"], seed)
        fraction = job.get("validation_split") or 0.0
        if fraction:
            data, _ = data.split(fraction, np.random.default_rng(seed))
    if isinstance(data, Sequences):  # taken as they are (see train/sequence_task.py)
        task = model.task if model.task != "binary" else None
        return sequence_task.decide_task(data, task, model.network)[0]
    data = model_task_data(model, data)
    if model.imputer is not None:
        data = _imputed(data, model.imputer)
    return _standardized(data, model.standardizer, model.target_scaler)


def finite_or_none(value: float) -> float | None:
    return value if isinstance(value, float) and math.isfinite(value) else None
