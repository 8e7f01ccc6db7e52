"""What a training job does differently for sequences: the default network (an Elman
network), the task, the fit of data and network, and the model's figures on sequences.

Sequences are taken as they are: no standardisation and no imputation (a step's
features are often 0/1 symbols or already scaled; scale them beforehand where needed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from anyprop.data.sequences import Sequences
from anyprop.errors import AnypropError, ShapeError
from anyprop.nn import Network
from anyprop.train.reports import classification_report, regression_report
from anyprop.train.sequence_epoch import PreparedSequences, evaluate

#: the default network's hidden transfer function (as PyTorch's nn.RNN's)
DEFAULT_TRANSFER = "tanh"


def default_network(data: Sequences, hidden: Any, transfer: Any, seed: int) -> Network:
    """An Elman network: the inputs into a hidden group (``hidden`` units of ``transfer``,
    as for a table's network) fed back to itself with a delay of one step, and the output
    the task calls for (softmax and cross-entropy for classes, sigmoid and binary
    cross-entropy for 0/1 targets, identity and MSE for values)."""
    if isinstance(hidden, (list, tuple)):
        if len(hidden) != 1:
            raise AnypropError(
                "the default network for sequences has one recurrent hidden group: give "
                "--hidden N (or a spec for more)"
            )
        hidden = hidden[0]
    size = hidden
    if isinstance(transfer, (list, tuple)):
        transfer = transfer[0] if len(transfer) == 1 else None
        if transfer is None:
            raise AnypropError("one transfer function for the one recurrent hidden group")
    out, loss = {
        "classification": ("softmax", "cross_entropy"),
        "binary": ("sigmoid", "binary_cross_entropy"),
    }.get(data.task, ("identity", "mse"))
    net = Network(seed=seed, name="elman")
    net.add_input("input", data.x.shape[2])
    net.add_group("hidden", size, transfer=transfer)
    net.add_output("output", n_outputs(data), transfer=out, loss=loss)
    net.connect("input", "hidden")
    net.connect("hidden", "hidden", delay=1, name="recurrent")
    net.connect("hidden", "output")
    return net


def n_outputs(data: Sequences) -> int:
    """Output units the targets call for: the classes, or the target columns."""
    if data.task == "classification":
        return int(np.max(data.y)) + 1 if data.y.size else 0
    return 1 if data.y.ndim == (2 if data.per_step else 1) else data.y.shape[-1]


def decide_task(data: Sequences, task: str | None, network: Any = None) -> tuple[Sequences, str]:
    """The sequences with their task decided, and why: ``--task``; else the network's
    output loss (one taking class indices makes whole-number targets classes, binary
    cross-entropy on 0/1 targets yes/no outputs); else whole-number targets are classes."""
    y = data.y
    whole = y.dtype.kind in "iub" or bool(np.all(np.mod(y, 1) == 0))
    loss = None
    if network is not None:
        loss = network.groups[network.primary_output].loss
    if task is None:
        if loss is not None and getattr(loss, "accepts_indices", False) and whole:
            task, why = "classification", f"the spec's output loss takes classes ({loss!r})"
        elif loss is not None and loss.name == "binary_cross_entropy" and np.isin(y, (0, 1)).all():
            task, why = "binary", f"the spec's output loss takes 0/1 targets ({loss!r})"
        elif loss is not None:
            task, why = "regression", f"the spec's output loss takes values ({loss!r})"
        elif data.task == "binary":
            task, why = "binary", "the data set's targets are yes/no (0/1) outputs"
        elif y.dtype.kind in "iub" or data.task == "classification":
            task, why = "classification", "the targets are whole numbers"
        else:
            task, why = "regression", "the targets are numbers"
    else:
        why = "--task"
    if task == "classification":
        if not whole or np.any(y < 0):
            raise AnypropError(f"{data.name}: classes must be whole numbers >= 0")
        y = y.astype(np.int64)
        if data.per_step and y.ndim == 3 and y.shape[2] == 1:
            y = y[:, :, 0]
        if not data.labels:  # whole-number classes keep their numbers as labels
            units = network.groups[network.primary_output].size if network is not None else 0
            count = max(int(y.max()) + 1, units if units > 1 else 0)
            labels = [str(k) for k in range(count)]
            return dataclasses.replace(
                data, y=y, task=task, labels=labels, label_kind="number"
            ), why
    return dataclasses.replace(data, y=y, task=task), why


def check_fit(network: Any, data: Sequences) -> None:
    """The sequences fit the network (inputs, outputs); the message names both."""
    if not any(network.groups[g].loss is not None for g in network.outputs):
        raise AnypropError("the network has no output group with a loss to train")
    try:
        PreparedSequences.of(network, data)  # (the shapes, named)
    except ShapeError as e:
        if data.per_step:
            raise
        raise ShapeError(
            f"{data.name}: {e} (these targets, of shape {data.y.shape}, are read as one per "
            "sequence, at its last step; targets at every step have shape (sequences, steps, "
            "outputs))"
        ) from None


def model_figures(model: Any, data: Sequences, settings: Any) -> dict[str, Any]:
    """The loss, metrics and report of ``model`` on sequences, as the validation figures
    are computed (at the sample-steps the loss is taken on)."""
    data = decide_task(data, model.task if model.task != "binary" else None, model.network)[0]
    data = dataclasses.replace(data, task=model.task)
    p = PreparedSequences.of(model.network, data)
    logs, outputs = evaluate(model.network, p, settings)
    kept = model.network.sequence_plan().evaluate(p.x, p.y, p.mask, settings.options)[2]
    exact = p.kept_targets(kept, np.arange(len(p))).astype(np.float64)
    result = {"sequences": len(data), "samples": int((kept != 0).sum()), **logs}
    if model.task in ("classification", "binary"):
        result.update(classification_report(outputs, exact, model.labels))
    else:
        result.update(regression_report(outputs, exact))
    return result
