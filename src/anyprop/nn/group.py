"""A group of units: one transfer function, a bias, and perhaps a loss."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anyprop.errors import NetworkError
from anyprop.nn.losses import Loss
from anyprop.nn.transfer import Transfer


@dataclass
class Group:
    """A set of units sharing a transfer function; a layer, or a single unit."""

    name: str
    size: int
    transfer: Transfer | None = None  # None for an input group
    bias: bool = True
    is_input: bool = False
    output: bool = False
    loss: Loss | None = None
    loss_weight: float = 1.0
    bias_init: Any = "zeros"
    explicit_bias: bool = False  # bias values given by the user (kept by reinitialize)
    meta: dict = field(default_factory=dict)
    #: o(t) before the first step over sequences: "zero", or "learned" (a parameter)
    initial_state: str = "zero"

    @property
    def bias_param(self) -> str | None:
        return f"{self.name}.bias" if self.bias and not self.is_input else None

    @property
    def initial_param(self) -> str | None:
        """The learned initial state's parameter: o_j(t < 0) = s_j, one per unit."""
        return f"{self.name}.initial" if self.initial_state == "learned" else None

    def __repr__(self) -> str:
        if self.is_input:
            return f"<group {self.name}: {self.size} inputs>"
        extra = f", loss {self.loss!r}" if self.loss is not None else ""
        return f"<group {self.name}: {self.size} × {self.transfer!r}{extra}>"


def check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in ".[]\n\"'") or "->" in name:
        raise NetworkError(
            f"{what} name {name!r} is not allowed: use a non-empty name without '.', '[', ']', "
            "quotes or '->'"
        )
    return name
