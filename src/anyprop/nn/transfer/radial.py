"""Radial and periodic functions: Gaussians, sine and cosine."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from anyprop.autodiff import ops
from anyprop.nn.transfer.builtin_base import Builtin, builtin


@builtin("gaussian")
class Gaussian(Builtin):
    """FANN's Gaussian: exp(-(s·x)²); f' = -2·s²·x·f."""

    scalar = ("exp(-(steepness * x) * (steepness * x))", "-2.0 * steepness * steepness * x * f")

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "exp(-(s*x)^2)", "-2*s^2*x*f"

    def f(self, x):
        sx = self.steepness * x
        return np.exp(-sx * sx)

    def df(self, x, y):
        return -2 * self.steepness**2 * x * y

    def on_tape(self, x):
        sx = x * self.steepness
        return ops.exp(-(sx * sx))


@builtin("gaussian_symmetric")
class GaussianSymmetric(Builtin):
    """FANN's symmetric Gaussian: 2·exp(-(s·x)²) - 1; f' = -4·s²·x·exp(-(s·x)²)."""

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "2*exp(-(s*x)^2) - 1", "-4*s^2*x*exp(-(s*x)^2)"

    def f(self, x):
        sx = self.steepness * x
        return 2 * np.exp(-sx * sx) - 1

    def df(self, x, y):
        return -2 * self.steepness**2 * x * (y + 1)

    def on_tape(self, x):
        sx = x * self.steepness
        return 2 * ops.exp(-(sx * sx)) - 1


@builtin("sin")
class Sin(Builtin):
    """sin(s·x); f' = s·cos(s·x)."""

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "sin(s*x)", "s*cos(s*x)"

    def f(self, x):
        return np.sin(self.steepness * x)

    def df(self, x, y):
        return self.steepness * np.cos(self.steepness * x)

    def on_tape(self, x):
        return ops.sin(x * self.steepness)


@builtin("cos")
class Cos(Builtin):
    """cos(s·x); f' = -s·sin(s·x)."""

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "cos(s*x)", "-s*sin(s*x)"

    def f(self, x):
        return np.cos(self.steepness * x)

    def df(self, x, y):
        return -self.steepness * np.sin(self.steepness * x)

    def on_tape(self, x):
        return ops.cos(x * self.steepness)
