"""What a transfer function is: forward, backward (the VJP) and its op-level form.

A transfer function f maps a group's net input to its output, o = f(net). The
plan calls ``forward(net)`` and, backwards, ``backward(net, out, grad)``, which
returns the delta f'(net) ⊙ grad (for a vector-valued f such as softmax, the
Jacobian-transpose product Jᵀ grad). ``on_tape(x)`` gives the same function as
anyprop ops, which the engine differentiates: tests hold the two equal.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

from anyprop.autodiff import Tensor, no_grad
from anyprop.errors import AnypropError


class TransferError(AnypropError, ValueError):
    """A transfer function that cannot be made or used as asked."""


class Transfer(ABC):
    """Base class. Subclasses set ``name`` and implement forward/backward/on_tape.

    ``params`` holds the parameters (steepness, alpha, ...) as given;
    ``vector`` is True for functions of the whole unit vector (softmax);
    ``differentiable`` is False for step functions without a surrogate.
    ``formula`` and ``derivative`` are f and f' as text, where known.
    """

    name: str = "transfer"
    vector: bool = False
    differentiable: bool = True
    formula: str | None = None
    derivative: str | None = None

    def __init__(self, **params: Any) -> None:
        self.params = params

    @abstractmethod
    def forward(self, net: np.ndarray) -> np.ndarray:
        """o = f(net)."""

    @abstractmethod
    def backward(self, net: np.ndarray, out: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The delta: f'(net) ⊙ grad (Jᵀ grad for a vector-valued f), out = f(net)."""

    @abstractmethod
    def on_tape(self, x: Tensor) -> Tensor:
        """f written with anyprop ops, for the engine to differentiate."""

    def forward_into(self, net: np.ndarray, buf: np.ndarray) -> np.ndarray:
        """f(net), written into ``buf`` where the function can (the plan's reused buffer);
        returns the output, which may be a new array."""
        return self.forward(net)

    #: whether backward_into uses its ``scratch`` buffer (the plan allocates one only then)
    needs_scratch = False

    def backward_into(
        self, net: np.ndarray, out: np.ndarray, grad: np.ndarray, scratch: np.ndarray
    ) -> np.ndarray:
        """The delta f'(net) ⊙ grad, computed in place in ``grad`` where the function can
        (``grad`` and ``scratch`` are the plan's buffers); returns the delta."""
        return self.backward(net, out, grad)

    def prime(self, net: np.ndarray, out: np.ndarray) -> np.ndarray:
        """f'(net) unit by unit, out = f(net): the delta for ∂L/∂o = 1. Elementwise
        functions only: a vector function (softmax) has a Jacobian, not one f' per unit."""
        if self.vector:
            raise TransferError(
                f"transfer function '{self.name}' acts on the whole vector: it has a "
                "Jacobian, not one derivative per unit"
            )
        return self.backward(net, out, np.ones_like(net))

    def spec(self) -> Any:
        """How a spec file writes this function: its name, or a table with its params."""
        return {"name": self.name, **self.params} if self.params else self.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})" if args else self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Transfer) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))


class Elementwise(Transfer):
    """f applied unit by unit; backward = grad ⊙ f'(net), f' possibly from the output."""

    @abstractmethod
    def f(self, x: np.ndarray) -> np.ndarray:
        """f(x), elementwise."""

    @abstractmethod
    def df(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """f'(x), given x and y = f(x)."""

    def forward(self, net: np.ndarray) -> np.ndarray:
        return self.f(net)

    def backward(self, net: np.ndarray, out: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return grad * self.df(net, out)

    def prime(self, net: np.ndarray, out: np.ndarray) -> np.ndarray:
        return self.df(net, out)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Hot path: a subclass's own f is its forward, without the extra call.
        if "f" in cls.__dict__ and "forward" not in cls.__dict__:
            cls.forward = cls.__dict__["f"]


class OpsTransfer(Transfer):
    """A transfer function written with anyprop's ops; the engine gives its derivative.

    ``fn`` maps a tensor of net inputs (batch, units) to outputs of the same
    shape. Set ``vector=True`` if a unit's output depends on other units.
    """

    def __init__(
        self, fn: Callable[[Tensor], Tensor], name: str | None = None, vector: bool = False
    ) -> None:
        super().__init__()
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "custom")
        self.vector = vector

    def _run(self, x: Tensor) -> Tensor:
        out = self.fn(x)
        if not isinstance(out, Tensor):
            raise TransferError(
                f"transfer function '{self.name}' must return a Tensor built from anyprop ops, "
                f"got {type(out).__name__}"
            )
        if out.shape != x.shape:
            raise TransferError(
                f"transfer function '{self.name}' changed the shape {x.shape} to {out.shape}"
            )
        return out

    def forward(self, net: np.ndarray) -> np.ndarray:
        with no_grad():
            return self._run(Tensor(net)).data

    def backward(self, net: np.ndarray, out: np.ndarray, grad: np.ndarray) -> np.ndarray:
        x = Tensor(net, requires_grad=True)
        y = self._run(x)
        if not y.requires_grad:  # a constant function
            return np.zeros_like(net)
        y.backward(grad)
        return x.grad

    def on_tape(self, x: Tensor) -> Tensor:
        return self._run(x)

    def spec(self) -> Any:
        return self.name

    def __repr__(self) -> str:
        return self.name


class FormulaTransfer(OpsTransfer):
    """A transfer function given as a formula in ``x``, such as ``x/(1+abs(x))``."""

    def __init__(self, text: str) -> None:
        from anyprop.nn.formula import Formula

        formula = Formula(text, variables=("x",))
        super().__init__(lambda x: formula(x=x), name=formula.text)
        self.formula = formula.text
        self._formula = formula

    def spec(self) -> Any:
        return self.formula


class PairTransfer(Elementwise):
    """A transfer function from NumPy functions f and f', checked numerically when made."""

    def __init__(
        self,
        name: str,
        f: Callable[[np.ndarray], np.ndarray],
        df: Callable[[np.ndarray], np.ndarray],
        check_points: Any = None,
        tol: float = 1e-4,
    ) -> None:
        super().__init__()
        self.name = name
        self._f = f
        self._df = df
        xs = np.linspace(-4.0, 4.0, 81) + 0.0123 if check_points is None else check_points
        check_pair(name, f, df, np.asarray(xs, dtype=np.float64), tol)

    def f(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._f(x), dtype=x.dtype)

    def df(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.asarray(self._df(x), dtype=x.dtype)

    def on_tape(self, x: Tensor) -> Tensor:
        from anyprop.autodiff.engine import primitive

        @primitive(name=self.name, register=False)
        def pair(v: np.ndarray) -> Any:
            return self.f(v), lambda g: (g * self.df(v, None),)

        return pair(x)

    def spec(self) -> Any:
        return self.name

    def __repr__(self) -> str:
        return self.name


def check_pair(name: str, f: Callable, df: Callable, xs: np.ndarray, tol: float) -> None:
    """Raise unless df agrees with central differences of f at the points xs."""
    h = 1e-5
    try:
        numeric = (np.asarray(f(xs + h), float) - np.asarray(f(xs - h), float)) / (2 * h)
        given = np.asarray(df(xs), float)
    except Exception as e:  # the user's code: report whatever it raised
        raise TransferError(f"transfer function '{name}': f or f' failed on an array: {e}") from e
    if given.shape != xs.shape or numeric.shape != xs.shape:
        raise TransferError(
            f"transfer function '{name}': f and f' must map an array to one of the same shape"
        )
    err = np.abs(given - numeric)
    bad = err > tol * (1 + np.abs(numeric))
    if np.any(bad):
        i = int(np.argmax(np.where(bad, err, -1)))
        raise TransferError(
            f"transfer function '{name}': the derivative given disagrees with finite differences "
            f"at x = {xs[i]:.4g}: f'(x) = {given[i]:.6g}, numerically {numeric[i]:.6g}"
        )
