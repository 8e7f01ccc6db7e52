"""The tensor: a NumPy array that records the ops applied to it.

dtype rules: a tensor holds float32 (the default) or float64. An op's result
has NumPy's promoted dtype of its tensor inputs (float32 with float64 gives
float64). Python scalars and array-likes that are not tensors are constants and
take the dtype of the tensor inputs, so ``x * 0.5`` and ``x + np.ones(3)`` keep
``x``'s dtype.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from anyprop.errors import AnypropError, GraphError, ShapeError

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
DEFAULT_DTYPE = np.dtype(np.float32)


class _GradMode:
    """Whether ops record the tape; switched only by :class:`no_grad`."""

    enabled = True


class no_grad:
    """Context manager (and decorator) under which ops record nothing.

    >>> import anyprop
    >>> x = anyprop.Tensor([1.0, 2.0], requires_grad=True)
    >>> with anyprop.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> None:
        self._prev = _GradMode.enabled
        _GradMode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self._prev

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        return wrapper


def is_grad_enabled() -> bool:
    """True unless inside :class:`no_grad`."""
    return _GradMode.enabled


def resolve_dtype(dtype: Any) -> np.dtype:
    """Check that ``dtype`` is float32 or float64 and return it as a NumPy dtype."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise AnypropError(f"unknown dtype {dtype!r}; use float32 or float64") from None
    if dt not in FLOAT_DTYPES:
        raise AnypropError(f"dtype {dt} is not supported; use float32 or float64")
    return dt


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """``data`` as a float ndarray.

    With ``dtype=None``: a float64 NumPy array (or a float64 tensor) stays float64,
    anything else (lists, scalars, integer or float32 arrays) becomes float32.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is None:
        dt = data.dtype if isinstance(data, np.ndarray) and data.dtype in FLOAT_DTYPES else None
        dt = dt or DEFAULT_DTYPE
    else:
        dt = resolve_dtype(dtype)
    try:
        arr = np.asarray(data, dtype=dt)
    except (ValueError, TypeError, OverflowError) as e:
        raise AnypropError(f"cannot make a tensor of {type(data).__name__}: {e}") from None
    return arr


class Tensor:
    """An n-dimensional array that records the ops applied to it.

    >>> import anyprop
    >>> x = anyprop.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([ 2., -4.,  6.], dtype=float32)

    ``data`` is the NumPy array; ``grad`` (leaves only) the accumulated gradient
    of the same shape, or None. Gradients accumulate across ``backward`` calls
    until reset with ``zero_grad()``.
    """

    __slots__ = ("_acc", "_node", "_retain", "data", "grad", "requires_grad")
    __array_ufunc__ = None  # make NumPy defer to our reflected operators
    __hash__ = object.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = as_array(data, dtype)
        self.requires_grad = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self._node: list | None = None
        self._retain = False
        self._acc: np.ndarray | None = None  # the cotangent gathered during backward

    # --- properties -------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def op(self) -> str | None:
        """Name of the op that made this tensor (None for a leaf)."""
        return self._node[0] if self._node is not None else None

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Any:
        """The tensors along the first axis (list(t), unpacking)."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """np.asarray(t): the tensor's values (the tape is not followed)."""
        return self.data if dtype is None else self.data.astype(dtype)

    def __bool__(self) -> bool:
        return bool(self._one("bool"))

    def __float__(self) -> float:
        return float(self._one("float"))

    def __int__(self) -> int:
        return int(self._one("int"))

    def _one(self, what: str) -> Any:
        if self.data.size != 1:
            raise TypeError(
                f"{what}() takes a tensor of one element, this one has shape {self.data.shape}"
            )
        return self.data.item()

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype != DEFAULT_DTYPE:
            extra += f", dtype={self.data.dtype}"
        return f"Tensor({body}{extra})"

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise AnypropError(f"item() takes a tensor of one element, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the tape."""
        return Tensor(self.data)

    def astype(self, dtype: Any) -> Tensor:
        """A copy in another float dtype (differentiable)."""
        return _ops.cast(self, dtype=resolve_dtype(dtype))

    def zero_grad(self) -> None:
        self.grad = None

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        self._retain = True
        return self

    # --- backward ---------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor to every leaf that requires a gradient.

        ``grad`` is the cotangent ∂L/∂self; it may be omitted for a tensor of one
        element. The graph is released afterwards unless ``retain_graph``.
        """
        if not self.requires_grad:
            raise GraphError(
                "backward() on a tensor that does not require a gradient: no input "
                "had requires_grad=True, or it was computed under no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise GraphError(
                    f"backward() needs a grad for a non-scalar tensor of shape {self.shape}; "
                    "pass grad=, or reduce it first (e.g. .sum())"
                )
            g = np.ones(self.data.shape, dtype=self.data.dtype)
        else:
            g = as_array(grad.data if isinstance(grad, Tensor) else grad, self.dtype)
            if g.shape != self.shape:
                raise ShapeError(
                    f"backward(): grad of shape {g.shape} does not match the tensor's "
                    f"shape {self.shape}"
                )
        _engine.backward(self, g, retain_graph)

    # --- operators --------------------------------------------------------
    def __add__(self, o: Any) -> Tensor:
        return _ops.add(self, o)

    def __radd__(self, o: Any) -> Tensor:
        return _ops.add(o, self)

    def __sub__(self, o: Any) -> Tensor:
        return _ops.sub(self, o)

    def __rsub__(self, o: Any) -> Tensor:
        return _ops.sub(o, self)

    def __mul__(self, o: Any) -> Tensor:
        return _ops.mul(self, o)

    def __rmul__(self, o: Any) -> Tensor:
        return _ops.mul(o, self)

    def __truediv__(self, o: Any) -> Tensor:
        return _ops.div(self, o)

    def __rtruediv__(self, o: Any) -> Tensor:
        return _ops.div(o, self)

    def __pow__(self, o: Any) -> Tensor:
        return _ops.pow(self, o)

    def __rpow__(self, o: Any) -> Tensor:
        return _ops.pow(o, self)

    def __matmul__(self, o: Any) -> Tensor:
        return _ops.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return _ops.matmul(o, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    # comparisons give plain boolean arrays (masks for where); == stays identity
    def __lt__(self, o: Any) -> np.ndarray:
        return self.data < _data(o)

    def __le__(self, o: Any) -> np.ndarray:
        return self.data <= _data(o)

    def __gt__(self, o: Any) -> np.ndarray:
        return self.data > _data(o)

    def __ge__(self, o: Any) -> np.ndarray:
        return self.data >= _data(o)

    # --- methods mirroring anyprop.ops -------------------------------------
    @property
    def T(self) -> Tensor:
        return _ops.transpose(self)

    def reshape(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes: int) -> Tensor:
        return _ops.transpose(self, axes or None)

    permute = transpose

    def expand(self, *shape: Any) -> Tensor:
        return _ops.expand(self, shape[0] if len(shape) == 1 else shape)

    def broadcast_to(self, shape: Any) -> Tensor:
        return _ops.broadcast_to(self, shape)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.min(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1) -> Tensor:
        return _ops.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return _ops.log_softmax(self, axis=axis)

    def clip(self, lo: Any = None, hi: Any = None) -> Tensor:
        return _ops.clip(self, lo, hi)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def log1p(self) -> Tensor:
        return _ops.log1p(self)

    def expm1(self) -> Tensor:
        return _ops.expm1(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def softplus(self) -> Tensor:
        return _ops.softplus(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def erf(self) -> Tensor:
        return _ops.erf(self)

    def sin(self) -> Tensor:
        return _ops.sin(self)

    def cos(self) -> Tensor:
        return _ops.cos(self)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def new_tensor(data: Any, node: list | None) -> Tensor:
    """A tensor made by an op: ``data`` as computed, ``node`` its tape entry or None."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    t = Tensor.__new__(Tensor)
    t.data = data
    t.grad = None
    t._retain = False
    t._acc = None
    t._node = node
    t.requires_grad = node is not None
    return t


# The ops and the backward pass need Tensor defined first.
from anyprop.autodiff import engine as _engine  # noqa: E402
from anyprop.autodiff import ops as _ops  # noqa: E402
