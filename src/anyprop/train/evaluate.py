"""A trained model's loss and metrics on a data set."""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.data import Dataset
from anyprop.train.metrics import METRICS, default_metrics
from anyprop.train.model_io import Model


def evaluate(model: Model, data: Dataset, metrics: list[str] | None = None) -> dict[str, Any]:
    """Loss (as trained) and metrics of ``model`` on ``data`` (raw inputs: the model's
    standardisation is applied)."""
    from anyprop.train.trainer import Trainer

    prepared = Dataset(
        model.prepare(data.x),
        data.y,
        data.name,
        data.feature_names,
        data.target_names,
        data.labels,
        model.task,
    )
    trainer = Trainer(model.network, "sgd", lr=0.0, metrics=metrics)
    trainer._check_data(prepared)
    loss, out = trainer.loss_on(prepared)
    result: dict[str, Any] = {"samples": len(data), "loss": loss}
    targets = trainer._prepared_targets(prepared)
    for name in metrics if metrics is not None else default_metrics(model.task):
        result[name] = METRICS.get(name)(out, targets, task=model.task)
    return result


def predict_table(model: Model, x: np.ndarray) -> tuple[list[str], np.ndarray, list[str] | None]:
    """(column names, outputs, predicted labels or None) for raw inputs ``x``."""
    out = model.predict(x)
    if model.task == "classification" and model.labels:
        cols = [f"p_{lab}" for lab in model.labels]
        return cols, out, [model.labels[k] for k in out.argmax(axis=1)]
    names = (
        model.target_names
        if len(model.target_names) == out.shape[1]
        else [f"y{k}" for k in range(out.shape[1])]
    )
    return names, out, None
