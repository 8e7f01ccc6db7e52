"""The data-set registry: name -> a function making a :class:`~anyprop.data.Dataset`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anyprop.data import Dataset
from anyprop.errors import AnypropError
from anyprop.limits import check_bytes
from anyprop.registry import Registry


@dataclass
class DatasetInfo:
    name: str
    make: Callable[..., Dataset]
    summary: str
    source: str  # "generated", "bundled" or "scikit-learn"
    cells: Callable[..., float] | None = None  # numbers it holds for these options (x and y)

    def options(self) -> dict[str, Any]:
        return {
            k: p.default
            for k, p in inspect.signature(self.make).parameters.items()
            if p.default is not inspect.Parameter.empty
        }


DATASETS: Registry[DatasetInfo] = Registry("data set")


def dataset(name: str, source: str = "generated", cells: Callable[..., float] | None = None):
    """Register a data set's maker; ``cells(**options)``: how many numbers it makes (its
    rows times its columns, inputs and targets), so that its memory is known beforehand."""

    def deco(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        summary = (fn.__doc__ or "").strip().splitlines()[0]
        DATASETS.register(name, DatasetInfo(name, fn, summary, source, cells))
        return fn

    return deco


def parse_name(text: str) -> tuple[str, dict[str, Any]]:
    """'encoder:n=4,m=2' -> ('encoder', {'n': 4, 'm': 2}); numbers are converted."""
    if not isinstance(text, str):
        raise AnypropError(f"a data set is named by text (such as 'moons:n=200'), got {text!r}")
    name, _, rest = text.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise AnypropError(f"data set option '{item}' must be written key=value")
        for conv in (int, float):
            try:
                options[key.strip()] = conv(value)
                break
            except ValueError:
                continue
        else:
            options[key.strip()] = value.strip()
    return name.strip(), options


def load(name: str, **options: Any) -> Dataset:
    """The data set called ``name`` (options as keywords, or ``name:key=value``)."""
    base, parsed = parse_name(name)
    info = DATASETS.get(base)
    options = {**parsed, **options}
    allowed = info.options()
    unknown = set(options) - set(allowed)
    if unknown:
        listed = ", ".join(f"{k}={v}" for k, v in allowed.items()) or "none"
        raise AnypropError(
            f"data set '{base}' has no option '{sorted(unknown)[0]}' (options: {listed})"
        )
    defaults = info.options()
    for key, value in options.items():
        _check_option(base, key, value, defaults[key])
    if info.cells is not None:  # (several working copies while it is made)
        check_bytes(4 * 8 * info.cells(**{**defaults, **options}), f"data set '{name}'")
    try:
        return info.make(**options)
    except (TypeError, ValueError) as e:
        raise AnypropError(f"data set '{base}': {e}") from None


#: options that count things (samples, bits, points): at least 1
_COUNTS = ("n", "points", "m")


def _check_option(name: str, key: str, value: Any, default: Any) -> None:
    """An option of the type its default has: a whole number for a count or a seed (a
    count at least 1, a seed at least 0), a number >= 0 for the others."""
    where = f"data set '{name}': option {key}={value!r}"
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise AnypropError(f"{where} must be a whole number")
        least = 1 if key in _COUNTS else 0
        if value < least:
            raise AnypropError(f"{where} must be at least {least}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e300:
        raise AnypropError(f"{where} must be a number >= 0")
