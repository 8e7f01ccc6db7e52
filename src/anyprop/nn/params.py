"""The parameters of a network by name, with a version that counts assignments."""

from __future__ import annotations

from typing import Any

import numpy as np

from anyprop.errors import NetworkError


class ParamDict(dict):
    """The parameters by name; ``version`` counts assignments, so that a plan that
    holds views of the arrays can tell when one was replaced rather than updated."""

    version = 0

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        old = self.get(key)
        if old is not None and (
            not isinstance(value, np.ndarray)
            or value.shape != old.shape
            or value.dtype != old.dtype
        ):  # a replaced parameter keeps its shape and type (the plan relies on both)
            got = (
                f"{value.dtype} {value.shape}"
                if isinstance(value, np.ndarray)
                else type(value).__name__
            )
            raise NetworkError(
                f"parameter '{key}' is a {old.dtype} array of shape {old.shape}; got {got} "
                "(set_params() converts values)"
            )
        super().__setitem__(key, value)
        self.version += 1

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.version += 1

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def __ior__(self, other: Any) -> ParamDict:
        self.update(other)
        return self

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        self.version += 1
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, np.ndarray]:
        self.version += 1
        return super().popitem()

    def clear(self) -> None:
        self.version += 1
        super().clear()
