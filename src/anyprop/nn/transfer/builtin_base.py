"""The built-ins' registry and base classes: named numeric parameters, checked."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from anyprop.autodiff import Tensor, ops
from anyprop.nn.transfer.base import Elementwise, Transfer, TransferError
from anyprop.registry import Registry

#: Every built-in transfer function, by name: its class, made with its parameters.
TRANSFERS: Registry[type[Transfer]] = Registry("transfer function")
builtin = TRANSFERS.entry


class Parametrised:
    """Named numeric parameters (``defaults``), checked when the function is made."""

    defaults: ClassVar[dict[str, float]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            allowed = ", ".join(sorted(self.defaults)) or "none"
            raise TransferError(
                f"transfer function '{self.name}' has no parameter "
                f"{', '.join(repr(u) for u in sorted(unknown))} (parameters: {allowed})"
            )
        values = dict(self.defaults)
        for k, v in params.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise TransferError(
                    f"transfer function '{self.name}': parameter '{k}' must be a finite number, "
                    f"got {v!r}"
                )
            values[k] = float(v)
        for k, v in values.items():
            setattr(self, k, v)
        super().__init__(**{k: v for k, v in values.items() if v != self.defaults[k]})


class Builtin(Parametrised, Elementwise):
    """A built-in elementwise function with named numeric parameters."""

    #: f and f' as scalar Python expressions for a compiled step (anyprop.nn.plan.kernel):
    #: of ``x`` (the net input) and, for f', ``f`` (the output), with ``exp``, ``log``,
    #: ``log1p``, ``expm1``, ``tanh`` and ``abs``, and the parameters by name; None where
    #: a function has none, and a step through it runs in NumPy
    scalar: ClassVar[tuple[str, str] | None] = None


class VectorBuiltin(Parametrised, Transfer):
    """A built-in function of a group's whole unit vector (softmax): its backward is the
    Jacobian-transpose product Jᵀ·grad; it has no derivative per unit."""

    vector = True


def clip_tape(x: Tensor, lo: float, hi: float) -> Tensor:
    """clip(x, lo, hi) with the derivative 0 at the bounds (open interval)."""
    inside = (x.data > lo) & (x.data < hi)
    return ops.where(inside, x, np.clip(x.data, lo, hi))


def nonpositive(x: Tensor) -> Tensor:
    """min(x, 0) whose derivative is 1 at 0 (the negative piece's side, for elu-like f)."""
    return ops.where(x.data <= 0, x, 0.0)
