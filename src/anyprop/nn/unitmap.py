"""The map of a network compiled from a unit list: which unit is which column, group
and index.

A unit graph compiles into an ordinary :class:`~anyprop.nn.network.Network`
(groups by topological level, sparse connections between them) that carries
this map as ``network.units``. The map is applied where inputs and targets are
prepared: the inputs' columns are the units of ``inputs`` (the one input group
``in``, in that order), the targets' columns the units of ``outputs``, which
may lie in several output groups (:meth:`split_targets`, :meth:`gather`).
Everything else (training, explanation, model files) sees a plain network.

Edge-level reads go through the map: ``net.units.edge_weight(u, v)``,
``edge_grad(bp, u, v)``, ``bias(u)``, ``bias_grad(bp, u)`` and ``where(u)``
(a unit's group and index).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from anyprop.errors import NetworkError, ShapeError
from anyprop.registry import suggest


class UnitMap:
    """Units by label ↔ (group, index) in the compiled network, and the data columns.

    ``inputs`` and ``outputs`` are the unit labels of the input and target columns;
    ``args`` is what the graph was made from (its ``[units]`` spec is written from it).
    """

    def __init__(
        self,
        labels: np.ndarray,
        group_of: np.ndarray,
        pos: np.ndarray,
        inputs: list[Any],
        outputs: list[Any],
        output_groups: list[tuple[str, np.ndarray]],
        num_edges: int,
        args: dict[str, Any],
    ) -> None:
        self.labels = labels
        self._index = {lab: i for i, lab in enumerate(labels.tolist())}
        self._group_of, self._pos = group_of, pos
        self.inputs, self.outputs = inputs, outputs
        #: each output group and the target columns its units take, in its order
        self.output_groups = output_groups
        self.num_units = int(labels.size)
        self.num_edges = num_edges
        self.args = args
        self.network: Any = None  # the compiled network, bound by bind()

    def bind(self, network: Any) -> UnitMap:
        """This map for ``network`` (the compiled one, or a copy of it such as astype's)."""
        new = object.__new__(UnitMap)
        new.__dict__.update(self.__dict__)
        new.network = network
        network.units = new
        return new

    # --- data columns ---------------------------------------------------------------
    def split_targets(self, t: Any) -> dict[str, np.ndarray]:
        """Targets (samples, outputs), columns ordered as ``outputs``, by output group."""
        t = np.asarray(t)
        if t.ndim == 1 and len(self.outputs) == 1:
            t = t[:, None]
        if t.ndim != 2 or t.shape[1] != len(self.outputs):
            raise ShapeError(
                f"targets must have shape (samples, {len(self.outputs)}) for the outputs "
                f"{self.outputs}, got {t.shape}"
            )
        return {name: t[:, ranks] for name, ranks in self.output_groups}

    def gather(self, outs: Mapping[str, np.ndarray]) -> np.ndarray:
        """Outputs (samples, outputs), columns ordered as ``outputs``, from the groups'."""
        n = outs[self.output_groups[0][0]].shape[0]
        y = np.empty((n, len(self.outputs)), dtype=outs[self.output_groups[0][0]].dtype)
        for name, ranks in self.output_groups:
            y[:, ranks] = outs[name]
        return y

    # --- reading by unit --------------------------------------------------------------
    def where(self, unit: Any) -> tuple[str, int]:
        """(group, index) of a unit in the compiled network."""
        try:
            i = self._index.get(unit)
        except TypeError:  # not hashable: no unit's label
            i = None
        if i is None:
            raise NetworkError(f"unknown unit {unit!r}")
        return str(self._group_of[i]), int(self._pos[i])

    def parse_label(self, text: str, where: str) -> Any:
        """The unit named ``text`` (a number, where the units are numbered)."""
        if np.issubdtype(self.labels.dtype, np.number):
            try:
                value = int(text)
            except ValueError:
                raise NetworkError(f"{where}: the units are numbered; '{text}' is not") from None
        else:
            value = text
        if value not in self._index:
            hint = suggest(str(value), [str(x) for x in self.labels.tolist()])
            raise NetworkError(f"{where}: unknown unit {value!r}{hint}")
        return value

    def label(self, group: str, index: int) -> Any:
        """The unit at ``index`` of ``group``."""
        hit = np.flatnonzero((self._group_of == group) & (self._pos == index))
        if hit.size == 0:
            raise NetworkError(f"no unit at {group}[{index}]")
        return self.labels[hit[0]].item()

    def edge(self, u: Any, v: Any) -> tuple[Any, int]:
        """(connection, index into its weight parameter) of the edge from unit u to v."""
        (gu, pu), (gv, pv) = self.where(u), self.where(v)
        for c in self.network.connections.values():
            if c.src == gu and c.tgt == gv:
                src, tgt, index = c.unit_pairs(self.network.params[c.param].shape)
                hit = np.flatnonzero((src == pu) & (tgt == pv))
                if hit.size:
                    return c, int(index[hit[0]])
        raise NetworkError(f"there is no connection from unit {u!r} to unit {v!r}")

    def edge_weight(self, u: Any, v: Any) -> float:
        """The weight of the edge from unit u to unit v."""
        c, k = self.edge(u, v)
        return float(self.network.params[c.param].reshape(-1)[k])

    def edge_grad(self, bp: Any, u: Any, v: Any) -> float:
        """∂L/∂w of the edge from unit u to unit v, from a :class:`Backprop`."""
        c, k = self.edge(u, v)
        return float(bp.grads[c.param].reshape(-1)[k])

    def _bias_param(self, unit: Any) -> tuple[str, int]:
        g, p = self.where(unit)
        name = self.network.groups[g].bias_param
        if name is None:
            raise NetworkError(f"unit {unit!r} has no bias")
        return name, p

    def bias(self, unit: Any) -> float:
        """The bias (threshold) of a unit."""
        name, p = self._bias_param(unit)
        return float(self.network.params[name][p])

    def bias_grad(self, bp: Any, unit: Any) -> float:
        """∂L/∂b of a unit, from a :class:`Backprop`."""
        name, p = self._bias_param(unit)
        return float(bp.grads[name][p])
