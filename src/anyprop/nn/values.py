"""Numbers a user gives a network (weights, biases, unit pairs), as arrays, or an error
naming the value that is not one.

A spec's ``weights = [[0.1, "a"]]``, a ragged list or a table where numbers belong
would otherwise reach NumPy and come back as its own words (``setting an array
element with a sequence``); here it is the place and the value."""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.errors import NetworkError

#: the deepest list of lists a parameter can be (a dense weight matrix is 2)
_MOST_DEPTH = 8


def _first_bad(value: Any, at: str, depth: int = 0) -> tuple[str, Any] | None:
    """Where, inside nested lists, the first element that is not a number lies."""
    if isinstance(value, (list, tuple)):
        if depth >= _MOST_DEPTH:
            return at, "lists nested too deep"
        for k, v in enumerate(value):
            bad = _first_bad(v, f"{at}[{k}]", depth + 1)
            if bad:
                return bad
        return None
    if isinstance(value, np.ndarray):
        return None if value.dtype.kind in "iuf" else (at, f"an array of {value.dtype}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return at, value
    if isinstance(value, int) and abs(value) >= 2**1024:  # beyond every float
        return at, "a number too large for a float"
    return None


def numbers(
    value: Any, what: str, dtype: Any = np.float64, whole: bool = False, copy: bool = True
) -> np.ndarray:
    """``value`` (a number, a list, lists of lists, or a numeric array) as an array of
    ``dtype``; text, tables, booleans, ragged lists or numbers beyond the type's range
    are a NetworkError naming ``what`` and the element. ``whole`` asks for whole numbers
    (unit indices) and gives int64. The result is a fresh array unless ``copy`` is
    false and ``value`` is already an array of ``dtype``."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":  # look inside
        value = value.tolist()
    elif isinstance(value, np.ndarray) and value.dtype.kind == "b":
        value = value.astype(np.float64)
    bad = _first_bad(value, "")
    if bad is not None:
        at, got = bad
        said = isinstance(got, str) and got.startswith(("lists", "an array", "a number"))
        shown = got if said else repr(got)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise NetworkError(f"{what}: element {at or '(the value)'} is not a number: {shown}")
    if isinstance(value, np.ndarray) and not whole and value.dtype == np.dtype(dtype):
        return value.copy() if copy else value  # numbers of the type asked for already
    try:
        arr = np.array(value, dtype=np.float64)
    except (ValueError, OverflowError):
        raise NetworkError(
            f"{what}: the lists are ragged (rows of different lengths); give a rectangle of numbers"
        ) from None
    if whole:
        if not np.all(np.isfinite(arr)) or not np.all(np.mod(arr, 1) == 0):
            raise NetworkError(f"{what}: unit indices must be whole numbers")
        if arr.size and np.max(np.abs(arr)) >= 2**62:
            raise NetworkError(f"{what}: a unit index of {np.max(np.abs(arr)):.3g} is too large")
        return arr.astype(np.int64)
    with np.errstate(over="ignore"):
        out = arr.astype(dtype, copy=False)
    if out.dtype.itemsize < 8 and not np.all(np.isfinite(out[np.isfinite(arr)])):
        raise NetworkError(f"{what}: a number is too large for {np.dtype(dtype).name}")
    return out
