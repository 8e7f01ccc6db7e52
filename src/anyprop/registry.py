"""One registry per kind of thing (primitives, transfer functions, losses, ...).

A :class:`Registry` maps names to objects, is filled where each thing is
defined, and answers an unknown name with the nearest known names::

    >>> r = Registry("transfer function")
    >>> r.register("tanh", object()) is not None
    True
    >>> r.get("tahn")
    Traceback (most recent call last):
    ...
    anyprop.errors.UnknownNameError: unknown transfer function 'tahn'; did you mean 'tanh'?
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from anyprop.errors import AnypropError, UnknownNameError

T = TypeVar("T")


def suggest(name: object, options: Iterable[str], n: int = 2) -> str:
    """'; did you mean 'a' or 'b'?' for the options closest to ``name``, or ''."""
    close = difflib.get_close_matches(str(name), list(options), n=n, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


class Registry(Generic[T]):
    """A named collection of one kind of thing."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name``; a name is registered once only."""
        if name in self._items:
            raise AnypropError(f"{self.kind} '{name}' is already registered")
        self._items[name] = item
        return item

    def entry(self, name: str, *aliases: str) -> Callable[[T], T]:
        """A decorator that registers what it decorates under ``name`` (and ``aliases``);
        a class also gets ``name`` as its ``name`` attribute."""

        def deco(item: T) -> T:
            if isinstance(item, type):
                item.name = name  # type: ignore[attr-defined]
            for n in (name, *aliases):
                self.register(n, item)
            return item

        return deco

    def get(self, name: str) -> T:
        """Return the item called ``name``, or raise with the nearest names."""
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None
        except TypeError:
            raise UnknownNameError(
                f"{self.kind} name must be a string, got {type(name).__name__}"
            ) from None

    def get_or_none(self, name: str) -> T | None:
        """The item called ``name``, or None."""
        return self._items.get(name) if isinstance(name, str) else None

    def unknown_message(self, name: str) -> str:
        """The message for an unknown ``name``: what it is and what is close."""
        hint = suggest(name, self._items, n=3)
        return f"unknown {self.kind} '{name}'" + (
            hint or f"; known: {', '.join(sorted(self._items))}"
        )

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} items)"
