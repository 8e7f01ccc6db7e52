"""The record of a training run, epoch by epoch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """Per-epoch figures: ``epochs[k]`` is a dict (loss, metrics, val_..., lr, time)."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    gradients: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str | None = None
    solved_epoch: int | None = None
    restored_epoch: int | None = None

    def __getitem__(self, key: str) -> list[float]:
        return [e[key] for e in self.epochs if key in e]

    def __len__(self) -> int:
        return len(self.epochs)

    def last(self, key: str) -> float:
        values = self[key]
        if not values:
            raise KeyError(f"history has no '{key}' (it has {', '.join(self.names())})")
        return values[-1]

    def names(self) -> list[str]:
        """The figures recorded (loss, metrics, val_..., lr, time), in order of appearance."""
        out: list[str] = []
        for e in self.epochs:
            out += [k for k in e if k not in out]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {  # copies: a snapshot, not the live record
            "epochs": [dict(e) for e in self.epochs],
            "gradients": [dict(g) for g in self.gradients],
            "stop_reason": self.stop_reason,
            "solved_epoch": self.solved_epoch,
            "restored_epoch": self.restored_epoch,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        return cls(
            [dict(e) for e in d.get("epochs", [])],
            [dict(g) for g in d.get("gradients", [])],
            d.get("stop_reason"),
            d.get("solved_epoch"),
            d.get("restored_epoch"),
        )
