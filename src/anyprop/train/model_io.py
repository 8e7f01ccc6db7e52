"""Model files: one safetensors file holds a trained model, and no code.

Tensors: the weights (``param/<name>``), the standardisation (``data/mean``,
``data/std``; for regression targets, ``data/target_mean`` and ``data/target_std``)
and, for resuming, the trainer's arrays (optimizer state, best weights).
Metadata ``anyprop``: JSON text with the format version, the network's
spec (topology, transfer functions and formulas), the data description (labels,
feature names, task), the history, and the trainer's other state (epoch, random
generator, optimizer options). Writes are atomic; reading checks everything.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop._version import __version__
from anyprop.data import Standardizer
from anyprop.data.dataset import is_missing
from anyprop.errors import AnypropError
from anyprop.fileio import check_output
from anyprop.nn import spec as spec_io
from anyprop.nn.values import numbers
from anyprop.train.safetensors import FormatError
from anyprop.train.safetensors import load as load_file
from anyprop.train.safetensors import save as save_file

MODEL_FORMAT = 1


@dataclass
class Model:
    """A loaded model: the network, how its data were prepared, and how it was trained."""

    network: Any
    standardizer: Standardizer | None = None
    labels: list[str] | None = None
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    task: str = "regression"
    history: dict[str, Any] | None = None
    trainer_state: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    columns: Any = None  # the feature columns as the file had them, with text categories
    imputer: Any = None  # fills missing inputs as in training
    target_scaler: Standardizer | None = None  # regression targets as the network learnt them
    label_kind: str = "text"  # "number": the classes were whole numbers (predicted as ints)

    def scale_targets(self, y: Any) -> np.ndarray:
        """Targets as the network learnt them: standardised when training standardised
        them (y ↦ (y − mean)/std), else as they are."""
        if self.target_scaler is None:
            return np.asarray(y, dtype=np.float64)
        return self.target_scaler.transform_targets(y)

    def rows(self, x: Any) -> np.ndarray:
        """Raw inputs as a (samples, features) float64 array, checked: an array, lists
        of rows, or a pandas DataFrame (taken by column name where it has the model's
        columns; text categories encoded as in training)."""
        categorical = self.columns is not None and self.columns.categorical
        wanted = [n for n, _ in self.columns.columns] if self.columns is not None else None
        wanted = wanted or self.feature_names
        if hasattr(x, "columns") and hasattr(x, "to_numpy"):  # a pandas DataFrame
            names = [str(c) for c in x.columns]
            if wanted and all(w in names for w in wanted):
                x = x[[x.columns[names.index(w)] for w in wanted]]
            elif categorical:
                missing = next(w for w in wanted if w not in names)
                raise AnypropError(f"the inputs have no column '{missing}' (the model's: {wanted})")
            x = x.to_numpy(dtype=object)
        if categorical and isinstance(x, (np.ndarray, list, tuple)):
            try:
                cells = np.asarray(x, dtype=object)
            except ValueError:
                raise AnypropError("the inputs are ragged: give rows of equal length") from None
            if cells.ndim == 2 and cells.shape[1] == len(
                wanted
            ):  # the file's columns, text categories and all
                text = [["" if is_missing(v) else str(v) for v in row] for row in cells.tolist()]
                lines = list(range(1, len(text) + 1))
                return self.columns.encode(text, "the inputs", lines, self.imputer is not None)
        if isinstance(x, np.ndarray) and x.dtype == object:
            x = [[np.nan if is_missing(v) else v for v in row] for row in x.tolist()]
        try:
            arr = numbers(x, "the inputs")
        except AnypropError as e:
            raise AnypropError(f"{e} (give a table of numbers: samples × features)") from None
        width = len(self.standardizer.mean) if self.standardizer is not None else None
        width = width or self.network.input_width
        if arr.ndim == 1 and arr.size == width:
            raise AnypropError(
                f"the inputs are one row of {width} values: give a table (samples, features), "
                "such as [[...]] for one sample"
            )
        if arr.ndim != 2 or arr.shape[1] != width:
            names = ", ".join(self.feature_names[:6]) + (
                "..." if len(self.feature_names) > 6 else ""
            )
            raise AnypropError(
                f"the inputs have shape {arr.shape}; the model takes (samples, {width}) ({names})"
            )
        return arr

    def prepare(self, x: Any) -> np.ndarray:
        x = self.rows(x)
        if self.imputer is not None:
            x = self.imputer.transform(x)
        return self.standardizer.transform(x) if self.standardizer is not None else x

    def predict_proba(self, x: Any) -> np.ndarray:
        """Each class's probability for raw inputs (a classifier's outputs)."""
        if self.task not in ("classification", "binary"):
            raise AnypropError("predict_proba is for classifiers; this model predicts values")
        return self.predict(x)

    def predict_labels(self, x: Any) -> list[Any]:
        """The predicted class of each row, by its label: as text, or as the whole number
        it was where the classes were numbers; for several yes/no outputs, a 0/1 each."""
        p = self.predict_proba(x)
        if self.task == "binary" and p.shape[1] > 1:  # several yes/no outputs: 0/1 each
            return (p > 0.5).astype(int).tolist()
        k = (p[:, 0] > 0.5).astype(int) if p.shape[1] == 1 else p.argmax(axis=1)
        if not self.labels:
            return [int(c) for c in k]
        if self.label_kind == "number":
            return [int(self.labels[c]) for c in k]
        return [self.labels[c] for c in k]

    def evaluate(self, data: Any, target: Any = None) -> dict[str, Any]:
        """Loss, metrics and the report on ``data``: a Dataset, an (inputs, targets) pair, a
        data set's name or a file (as ``anyprop evaluate``)."""
        from anyprop.train.evaluate import evaluate
        from anyprop.train.sources import as_dataset

        return evaluate(self, as_dataset(data, target, self.columns))

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (atomically), as ``anyprop train`` writes it."""
        save_model(
            path,
            self.network,
            self.trainer_state,
            self.standardizer,
            self.labels,
            self.feature_names,
            self.target_names,
            self.task,
            self.info,
            self.columns,
            self.imputer,
            self.target_scaler,
            self.label_kind,
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs for raw inputs (standardised as in training), laid out like the targets
        (:meth:`Network.gather`); for sequences ((sequences, steps, features) inputs), the
        primary output at every step, (sequences, steps, outputs)."""
        net = self.network
        if isinstance(x, np.ndarray) and x.ndim == 3:
            return net.sequence_plan().forward(x)[net.primary_output].copy()
        outs = net.plan().forward(self.prepare(x).astype(net.dtype))
        out = net.gather(outs).copy()  # (the plan's buffers)
        if self.target_scaler is not None:  # back to the targets' own units
            out = self.target_scaler.inverse(out)
        return out


def _flatten(obj: Any, prefix: str, tensors: dict[str, np.ndarray]) -> Any:
    """JSON-ready copy of ``obj`` with each array moved into ``tensors``."""
    if isinstance(obj, np.ndarray):
        tensors[prefix] = obj
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {str(k): _flatten(v, f"{prefix}/{k}", tensors) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _unflatten(obj: Any, tensors: dict[str, np.ndarray], source: str) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            key = obj["__tensor__"]
            if key not in tensors:
                raise FormatError(f"{source}: the state refers to a missing tensor '{key}'")
            return tensors[key]
        return {k: _unflatten(v, tensors, source) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, tensors, source) for v in obj]
    return obj


def save_model(
    path: str | os.PathLike,
    network: Any,
    trainer: Any = None,
    standardizer: Standardizer | None = None,
    labels: list[str] | None = None,
    feature_names: list[str] | None = None,
    target_names: list[str] | None = None,
    task: str | None = None,
    info: dict[str, Any] | None = None,
    columns: Any = None,
    imputer: Any = None,
    target_scaler: Standardizer | None = None,
    label_kind: str = "text",
) -> None:
    """Write ``network`` (with the trainer's state, when given, for resuming: a Trainer,
    or the state a loaded model holds) to ``path``. An existing file there is replaced
    only if it is an anyprop model (and not read-only): :func:`~anyprop.fileio.check_output`."""
    check_output(path, "model", "the model path")
    tensors: dict[str, np.ndarray] = {f"param/{k}": v for k, v in network.params.items()}
    if standardizer is not None:
        tensors["data/mean"] = np.asarray(standardizer.mean, dtype=np.float64)
        tensors["data/std"] = np.asarray(standardizer.std, dtype=np.float64)
    if imputer is not None:
        tensors["data/impute"] = np.asarray(imputer.values, dtype=np.float64)
    if target_scaler is not None:
        tensors["data/target_mean"] = np.asarray(target_scaler.mean, dtype=np.float64)
        tensors["data/target_std"] = np.asarray(target_scaler.std, dtype=np.float64)
    meta: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "anyprop": __version__,
        "spec": spec_io.to_dict(network),
        "data": {
            "labels": labels,
            "label_kind": label_kind,
            "feature_names": feature_names or [],
            "columns": None if columns is None else columns.to_json(),
            "impute": None if imputer is None else imputer.strategy,
            "target_names": target_names or [],
            "task": task or "regression",
        },
        "info": info or {},
    }
    if trainer is not None:
        state = dict(trainer) if isinstance(trainer, dict) else trainer.state_dict()
        meta["history"] = state.pop("history")
        meta["trainer"] = _flatten(state, "trainer", tensors)
    try:
        text = json.dumps(meta, allow_nan=True)
    except TypeError as e:
        raise AnypropError(f"cannot write the model: {e}") from None
    save_file(path, tensors, {"anyprop": text})


#: the model description's fields and the JSON type each must have (None: may be absent)
_TABLES = ("spec", "data", "info", "history", "trainer")
_DATA_LISTS = ("labels", "feature_names", "target_names")
_DATA_TEXTS = ("task", "label_kind", "impute")


def _check_fields(info: dict[str, Any], source: str) -> None:
    """Each field of the model description of the type it must have, before any is
    used: a damaged or hand-made file is refused by name, not met by an AttributeError."""
    for key in _TABLES:
        if info.get(key) is not None and not isinstance(info[key], dict):
            raise FormatError(
                f"{source}: '{key}' in the model description must be a table, got "
                f"{type(info[key]).__name__}"
            )
    data = info.get("data") or {}
    for key in _DATA_LISTS:
        value = data.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise FormatError(f"{source}: 'data.{key}' must be a list of text")
    for key in _DATA_TEXTS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise FormatError(f"{source}: 'data.{key}' must be text")
    if data.get("columns") is not None and not isinstance(data["columns"], (dict, list)):
        raise FormatError(f"{source}: 'data.columns' must be a table")
    if not isinstance(info.get("anyprop", ""), str):
        raise FormatError(f"{source}: 'anyprop' (the version that wrote it) must be text")
    job = (info.get("info") or {}).get("job", {})
    if not isinstance(job, dict):
        raise FormatError(f"{source}: 'info.job' must be a table")
    for key, kinds in _JOB_FIELDS.items():
        value = job.get(key)
        if not isinstance(value, kinds) or (
            isinstance(value, bool) and bool not in kinds and value is not None
        ):
            raise FormatError(f"{source}: 'info.job.{key}' has the wrong type ({value!r})")
    history = info.get("history") or {}
    epochs = history.get("epochs", [])
    if not (isinstance(epochs, list) and all(isinstance(e, dict) for e in epochs)):
        raise FormatError(f"{source}: 'history.epochs' must be a list of tables")
    trainer = info.get("trainer")
    if trainer is not None:
        for key in ("config", "optimizer", "rng"):
            if trainer.get(key) is not None and not isinstance(trainer[key], dict):
                raise FormatError(f"{source}: 'trainer.{key}' must be a table")
        seed = trainer.get("split_seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise FormatError(f"{source}: 'trainer.split_seed' must be a whole number >= 0")
        epoch = trainer.get("epoch", 0)
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise FormatError(f"{source}: 'trainer.epoch' must be a whole number >= 0")
        opt = trainer.get("optimizer") or {}
        for key in ("config", "state"):
            if opt.get(key) is not None and not isinstance(opt[key], dict):
                raise FormatError(f"{source}: 'trainer.optimizer.{key}' must be a table")


def _check_rules(state: dict[str, Any], source: str) -> None:
    """An update rule stored as a formula parses (1/0 in it is refused here, by name)."""
    from anyprop.nn.formula import parse

    config = (state.get("optimizer") or {}).get("config") or {}
    if config.get("name") != "formula":
        return
    for key in ("rule", "state"):  # the rule, and the formulas of its state
        given = config.get(key)
        texts = [given] if key == "rule" else []
        if key == "state" and isinstance(given, dict):
            texts = list(given.values())
        for text in texts:
            try:
                parse(text)
            except AnypropError as e:
                raise FormatError(f"{source}: the stored update rule is invalid: {e}") from None


def load_model(path: str | os.PathLike) -> Model:
    """Read a model written by :func:`save_model`; a damaged file is a clear error."""
    source = str(path)
    tensors, meta = load_file(path)
    if "anyprop" not in meta:
        raise FormatError(
            f"{source}: a safetensors file, but not an anyprop model (no 'anyprop' metadata)"
        )
    try:
        info = json.loads(meta["anyprop"])
    except (json.JSONDecodeError, RecursionError):
        raise FormatError(
            f"{source}: the model description is not valid JSON (or nests too deep): the "
            "file is corrupted"
        ) from None
    if not isinstance(info, dict) or "spec" not in info:
        raise FormatError(f"{source}: the model description has no network spec")
    _check_fields(info, source)
    fmt = info.get("format")
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > MODEL_FORMAT:
        raise FormatError(
            f"{source}: written by a newer anyprop ({info.get('anyprop')}, model format "
            f"{fmt}); this anyprop ({__version__}) reads model format {MODEL_FORMAT} and "
            "earlier: upgrade anyprop to read it"
        )
    if fmt != MODEL_FORMAT:
        raise FormatError(
            f"{source}: model format {fmt!r} is not one this anyprop reads "
            f"({MODEL_FORMAT}); it was written by anyprop {info.get('anyprop')}"
        )
    if not isinstance(info.get("spec"), dict):
        raise FormatError(f"{source}: the model holds no network spec (a table)")
    try:
        network = spec_io.from_dict(info["spec"])
    except AnypropError as e:
        raise FormatError(f"{source}: the network spec inside the model is invalid: {e}") from None
    net = network
    params = {k[len("param/") :]: v for k, v in tensors.items() if k.startswith("param/")}
    missing = sorted(set(net.params) - set(params))
    extra = sorted(set(params) - set(net.params))
    if missing or extra:
        what = f"'{missing[0]}' is missing" if missing else f"'{extra[0]}' is not in the network"
        raise FormatError(f"{source}: the weights do not match the network ({what})")
    for k, v in params.items():
        if v.dtype != net.params[k].dtype:  # (the same bytes read as another type: garbage)
            raise FormatError(
                f"{source}: weight '{k}' is stored as {v.dtype}, the network's weights are "
                f"{net.params[k].dtype}"
            )
        if v.shape != net.params[k].shape:
            raise FormatError(
                f"{source}: weight '{k}' has shape {v.shape}, the network needs "
                f"{net.params[k].shape}"
            )
        if not np.all(np.isfinite(v)):
            raise FormatError(f"{source}: weight '{k}' holds NaN or infinity")
    net.set_params(params)
    std = None
    if "data/mean" in tensors:
        if "data/std" not in tensors or tensors["data/std"].shape != tensors["data/mean"].shape:
            raise FormatError(f"{source}: the standardisation is incomplete")
        std = Standardizer(tensors["data/mean"], tensors["data/std"])
    target_scaler = None
    if "data/target_mean" in tensors:
        mean, sd = tensors["data/target_mean"], tensors.get("data/target_std")
        if sd is None or sd.shape != mean.shape or mean.shape != (net.target_width,):
            raise FormatError(f"{source}: the targets' standardisation is incomplete")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd)) and np.all(sd > 0)):
            raise FormatError(f"{source}: the targets' standardisation holds invalid values")
        target_scaler = Standardizer(mean, sd)
    data = info.get("data") or {}
    _check_labels(data, net, source)
    trainer_state = None
    if "trainer" in info:
        try:
            trainer_state = _unflatten(info["trainer"], tensors, source)
        except RecursionError:
            raise FormatError(f"{source}: the training state nests too deep") from None
        trainer_state["history"] = info.get("history") or {}
        _check_rules(trainer_state, source)
    return Model(
        network,
        std,
        data.get("labels"),
        list(data.get("feature_names") or []),
        list(data.get("target_names") or []),
        data.get("task", "regression"),
        info.get("history"),
        trainer_state,
        info.get("info") or {},
        _columns(data.get("columns"), source),
        _imputer(data.get("impute"), tensors, source),
        target_scaler,
        "number" if data.get("label_kind") == "number" else "text",
    )


def _check_labels(data: dict[str, Any], net: Any, source: str) -> None:
    """A classifier's labels: one per output unit (two for one yes/no unit), and whole
    numbers where they are said to be numbers."""
    labels = data.get("labels")
    if not labels or data.get("task") != "classification":
        return
    width = net.target_width
    if len(labels) != width and not (width == 1 and len(labels) == 2):
        raise FormatError(f"{source}: {len(labels)} class labels for an output of {width} units")
    if data.get("label_kind") == "number":
        for v in labels:
            try:
                int(v)
            except ValueError:
                raise FormatError(
                    f"{source}: the class labels are said to be numbers, but {v!r} is not"
                ) from None


#: the types of what a model file says about the run that made it (info.job)
_JOB_FIELDS = {
    "epochs": (int, type(None)),
    "seed": (int, type(None)),
    "validation_split": (int, float, type(None)),
    "test_split": (int, float, type(None)),
    "early_stopping": (int, bool, type(None)),
    "min_delta": (int, float, type(None)),
    "restore_best": (bool, type(None)),
    "recipe": (str, type(None)),
}


def _imputer(strategy: Any, tensors: dict[str, np.ndarray], source: str) -> Any:
    if strategy is None:
        return None
    from anyprop.data import IMPUTE, Imputer

    if strategy not in IMPUTE or "data/impute" not in tensors:
        raise FormatError(f"{source}: the model's imputation is damaged")
    values = tensors["data/impute"]
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise FormatError(f"{source}: the model's imputation values are damaged")
    return Imputer(strategy, tensors["data/impute"])


def _columns(data: Any, source: str) -> Any:
    if data is None:
        return None
    from anyprop.data.encoding import Columns

    try:
        return Columns.from_json(data)
    except (TypeError, ValueError):
        raise FormatError(f"{source}: the model's feature columns are damaged") from None
