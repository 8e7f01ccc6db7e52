"""Each transfer function as ONNX operators: one entry per built-in (by name, with its
parameters), and formulas in ``x`` by their parsed tree.

A function written as a Python callable (an OpsTransfer or a NumPy pair) has no
operators to map to; exporting it is an error that names it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from onnx import TensorProto

from anyprop.errors import AnypropError
from anyprop.export.graph import Sym
from anyprop.nn.transfer import TRANSFERS
from anyprop.nn.transfer.rectifiers import SELU_ALPHA, SELU_SCALE

_SQRT2 = math.sqrt(2.0)
_GELU_C = math.sqrt(2 / math.pi)


def _p(t: Any, name: str) -> float:
    return float(getattr(t, name))


def _steep(x: Sym, t: Any) -> Sym:
    s = _p(t, "steepness")
    return x if s == 1 else x * s


def _erf(x: Sym) -> Sym:
    """erf; onnxruntime has no double kernel for Erf, so a float64 graph computes it in
    float32 (about 1e-7 relative) and casts back."""
    if x.g.dtype == np.float32:
        return x.op("Erf")
    low = x.op("Cast", to=TensorProto.FLOAT).op("Erf")
    return low.op("Cast", to=TensorProto.DOUBLE)


def _softplus(x: Sym) -> Sym:
    """log(1 + exp(x)) = max(x, 0) + log(1 + exp(-|x|)): stable, and of operators that
    onnxruntime has for float64 too (its Softplus is float32 only)."""
    return x.op("Relu") + (x.op("Abs").op("Neg").op("Exp") + 1).op("Log")


def _expm1_neg(x: Sym) -> Sym:
    """exp(min(x, 0)) − 1: the negative piece of elu and selu."""
    return x.op("Min", 0.0).op("Exp") - 1


#: built-in name -> f(x, the transfer function) as operators
BUILTINS: dict[str, Callable[[Sym, Any], Sym]] = {
    "identity": lambda x, t: x.op("Identity"),
    "linear": lambda x, t: x.op("Identity"),
    "sigmoid": lambda x, t: _steep(x, t).op("Sigmoid"),
    "logistic": lambda x, t: _steep(x, t).op("Sigmoid"),
    "sigmoid_symmetric": lambda x, t: _steep(x, t).op("Tanh"),
    "tanh": lambda x, t: x.op("Tanh"),
    "hard_sigmoid": lambda x, t: (x / 6 + 0.5).clip(0.0, 1.0),
    "hard_tanh": lambda x, t: x.clip(-1.0, 1.0),
    "softsign": lambda x, t: x / (x.op("Abs") + 1),
    "elliot": lambda x, t: (_steep(x, t) / 2) / (_steep(x, t).op("Abs") + 1) + 0.5,
    "elliot_symmetric": lambda x, t: _steep(x, t) / (_steep(x, t).op("Abs") + 1),
    "linear_piece": lambda x, t: _steep(x, t).clip(0.0, 1.0),
    "linear_piece_symmetric": lambda x, t: _steep(x, t).clip(-1.0, 1.0),
    "log_sigmoid": lambda x, t: -_softplus(-x),
    "relu": lambda x, t: x.op("Relu"),
    "relu6": lambda x, t: x.clip(0.0, 6.0),
    "leaky_relu": lambda x, t: x.op("LeakyRelu", alpha=_p(t, "alpha")),
    "elu": lambda x, t: x.where(
        "Greater", 0.0, x, (x.op("Min", 0.0).op("Exp") - 1) * _p(t, "alpha")
    ),
    "celu": lambda x, t: (
        x.op("Max", 0.0) + ((x / _p(t, "alpha")).op("Exp") - 1).op("Min", 0.0) * _p(t, "alpha")
    ),
    "selu": lambda x, t: (
        x.where("Greater", 0.0, x, (x.op("Min", 0.0).op("Exp") - 1) * SELU_ALPHA) * SELU_SCALE
    ),
    "gelu": lambda x, t: x * 0.5 * (_erf(x / _SQRT2) + 1),
    "gelu_tanh": lambda x, t: x * 0.5 * (((x + x * x * x * 0.044715) * _GELU_C).op("Tanh") + 1),
    "silu": lambda x, t: x * x.op("Sigmoid"),
    "swish": lambda x, t: x * (x * _p(t, "beta")).op("Sigmoid"),
    "hard_swish": lambda x, t: x * (x + 3).clip(0.0, 6.0) / 6,
    "quick_gelu": lambda x, t: x * (x * 1.702).op("Sigmoid"),
    "mish": lambda x, t: x * _softplus(x).op("Tanh"),
    "softplus": lambda x, t: _softplus(x * _p(t, "beta")) / _p(t, "beta"),
    "gaussian": lambda x, t: (-(_steep(x, t) * _steep(x, t))).op("Exp"),
    "gaussian_symmetric": lambda x, t: (-(_steep(x, t) * _steep(x, t))).op("Exp") * 2 - 1,
    "sin": lambda x, t: _steep(x, t).op("Sin"),
    "cos": lambda x, t: _steep(x, t).op("Cos"),
    "threshold": lambda x, t: x.where("GreaterOrEqual", 0.0, 1.0, 0.0),
    "threshold_symmetric": lambda x, t: x.where("GreaterOrEqual", 0.0, 1.0, -1.0),
    "softmax": lambda x, t: x.op("Softmax", axis=-1),
    "log_softmax": lambda x, t: x.op("LogSoftmax", axis=-1),
}

#: a formula's functions -> operators
FUNCTIONS: dict[str, Callable[..., Sym]] = {
    "exp": lambda a: a.op("Exp"),
    "log": lambda a: a.op("Log"),
    "ln": lambda a: a.op("Log"),
    "log1p": lambda a: (a + 1).op("Log"),
    "expm1": lambda a: a.op("Exp") - 1,
    "sqrt": lambda a: a.op("Sqrt"),
    "abs": lambda a: a.op("Abs"),
    "sign": lambda a: a.op("Sign"),
    "tanh": lambda a: a.op("Tanh"),
    "sigmoid": lambda a: a.op("Sigmoid"),
    "softplus": _softplus,
    "relu": lambda a: a.op("Relu"),
    "erf": _erf,
    "sin": lambda a: a.op("Sin"),
    "cos": lambda a: a.op("Cos"),
    # as anyprop's formulas define them (and of operators onnxruntime has for float64)
    "tan": lambda a: a.op("Sin") / a.op("Cos"),
    "sinh": lambda a: (a.op("Exp") - (-a).op("Exp")) * 0.5,
    "cosh": lambda a: (a.op("Exp") + (-a).op("Exp")) * 0.5,
    "atanh": lambda a: ((1 + a) / (1 - a)).op("Log") * 0.5,
    "square": lambda a: a * a,
    "max": lambda a, b: a.op("Max", b),
    "min": lambda a, b: a.op("Min", b),
}


def _formula(node: Any, x: Sym) -> Any:
    """A parsed formula's tree as operators (numbers only: a Python number)."""
    k = node.kind
    if k == "num":
        return float(node.value)
    if k == "var":
        return x
    args = [_formula(a, x) for a in node.args]
    if all(not isinstance(a, Sym) for a in args):  # (folded when the formula was read)
        a = args[0]
        if k == "neg":
            return -a
        if k == "call":
            from anyprop.nn.formula import FUNCTIONS as NUMERIC

            return float(NUMERIC[node.value][1](*args).data)
        b = args[1]
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": a**b}[k]
    if k == "neg":
        return -args[0]
    if k == "call":
        syms = [a if isinstance(a, Sym) else Sym(x.g, x.g.const(a)) for a in args]
        return FUNCTIONS[node.value](*syms)
    a, b = args
    if k == "+":
        return a + b
    if k == "-":
        return a - b
    if k == "*":
        return a * b
    if k == "/":
        return a / b
    return a**b


def emit(transfer: Any, x: Sym, where: str) -> Sym:
    """The transfer function applied to ``x`` as operators; ``where`` names the group."""
    formula = getattr(transfer, "_formula", None)
    if formula is not None:
        out = _formula(formula.tree, x)
        return out if isinstance(out, Sym) else (x * 0.0) + out  # a constant function
    name = getattr(transfer, "name", "")
    fn = BUILTINS.get(name)
    if fn is None or TRANSFERS.get_or_none(name) is not type(transfer):  # (a user's own)
        raise AnypropError(
            f"{where}: the transfer function '{getattr(transfer, 'name', transfer)}' is Python "
            "code, which ONNX cannot hold; give it as a built-in's name or a formula in x"
        )
    return fn(x, transfer)
