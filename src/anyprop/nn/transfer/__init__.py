"""Transfer functions: the built-ins, and the user's own, with derivatives found for them.

``get(spec)`` turns any of these into a :class:`Transfer`:

- a built-in's name, ``"tanh"``, or a table with its parameters,
  ``{"name": "leaky_relu", "alpha": 0.1}``;
- a formula in ``x``, ``"x/(1+abs(x))"`` (parsed by an allow-list parser);
- a Python function built from anyprop's ops (the engine differentiates it);
- a name registered with :func:`register`, from a formula, an ops function, or
  an explicit pair (f, f') that is checked numerically when registered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from anyprop.errors import UnknownNameError
from anyprop.nn.formula import FormulaError
from anyprop.nn.transfer.base import (
    Elementwise,
    FormulaTransfer,
    OpsTransfer,
    PairTransfer,
    Transfer,
    TransferError,
)
from anyprop.nn.transfer.builtin import TRANSFERS
from anyprop.registry import Registry, suggest

#: Transfer functions the user registered by name (ops functions, formulas, pairs).
USER_TRANSFERS: Registry[Transfer] = Registry("transfer function")

__all__ = [
    "TRANSFERS",
    "Elementwise",
    "FormulaTransfer",
    "OpsTransfer",
    "PairTransfer",
    "Transfer",
    "TransferError",
    "describe",
    "get",
    "names",
    "register",
]


def names() -> list[str]:
    """Every transfer function known by name: built-ins and registered ones."""
    return sorted(set(TRANSFERS.names()) | set(USER_TRANSFERS.names()))


def register(
    name: str, f: Any, df: Callable[[np.ndarray], np.ndarray] | None = None, vector: bool = False
) -> Transfer:
    """Register a transfer function under ``name``, usable everywhere a name is.

    ``f`` is a formula string, a function built from anyprop ops, or (with
    ``df``) a NumPy function whose derivative ``df`` is checked numerically now.
    """
    if name in TRANSFERS:
        raise TransferError(f"'{name}' is a built-in transfer function; choose another name")
    if df is not None:
        t: Transfer = PairTransfer(name, f, df)
    elif isinstance(f, str):
        t = FormulaTransfer(f)
        t.name = name
        t.spec = lambda: name  # type: ignore[method-assign]
    elif callable(f):
        t = OpsTransfer(f, name=name, vector=vector)
    else:
        raise TransferError(
            f"register('{name}', ...): give a formula, an ops function, or f and df"
        )
    return USER_TRANSFERS.register(name, t)


def get(spec: Any, **params: Any) -> Transfer:
    """The transfer function described by ``spec`` (see the module's docstring)."""
    if isinstance(spec, Transfer):
        if params:
            raise TransferError(f"parameters {sorted(params)} given for an already made {spec!r}")
        return spec
    if isinstance(spec, Mapping):
        spec = dict(spec)
        if "name" not in spec:
            raise TransferError(f"a transfer function table needs a 'name' key, got {sorted(spec)}")
        name = spec.pop("name")
        return get(name, **spec, **params)
    if isinstance(spec, str):
        name = spec.strip()
        if name in TRANSFERS:
            return TRANSFERS.get(name)(**params)
        if name in USER_TRANSFERS:
            if params:
                raise TransferError(f"transfer function '{name}' takes no parameters")
            return USER_TRANSFERS.get(name)
        if name.isidentifier():  # a bare name that is not known: a typo, most likely
            raise UnknownNameError(_unknown(name))
        if params:
            raise TransferError(f"parameters {sorted(params)} given for the formula '{name}'")
        try:
            return FormulaTransfer(name)
        except FormulaError:
            raise
    if callable(spec):
        return OpsTransfer(spec, **params)
    raise TransferError(
        f"a transfer function is a name, a formula in x, or an ops function; got {spec!r}"
    )


def _unknown(name: str) -> str:
    hint = suggest(name, names(), n=3)
    msg = f"unknown transfer function '{name}'"
    if hint:
        return msg + hint
    return msg + " (run 'anyprop transfer list' for the names, or give a formula in x)"


def describe(spec: Any) -> dict[str, Any]:
    """f and f' as formulas, with the function's name and kind.

    Built-ins carry their formulas; a formula's derivative is worked out with
    SymPy (an optional extra) when it is installed.
    """
    t = get(spec)
    info = {
        "name": t.name,
        "vector": t.vector,
        "differentiable": t.differentiable,
        "params": dict(getattr(t, "params", {})),
        "f": t.formula,
        "df": t.derivative,
    }
    if isinstance(t, FormulaTransfer):
        info["kind"] = "formula"
        try:
            info["df"] = t._formula.derivative_text("x")
        except ImportError:
            info["df"] = None
    elif isinstance(t, (OpsTransfer, PairTransfer)):
        info["kind"] = "user"
    else:
        info["kind"] = "built-in"
        info["doc"] = (type(t).__doc__ or "").strip()
    return info
