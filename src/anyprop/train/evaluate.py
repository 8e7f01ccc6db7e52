"""A trained model's loss and metrics on a data set, and its predictions as a table."""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.data import Dataset
from anyprop.data.sequences import Sequences
from anyprop.train import sequence_task
from anyprop.train.evaluation import Prepared, evaluate_network
from anyprop.train.reports import classification_report, multilabel_report, regression_report
from anyprop.train.settings import TrainSettings
from anyprop.train.task import model_task_data


def model_settings(model: Any) -> TrainSettings:
    """The settings the model was trained with (the defaults for a model never trained)."""
    return TrainSettings.from_state((model.trainer_state or {}).get("config") or {})


def evaluate(model: Any, data: Dataset, metrics: list[str] | None = None) -> dict[str, Any]:
    """Loss and metrics of ``model`` on ``data`` (raw inputs: the model's standardisation
    is applied), computed as in training: with the model's loss reduction and margin,
    by the same code as the validation figures. The loss is on the targets as the network
    learnt them (standardised, where training standardised them); the other figures
    (MSE, MAE, RMSE, R²) are in the targets' own units."""
    if isinstance(data, Sequences):  # at the sample-steps the loss is taken on
        settings = model_settings(model)
        if metrics is not None:
            settings = TrainSettings.take({"metrics": metrics}, settings)
        return sequence_task.model_figures(model, data, settings)
    data = model_task_data(model, data)  # numbers read as classes where the model learnt them
    scaler = model.target_scaler if model.task == "regression" else None
    prepared = Dataset(
        model.prepare(data.x),
        data.y if scaler is None else model.scale_targets(data.y),
        data.name,
        data.feature_names,
        data.target_names,
        data.labels,
        model.task,
        target_scaler=scaler,
    )
    settings = model_settings(model)
    if metrics is not None:
        settings = TrainSettings.take({"metrics": metrics}, settings)
    p = Prepared.of(model.network, prepared)
    logs, outputs = evaluate_network(model.network, p, settings)  # (figures in own units)
    exact = p.exact
    if scaler is not None:  # the report in the targets' own units too
        outputs = scaler.inverse(outputs.astype(np.float64))
        exact = np.asarray(data.y, dtype=np.float64).reshape(exact.shape)
    result = {"samples": len(data), **logs}
    if model.task == "binary" and outputs.shape[1] > 1:  # several yes/no outputs
        result.update(multilabel_report(outputs, exact, model.target_names))
    elif model.task in ("classification", "binary"):
        result.update(classification_report(outputs, exact, model.labels))
    else:
        result.update(regression_report(outputs, exact))
    return result


def predict_table(model: Any, x: np.ndarray) -> tuple[list[str], np.ndarray, list[str] | None]:
    """(column names, outputs, predicted labels or None) for raw inputs ``x``."""
    return output_table(model, model.predict(x))


def output_table(model: Any, out: np.ndarray) -> tuple[list[str], np.ndarray, list[str] | None]:
    """(column names, outputs, predicted labels or None) for a model's outputs (rows)."""
    if model.task == "classification" and model.labels:
        cols = [f"p_{lab}" for lab in model.labels]
        return cols, out, [model.labels[k] for k in out.argmax(axis=1)]
    names = (
        model.target_names
        if len(model.target_names) == out.shape[1]
        else [f"y{k}" for k in range(out.shape[1])]
    )
    return names, out, None


def predict_sequence_table(
    model: Any,
    x: np.ndarray,
    mask: np.ndarray | None,
    ids: list[str] | None = None,
    steps: list[list[int]] | None = None,
) -> list[list]:
    """Predictions for sequences in long form: a header, then one row per sequence and
    kept step: (the label, for classes,) ``sequence``, ``step``, the outputs. The
    sequences are named by ``ids`` and their steps numbered by ``steps`` where given
    (a long-form CSV's own), else counted from 0."""
    outputs = model.predict(x)
    keep = np.ones(outputs.shape[:2], bool) if mask is None else mask != 0
    seq, step = np.nonzero(keep)
    cols, values, labels = output_table(model, outputs[keep])
    lines: list[list[Any]] = [(["label"] if labels else []) + ["sequence", "step", *cols]]
    for r in range(len(values)):
        head = [labels[r]] if labels else []
        s, t = int(seq[r]), int(step[r])
        name = ids[s] if ids is not None else s
        number = steps[s][t] if steps is not None else t
        lines.append([*head, name, number, *(f"{v:.6g}" for v in values[r])])
    return lines
