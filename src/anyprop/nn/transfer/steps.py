"""Identity and step functions (FANN's threshold units, with surrogates for training)."""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.nn.transfer.base import TransferError
from anyprop.nn.transfer.builtin_base import TRANSFERS, Builtin, builtin


@builtin("identity", "linear")
class Identity(Builtin):
    formula, derivative = "x", "1"
    scalar = ("x", "1.0")

    def f(self, x):
        return x.copy()

    def df(self, x, y):
        return np.ones_like(x)

    def backward(self, net, out, grad):
        return grad

    def forward_into(self, net, buf):
        return net

    def backward_into(self, net, out, grad, scratch):
        return grad

    def on_tape(self, x):
        return x * 1.0


class _Step(Builtin):
    """A step function: not differentiable; training through it needs a surrogate."""

    differentiable = False
    low = 0.0
    surrogate_name: str | None = None

    def __init__(self, surrogate: str | None = None, **params: Any) -> None:
        super().__init__(**params)
        if surrogate is not None:
            sur = TRANSFERS.get(surrogate)()
            if not sur.differentiable or sur.vector:
                raise TransferError(
                    f"transfer function '{self.name}': surrogate '{surrogate}' must be a "
                    "differentiable elementwise function"
                )
            self.surrogate = sur
            self.differentiable = True
            self.params = {**self.params, "surrogate": surrogate}
        else:
            self.surrogate = None

    def f(self, x):
        return np.where(x >= 0, 1.0, self.low).astype(x.dtype)

    def df(self, x, y):
        if self.surrogate is None:
            raise TransferError(
                f"transfer function '{self.name}' has no derivative (it is a step), so no "
                "gradient can flow through it; use a differentiable function such as "
                f"'{'sigmoid' if self.low == 0 else 'tanh'}', or train with a surrogate gradient: "
                f'{{name = "{self.name}", surrogate = "{"sigmoid" if self.low == 0 else "tanh"}"}}'
            )
        return self.surrogate.df(x, self.surrogate.f(x))

    def on_tape(self, x):
        from anyprop.autodiff.engine import primitive

        @primitive(name=self.name, register=False)
        def step(v):
            return self.f(v), lambda g: (g * self.df(v, None),)

        return step(x)


@builtin("threshold")
class Threshold(_Step):
    """1 if x >= 0 else 0. No derivative; a named surrogate's derivative may stand in."""

    formula, derivative = "1 if x >= 0 else 0", "none (a step); the surrogate's if given"


@builtin("threshold_symmetric")
class ThresholdSymmetric(_Step):
    """1 if x >= 0 else -1. No derivative; a named surrogate's derivative may stand in."""

    low = -1.0
    formula, derivative = "1 if x >= 0 else -1", "none (a step); the surrogate's if given"
