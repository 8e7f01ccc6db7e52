"""The data-set registry: name -> a function making a :class:`~anyprop.data.Dataset`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from anyprop.data import Dataset
from anyprop.errors import AnypropError
from anyprop.registry import Registry


@dataclass
class DatasetInfo:
    name: str
    make: Callable[..., Dataset]
    summary: str
    source: str  # "generated", "bundled" or "scikit-learn"

    def options(self) -> dict[str, Any]:
        return {
            k: p.default
            for k, p in inspect.signature(self.make).parameters.items()
            if p.default is not inspect.Parameter.empty
        }


DATASETS: Registry[DatasetInfo] = Registry("data set")


def dataset(name: str, source: str = "generated"):
    def deco(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        summary = (fn.__doc__ or "").strip().splitlines()[0]
        DATASETS.register(name, DatasetInfo(name, fn, summary, source))
        return fn

    return deco


def parse_name(text: str) -> tuple[str, dict[str, Any]]:
    """'encoder:n=4,m=2' -> ('encoder', {'n': 4, 'm': 2}); numbers are converted."""
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
    try:
        return info.make(**options)
    except (TypeError, ValueError) as e:
        raise AnypropError(f"data set '{base}': {e}") from None
