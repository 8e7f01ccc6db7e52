"""The exceptions anyprop raises for user mistakes.

Every error a user can cause is an :class:`AnypropError`; its message names the
place (op, group, file and key, shapes) and, where possible, the fix. The CLI
prints the message and exits with status 2. Subclasses also derive from the
matching built-in exception so that ``except ValueError`` keeps working.
"""

from __future__ import annotations


class AnypropError(Exception):
    """Base class of every error caused by a user's input."""


class ShapeError(AnypropError, ValueError):
    """Operands whose shapes do not fit the operation."""


class GraphError(AnypropError, RuntimeError):
    """Misuse of the autodiff graph (backward on a released graph, ...)."""


class NetworkError(AnypropError, ValueError):
    """A network that cannot be built or run as described."""


class UnknownNameError(AnypropError, KeyError):
    """A name not found in a registry; the message suggests the nearest names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
