"""The reverse-mode engine: the :func:`primitive` decorator and the backward pass.

A primitive is a NumPy function that returns its output and a vector-Jacobian
product (VJP) closure ``vjp(g) -> (g_1, ..., g_n)``, one cotangent per positional
argument. The decorator records a tape node when an input needs a gradient, and
the engine does the rest once, centrally:

* positional arguments are tensor inputs (differentiable); keyword arguments are
  static (axes, shapes, indices, constant matrices);
* a cotangent whose shape differs from its input's (broadcasting) is summed back
  to the input's shape; an entry may be ``None`` (no gradient) or a zero-argument
  callable, evaluated only when that input needs a gradient (this saves a
  matrix product for a constant operand);
* a value used several times accumulates its gradient;
* the topological sort is iterative, so chains of any length backpropagate
  without touching Python's recursion limit; the graph is released afterwards.

A tape node is a list ``[op name, parents, vjp]`` (a list, not an object, because
making one is on every op's path); ``parents`` holds the input tensors, None
where no gradient is needed. Releasing sets the last two to None.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from anyprop.autodiff.tensor import Tensor, _GradMode, as_array, new_tensor
from anyprop.errors import AnypropError, GraphError, ShapeError
from anyprop.registry import Registry

OP, PARENTS, VJP = 0, 1, 2

#: Every primitive, by name. The tests gradient-check each one found here.
PRIMITIVES: Registry[Callable[..., Any]] = Registry("primitive")


def _const(a: Any, dt: np.dtype | None) -> Any:
    """A constant operand: Python numbers stay weak scalars, the rest take ``dt``."""
    if type(a) is float or type(a) is int:
        return a
    if type(a) is np.ndarray and (dt is None or a.dtype == dt):
        return a
    return as_array(a, dt)


def _op_error(opname: str, e: Exception, arrays: Any) -> AnypropError:
    if isinstance(e, TypeError):
        return AnypropError(f"{opname}: {e}")
    shapes = ", ".join(str(np.shape(a)) for a in arrays)
    return ShapeError(f"{opname}: {e} (input shapes: {shapes})")


def _signature(f: Callable[..., Any]) -> tuple[int | None, bool]:
    """(number of tensor inputs, None if variadic; whether it takes static keywords)."""
    params = inspect.signature(f).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None, True
    n = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
    return n, any(p.kind is p.KEYWORD_ONLY for p in params)


def primitive(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, register: bool = True
) -> Any:
    """Make ``fn(*arrays, **static) -> (out, vjp)`` an op on tensors.

    The decorated function takes tensors (or constants) positionally and static
    arguments by keyword, and returns a :class:`Tensor`; its docstring gives the
    derivative's formula. It is added to :data:`PRIMITIVES` (and so
    gradient-checked by the tests) unless ``register=False``, for a private op.

    >>> @primitive(name="cube", register=False)
    ... def cube(x):
    ...     # x**3; d/dx = 3 x**2
    ...     return x**3, lambda g: (g * 3 * x**2,)
    >>> x = Tensor([2.0], requires_grad=True)
    >>> cube(x).sum().backward()
    >>> x.grad
    array([12.], dtype=float32)
    """

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        opname = name or f.__name__.strip("_")
        arity, static = _signature(f)

        def general(*args: Any, **kwargs: Any) -> Tensor:
            if isinstance(kwargs.get("axis"), list):  # axis=[0, 1] as NumPy's (0, 1)
                kwargs["axis"] = tuple(kwargs["axis"])
            arrays = []
            parents = []
            grad = False
            dt = None
            for a in args:
                if isinstance(a, Tensor):
                    arrays.append(a.data)
                    dt = a.data.dtype if dt is None else np.result_type(dt, a.data.dtype)
                    grad = grad or a.requires_grad
                    parents.append(a if a.requires_grad else None)
                else:
                    arrays.append(a)
                    parents.append(None)
            for i, a in enumerate(args):
                if not isinstance(a, Tensor):
                    arrays[i] = _const(a, dt)
            try:
                out, vjp = f(*arrays, **kwargs)
            except (ValueError, IndexError, TypeError) as e:
                raise _op_error(opname, e, arrays) from None
            if grad and _GradMode.enabled:
                return new_tensor(out, [opname, tuple(parents), vjp])
            return new_tensor(out, None)

        # Fast paths for the common signatures (one or two tensors); anything
        # else (constants, subclasses, variadic ops) goes through `general`.
        if arity == 1 and not static:

            def op(x: Any) -> Tensor:
                if type(x) is not Tensor:
                    return general(x)
                try:
                    out, vjp = f(x.data)
                except (ValueError, IndexError, TypeError) as e:
                    raise _op_error(opname, e, (x.data,)) from None
                if x.requires_grad and _GradMode.enabled:
                    return new_tensor(out, [opname, (x,), vjp])
                return new_tensor(out, None)

        elif arity == 1:

            def op(x: Any, **kwargs: Any) -> Tensor:
                if type(x) is not Tensor:
                    return general(x, **kwargs)
                if isinstance(kwargs.get("axis"), list):  # axis=[0, 1] as NumPy's (0, 1)
                    kwargs["axis"] = tuple(kwargs["axis"])
                try:
                    out, vjp = f(x.data, **kwargs)
                except (ValueError, IndexError, TypeError) as e:
                    raise _op_error(opname, e, (x.data,)) from None
                if x.requires_grad and _GradMode.enabled:
                    return new_tensor(out, [opname, (x,), vjp])
                return new_tensor(out, None)

        elif arity == 2 and not static:

            def op(x: Any, y: Any) -> Tensor:
                if type(x) is not Tensor or type(y) is not Tensor:
                    return general(x, y)
                try:
                    out, vjp = f(x.data, y.data)
                except (ValueError, IndexError, TypeError) as e:
                    raise _op_error(opname, e, (x.data, y.data)) from None
                if (x.requires_grad or y.requires_grad) and _GradMode.enabled:
                    px = x if x.requires_grad else None
                    py = y if y.requires_grad else None
                    return new_tensor(out, [opname, (px, py), vjp])
                return new_tensor(out, None)

        else:
            op = general

        op = functools.wraps(f)(op)
        op.__name__ = op.__qualname__ = opname
        if register:
            PRIMITIVES.register(opname, op)
        return op

    return deco(fn) if fn is not None else deco


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    elif extra < 0:
        return np.broadcast_to(g, shape)
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def _released(node: list) -> GraphError:
    return GraphError(
        f"backward through a released graph (op '{node[OP]}'): the graph is freed by the "
        "first backward(); call backward(retain_graph=True) the first time to reuse it"
    )


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors reachable from ``root`` that need gradients, inputs first (iterative DFS)."""
    order: list[Tensor] = []
    seen = {id(root)}
    stack: list[tuple[Tensor, int]] = [(root, 0)]
    while stack:
        t, i = stack[-1]
        node = t._node
        if node is None:
            stack.pop()
            order.append(t)
            continue
        parents = node[PARENTS]
        if parents is None:
            raise _released(node)
        while i < len(parents):
            p = parents[i]
            i += 1
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                stack[-1] = (t, i)
                stack.append((p, 0))
                break
        else:
            stack.pop()
            order.append(t)
    return order


def backward(root: Tensor, g: np.ndarray, retain_graph: bool = False) -> None:
    """Run reverse mode from ``root`` with cotangent ``g``; fill the leaves' ``.grad``.

    Cotangents are gathered in each tensor's ``_acc`` slot while the pass runs
    (cheaper than a dictionary keyed by tensor) and cleared as they are used.
    """
    order = _topological_order(root)
    root._acc = g
    try:
        for t in reversed(order):
            gt = t._acc
            if gt is None:
                continue
            t._acc = None
            node = t._node
            if node is None or t._retain:
                # a copy: cotangents may be shared between inputs (add returns (g, g))
                t.grad = gt.copy() if t.grad is None else t.grad + gt
                if node is None:
                    continue
            vjp = node[VJP]
            if vjp is None:
                raise _released(node)
            for p, gp in zip(node[PARENTS], vjp(gt), strict=True):
                if p is None or gp is None:
                    continue
                if callable(gp):
                    gp = gp()
                pd = p.data
                if type(gp) is not np.ndarray:
                    gp = np.asarray(gp)
                if gp.shape != pd.shape:
                    gp = unbroadcast(gp, pd.shape)
                if gp.dtype != pd.dtype:
                    gp = gp.astype(pd.dtype)
                prev = p._acc
                p._acc = gp if prev is None else prev + gp
            if not retain_graph:
                node[PARENTS] = node[VJP] = None
    finally:
        for t in order:
            t._acc = None
