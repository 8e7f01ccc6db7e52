"""A small builder of ONNX graphs: nodes, constants and symbolic values with arithmetic.

``Sym`` is a value of the graph under construction; ``a * b``, ``1 - a``, ``a.op("Exp")``
add nodes. Constants take the graph's float type, so that every operator sees one dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: the ONNX operator set the exported graphs use (ScatterElements' reduction needs 16)
OPSET = 17


class Graph:
    """Nodes and initializers of one ONNX graph whose float type is ``dtype``."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self.elem = TensorProto.DOUBLE if self.dtype == np.float64 else TensorProto.FLOAT
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0
        self._scalars: dict[tuple, str] = {}

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        """An initializer holding ``value`` (the graph's float type unless ``dtype``)."""
        arr = np.asarray(value, dtype=dtype or self.dtype)
        key = None
        if arr.ndim == 0:
            key = (arr.dtype.str, arr.item())
            if key in self._scalars:
                return self._scalars[key]
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(arr, name))
        if key is not None:
            self._scalars[key] = name
        return name

    def node(self, op: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        out = self.fresh(hint or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def sym(self, name: str) -> Sym:
        return Sym(self, name)


class Sym:
    """A value in a Graph; arithmetic with numbers or other Syms adds nodes."""

    __array_priority__ = 1000  # (a NumPy scalar on the left defers to these operators)

    def __init__(self, graph: Graph, name: str) -> None:
        self.g, self.name = graph, name

    def _name(self, other: Any) -> str:
        return other.name if isinstance(other, Sym) else self.g.const(float(other))

    def _bin(self, op: str, other: Any, swap: bool = False) -> Sym:
        a, b = self.name, self._name(other)
        return Sym(self.g, self.g.node(op, [b, a] if swap else [a, b]))

    def __add__(self, o: Any) -> Sym:
        return self._bin("Add", o)

    def __radd__(self, o: Any) -> Sym:
        return self._bin("Add", o, True)

    def __sub__(self, o: Any) -> Sym:
        return self._bin("Sub", o)

    def __rsub__(self, o: Any) -> Sym:
        return self._bin("Sub", o, True)

    def __mul__(self, o: Any) -> Sym:
        return self._bin("Mul", o)

    def __rmul__(self, o: Any) -> Sym:
        return self._bin("Mul", o, True)

    def __truediv__(self, o: Any) -> Sym:
        return self._bin("Div", o)

    def __rtruediv__(self, o: Any) -> Sym:
        return self._bin("Div", o, True)

    def __pow__(self, o: Any) -> Sym:
        return self._bin("Pow", o)

    def __rpow__(self, o: Any) -> Sym:
        return self._bin("Pow", o, True)

    def __neg__(self) -> Sym:
        return self.op("Neg")

    def op(self, op: str, *others: Any, **attrs: Any) -> Sym:
        """An operator on this value (and others), e.g. ``x.op("Exp")``."""
        names = [self.name, *(self._name(o) for o in others)]
        return Sym(self.g, self.g.node(op, names, **attrs))

    def clip(self, lo: float, hi: float) -> Sym:
        return self.op("Max", lo).op("Min", hi)

    def where(self, cond_op: str, than: float, yes: Any, no: Any) -> Sym:
        """``yes`` where ``self <cond_op> than`` (Greater, GreaterOrEqual, Less...), else ``no``."""
        cond = self.g.node(cond_op, [self.name, self.g.const(float(than))])
        return Sym(self.g, self.g.node("Where", [cond, self._name(yes), self._name(no)]))
