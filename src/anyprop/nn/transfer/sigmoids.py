"""Sigmoid-shaped functions: logistic, tanh, their hard, piecewise-linear and Elliot forms."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special

from anyprop.autodiff import ops
from anyprop.nn.transfer.builtin_base import Builtin, builtin, clip_tape


@builtin("sigmoid", "logistic")
class Sigmoid(Builtin):
    """σ(s·x) = 1 / (1 + exp(-s·x)); f' = s·f·(1 - f)."""

    scalar = ("1.0 / (1.0 + exp(-steepness * x))", "steepness * f * (1.0 - f)")

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "1/(1+exp(-s*x))", "s*f*(1-f)"

    def f(self, x):
        return self.forward_into(x, np.empty_like(x, dtype=np.result_type(x, np.float32)))

    def df(self, x, y):
        return (self.steepness * y) * (1 - y) if self.steepness != 1 else y * (1 - y)

    def backward(self, net, out, grad):
        d = grad * out
        d *= 1 - out
        return d if self.steepness == 1 else d * self.steepness

    def forward_into(self, net, buf):
        # 1 / (1 + exp(−s·x)) in four SIMD ufunc passes (about 3× SciPy's expit); for
        # x → −∞, exp overflows to inf and the result is exactly 0, as it should be
        if self.steepness != 1:
            np.multiply(net, -self.steepness, out=buf)
        else:
            np.negative(net, out=buf)
        with np.errstate(over="ignore"):
            np.exp(buf, out=buf)
        buf += 1
        return np.reciprocal(buf, out=buf)

    needs_scratch = True

    def backward_into(self, net, out, grad, scratch):
        grad *= out  # (grad·o)·(1 − o): the order backward uses, so both give the same bits
        np.subtract(1, out, out=scratch)
        grad *= scratch
        if self.steepness != 1:
            grad *= self.steepness
        return grad

    def on_tape(self, x):
        return ops.sigmoid(x * self.steepness)


@builtin("sigmoid_symmetric")
class SigmoidSymmetric(Builtin):
    """FANN's symmetric sigmoid: 2/(1 + exp(-2·s·x)) - 1 = tanh(s·x); f' = s·(1 - f²)."""

    scalar = ("tanh(steepness * x)", "steepness * (1.0 - f * f)")

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "tanh(s*x)", "s*(1-f^2)"

    def f(self, x):
        return np.tanh(x * self.steepness)

    def df(self, x, y):
        return self.steepness * (1 - y * y)

    def on_tape(self, x):
        return ops.tanh(x * self.steepness)


@builtin("tanh")
class Tanh(Builtin):
    """tanh(x); f' = 1 - f²."""

    scalar = ("tanh(x)", "1.0 - f * f")

    formula, derivative = "tanh(x)", "1-f^2"

    def f(self, x):
        return np.tanh(x)

    def df(self, x, y):
        return 1 - y * y

    def backward(self, net, out, grad):
        return grad * (1 - out * out)

    def forward_into(self, net, buf):
        return np.tanh(net, out=buf)

    needs_scratch = True

    def backward_into(self, net, out, grad, scratch):
        np.multiply(out, out, out=scratch)
        np.subtract(1, scratch, out=scratch)
        grad *= scratch
        return grad

    def on_tape(self, x):
        return ops.tanh(x)


@builtin("hard_sigmoid")
class HardSigmoid(Builtin):
    """clip(x/6 + 1/2, 0, 1); f' = 1/6 on (-3, 3), else 0."""

    formula, derivative = "clip(x/6 + 1/2, 0, 1)", "1/6 if -3 < x < 3 else 0"

    def f(self, x):
        return np.clip(x / 6 + 0.5, 0, 1)

    def df(self, x, y):
        return np.where((x > -3) & (x < 3), 1 / 6, 0).astype(x.dtype)

    def on_tape(self, x):
        return clip_tape(x / 6 + 0.5, 0.0, 1.0)


@builtin("hard_tanh")
class HardTanh(Builtin):
    """clip(x, -1, 1); f' = 1 on (-1, 1), else 0."""

    formula, derivative = "clip(x, -1, 1)", "1 if -1 < x < 1 else 0"

    def f(self, x):
        return np.clip(x, -1, 1)

    def df(self, x, y):
        return ((x > -1) & (x < 1)).astype(x.dtype)

    def on_tape(self, x):
        return clip_tape(x, -1.0, 1.0)


@builtin("softsign")
class Softsign(Builtin):
    """x / (1 + |x|); f' = 1 / (1 + |x|)²."""

    scalar = ("x / (1.0 + abs(x))", "1.0 / ((1.0 + abs(x)) * (1.0 + abs(x)))")

    formula, derivative = "x/(1+abs(x))", "1/(1+abs(x))^2"

    def f(self, x):
        return x / (1 + np.abs(x))

    def df(self, x, y):
        d = 1 + np.abs(x)
        return 1 / (d * d)

    def on_tape(self, x):
        return x / (1 + ops.abs(x))


@builtin("elliot")
class Elliot(Builtin):
    """FANN's Elliot: (s·x/2) / (1 + |s·x|) + 1/2; f' = s / (2·(1 + |s·x|)²)."""

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "(s*x/2)/(1+abs(s*x)) + 1/2", "s/(2*(1+abs(s*x))^2)"

    def f(self, x):
        sx = self.steepness * x
        return 0.5 * sx / (1 + np.abs(sx)) + 0.5

    def df(self, x, y):
        d = 1 + np.abs(self.steepness * x)
        return self.steepness / (2 * d * d)

    def on_tape(self, x):
        sx = x * self.steepness
        return 0.5 * sx / (1 + ops.abs(sx)) + 0.5


@builtin("elliot_symmetric")
class ElliotSymmetric(Builtin):
    """FANN's symmetric Elliot: s·x / (1 + |s·x|); f' = s / (1 + |s·x|)²."""

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "s*x/(1+abs(s*x))", "s/(1+abs(s*x))^2"

    def f(self, x):
        sx = self.steepness * x
        return sx / (1 + np.abs(sx))

    def df(self, x, y):
        d = 1 + np.abs(self.steepness * x)
        return self.steepness / (d * d)

    def on_tape(self, x):
        sx = x * self.steepness
        return sx / (1 + ops.abs(sx))


@builtin("linear_piece")
class LinearPiece(Builtin):
    """FANN's bounded linear: clip(s·x, 0, 1); f' = s inside (0, 1), else 0."""

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "clip(s*x, 0, 1)", "s if 0 < s*x < 1 else 0"

    def f(self, x):
        return np.clip(self.steepness * x, 0, 1)

    def df(self, x, y):
        sx = self.steepness * x
        return np.where((sx > 0) & (sx < 1), self.steepness, 0).astype(x.dtype)

    def on_tape(self, x):
        return clip_tape(x * self.steepness, 0.0, 1.0)


@builtin("linear_piece_symmetric")
class LinearPieceSymmetric(Builtin):
    """FANN's bounded symmetric linear: clip(s·x, -1, 1); f' = s inside (-1, 1), else 0."""

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "clip(s*x, -1, 1)", "s if -1 < s*x < 1 else 0"

    def f(self, x):
        return np.clip(self.steepness * x, -1, 1)

    def df(self, x, y):
        sx = self.steepness * x
        return np.where((sx > -1) & (sx < 1), self.steepness, 0).astype(x.dtype)

    def on_tape(self, x):
        return clip_tape(x * self.steepness, -1.0, 1.0)


@builtin("log_sigmoid")
class LogSigmoid(Builtin):
    """log σ(x) = -softplus(-x), computed stably; f' = 1 - σ(x) = σ(-x)."""

    formula, derivative = "-log(1+exp(-x))", "sigmoid(-x)"

    def f(self, x):
        return -np.logaddexp(0, -x)

    def df(self, x, y):
        return special.expit(-x)

    def on_tape(self, x):
        return -ops.softplus(-x)
