"""anyprop's ops on tensors: the primitives and the compositions built from them.

Every function takes tensors (or array-likes and numbers, treated as constants)
and returns a :class:`~anyprop.autodiff.engine.Tensor`. The primitives (forward
and derivative together) live in the modules beside this one and are listed in
``anyprop.autodiff.PRIMITIVES``; the functions here give them a NumPy-like
signature, and the compositions (relu, square, expand) need no derivative code.
"""

from __future__ import annotations

from typing import Any

from anyprop.autodiff.ops import elementwise as _e
from anyprop.autodiff.ops import fused as _f
from anyprop.autodiff.ops import linalg as _l
from anyprop.autodiff.ops import reduce as _r
from anyprop.autodiff.ops import shape as _s
from anyprop.autodiff.tensor import Tensor

# Primitives whose arguments are all tensors are exported as they are.
add, sub, mul, div, neg = _e.add, _e.sub, _e.mul, _e.div, _e.neg
exp, log, log1p, expm1, sqrt, abs = _e.exp, _e.log, _e.log1p, _e.expm1, _e.sqrt, _e.abs_
tanh, sigmoid, softplus, erf, sin, cos = _e.tanh, _e.sigmoid, _e.softplus, _e.erf, _e.sin, _e.cos
maximum, minimum, matmul, cast, powc = _e.maximum, _e.minimum, _l.matmul, _e.cast, _e.powc
softmax_cross_entropy = _f.softmax_cross_entropy
sigmoid_binary_cross_entropy = _f.sigmoid_binary_cross_entropy

__all__ = [
    "abs",
    "add",
    "broadcast_to",
    "cast",
    "clip",
    "concatenate",
    "cos",
    "div",
    "erf",
    "exp",
    "expand",
    "expm1",
    "getitem",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "pow",
    "powc",
    "relu",
    "reshape",
    "sigmoid",
    "sigmoid_binary_cross_entropy",
    "sin",
    "softmax",
    "softmax_cross_entropy",
    "softplus",
    "sparse_matmul",
    "sqrt",
    "square",
    "stack",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "where",
]


def pow(x: Any, p: Any) -> Tensor:
    """x ** p; a Python number as exponent uses the constant-exponent primitive."""
    if isinstance(p, (int, float)) and not isinstance(p, bool):
        return _e.powc(x, p=p)
    return _e.pow_(x, p)


def square(x: Any) -> Tensor:
    """x²; d/dx = 2x."""
    return _e.powc(x, p=2)


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """``x`` where ``cond`` is true, else ``y``; the gradient follows the choice."""
    return _e.where_(x, y, cond=cond.data if isinstance(cond, Tensor) else cond)


def clip(x: Any, lo: Any = None, hi: Any = None) -> Tensor:
    """x clipped to [lo, hi]; the gradient passes where lo <= x <= hi."""
    return _e.clip(x, lo=lo, hi=hi)


def relu(x: Any) -> Tensor:
    """max(x, 0), with the convention relu'(0) = 0."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    return _e.where_(x, 0.0, cond=x.data > 0)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Σ x over ``axis`` (all axes by default)."""
    return _r.sum_(x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean of x over ``axis``."""
    return _r.mean(x, axis=axis, keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``; tied maxima share the gradient equally."""
    return _r.max_(x, axis=axis, keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``; tied minima share the gradient equally."""
    return _r.min_(x, axis=axis, keepdims=keepdims)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) over ``axis``, computed stably."""
    return _r.logsumexp(x, axis=axis, keepdims=keepdims)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(x) / Σ exp(x) along ``axis``, computed stably."""
    return _r.softmax(x, axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``, computed stably."""
    return _r.log_softmax(x, axis=axis)


def reshape(x: Any, shape: Any) -> Tensor:
    """x with a new shape (one axis may be -1)."""
    return _s.reshape(x, shape=shape)


def transpose(x: Any, axes: Any = None) -> Tensor:
    """x with its axes permuted (reversed by default)."""
    return _s.transpose(x, axes=tuple(axes) if axes is not None else None)


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """x broadcast to ``shape``; the gradient sums over the broadcast axes."""
    return _s.broadcast_to(x, shape=tuple(shape))


def expand(x: Any, shape: Any) -> Tensor:
    """Broadcast ``x`` to ``shape``; -1 keeps that axis's size (PyTorch's expand)."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    full = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    return _s.broadcast_to(x, shape=full)


def getitem(x: Any, index: Any) -> Tensor:
    """x[index]; repeated indices accumulate their gradients."""
    return _s.getitem(x, index=index)


def concatenate(xs: Any, axis: int = 0) -> Tensor:
    """Join a sequence of tensors along an existing axis."""
    return _s.concatenate(*xs, axis=axis)


def stack(xs: Any, axis: int = 0) -> Tensor:
    """Join a sequence of tensors along a new axis."""
    return _s.stack(*xs, axis=axis)


def sparse_matmul(matrix: Any, x: Any) -> Tensor:
    """A @ x for a constant SciPy sparse matrix A (used as CSR); d/dx = Aᵀ g."""
    return _l.spmm(x, matrix=matrix)
