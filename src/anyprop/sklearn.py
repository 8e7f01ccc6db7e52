"""scikit-learn estimators: any anyprop network in a Pipeline, a grid search or a
cross-validation (scikit-learn is an optional extra: ``pip install 'anyprop[sklearn]'``).

>>> from sklearn.datasets import load_iris
>>> from anyprop.sklearn import AnypropClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = AnypropClassifier(random_state=0).fit(X, y)
>>> clf.score(X, y) > 0.95
True

:class:`AnypropClassifier` and :class:`AnypropRegressor` train through the same
:class:`~anyprop.train.job.TrainJob` as ``anyprop train`` and
:func:`anyprop.train_model`: an option left as ``None`` takes the recipe's measured
default (``recipe="tabular"``: adam at 0.001, batches of 64, up to 200 epochs, early
stopping on a 10% hold-out from 10 000 rows, else a stop once the training loss
settles), the network made for the data is ``hidden=(100,)`` units of ``transfer="relu"``,
and the inputs are standardised when they are not in [-1, 1]. ``spec`` takes any other
network: a spec file, TOML text, a spec dict or a :class:`~anyprop.nn.Network`.
``compile`` is ``anyprop train --compile``: the steps compiled (numba) where that
pays ("auto"), from the first step ("always") or never.

``sample_weight`` weighs each sample's loss, relative to the others (the weights are
scaled to a mean of 1, so that with one batch a weight of 2 is the sample twice).
The fitted model is ``model_`` (an :class:`anyprop.train.model_io.Model`; ``save_model``
writes it as an anyprop model file that ``anyprop predict`` reads); its network is
``network_``. Pickling an estimator stores that model file's bytes, never the
network's Python objects.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import (
        _check_sample_weight,
        check_is_fitted,
        column_or_1d,
        validate_data,
    )
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError(
        "anyprop.sklearn needs scikit-learn >= 1.6: pip install 'anyprop[sklearn]'"
    ) from e

from anyprop.data import Dataset
from anyprop.errors import AnypropError
from anyprop.nn import Network
from anyprop.nn import spec as spec_io
from anyprop.train.compiled_step import MODES as COMPILE_MODES
from anyprop.train.job import TrainJob, run
from anyprop.train.model_io import Model, load_model
from anyprop.train.recipes import DEFAULT_HIDDEN, DEFAULT_TRANSFER

__all__ = ["AnypropClassifier", "AnypropRegressor"]


class _AnypropEstimator(BaseEstimator):
    """What the classifier and the regressor share: the parameters, fit and predict."""

    _task = "regression"

    def __init__(
        self,
        hidden: Any = (DEFAULT_HIDDEN,),
        transfer: Any = DEFAULT_TRANSFER,
        *,
        spec: Any = None,
        optimizer: str | None = None,
        lr: float | None = None,
        momentum: float | None = None,
        weight_decay: float = 0.0,
        epochs: int | None = None,
        batch_size: int | str | None = None,
        early_stopping: int | bool | None = None,
        validation_split: float | None = None,
        min_delta: float | None = None,
        recipe: str | None = None,
        standardize: bool | None = None,
        random_state: int | None = None,
        warm_start: bool = False,
        dtype: str = "float32",
        settings: Mapping[str, Any] | None = None,
        compile: str = "auto",
    ) -> None:
        self.hidden = hidden
        self.transfer = transfer
        self.spec = spec
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_split = validation_split
        self.min_delta = min_delta
        self.recipe = recipe
        self.standardize = standardize
        self.random_state = random_state
        self.warm_start = warm_start
        self.dtype = dtype
        self.settings = settings
        self.compile = compile

    # --- what sklearn asks of an estimator ---------------------------------------
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        model = state.pop("model_", None)
        state.pop("network_", None)
        if model is not None:  # the model file's bytes: no pickled network objects
            state["_model_file"] = _model_bytes(model)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        data = state.pop("_model_file", None)
        self.__dict__.update(state)
        if data is not None:
            self.model_ = _model_from_bytes(data)
            self.network_ = self.model_.network

    # --- fitting ---------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Train on ``X`` (samples, features) and ``y``; with ``warm_start``, go on from
        the last fit's weights and optimizer state for ``epochs`` more epochs."""
        return self._fit(X, y, sample_weight, more=None)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, **kwargs: Any) -> Any:
        """One epoch on ``X`` and ``y``, going on from the last call (the first call
        makes the network)."""
        return self._fit(X, y, sample_weight, more=1, **kwargs)

    def _fit(self, X: Any, y: Any, sample_weight: Any, more: int | None, **kwargs: Any) -> Any:
        going_on = hasattr(self, "model_") and (more is not None or self.warm_start)
        X, y = validate_data(
            self,
            X,
            y,
            reset=not going_on,
            multi_output=True,
            y_numeric=self._task == "regression",
            dtype=np.float64,
        )
        self._check_params()
        data = self._dataset(X, y, first=not going_on, **kwargs)
        if sample_weight is not None:  # (a class weight multiplies it, in the trainer)
            w = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if np.any(w < 0):
                raise ValueError("sample_weight must be >= 0")
            total = float(w.sum())
            if not total > 0:
                raise ValueError("sample_weight must not be all zero")
            data.weights = w * (len(w) / total)  # relative weights, of mean 1
        job = self._job(data, going_on, more)
        try:
            with np.errstate(all="ignore"), contextlib.redirect_stderr(io.StringIO()):
                result = run(job)
        except AnypropError as e:
            raise ValueError(str(e)) from None
        self.model_ = result.model()
        self.network_ = self.model_.network
        h = result.history
        self.loss_curve_ = list(h["loss"]) if "loss" in h.names() else []
        self.n_iter_ = len(h)
        val = next((k for k in ("val_accuracy", "val_r2") if k in h.names()), None)
        self.validation_scores_ = list(h[val]) if val else None
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else math.nan
        self.stop_reason_ = h.stop_reason
        return self

    def _check_params(self) -> None:
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.compile not in COMPILE_MODES:
            raise ValueError(f"compile must be 'auto', 'always' or 'never', got {self.compile!r}")
        if self.settings is not None and not isinstance(self.settings, Mapping):
            raise ValueError(f"settings must be a dict of training settings, got {self.settings!r}")

    def _settings(self, data: Dataset) -> dict[str, Any]:
        """The training settings given (``settings``, then ``batch_size``)."""
        settings = dict(self.settings or {})
        if self.batch_size is not None:
            settings["batch_size"] = self.batch_size
        return settings

    def _job(self, data: Dataset, going_on: bool, more: int | None) -> TrainJob:
        settings = self._settings(data)
        options: dict[str, Any] = {
            "optimizer": self.optimizer,
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "epochs": self.epochs,
            "early_stopping": self.early_stopping,
            "validation_split": self.validation_split,
            "min_delta": self.min_delta,
            "recipe": self.recipe,
            "standardize": self.standardize,
        }
        options.update(self._task_options())
        hidden = self.hidden
        if isinstance(hidden, tuple):
            hidden = list(hidden)
        seed = 0 if self.random_state is None else self.random_state
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"random_state must be a whole number >= 0 or None, got {seed!r}")
        if going_on:
            done = int(self.model_.trainer_state.get("epoch", 0))
            if more is not None:
                options.update(epochs=done + more, early_stopping=False, validation_split=0.0)
            else:
                options["epochs"] = done + (self.epochs or self.model_.info["job"]["epochs"])
            return TrainJob(
                data=data,
                start=self.model_,
                out=None,
                settings=settings,
                compile=self.compile,
                **{k: v for k, v in options.items() if k in ("epochs", "early_stopping")},
            )
        if more is not None:  # partial_fit: epoch by epoch, no hold-out, no stop of its own
            options.update(epochs=1, early_stopping=False, validation_split=0.0)
        return TrainJob(
            data=data,
            out=None,
            settings=settings,
            compile=self.compile,
            seed=int(seed),
            hidden=hidden,
            transfer=list(self.transfer) if isinstance(self.transfer, tuple) else self.transfer,
            dtype=self.dtype,
            task=self._job_task(),
            **self._spec_options(data),
            **options,
        )

    def _task_options(self) -> dict[str, Any]:
        return {}

    def _job_task(self) -> str | None:
        return self._task

    def _spec_options(self, data: Dataset) -> dict[str, Any]:
        """The spec, as the job takes it: a file, TOML text, or a Network."""
        spec = self.spec
        if spec is None:
            net = self._made_network(data)
            return {} if net is None else {"network": net}
        if isinstance(spec, Network):
            return {"network": spec}
        if isinstance(spec, Mapping):
            try:
                return {"network": spec_io.from_dict(spec)}
            except AnypropError as e:
                raise ValueError(str(e)) from None
        if isinstance(spec, (str, os.PathLike)):
            text = str(spec)
            if "\n" in text:  # TOML text (a file name has no line break)
                return {"spec_text": text}
            if "[" in text:  # one line: TOML text if it reads as TOML, else a file name
                with contextlib.suppress(tomllib.TOMLDecodeError):
                    tomllib.loads(text)
                    return {"spec_text": text}
            return {"spec": text}
        raise ValueError(
            f"spec must be a spec file, TOML text, a dict or a Network, got {type(spec).__name__}"
        )

    def _made_network(self, data: Dataset) -> Network | None:
        return None  # the job makes it (TrainJob's default network)

    def _dataset(self, X: np.ndarray, y: np.ndarray, first: bool, **kwargs: Any) -> Dataset:
        names = [str(c) for c in getattr(self, "feature_names_in_", [])]
        return Dataset(X, y, "the data", feature_names=names, task="regression")

    # --- predicting --------------------------------------------------------------------
    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.model_.predict(X)

    def _nets(self, X: Any) -> np.ndarray:
        """The output group's net inputs (before its transfer function)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        model = self.model_
        net = model.network
        plan = net.plan()
        plan.forward(model.prepare(X).astype(net.dtype))
        return np.array(plan.nets[net.primary_output], dtype=np.float64)

    def save_model(self, path: str | os.PathLike) -> None:
        """Write the fitted model as an anyprop model file (``anyprop predict`` reads it)."""
        check_is_fitted(self)
        self.model_.save(path)


class AnypropRegressor(RegressorMixin, _AnypropEstimator):
    """Any anyprop network as a scikit-learn regressor (one or several targets).

    ``standardize_targets`` (None: when the output is linear and the targets are not in
    [-1, 1]) trains on standardised targets and predicts in their own units."""

    _task = "regression"

    def __init__(
        self,
        hidden: Any = (DEFAULT_HIDDEN,),
        transfer: Any = DEFAULT_TRANSFER,
        *,
        spec: Any = None,
        optimizer: str | None = None,
        lr: float | None = None,
        momentum: float | None = None,
        weight_decay: float = 0.0,
        epochs: int | None = None,
        batch_size: int | str | None = None,
        early_stopping: int | bool | None = None,
        validation_split: float | None = None,
        min_delta: float | None = None,
        recipe: str | None = None,
        standardize: bool | None = None,
        standardize_targets: bool | None = None,
        random_state: int | None = None,
        warm_start: bool = False,
        dtype: str = "float32",
        settings: Mapping[str, Any] | None = None,
        compile: str = "auto",
    ) -> None:
        super().__init__(
            hidden,
            transfer,
            spec=spec,
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            epochs=epochs,
            batch_size=batch_size,
            early_stopping=early_stopping,
            validation_split=validation_split,
            min_delta=min_delta,
            recipe=recipe,
            standardize=standardize,
            random_state=random_state,
            warm_start=warm_start,
            dtype=dtype,
            settings=settings,
            compile=compile,
        )
        self.standardize_targets = standardize_targets

    def _task_options(self) -> dict[str, Any]:
        return {"standardize_targets": self.standardize_targets}

    def _dataset(self, X: np.ndarray, y: np.ndarray, first: bool, **kwargs: Any) -> Dataset:
        if kwargs:
            raise TypeError(f"partial_fit() got unexpected arguments {sorted(kwargs)}")
        y = np.asarray(y, dtype=np.float64)
        if first:
            self._y_1d = y.ndim == 1
        elif (y.ndim == 1) != self._y_1d:
            raise ValueError("y has a different number of targets than in the first fit")
        names = [str(c) for c in getattr(self, "feature_names_in_", [])]
        return Dataset(X, y, "the data", feature_names=names, task="regression")

    def predict(self, X: Any) -> np.ndarray:
        """The predicted values: (samples,) for one target, (samples, targets) for several."""
        out = self._outputs(X)
        return out.ravel() if self._y_1d else out


class AnypropClassifier(ClassifierMixin, _AnypropEstimator):
    """Any anyprop network as a scikit-learn classifier: classes of any labels, two or
    more, or several yes/no labels at once (a multilabel indicator matrix, trained with
    sigmoid outputs and binary cross-entropy).

    ``class_weight``: None, "balanced", or a dict from class label to weight."""

    _task = "classification"

    def __init__(
        self,
        hidden: Any = (DEFAULT_HIDDEN,),
        transfer: Any = DEFAULT_TRANSFER,
        *,
        spec: Any = None,
        optimizer: str | None = None,
        lr: float | None = None,
        momentum: float | None = None,
        weight_decay: float = 0.0,
        epochs: int | None = None,
        batch_size: int | str | None = None,
        early_stopping: int | bool | None = None,
        validation_split: float | None = None,
        min_delta: float | None = None,
        recipe: str | None = None,
        standardize: bool | None = None,
        class_weight: Any = None,
        random_state: int | None = None,
        warm_start: bool = False,
        dtype: str = "float32",
        settings: Mapping[str, Any] | None = None,
        compile: str = "auto",
    ) -> None:
        super().__init__(
            hidden,
            transfer,
            spec=spec,
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            epochs=epochs,
            batch_size=batch_size,
            early_stopping=early_stopping,
            validation_split=validation_split,
            min_delta=min_delta,
            recipe=recipe,
            standardize=standardize,
            random_state=random_state,
            warm_start=warm_start,
            dtype=dtype,
            settings=settings,
            compile=compile,
        )
        self.class_weight = class_weight

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _job_task(self) -> str | None:
        return None if self._multilabel else "classification"

    def _dataset(self, X: np.ndarray, y: np.ndarray, first: bool, **kwargs: Any) -> Dataset:
        classes = kwargs.pop("classes", None)
        if kwargs:
            raise TypeError(f"partial_fit() got unexpected arguments {sorted(kwargs)}")
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            if first:
                self._multilabel = True
                self.classes_ = np.arange(y.shape[1])
            elif not self._multilabel or y.shape[1] != len(self.classes_):
                raise ValueError("y has other labels than in the first fit")
            names = [str(c) for c in getattr(self, "feature_names_in_", [])]
            return Dataset(X, y.astype(np.float64), "the data", feature_names=names, task="binary")
        if np.ndim(y) == 2 and np.shape(y)[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            self._multilabel = False
            found = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if found.size < 2:
                raise ValueError(
                    f"a classifier needs at least 2 classes in y; got 1 class ({found[0]!r})"
                )
            self.classes_ = found
        elif self._multilabel:
            raise ValueError("y is not a multilabel indicator as in the first fit")
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[codes] == y):
            unseen = y[self.classes_[codes] != y][0]
            raise ValueError(f"y holds a class not seen in the first fit: {unseen!r}")
        whole = np.issubdtype(self.classes_.dtype, np.integer)
        names = [str(c) for c in getattr(self, "feature_names_in_", [])]
        data = Dataset(
            X,
            codes.astype(np.int64),
            "the data",
            feature_names=names,
            labels=[str(c) for c in self.classes_],
            task="classification",
            label_kind="number" if whole else "text",
        )
        return data

    def _settings(self, data: Dataset) -> dict[str, Any]:
        """The training settings, with ``class_weight`` as the trainer takes it: a weight
        per class index ("balanced": n / (classes · the class's count))."""
        settings = super()._settings(data)
        cw = self.class_weight
        if cw is None:
            return settings
        k = len(self.classes_)
        if isinstance(cw, str) and cw == "balanced":
            if self._multilabel:
                raise ValueError("class_weight='balanced' is for classes, not multilabel y")
            counts = np.bincount(data.y, minlength=k).astype(np.float64)
            per = {i: len(data.y) / (k * c) for i, c in enumerate(counts) if c}
        elif isinstance(cw, Mapping):
            per = {}
            for label, w in cw.items():
                where = np.flatnonzero(self.classes_ == label)
                if where.size == 0:
                    raise ValueError(f"class_weight names class {label!r}, which y does not hold")
                per[int(where[0])] = w
        else:
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {cw!r}")
        return {**settings, "class_weight": per}

    def _made_network(self, data: Dataset) -> Network | None:
        if not self._multilabel:
            return None
        hidden = self.hidden
        layers = list(hidden) if isinstance(hidden, (list, tuple)) else [hidden] if hidden else []
        seed = 0 if self.random_state is None else int(self.random_state)
        try:
            return Network.layered(
                [data.x.shape[1], *layers, data.y.shape[1]],
                transfer=list(self.transfer) if isinstance(self.transfer, tuple) else self.transfer,
                output_transfer="sigmoid",
                loss="binary_cross_entropy",
                seed=seed,
                dtype=self.dtype,
            )
        except AnypropError as e:
            raise ValueError(str(e)) from None

    def predict_proba(self, X: Any) -> np.ndarray:
        """Each class's probability (samples, classes); for multilabel y, each label's
        probability of yes (samples, labels)."""
        p = self._outputs(X)
        if not self._multilabel and p.shape[1] == 1:  # one sigmoid unit for two classes
            p = np.hstack([1 - p, p])
        return p

    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """The output units' net inputs (before softmax or sigmoid): (samples,) for two
        classes (the second class's margin over the first), else (samples, classes)."""
        z = self._nets(X)
        if self._multilabel:
            return z
        if z.shape[1] == 2:
            return z[:, 1] - z[:, 0]
        return z.ravel() if z.shape[1] == 1 else z

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class of each sample (for multilabel y: a 0/1 per label)."""
        p = self.predict_proba(X)
        if self._multilabel:
            return (p > 0.5).astype(int)
        return self.classes_[np.argmax(p, axis=1)]


def _model_bytes(model: Model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.anyprop"
        model.save(path)
        return path.read_bytes()


def _model_from_bytes(data: bytes) -> Model:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.anyprop"
        path.write_bytes(data)
        return load_model(path)
