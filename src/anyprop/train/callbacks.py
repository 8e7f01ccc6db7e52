"""Callbacks: code that runs at the edges of epochs and batches.

A callback overrides any of the hooks; each receives the trainer, whose
``history``, ``network``, ``optimizer`` and ``epoch`` (the number of epochs done;
in ``on_epoch_end``, the number of the epoch just ended, from 1) it may read, and
whose ``stop`` it may set (with ``stop_reason``). Built-ins: :class:`EarlyStopping`,
:class:`Checkpoint`, :class:`PrintLogger`, :class:`GradientStats`, and the stop
rules :class:`TargetLoss` and :class:`StopWhenSolved`.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any, TextIO

import numpy as np

from anyprop.errors import AnypropError
from anyprop.train.metrics import HIGHER_IS_BETTER


class Callback:
    """Base class: every hook does nothing."""

    def on_train_begin(self, trainer: Any) -> None:
        """Before the first epoch (also when resuming)."""

    def on_epoch_begin(self, trainer: Any) -> None:
        """Before each epoch."""

    def on_batch_end(self, trainer: Any, batch: int, backprop: Any) -> None:
        """After each batch's update; ``backprop`` holds its deltas and gradients."""

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        """After each epoch, with that epoch's figures (``loss``, ``val_loss``, metrics...)."""

    def on_train_end(self, trainer: Any) -> None:
        """After the last epoch, or when training stopped."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` gave (for an exact resume)."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs,
    and (``restore_best``) put back the weights of the best epoch."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if patience < 0:
            raise AnypropError(f"early stopping: patience must be >= 0, got {patience}")
        if not (isinstance(min_delta, (int, float)) and 0 <= min_delta < math.inf):
            raise AnypropError(f"early stopping: min_delta must be a number >= 0, got {min_delta}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.restore_best = restore_best
        self.best: float | None = None
        self.best_epoch = -1
        self.wait = 0
        self.best_params: dict[str, np.ndarray] | None = None
        self.best_optimizer: dict[str, Any] | None = None  # its state at the best epoch

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        name = self.monitor.removeprefix("val_")
        if name in HIGHER_IS_BETTER:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise AnypropError(
                f"early stopping watches '{self.monitor}', which this run does not report "
                f"(it reports {', '.join(sorted(logs))}); give validation data or another monitor"
            )
        value = logs[self.monitor]
        if math.isfinite(value) and self._better(value):
            self.best, self.best_epoch, self.wait = value, trainer.epoch, 0
            if self.restore_best:  # the weights and the optimizer's state of that epoch
                self.best_params = {k: v.copy() for k, v in trainer.network.params.items()}
                self.best_optimizer = trainer.optimizer.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:  # the patience-th epoch without a better one
                trainer.stop = True
                trainer.stop_reason = (
                    f"early stopping: {self.monitor} has not improved for {self.patience} epochs "
                    f"(best {self.best:.6g} at epoch {self.best_epoch})"
                )

    def on_train_end(self, trainer: Any) -> None:
        if (
            self.restore_best
            and self.best_params is not None
            and trainer.stop_reason
            and trainer.stop_reason.startswith("early stopping")
        ):
            trainer.network.set_params(self.best_params)
            if self.best_optimizer is not None:  # one consistent state to go on from
                trainer.optimizer.load_state_dict(self.best_optimizer)
            trainer.history.restored_epoch = self.best_epoch

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_params": self.best_params,
            "best_optimizer": self.best_optimizer,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_params = state.get("best_params")
        self.best_optimizer = state.get("best_optimizer")


class TargetLoss(Callback):
    """Stop when the epoch's training loss reaches ``value`` (``fit(target_loss=...)``)."""

    def __init__(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
            raise AnypropError(f"target loss must be a number, got {value!r}")
        self.value = float(value)

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        if logs["loss"] <= self.value:
            trainer.stop, trainer.stop_reason = True, f"target loss {self.value:g} reached"


class StopWhenSolved(Callback):
    """Stop once every output has been within the margin of its target for a whole
    epoch (the classic papers' "solved"; ``fit(stop_when_solved=True)``)."""

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        if trainer.history.solved_epoch is not None:
            margin = trainer.settings.margin
            trainer.stop = True
            trainer.stop_reason = f"solved: every output within {margin} of its target"


class Checkpoint(Callback):
    """Save the model (and the trainer's state, for ``resume``) every ``every`` epochs."""

    def __init__(self, path: str, every: int = 1, extra: dict[str, Any] | None = None) -> None:
        self.path, self.every, self.extra = path, max(1, int(every)), extra or {}

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        if trainer.epoch % self.every == 0 or trainer.stop:
            trainer.save(self.path, **self.extra)

    def on_train_end(self, trainer: Any) -> None:
        if trainer.stop_reason != "interrupted":  # a half-done epoch would not resume exactly
            trainer.save(self.path, **self.extra)


class PrintLogger(Callback):
    """Print a line of figures every ``every`` epochs (plain text; the CLI draws a progress bar)."""

    def __init__(self, every: int = 1, stream: TextIO | None = None) -> None:
        self.every, self.stream = max(1, int(every)), stream

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        e = trainer.epoch  # epochs done, counting from 1
        if e == 1 or e % self.every == 0 or trainer.stop:
            figures = "  ".join(
                f"{k} {v:.4g}" for k, v in logs.items() if k not in ("epoch", "time")
            )
            print(f"epoch {e:5d}  {figures}", file=self.stream or sys.stdout)


class GradientStats(Callback):
    """Record per epoch where gradients flow: each group's mean |δ|, each connection's
    gradient norm, the fraction of saturated units (|f'| < 1e-3) and of dead ReLU-like
    units (no positive output over the epoch). Kept in ``history.gradients``."""

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._count = 0
        self._alive: dict[str, np.ndarray] = {}
        self._saturated: dict[str, float] = {}

    def on_epoch_begin(self, trainer: Any) -> None:
        self._sums, self._count, self._alive, self._saturated = {}, 0, {}, {}

    def on_batch_end(self, trainer: Any, batch: int, backprop: Any) -> None:
        net = trainer.network
        self._count += 1
        for name, d in backprop.deltas.items():
            key = f"delta/{name}"
            self._sums[key] = self._sums.get(key, 0.0) + float(np.abs(d).mean())
            group = net.groups[name]
            t = group.transfer
            if not t.vector and t.differentiable:
                with np.errstate(all="ignore"):
                    fp = t.prime(backprop.nets[name], backprop.outputs[name])
                frac = float(np.mean(np.abs(fp) < 1e-3))
                self._saturated[name] = self._saturated.get(name, 0.0) + frac
            if t.name in ("relu", "relu6", "leaky_relu", "elu", "celu", "selu", "hard_tanh"):
                alive = (backprop.outputs[name] > 0).any(axis=0)
                prev = self._alive.get(name)
                self._alive[name] = alive if prev is None else (prev | alive)
        for name, g in backprop.grads.items():
            key = f"grad/{name}"
            self._sums[key] = self._sums.get(key, 0.0) + float(np.sqrt(np.vdot(g, g)))

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        n = max(self._count, 1)
        record = {k: v / n for k, v in self._sums.items()}
        record.update({f"saturated/{k}": v / n for k, v in self._saturated.items()})
        record.update({f"dead/{k}": float(1 - v.mean()) for k, v in self._alive.items()})
        trainer.history.gradients.append(record)
