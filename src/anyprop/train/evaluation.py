"""A network's loss and metrics on a data set, without training.

The one place that does it: the trainer's per-epoch figures and validation,
and ``anyprop evaluate`` (:func:`anyprop.train.evaluate.evaluate`) all come
here, with the run's :class:`~anyprop.train.settings.TrainSettings` (its loss
reduction, margin and metrics), so the figures a model file shows and the
ones ``evaluate`` prints are computed the same way.

A data set is first :class:`Prepared` once per run: its inputs cast to the
network's dtype and its targets laid out like the outputs (class indices as
one-hot rows), checked against the network's input and output units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.data import DataError, Dataset
from anyprop.errors import ShapeError
from anyprop.nn.plan.prepare import finite
from anyprop.train.metrics import METRICS, default_metrics
from anyprop.train.settings import TrainSettings


class Prepared:
    """A data set as the network takes it (see the module's docstring). Class targets of
    a large set are kept as class indices (``classes``) and laid out as one-hot rows
    batch by batch (:meth:`one_hot`); ``y`` makes them whole when asked for."""

    #: one-hot targets at least this large are kept as class indices instead
    COMPACT_BYTES = 1 << 20

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None,
        data: Dataset,
        network: Any,
        classes: np.ndarray | None = None,
    ) -> None:
        self.x, self.data, self.network, self.classes = x, data, network, classes
        self._y, self._exact = y, None

    @property
    def y(self) -> np.ndarray:
        """The targets laid out like the outputs, in the network's dtype: what the loss
        takes."""
        if self._y is None:
            self._y = self.one_hot(slice(None))
        return self._y

    def one_hot(self, rows: Any, out: np.ndarray | None = None) -> np.ndarray:
        """The one-hot rows of the samples at ``rows`` (of ``classes``), into ``out``."""
        picked = self.classes[rows]
        if out is None:
            out = np.empty((len(picked), self.network.target_width), self.network.dtype)
        out.fill(0)
        out[np.arange(len(picked)), picked] = 1
        return out

    @property
    def exact(self) -> np.ndarray:
        """The same targets in float64, for the figures of an evaluation: made when first
        asked for (training reads ``y`` alone), then kept."""
        if self._exact is None:
            y = self.y
            self._exact = y if y.dtype == np.float64 else self.network.prepare_targets(self.data.y)
        return self._exact

    @classmethod
    def of(cls, network: Any, data: Dataset) -> Prepared:
        if data.x.shape[1] != network.input_width:
            raise ShapeError(
                f"{data.name}: {data.x.shape[1]} input columns, but the network has "
                f"{network.input_width} input units"
            )
        x = data.x.astype(network.dtype, copy=False)
        if not finite(x):  # checked once here: the steps then skip the scan
            i, j = np.argwhere(~np.isfinite(x))[0]
            raise DataError(
                f"{data.name}: the input in row {i}, column {j} is not a finite number (NaN or "
                "infinity; --impute fills missing values)"
            )
        y = network.prepare_targets(data.y, network.dtype)  # (checked: classes in range)
        t = np.asarray(data.y)
        if y.nbytes >= cls.COMPACT_BYTES and t.ndim == 1 and y.ndim == 2 and y.shape[1] > 1:
            return cls(x, None, data, network, t.astype(np.intp))  # class indices
        return cls(x, y, data, network)

    def __len__(self) -> int:
        return len(self.x)

    def figures(
        self, outputs: np.ndarray, targets: np.ndarray, settings: TrainSettings, prefix: str = ""
    ) -> dict[str, float]:
        """Each metric of ``outputs`` against ``targets`` (laid out as ``y``), in the
        targets' own units where training standardised them."""
        scaler = self.data.target_scaler
        if scaler is not None:
            outputs = scaler.inverse(np.asarray(outputs, dtype=np.float64))
            targets = scaler.inverse(np.asarray(targets, dtype=np.float64))
        return metric_logs(outputs, targets, self.data.task, settings, prefix)


def metrics_for(settings: TrainSettings, task: str) -> list[str]:
    """The metrics a run logs: the settings', else those the task calls for."""
    return list(settings.metrics) if settings.metrics is not None else default_metrics(task)


def metric_logs(
    outputs: np.ndarray, targets: np.ndarray, task: str, settings: TrainSettings, prefix: str = ""
) -> dict[str, float]:
    """Each metric of ``outputs`` against ``targets`` (laid out alike), by name."""
    return {
        prefix + m: METRICS.get(m)(outputs, targets, task=task, margin=settings.margin)
        for m in metrics_for(settings, task)
    }


def evaluate_network(
    network: Any, data: Prepared, settings: TrainSettings, prefix: str = ""
) -> tuple[dict[str, float], np.ndarray]:
    """({prefix}loss and each metric, the outputs) of ``network`` on a whole data set."""
    loss, outs = network.plan().evaluate(data.x, data.y, None, settings.options, check=False)
    outputs = network.gather(outs).copy()  # (the plan's buffers)
    logs = {prefix + "loss": loss}
    logs.update(data.figures(outputs, data.exact, settings, prefix))
    return logs, outputs
