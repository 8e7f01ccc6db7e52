"""Losses: a registry of built-ins, and the user's own from ops or a formula.

Convention for every loss: a per-sample loss ℓ_n sums over the output group's
units, and the loss of a batch is the weighted mean over samples,

    L = (1/N) Σ_n s_n ℓ_n          (s_n = 1 without sample weights),

so ∂L/∂o_n = (s_n/N) ∂ℓ_n/∂o_n. ``mse`` keeps the classic ½: ℓ = ½ Σ_k (o_k - t_k)²,
so its delta at a linear output is exactly (o - t)/N.

Fused pairs: when an output group's transfer function is ``softmax`` and its loss
``cross_entropy``, or ``sigmoid`` and ``binary_cross_entropy``, the plan computes
both together from the net input with a stable primitive (δ = o - t). The pair
is chosen by the names the user gives, never guessed from the data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from scipy import special

from anyprop.autodiff import Tensor, ops
from anyprop.errors import AnypropError, ShapeError
from anyprop.nn.values import numbers
from anyprop.registry import Registry

#: Every built-in loss, by name.
LOSSES: Registry[type[Loss]] = Registry("loss")
_loss = LOSSES.entry


class LossError(AnypropError, ValueError):
    """A loss that cannot be made or applied as asked."""


class Loss(ABC):
    """A loss on one output group. Subclasses give ``per_sample`` and ``on_tape``."""

    name: str = "loss"
    fused_with: str | None = None  # the transfer function of the fused pair, if any
    defaults: ClassVar[dict[str, float]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise LossError(
                f"loss '{self.name}' has no parameter {sorted(unknown)} "
                f"(parameters: {', '.join(sorted(self.defaults)) or 'none'})"
            )
        for k, v in params.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not -1e300 < v < 1e300:
                raise LossError(
                    f"loss '{self.name}': parameter '{k}' must be a finite number, got {v!r}"
                )
        self.params = {k: float(v) for k, v in params.items()}
        for k, v in {**self.defaults, **self.params}.items():
            setattr(self, k, v)

    @abstractmethod
    def per_sample(self, o: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ℓ_n for each sample, ∂ℓ_n/∂o) for outputs o and targets t, both (N, K)."""

    def total(self, o: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """(Σ_n ℓ_n, ∂(Σ_n ℓ_n)/∂o): the unweighted case, which a loss may compute faster."""
        per, d = self.per_sample(o, t)
        return float(np.add.reduce(per, axis=None)), d

    @abstractmethod
    def on_tape(self, o: Tensor, t: Tensor) -> Tensor:
        """ℓ_n for each sample as anyprop ops, shape (N,)."""

    def fused(self, net: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ℓ_n, ∂ℓ_n/∂net) from the net input, for the fused pair."""
        raise LossError(f"loss '{self.name}' has no fused form")

    def fused_total(
        self, net: np.ndarray, t: np.ndarray, out: np.ndarray | None = None, cache: Any = None
    ) -> tuple[float, np.ndarray]:
        """(Σ_n ℓ_n, ∂(Σ_n ℓ_n)/∂net) for the fused pair, unweighted (``out`` and ``cache``:
        what ``fused_forward`` gave in the forward pass, which a loss may reuse)."""
        per, d = self.fused(net, t)
        return float(np.add.reduce(per, axis=None)), d

    #: For a fused pair, optionally ``fused_forward(net) -> (output, cache)``: the transfer
    #: function's output computed together with what the loss will reuse.
    fused_forward: Any = None

    def fused_on_tape(self, net: Tensor, t: Tensor) -> Tensor:
        raise LossError(f"loss '{self.name}' has no fused form")

    def prepare_target(self, t: np.ndarray, units: int, dtype: np.dtype) -> np.ndarray:
        """The target as a float (N, units) array; class indices become one-hot rows."""
        if type(t) is np.ndarray and t.dtype == dtype and t.ndim == 2 and t.shape[1] == units:
            return t  # already in shape: the common case in a training loop
        t = numbers(t, f"loss '{self.name}': targets", np.float64, copy=False)
        if t.ndim == 1 and units > 1 and self.accepts_indices:
            if not np.all(np.mod(t, 1) == 0):
                raise ShapeError(
                    f"loss '{self.name}': targets of shape {t.shape} for {units} outputs must be "
                    "class indices (whole numbers) or rows of one-hot targets"
                )
            bad = (t < 0) | (t >= units)
            if bad.any():
                k = int(np.argmax(bad))
                raise ShapeError(
                    f"loss '{self.name}': class index {t[k]:g} (sample {k}) is out of range "
                    f"for an output group of {units} units"
                )
            idx = t.astype(np.int64)
            onehot = np.zeros((t.shape[0], units), dtype=dtype)
            onehot[np.arange(t.shape[0]), idx] = 1
            return onehot
        if t.ndim == 1 and units == 1:
            t = t[:, None]
        if t.ndim != 2 or t.shape[1] != units:
            raise ShapeError(
                f"loss '{self.name}': targets of shape {t.shape} do not fit an output group of "
                f"{units} units (expected (samples, {units}))"
            )
        return np.asarray(t, dtype=dtype)

    accepts_indices = False

    def spec(self) -> Any:
        return {"name": self.name, **self.params} if self.params else self.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})" if args else self.name


@_loss("mse")
class MSE(Loss):
    """ℓ = ½ Σ_k (o_k - t_k)²; ∂ℓ/∂o = o - t."""

    def per_sample(self, o, t):
        d = o - t
        return 0.5 * (d * d).sum(axis=1), d

    def total(self, o, t):
        d = o - t
        return 0.5 * float(np.vdot(d, d)), d

    def on_tape(self, o, t):
        d = o - t
        return 0.5 * (d * d).sum(axis=1)


@_loss("cross_entropy")
class CrossEntropy(Loss):
    """ℓ = -Σ_k t_k log o_k for probabilities o; fused with softmax: δ = o - t."""

    fused_with = "softmax"
    accepts_indices = True
    derivative_text = "−t/o"

    def per_sample(self, o, t):
        tiny = np.finfo(o.dtype).tiny
        safe = np.maximum(o, tiny)
        return -(t * np.log(safe)).sum(axis=1), -t / safe

    def on_tape(self, o, t):
        return -(t * ops.log(o)).sum(axis=1)

    def fused(self, net, t):
        z = net - net.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -(t * log_p).sum(axis=1), np.exp(log_p) * t.sum(axis=1, keepdims=True) - t

    def fused_forward(self, net):
        """softmax(net), and what the loss needs of it: (output, (z, log s)), where
        z = net − max and s = Σ_k exp(z)."""
        z = net - np.maximum.reduce(net, axis=1, keepdims=True)
        e = np.exp(z)
        s = np.add.reduce(e, axis=1, keepdims=True)
        e /= s
        return e, (z, np.log(s))

    def fused_total(self, net, t, out=None, cache=None):
        """(Σ_n ℓ_n, δ): Σ_n ℓ_n = Σ_n (Σ_k t_nk)·log s_n − Σ t⊙z; δ = softmax·Σ_k t − t
        (= p − t for one-hot t). ``out`` and ``cache`` come from :meth:`fused_forward`."""
        if cache is None:
            out, cache = self.fused_forward(net)
        z, log_s = cache
        tsum = np.add.reduce(t, axis=1, keepdims=True)
        total = float(np.vdot(tsum, log_s)) - float(np.vdot(t, z))
        delta = out * tsum
        delta -= t
        return total, delta

    def fused_on_tape(self, net, t):
        return ops.softmax_cross_entropy(net, t)


@_loss("binary_cross_entropy")
class BinaryCrossEntropy(Loss):
    """ℓ = -Σ_k [t log o + (1-t) log(1-o)]; fused with sigmoid: δ = o - t."""

    fused_with = "sigmoid"
    derivative_text = "(o − t)/(o·(1 − o))"

    def per_sample(self, o, t):
        eps = np.finfo(o.dtype).eps
        oc = np.clip(o, eps, 1 - eps)
        loss = -(t * np.log(oc) + (1 - t) * np.log1p(-oc)).sum(axis=1)
        return loss, (oc - t) / (oc * (1 - oc))

    def on_tape(self, o, t):
        return -(t * ops.log(o) + (1 - t) * ops.log1p(-o)).sum(axis=1)

    def fused(self, net, t):
        return (np.logaddexp(0, net) - t * net).sum(axis=1), special.expit(net) - t

    def fused_on_tape(self, net, t):
        return ops.sigmoid_binary_cross_entropy(net, t)


@_loss("nll")
class NegativeLogLikelihood(Loss):
    """ℓ = -Σ_k t_k o_k for log-probabilities o (a log_softmax output); ∂ℓ/∂o = -t."""

    accepts_indices = True

    def per_sample(self, o, t):
        return -(t * o).sum(axis=1), -t

    def on_tape(self, o, t):
        return -(t * o).sum(axis=1)


@_loss("huber")
class Huber(Loss):
    """ℓ = Σ_k h(o_k - t_k), h(d) = d²/2 for |d| <= delta, else delta·(|d| - delta/2)."""

    defaults: ClassVar = {"delta": 1.0}
    derivative_text = "o − t where |o − t| ≤ delta, else delta·sign(o − t)"

    def per_sample(self, o, t):
        d = o - t
        a = np.abs(d)
        small = a <= self.delta
        h = np.where(small, 0.5 * d * d, self.delta * (a - 0.5 * self.delta))
        return h.sum(axis=1), np.where(small, d, self.delta * np.sign(d))

    def on_tape(self, o, t):
        d = o - t
        a = ops.abs(d)
        small = a.data <= self.delta
        return ops.where(small, 0.5 * d * d, self.delta * (a - 0.5 * self.delta)).sum(axis=1)


@_loss("hinge")
class Hinge(Loss):
    """ℓ = Σ_k max(0, 1 - t_k o_k) for targets ±1; ∂ℓ/∂o = -t where t·o < 1, else 0."""

    def per_sample(self, o, t):
        m = 1 - t * o
        return np.maximum(m, 0).sum(axis=1), np.where(m > 0, -t, 0).astype(o.dtype)

    def on_tape(self, o, t):
        m = 1 - t * o
        return ops.where(m.data > 0, m, 0.0).sum(axis=1)


@_loss("multiclass_hinge")
class MulticlassHinge(Loss):
    """ℓ = Σ_{j≠y} max(0, margin + o_j - o_y) for the target class y (Weston–Watkins)."""

    defaults: ClassVar = {"margin": 1.0}
    accepts_indices = True
    derivative_text = "1 for each class j ≠ y inside the margin, minus their count at y"

    def per_sample(self, o, t):
        oy = (o * t).sum(axis=1, keepdims=True)
        m = (self.margin + o - oy) * (1 - t)
        active = (m > 0).astype(o.dtype)
        grad = active - t * active.sum(axis=1, keepdims=True)
        return np.maximum(m, 0).sum(axis=1), grad

    def on_tape(self, o, t):
        oy = (o * t).sum(axis=1, keepdims=True)
        m = (self.margin + o - oy) * (1 - t)
        return ops.where(m.data > 0, m, 0.0).sum(axis=1)


@_loss("poisson")
class Poisson(Loss):
    """ℓ = Σ_k (o_k - t_k log o_k) for rates o > 0 (e.g. an exp or softplus output)."""

    derivative_text = "1 − t/o"

    def per_sample(self, o, t):
        if np.any(o <= 0):
            raise LossError("loss 'poisson' needs positive outputs (rates); use a softplus output")
        return (o - t * np.log(o)).sum(axis=1), 1 - t / o

    def on_tape(self, o, t):
        return (o - t * ops.log(o)).sum(axis=1)


class OpsLoss(Loss):
    """A user's loss from anyprop ops: fn(o, t) gives per-element or per-sample losses."""

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor], name: str | None = None) -> None:
        super().__init__()
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "custom")

    def on_tape(self, o, t):
        out = self.fn(o, t)
        if not isinstance(out, Tensor):
            raise LossError(f"loss '{self.name}' must return a Tensor, got {type(out).__name__}")
        if out.ndim == 2:
            out = out.sum(axis=1)
        if out.shape != (o.shape[0],):
            raise LossError(
                f"loss '{self.name}' must give one value per sample or per output, "
                f"got shape {out.shape} for outputs of shape {o.shape}"
            )
        return out

    def per_sample(self, o, t):
        ot = Tensor(o, requires_grad=True)
        per = self.on_tape(ot, Tensor(t))
        per.backward(np.ones(per.shape, dtype=per.dtype))
        return per.data, ot.grad

    def spec(self) -> Any:
        return self.name


class FormulaLoss(OpsLoss):
    """A loss given as a formula in the output ``o`` and target ``t``, summed over units."""

    def __init__(self, text: str) -> None:
        from anyprop.nn.formula import Formula

        formula = Formula(text, variables=("o", "t"))
        super().__init__(lambda o, t: formula(o=o, t=t), name=formula.text)
        self.formula = formula.text

    def spec(self) -> Any:
        return self.formula


def get(spec: Any, **params: Any) -> Loss:
    """A loss from a name (``"mse"``), a table with parameters, a formula in o and t,
    or an ops function ``fn(o, t)``."""
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, dict):
        spec = dict(spec)
        if "name" not in spec:
            raise LossError(f"a loss table needs a 'name' key, got {sorted(spec)}")
        return get(spec.pop("name"), **spec, **params)
    if isinstance(spec, str):
        name = spec.strip()
        if name in LOSSES or name.isidentifier():
            return LOSSES.get(name)(**params)
        return FormulaLoss(name)
    if callable(spec):
        return OpsLoss(spec)
    raise LossError(f"a loss is a name, a formula in o and t, or an ops function; got {spec!r}")
