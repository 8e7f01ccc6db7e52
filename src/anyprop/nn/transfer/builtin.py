"""The built-in transfer functions: the union of FANN's and tinygrad's, and more.

Each is a fused NumPy expression for f and f' (f' from the output where that is
cheaper) beside the same f written as anyprop ops. The conventions at kinks,
where f' is not defined, are these (and are tested):

=====================  ================================================  ===========
name                   f(x)                                              f' at kinks
=====================  ================================================  ===========
relu                   max(x, 0)                                         f'(0) = 0
leaky_relu(alpha)      x if x > 0 else alpha·x                           f'(0) = alpha
relu6                  min(max(x, 0), 6)                                 f'(0) = f'(6) = 0
hard_tanh              clip(x, -1, 1)                                    f'(±1) = 0
hard_sigmoid           clip(x/6 + 1/2, 0, 1)                             f'(±3) = 0
hard_swish             x·clip(x + 3, 0, 6)/6                             f'(-3) = 0, f'(3) = 1
linear_piece(s)        clip(s·x, 0, 1)                                   0 at the kinks
linear_piece_symm.(s)  clip(s·x, -1, 1)                                  0 at the kinks
elu(alpha)             x if x > 0 else alpha·(exp(x) - 1)                f'(0) = alpha
celu(alpha)            max(0, x) + min(0, alpha·(exp(x/alpha) - 1))      f'(0) = 1
=====================  ================================================  ===========
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from scipy import special

from anyprop.autodiff import Tensor, ops
from anyprop.nn.transfer.base import Elementwise, Transfer, TransferError
from anyprop.registry import Registry

#: Every built-in transfer function, by name: its class, made with its parameters.
TRANSFERS: Registry[type[Transfer]] = Registry("transfer function")
builtin = TRANSFERS.entry


class Builtin(Elementwise):
    """A built-in elementwise function with named numeric parameters."""

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


@builtin("identity", "linear")
class Identity(Builtin):
    formula, derivative = "x", "1"

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


@builtin("sigmoid", "logistic")
class Sigmoid(Builtin):
    """σ(s·x) = 1 / (1 + exp(-s·x)); f' = s·f·(1 - f)."""

    defaults: ClassVar = {"steepness": 1.0}
    formula, derivative = "1/(1+exp(-s*x))", "s*f*(1-f)"

    def f(self, x):
        return special.expit(x * self.steepness if self.steepness != 1 else x)

    def df(self, x, y):
        return (self.steepness * y) * (1 - y) if self.steepness != 1 else y * (1 - y)

    def backward(self, net, out, grad):
        d = grad * out
        d *= 1 - out
        return d if self.steepness == 1 else d * self.steepness

    def forward_into(self, net, buf):
        if self.steepness != 1:
            return self.f(net)
        return special.expit(net, out=buf)

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
        return _clip_tape(x / 6 + 0.5, 0.0, 1.0)


def _clip_tape(x: Tensor, lo: float, hi: float) -> Tensor:
    """clip(x, lo, hi) with the derivative 0 at the bounds (open interval)."""
    inside = (x.data > lo) & (x.data < hi)
    return ops.where(inside, x, np.clip(x.data, lo, hi))


@builtin("hard_tanh")
class HardTanh(Builtin):
    """clip(x, -1, 1); f' = 1 on (-1, 1), else 0."""

    formula, derivative = "clip(x, -1, 1)", "1 if -1 < x < 1 else 0"

    def f(self, x):
        return np.clip(x, -1, 1)

    def df(self, x, y):
        return ((x > -1) & (x < 1)).astype(x.dtype)

    def on_tape(self, x):
        return _clip_tape(x, -1.0, 1.0)


@builtin("relu")
class Relu(Builtin):
    """max(x, 0); f' = 1 for x > 0, else 0 (f'(0) = 0)."""

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
        return _clip_tape(x, 0.0, 6.0)


def _nonpositive(x: Tensor) -> Tensor:
    """min(x, 0) whose derivative is 1 at 0 (the negative piece's side, for elu-like f)."""
    return ops.where(x.data <= 0, x, 0.0)


@builtin("elu")
class Elu(Builtin):
    """x if x > 0 else alpha·(exp(x) - 1); f' = 1 for x > 0, else f + alpha."""

    defaults: ClassVar = {"alpha": 1.0}
    formula, derivative = "x if x > 0 else alpha*(exp(x)-1)", "1 if x > 0 else f + alpha"

    def f(self, x):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def df(self, x, y):
        return np.where(x > 0, 1, y + self.alpha).astype(x.dtype)

    def on_tape(self, x):
        return ops.where(x.data > 0, x, self.alpha * ops.expm1(_nonpositive(x)))


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
        neg = self.alpha * ops.expm1(_nonpositive(x) / self.alpha)
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
        neg = SELU_ALPHA * ops.expm1(_nonpositive(x))
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
        return x * _clip_tape(x + 3, 0.0, 6.0) / 6


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

    defaults: ClassVar = {"beta": 1.0}
    formula, derivative = "log(1+exp(beta*x))/beta", "sigmoid(beta*x)"

    def f(self, x):
        return np.logaddexp(0, self.beta * x) / self.beta

    def df(self, x, y):
        return special.expit(self.beta * x)

    def on_tape(self, x):
        return ops.softplus(x * self.beta) / self.beta


@builtin("softsign")
class Softsign(Builtin):
    """x / (1 + |x|); f' = 1 / (1 + |x|)²."""

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


@builtin("gaussian")
class Gaussian(Builtin):
    """FANN's Gaussian: exp(-(s·x)²); f' = -2·s²·x·f."""

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
        return _clip_tape(x * self.steepness, 0.0, 1.0)


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
        return _clip_tape(x * self.steepness, -1.0, 1.0)


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


@builtin("softmax")
class Softmax(Builtin):
    """exp(x_j) / Σ_k exp(x_k) over a group's units; δ = o ⊙ (g - Σ g ⊙ o) (Jᵀ g)."""

    vector = True
    formula, derivative = "exp(x_j)/sum_k exp(x_k)", "o_j*(δ_jk - o_k) (Jacobian)"

    def f(self, x):
        e = np.exp(x - np.maximum.reduce(x, axis=-1, keepdims=True))
        e /= np.add.reduce(e, axis=-1, keepdims=True)
        return e

    def df(self, x, y):
        raise TransferError("softmax is vector-valued: use backward(), not an elementwise f'")

    def backward(self, net, out, grad):
        return out * (grad - np.add.reduce(grad * out, axis=-1, keepdims=True))

    def on_tape(self, x):
        return ops.softmax(x, axis=-1)


@builtin("log_softmax")
class LogSoftmax(Builtin):
    """x_j - log Σ_k exp(x_k) over a group's units; δ = g - softmax ⊙ Σ g (Jᵀ g)."""

    vector = True
    formula, derivative = "x_j - log(sum_k exp(x_k))", "δ_jk - softmax_k (Jacobian)"

    def f(self, x):
        z = x - np.maximum.reduce(x, axis=-1, keepdims=True)
        z -= np.log(np.add.reduce(np.exp(z), axis=-1, keepdims=True))
        return z

    def df(self, x, y):
        raise TransferError("log_softmax is vector-valued: use backward(), not an elementwise f'")

    def backward(self, net, out, grad):
        return grad - np.exp(out) * np.add.reduce(grad, axis=-1, keepdims=True)

    def on_tape(self, x):
        return ops.log_softmax(x, axis=-1)
