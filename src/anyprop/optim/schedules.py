"""Learning-rate schedules: separate objects that set an optimizer's rate by epoch.

``lr(epoch)`` gives the rate for an epoch (from 0) given the starting rate;
ReduceOnPlateau instead lowers the rate when the watched metric stops
improving (``observe(value)`` after each epoch). Each round-trips its state.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

from anyprop.errors import AnypropError
from anyprop.registry import Registry

SCHEDULES: Registry[type] = Registry("schedule")
_schedule = SCHEDULES.entry


class Schedule:
    name = "schedule"

    def __init__(self, base_lr: float) -> None:
        self.base_lr = float(base_lr)

    def lr(self, epoch: int) -> float:
        return self.base_lr

    def observe(self, value: float) -> None:
        """Called after each epoch with the monitored metric (used by ReduceOnPlateau)."""

    def state_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        self.__dict__.update(sd)

    def config(self) -> dict[str, Any]:
        """The name and the options it was made with (not its running state)."""
        keys = [
            k
            for k in inspect.signature(type(self).__init__).parameters
            if k not in ("self", "base_lr")
        ]
        return {"name": self.name, **{k: getattr(self, k) for k in keys}}


@_schedule("step")
class StepLR(Schedule):
    """η_e = η₀ · γ^⌊e / step_size⌋."""

    def __init__(self, base_lr: float, step_size: int = 10, gamma: float = 0.1) -> None:
        super().__init__(base_lr)
        if step_size < 1:
            raise AnypropError(f"schedule 'step': step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


@_schedule("exponential")
class ExponentialLR(Schedule):
    """η_e = η₀ · γ^e."""

    def __init__(self, base_lr: float, gamma: float = 0.95) -> None:
        super().__init__(base_lr)
        self.gamma = float(gamma)

    def lr(self, epoch: int) -> float:
        try:
            return self.base_lr * self.gamma**epoch
        except OverflowError:  # (a gamma > 1 over many epochs)
            return math.inf


@_schedule("cosine")
class CosineLR(Schedule):
    """η_e = η_min + (η₀ − η_min)·(1 + cos(π·e/E))/2 over E epochs, then η_min."""

    def __init__(self, base_lr: float, epochs: int = 100, min_lr: float = 0.0) -> None:
        super().__init__(base_lr)
        if epochs < 1:
            raise AnypropError(f"schedule 'cosine': epochs must be >= 1, got {epochs}")
        self.epochs, self.min_lr = int(epochs), float(min_lr)

    def lr(self, epoch: int) -> float:
        e = min(epoch, self.epochs)
        return (
            self.min_lr
            + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * e / self.epochs)) / 2
        )


@_schedule("plateau")
class ReduceOnPlateau(Schedule):
    """η ← max(η·factor, min_lr) when the metric has not improved by ``threshold``
    (relative) for ``patience`` epochs; lower is better unless ``mode="max"``."""

    def __init__(
        self,
        base_lr: float,
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        min_lr: float = 0.0,
        mode: str = "min",
    ) -> None:
        super().__init__(base_lr)
        if not 0 < factor < 1:
            raise AnypropError(f"schedule 'plateau': factor must be in (0, 1), got {factor}")
        if mode not in ("min", "max"):
            raise AnypropError(f"schedule 'plateau': mode must be 'min' or 'max', got {mode!r}")
        self.factor, self.patience, self.threshold = float(factor), int(patience), float(threshold)
        self.min_lr, self.mode = float(min_lr), mode
        self.current = self.base_lr
        self.best: float | None = None
        self.bad = 0

    def lr(self, epoch: int) -> float:
        return self.current

    def observe(self, value: float) -> None:
        v = value if self.mode == "min" else -value
        if self.best is None or v < self.best - abs(self.best) * self.threshold:
            self.best, self.bad = v, 0
        else:
            self.bad += 1
            if self.bad > self.patience:
                self.current = max(self.current * self.factor, self.min_lr)
                self.bad = 0


def make(spec: Any, base_lr: float) -> Schedule:
    """A schedule from a name or a table ``{name = ..., options}``."""
    options: dict[str, Any] = {}
    if isinstance(spec, Mapping):
        options = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    cls = SCHEDULES.get(spec)
    for key, value in options.items():  # (every option but plateau's mode is a number)
        if key == "mode":
            continue
        number = not isinstance(value, bool) and isinstance(value, (int, float))
        if not number or not -1e300 < value < 1e300:
            raise AnypropError(f"schedule '{spec}': {key} must be a finite number, got {value!r}")
    try:
        return cls(base_lr, **options)
    except TypeError as e:
        raise AnypropError(f"schedule '{spec}': {e}") from None
