"""Rectifiers and their smooth relatives: ReLU, ELU, SELU, GELU, SiLU, Mish, softplus..."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from scipy import special

from anyprop.autodiff import ops
from anyprop.nn.transfer.builtin_base import Builtin, builtin, clip_tape, nonpositive


@builtin("relu")
class Relu(Builtin):
    """max(x, 0); f' = 1 for x > 0, else 0 (f'(0) = 0)."""

    scalar = ("x if x > 0.0 else 0.0", "1.0 if x > 0.0 else 0.0")

    formula, derivative = "max(x, 0)", "1 if x > 0 else 0"

    def f(self, x):
        return np.maximum(x, 0)

    def df(self, x, y):
        return (x > 0).astype(x.dtype)

    def backward(self, net, out, grad):
        return np.where(net > 0, grad, 0).astype(grad.dtype, copy=False)

    def forward_into(self, net, buf):
        return np.maximum(net, 0, out=buf)

    def backward_into(self, net, out, grad, scratch):
        grad *= net > 0
        return grad

    def on_tape(self, x):
        return ops.relu(x)


@builtin("leaky_relu")
class LeakyRelu(Builtin):
    """x if x > 0 else alpha·x; f' = 1 for x > 0, else alpha."""

    scalar = ("x if x > 0.0 else alpha * x", "1.0 if x > 0.0 else alpha")

    defaults: ClassVar = {"alpha": 0.01}
    formula, derivative = "x if x > 0 else alpha*x", "1 if x > 0 else alpha"

    def f(self, x):
        return np.where(x > 0, x, self.alpha * x)

    def df(self, x, y):
        return np.where(x > 0, 1, self.alpha).astype(x.dtype)

    def on_tape(self, x):
        return ops.where(x.data > 0, x, x * self.alpha)


@builtin("relu6")
class Relu6(Builtin):
    """min(max(x, 0), 6); f' = 1 on (0, 6), else 0."""

    formula, derivative = "min(max(x, 0), 6)", "1 if 0 < x < 6 else 0"

    def f(self, x):
        return np.clip(x, 0, 6)

    def df(self, x, y):
        return ((x > 0) & (x < 6)).astype(x.dtype)

    def on_tape(self, x):
        return clip_tape(x, 0.0, 6.0)


@builtin("elu")
class Elu(Builtin):
    """x if x > 0 else alpha·(exp(x) - 1); f' = 1 for x > 0, else f + alpha."""

    scalar = ("x if x > 0.0 else alpha * expm1(x)", "1.0 if x > 0.0 else f + alpha")

    defaults: ClassVar = {"alpha": 1.0}
    formula, derivative = "x if x > 0 else alpha*(exp(x)-1)", "1 if x > 0 else f + alpha"

    def f(self, x):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def df(self, x, y):
        return np.where(x > 0, 1, y + self.alpha).astype(x.dtype)

    def on_tape(self, x):
        return ops.where(x.data > 0, x, self.alpha * ops.expm1(nonpositive(x)))


@builtin("celu")
class Celu(Builtin):
    """max(0, x) + min(0, alpha·(exp(x/alpha) - 1)); f' = 1 for x > 0, else exp(x/alpha)."""

    defaults: ClassVar = {"alpha": 1.0}
    formula = "max(0, x) + min(0, alpha*(exp(x/alpha)-1))"
    derivative = "1 if x > 0 else exp(x/alpha)"

    def f(self, x):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0) / self.alpha))

    def df(self, x, y):
        return np.where(x > 0, 1, np.exp(np.minimum(x, 0) / self.alpha)).astype(x.dtype)

    def on_tape(self, x):
        neg = self.alpha * ops.expm1(nonpositive(x) / self.alpha)
        return ops.where(x.data > 0, x, neg)


SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


@builtin("selu")
class Selu(Builtin):
    """scale·elu(x, alpha), scale ≈ 1.0507, alpha ≈ 1.6733; f' = scale·(1 or f/scale + alpha)."""

    formula = "1.0507*(x if x > 0 else 1.6733*(exp(x)-1))"
    derivative = "1.0507 if x > 0 else f + 1.0507*1.6733"

    def f(self, x):
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))

    def df(self, x, y):
        return np.where(x > 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA).astype(x.dtype)

    def on_tape(self, x):
        neg = SELU_ALPHA * ops.expm1(nonpositive(x))
        return SELU_SCALE * ops.where(x.data > 0, x, neg)


@builtin("gelu")
class Gelu(Builtin):
    """x·Φ(x) = x/2·(1 + erf(x/√2)); f' = Φ(x) + x·φ(x)."""

    formula, derivative = "x/2*(1+erf(x/sqrt(2)))", "Φ(x) + x*φ(x)"

    def f(self, x):
        return 0.5 * x * (1 + special.erf(x / math.sqrt(2)))

    def df(self, x, y):
        cdf = 0.5 * (1 + special.erf(x / math.sqrt(2)))
        return cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)

    def on_tape(self, x):
        return 0.5 * x * (1 + ops.erf(x / math.sqrt(2)))


_GELU_C = math.sqrt(2 / math.pi)


@builtin("gelu_tanh")
class GeluTanh(Builtin):
    """x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the tanh approximation of gelu."""

    formula = "x/2*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3)))"
    derivative = "(1+t)/2 + x/2*(1-t^2)*sqrt(2/pi)*(1+3*0.044715*x^2), t = tanh(...)"

    def f(self, x):
        return 0.5 * x * (1 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))

    def df(self, x, y):
        t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x)

    def on_tape(self, x):
        return 0.5 * x * (1 + ops.tanh(_GELU_C * (x + 0.044715 * x**3)))


@builtin("silu")
class Silu(Builtin):
    """x·σ(x); f' = σ(x)·(1 + x·(1 - σ(x)))."""

    formula, derivative = "x*sigmoid(x)", "sigmoid(x)*(1 + x*(1 - sigmoid(x)))"

    def f(self, x):
        return x * special.expit(x)

    def df(self, x, y):
        s = special.expit(x)
        return s * (1 + x * (1 - s))

    def on_tape(self, x):
        return x * ops.sigmoid(x)


@builtin("swish")
class Swish(Builtin):
    """x·σ(beta·x); f' = σ(βx) + β·x·σ(βx)·(1 - σ(βx)). beta = 1 is silu."""

    defaults: ClassVar = {"beta": 1.0}
    formula, derivative = "x*sigmoid(beta*x)", "s + beta*x*s*(1-s), s = sigmoid(beta*x)"

    def f(self, x):
        return x * special.expit(self.beta * x)

    def df(self, x, y):
        s = special.expit(self.beta * x)
        return s + self.beta * x * s * (1 - s)

    def on_tape(self, x):
        return x * ops.sigmoid(x * self.beta)


@builtin("hard_swish")
class HardSwish(Builtin):
    """x·relu6(x + 3)/6; f' = 0 below -3, 1 above 3, (2x + 3)/6 between (0 at x = -3)."""

    formula, derivative = "x*min(max(x+3, 0), 6)/6", "0 if x <= -3, 1 if x >= 3, else (2x+3)/6"

    def f(self, x):
        return x * np.clip(x + 3, 0, 6) / 6

    def df(self, x, y):
        return np.where(x <= -3, 0, np.where(x >= 3, 1, (2 * x + 3) / 6)).astype(x.dtype)

    def on_tape(self, x):
        return x * clip_tape(x + 3, 0.0, 6.0) / 6


@builtin("quick_gelu")
class QuickGelu(Builtin):
    """x·σ(1.702·x), a fast approximation of gelu; f' = s + 1.702·x·s·(1 - s)."""

    formula, derivative = "x*sigmoid(1.702*x)", "s + 1.702*x*s*(1-s), s = sigmoid(1.702*x)"

    def f(self, x):
        return x * special.expit(1.702 * x)

    def df(self, x, y):
        s = special.expit(1.702 * x)
        return s + 1.702 * x * s * (1 - s)

    def on_tape(self, x):
        return x * ops.sigmoid(x * 1.702)


@builtin("mish")
class Mish(Builtin):
    """x·tanh(softplus(x)); f' = tanh(sp) + x·(1 - tanh(sp)²)·σ(x)."""

    formula, derivative = "x*tanh(softplus(x))", "tanh(sp) + x*(1-tanh(sp)^2)*sigmoid(x)"

    def f(self, x):
        return x * np.tanh(np.logaddexp(0, x))

    def df(self, x, y):
        t = np.tanh(np.logaddexp(0, x))
        return t + x * (1 - t * t) * special.expit(x)

    def on_tape(self, x):
        return x * ops.tanh(ops.softplus(x))


@builtin("softplus")
class Softplus(Builtin):
    """log(1 + exp(beta·x)) / beta, computed stably; f' = σ(beta·x)."""

    scalar = (
        "(max(beta * x, 0.0) + log1p(exp(-abs(beta * x)))) / beta",
        "1.0 / (1.0 + exp(-beta * x))",
    )

    defaults: ClassVar = {"beta": 1.0}
    formula, derivative = "log(1+exp(beta*x))/beta", "sigmoid(beta*x)"

    def f(self, x):
        return np.logaddexp(0, self.beta * x) / self.beta

    def df(self, x, y):
        return special.expit(self.beta * x)

    def on_tape(self, x):
        return ops.softplus(x * self.beta) / self.beta
