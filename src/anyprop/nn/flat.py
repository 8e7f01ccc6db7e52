"""Parameters and gradients as views into one flat array each.

With every trainable weight a view into one contiguous vector (and every
gradient into another, in the same order), an elementwise update rule runs as
one vectorised call over all the parameters at once, a finiteness check is one
reduction, and a data-parallel trainer reduces the gradients in one message.
The plan owns the layout; :class:`Grads` carries it to the optimizer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class Grads(dict):
    """Gradients by parameter name. When ``flat`` is set, the values are views into it,
    laid out in ``layout`` order, and ``weights`` is the weights' matching flat array."""

    flat: np.ndarray | None = None
    weights: np.ndarray | None = None
    layout: tuple[str, ...] = ()


class FlatParams:
    """A layout of named arrays in one flat vector; ``rehome`` makes the network's
    parameters views into it (keeping their values) when they are not already."""

    def __init__(self, names: Sequence[str], params: Mapping[str, np.ndarray], dtype: Any) -> None:
        self.layout = tuple(names)
        self.shapes = {n: params[n].shape for n in self.layout}
        self.spans: dict[str, tuple[int, int]] = {}
        start = 0
        for n in self.layout:
            size = int(np.prod(self.shapes[n], dtype=np.int64))
            self.spans[n] = (start, start + size)
            start += size
        self.size = start
        self.weights = np.empty(start, dtype)
        self.views: dict[str, np.ndarray] = {}
        self.version: int | None = None

    def view(self, flat: np.ndarray, name: str) -> np.ndarray:
        a, b = self.spans[name]
        return flat[a:b].reshape(self.shapes[name])

    def segment(self, flat: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """The contiguous part of ``flat`` holding ``names`` (given in layout order)."""
        return flat[self.spans[names[0]][0] : self.spans[names[-1]][1]]

    def rehome(self, params: dict[str, np.ndarray]) -> None:
        version = getattr(params, "version", None)
        if self.views and version is not None and version == self.version:
            return
        # First take every replaced array aside when it lies in the flat vector itself
        # (parameters swapped with each other): a copy made in place could overwrite it.
        incoming = {}
        for n in self.layout:
            current = params[n]
            if current is not self.views.get(n):
                shares = np.may_share_memory(current, self.weights)
                incoming[n] = np.array(current) if shares else current
        for n in list(incoming):  # each old array let go as soon as it is copied
            view = self.view(self.weights, n)
            view[...] = incoming.pop(n)
            self.views[n] = view
            params[n] = view
        self.version = getattr(params, "version", None)

    def grads(self) -> Grads:
        """Zeroed gradient buffers in this layout."""
        g = Grads()
        g.flat = np.zeros(self.size, self.weights.dtype)
        g.weights = self.weights
        g.layout = self.layout
        for n in self.layout:
            g[n] = self.view(g.flat, n)
        return g
