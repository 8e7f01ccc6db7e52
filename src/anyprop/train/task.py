"""Classification or regression: how a data set's targets are read, by a stated rule.

A CSV's label column of text is classes; a column of numbers could be either
(class indices 0..9 are the most common export of a labelled data set), so
:func:`decide_task` says which, and why, from ``--task``, the spec's output
loss, or the values themselves. The run's summary prints the decision.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from anyprop.data import Dataset
from anyprop.errors import AnypropError

#: integer-valued targets with at most this many distinct values are read as classes
#: when neither a spec nor --task says otherwise
MAX_INTEGER_CLASSES = 20
TASKS = ("classification", "regression")
#: the tasks a model file records (a binary model's outputs are each a yes or no)
MODEL_TASKS = (*TASKS, "binary")


def decide_task(data: Dataset, task: str | None, network: Any = None) -> tuple[Dataset, str]:
    """The data with their task decided, and why, by this rule:

    1. ``task`` (``--task``) when given;
    2. else, for a spec, its output: a loss that takes class indices (cross_entropy, nll,
       multiclass_hinge) makes integer targets classes; binary_cross_entropy with targets
       all 0 or 1 makes each output a yes or no (binary: one column, or several labels);
       any other loss, values;
    3. else labels given as text are classes, and a single column of whole numbers with at
       most :data:`MAX_INTEGER_CLASSES` distinct values is classes; other numbers are values.
    """
    if task == "binary":  # a model's own task, where it learnt yes/no outputs
        return dataclasses.replace(_as_values(data), task="binary"), (
            "each output a yes or no, as the model learnt them"
        )
    if task is not None and task not in TASKS:
        raise AnypropError(f"--task must be classification or regression, got {task!r}")
    if data.task == "classification" and data.labels:  # labels: text, or a named set's
        if task == "regression":
            raise AnypropError(
                f"the data '{data.name}' have labels, not numbers: --task regression needs numbers"
            )
        return data, "its targets are class labels"
    units = None
    wants_classes = None
    if network is not None and network.units is None:
        group = network.groups[network.primary_output]
        units = group.size
        if group.loss is not None:
            wants_classes = bool(getattr(group.loss, "accepts_indices", False))
    values = data.integer_labels()
    if task is None and wants_classes is False and _yes_no(data, group.loss):
        return dataclasses.replace(_as_values(data), task="binary"), (
            f"the spec's output loss takes 0/1 targets ({group.loss!r}): each output a yes or no"
        )
    if data.task == "classification":  # an integer array: class indices, unless told otherwise
        if task == "regression":
            return _as_values(data), "--task regression"
        if task == "classification":
            return data.as_classes(units), "--task classification"
        if wants_classes is False:
            return _as_values(data), f"the spec's output loss takes values ({group.loss!r})"
        if wants_classes:
            return data.as_classes(units), f"the spec's output loss takes classes ({group.loss!r})"
        return data.as_classes(units), "its targets are an array of integers: classes"
    if task == "classification":
        return data.as_classes(units), "--task classification"
    if task == "regression":
        return _as_values(data), "--task regression"
    if wants_classes is not None:
        if wants_classes and values is not None:
            return data.as_classes(units), f"the spec's output loss takes classes ({group.loss!r})"
        return _as_values(data), f"the spec's output loss takes values ({group.loss!r})"
    if data.task != "regression":  # a named data set says its task
        return data, f"the data set '{data.name}' is a {data.task} task"
    if values is not None and 2 <= values.size <= MAX_INTEGER_CLASSES:
        return data.as_classes(), (
            f"its targets are whole numbers with {values.size} distinct values (at most "
            f"{MAX_INTEGER_CLASSES}; --task regression to read them as numbers)"
        )
    return data, "its targets are numbers"


def _yes_no(data: Dataset, loss: Any) -> bool:
    """Targets all 0 or 1 for a loss of yes/no outputs (binary cross-entropy)."""
    if getattr(loss, "name", None) != "binary_cross_entropy" or data.labels:
        return False
    y = np.asarray(data.y)
    return bool(y.size) and np.issubdtype(y.dtype, np.number) and bool(np.all((y == 0) | (y == 1)))


def _as_values(data: Dataset) -> Dataset:
    if data.task == "regression":
        return data
    y = np.asarray(data.y, dtype=np.float64)
    return dataclasses.replace(data, y=y, labels=None, task="regression")


def one_hot_for(data: Dataset, network: Any) -> Dataset:
    """Classes laid out for an output whose loss takes values (MSE on a softmax, say, as
    the classic papers trained 1-of-K targets): one row of 0s with a 1 per sample."""
    if data.task != "classification" or network is None or network.units is not None:
        return data
    group = network.groups[network.primary_output]
    y = np.asarray(data.y)
    if group.loss is None or getattr(group.loss, "accepts_indices", False) or y.ndim != 1:
        return data
    if group.size < 2:
        return data
    rows = np.zeros((len(y), group.size))
    rows[np.arange(len(y)), y.astype(np.int64)] = 1.0
    return dataclasses.replace(data, y=rows)


def model_task_data(model: Any, data: Dataset) -> Dataset:
    """``data`` read as the model was trained: class labels where it learnt classes, each
    class the index the model gave it (a file without some of the classes sorts its own
    labels differently); a label the model never saw is an error naming it."""
    task = model.task if model.task in MODEL_TASKS else None
    if model.label_kind == "number" and not (data.task == "classification" and data.labels):
        data = data.as_classes()  # the values are the labels: matched by name below
    else:
        data = decide_task(data, task, model.network)[0]
    if data.task != "classification" or not data.labels or not model.labels:
        return data
    if list(data.labels) == list(model.labels):
        return data
    index = {lab: k for k, lab in enumerate(model.labels)}
    unseen = [lab for lab in data.labels if lab not in index]
    if unseen:
        raise AnypropError(
            f"the data '{data.name}' have the label '{unseen[0]}', which the model was not "
            f"trained on (its labels: {', '.join(model.labels[:10])})"
        )
    mapping = np.array([index[lab] for lab in data.labels], dtype=np.int64)
    y = mapping[np.asarray(data.y, dtype=np.int64)]
    return dataclasses.replace(data, y=y, labels=list(model.labels))
