"""The structure of a network: named groups of units, the connections between them, and
their parameters; cycles refused as they would be made.

:class:`Graph` builds and reads the DAG; :class:`~anyprop.nn.network.Network` adds
what runs on it (the plan, forward, backprop) and what a network is made from
(``layered``, copies, summaries).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from anyprop.autodiff.tensor import resolve_dtype
from anyprop.errors import AnypropError, NetworkError, ShapeError, UnknownNameError
from anyprop.nn import init as initializers
from anyprop.nn import losses as loss_registry
from anyprop.nn import transfer as transfer_registry
from anyprop.nn.connections import KINDS, Connection
from anyprop.nn.group import Group, check_name
from anyprop.nn.params import ParamDict
from anyprop.nn.values import numbers
from anyprop.registry import suggest


def generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """The random generator of a seed: a whole number >= 0 (None: a fresh one)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise NetworkError(f"a seed must be a whole number >= 0, got {seed!r}")
    return np.random.default_rng(seed)


class Graph:
    """Groups and connections by name, and the parameters they own (see the module)."""

    def __init__(
        self,
        dtype: Any = "float32",
        seed: int | np.random.Generator | None = None,
        name: str = "network",
    ) -> None:
        self.dtype = resolve_dtype(dtype)
        self.rng = generator(seed)
        self.name = name
        self.groups: dict[str, Group] = {}
        self.connections: dict[str, Connection] = {}
        self.params: dict[str, np.ndarray] = ParamDict()
        #: a network compiled from a unit list: which unit is which column (else None)
        self.units: Any = None
        #: whether the weights were drawn from a seed the spec gave (a spec reader sets it)
        self.seeded = seed is not None
        self._plan: Any = None
        self._sequence_plan: Any = None
        self._order: list[str] | None = None
        self._known_acyclic = False  # set by compilers that connect in topological order

    # --- building ----------------------------------------------------------
    def _changed(self) -> None:
        self._plan = None
        self._sequence_plan = None
        self._order = None

    def add_input(self, name: str, size: int) -> Group:
        """An input group of ``size`` units: it holds data."""
        return self._add(
            Group(check_name(name, "group"), self._size(size, name), None, False, True)
        )

    def add_group(
        self,
        name: str,
        size: int,
        transfer: Any = "sigmoid",
        bias: bool = True,
        output: bool = False,
        loss: Any = None,
        loss_weight: float = 1.0,
        bias_init: Any = "zeros",
        initial_state: str = "zero",
    ) -> Group:
        """A group of ``size`` units with a transfer function (a name, a formula in x,
        an ops function or a :class:`Transfer`) and, by default, a bias.
        ``initial_state="learned"``: over sequences, its output before the first step is a
        parameter ``NAME.initial`` trained with the weights (zeros at first), instead
        of zero."""
        check_name(name, "group")
        size = self._size(size, name)
        try:
            t = transfer_registry.get(transfer)
        except AnypropError as e:
            raise type(e)(f"group '{name}': {e}") from None
        lo = None
        if loss is not None:
            try:
                lo = loss_registry.get(loss)
            except AnypropError as e:
                raise type(e)(f"group '{name}': {e}") from None
            output = True
        if (
            isinstance(loss_weight, bool)
            or not isinstance(loss_weight, (int, float))
            or not 0 <= loss_weight < math.inf
        ):
            raise NetworkError(
                f"group '{name}': loss_weight must be a number >= 0, got {loss_weight!r}"
            )
        if initial_state not in ("zero", "learned"):
            raise NetworkError(
                f"group '{name}': initial_state must be 'zero' or 'learned', got {initial_state!r}"
            )
        group = Group(
            name, size, t, bool(bias), False, bool(output), lo, float(loss_weight), bias_init
        )
        group.initial_state = initial_state
        values = None
        if group.bias:  # made before the group joins: a failure leaves the network as it was
            try:
                values = initializers.make(bias_init, self.rng, (size,), 1, size, self.dtype)
            except AnypropError as e:
                raise type(e)(f"group '{name}': biases: {e}") from None
        g = self._add(group)
        if values is not None:
            self.params[g.bias_param] = values
        if g.initial_param is not None:
            self.params[g.initial_param] = np.zeros(size, self.dtype)
        return g

    def add_output(
        self, name: str, size: int, transfer: Any = "sigmoid", loss: Any = "mse", **kwargs: Any
    ) -> Group:
        """An output group: a group with a loss (``mse`` unless told otherwise)."""
        return self.add_group(name, size, transfer, output=True, loss=loss, **kwargs)

    def _size(self, size: Any, name: str) -> int:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise NetworkError(f"group '{name}': size must be a whole number >= 1, got {size!r}")
        return int(size)

    def _add(self, g: Group) -> Group:
        if g.name in self.groups:
            raise NetworkError(f"a group named '{g.name}' already exists")
        self.groups[g.name] = g
        self._changed()
        return g

    def group(self, name: str) -> Group:
        """The group called ``name`` (an error names the nearest groups)."""
        if not isinstance(name, str):
            raise UnknownNameError(f"a group is named by text, got {name!r}")
        try:
            return self.groups[name]
        except KeyError:
            hint = suggest(name, self.groups, n=3)
            known = ", ".join(self.groups) or "none yet"
            raise UnknownNameError(f"unknown group '{name}'{hint} (groups: {known})") from None

    def connect(
        self,
        src: str,
        tgt: str,
        kind: str = "dense",
        *,
        weights: Any = None,
        init: Any = None,
        trainable: bool = True,
        share: str | None = None,
        transpose: bool = False,
        name: str | None = None,
        delay: int = 0,
        gate: str | None = None,
        gate_delay: int = 0,
        **options: Any,
    ) -> Connection:
        """Connect group ``src`` to group ``tgt``.

        ``kind`` names a connection kind (:data:`~anyprop.nn.connections.KINDS`):
        ``dense``, ``sparse`` (with ``pairs`` of (source unit, target unit), or a
        random ``density``) or ``one_to_one``; ``options`` are the kind's own
        (``pairs``, ``density``). ``weights`` gives the
        initial values (a matrix, one weight per pair, or one per unit), else
        ``init`` names the scheme (glorot_uniform by default). ``share`` uses the
        weights of the named connection (``transpose`` to use them transposed);
        ``trainable=False`` fixes the weights.

        ``delay=d`` feeds the target the source's output d steps earlier (a recurrent
        connection, run over sequences). ``gate`` names a group of the target's size
        whose output multiplies the contribution unit by unit (a multiplicative,
        sigma-pi connection): net_tgt(t) += o_gate(t − gate_delay) ⊙ (o_src(t − delay) · W).
        """
        s, t = self.group(src), self.group(tgt)
        cname = check_name(name or f"{src}->{tgt}", "connection") if name else f"{src}->{tgt}"
        where = f"connection '{cname}'"
        if cname in self.connections:
            raise NetworkError(f"{where} already exists; give the second one a name=")
        if t.is_input:
            raise NetworkError(f"{where}: '{tgt}' is an input group; nothing can connect into it")
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            raise NetworkError(
                f"{where}: delay must be a whole number of steps >= 0, got {delay!r}"
            )
        if src == tgt and not delay:
            raise NetworkError(
                f"{where} connects a group to itself: that is a cycle ({src} -> {src}); "
                "give it a delay (delay=1) to make it recurrent"
            )
        path = None if self._known_acyclic or delay else self._path(tgt, src)
        if path is not None:
            cycle = " -> ".join([src, *path])
            raise NetworkError(
                f"{where} would close a cycle: {cycle} (a delayed connection, delay=1, may)"
            )
        self._check_gate(gate, gate_delay, t, where)
        cls = KINDS.get_or_none(kind)
        if share is not None:
            owner = self._owner(share, where)
            cls = type(owner)  # a shared connection has its owner's kind
        elif cls is None:
            hint = suggest(kind, KINDS, n=1) or f" (kinds: {', '.join(KINDS)})"
            raise NetworkError(f"{where}: unknown kind '{kind}'{hint}")
        c = cls(cname, src, tgt, trainable, init, share, transpose, (s.size, t.size))
        options = {k: v for k, v in options.items() if v is not None}
        if share is not None:
            if options or weights is not None:
                given = sorted(options)[0] if options else "weights"
                raise NetworkError(f"{where}: shares the weights of '{share}'; give no {given}=")
            self._connect_shared(c, owner, s, t, where)
        else:
            if c.transpose:
                raise NetworkError(f"{where}: transpose=True only applies to a shared connection")
            c.build(self.rng, where, **options)
            c.explicit = weights is not None
            if weights is not None:
                w = c.check_weights(weights, self.dtype, where)
            else:
                try:
                    w = self._draw(c)
                except AnypropError as e:
                    raise type(e)(f"{where}: {e}") from None
            self.params[c.param] = w
        c.delay, c.gate, c.gate_delay = delay, gate, gate_delay
        self.connections[cname] = c
        self._changed()
        return c

    def _check_gate(self, gate: Any, gate_delay: Any, t: Group, where: str) -> None:
        """A gate must be a group of the target's size; undelayed, it must not depend on
        the target within a step (that would be a cycle)."""
        if isinstance(gate_delay, bool) or not isinstance(gate_delay, int) or gate_delay < 0:
            raise NetworkError(
                f"{where}: gate_delay must be a whole number of steps >= 0, got {gate_delay!r}"
            )
        if gate is None:
            if gate_delay:
                raise NetworkError(f"{where}: gate_delay= is given without a gate=")
            return
        if not isinstance(gate, str):
            raise NetworkError(f"{where}: gate must be a group's name, got {gate!r}")
        g = self.group(gate)
        if g.size != t.size:
            raise ShapeError(
                f"{where}: the gate '{gate}' has {g.size} units, the target '{t.name}' "
                f"{t.size}: a gate multiplies the target's net input unit by unit"
            )
        if not gate_delay:
            path = [t.name] if gate == t.name else self._path(t.name, gate)
            if path is not None:
                cycle = " -> ".join([gate, *path])
                raise NetworkError(
                    f"{where}: the gate '{gate}' depends on the target within a step, a "
                    f"cycle: {cycle} (give it a gate_delay=1)"
                )

    def _draw(self, c: Connection) -> np.ndarray:
        """Initial weights for connection ``c`` from its initialiser (the kind's default,
        glorot_uniform for most, when none is named)."""
        fan_in, fan_out = c.fans()
        init = c.init or c.default_init
        return initializers.make(init, self.rng, c.param_shape(), fan_in, fan_out, self.dtype)

    def reinitialize(self, seed: int | np.random.Generator | None) -> None:
        """Draw every weight again from a new seed (weights given explicitly are kept),
        in place, in the order the network was built."""
        self.rng = generator(seed)
        for g in self.groups.values():
            if g.bias_param is not None and not g.explicit_bias:
                new = initializers.make(g.bias_init, self.rng, (g.size,), 1, g.size, self.dtype)
                self.params[g.bias_param][...] = new
        for c in self.connections.values():
            if c.share is None and not c.explicit:
                self.params[c.param][...] = self._draw(c)

    def _owner(self, share: str, where: str) -> Connection:
        """The connection that owns the weights named by ``share`` (followed through a
        connection that itself shares)."""
        if not isinstance(share, str):
            raise NetworkError(f"{where}: share must be a connection's name, got {share!r}")
        owner = self.connections.get(share)
        if owner is None:
            hint = suggest(share, self.connections)
            raise UnknownNameError(
                f"{where}: shares the weights of unknown connection '{share}'{hint}"
            )
        return self.connections[owner.share] if owner.share is not None else owner

    def _connect_shared(
        self, c: Connection, owner: Connection, s: Group, t: Group, where: str
    ) -> None:
        c.share = owner.name  # share with the real owner
        c.trainable = owner.trainable and c.trainable
        osrc, otgt = owner.shape
        want = (otgt, osrc) if c.transpose else (osrc, otgt)
        if (s.size, t.size) != want:
            raise ShapeError(
                f"{where}: shares '{owner.name}' ({osrc} -> {otgt} units"
                f"{', transposed' if c.transpose else ''}), which does not fit "
                f"'{s.name}' ({s.size}) -> '{t.name}' ({t.size})"
            )
        c.share_from(owner)

    def _path(self, start: str, goal: str) -> list[str] | None:
        """A path of groups from ``start`` to ``goal`` along connections, if any."""
        succ: dict[str, list[str]] = {}
        for c in self.connections.values():
            if not c.delay:  # (a delayed connection is no path within one step)
                succ.setdefault(c.src, []).append(c.tgt)
            if c.gate is not None and not c.gate_delay:  # (nor is a delayed gate)
                succ.setdefault(c.gate, []).append(c.tgt)
        stack, prev = [start], {start: None}
        while stack:
            u = stack.pop()
            if u == goal:
                path = [u]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return path[::-1]
            for v in succ.get(u, []):
                if v not in prev:
                    prev[v] = u
                    stack.append(v)
        return None

    # --- reading ------------------------------------------------------------
    @property
    def inputs(self) -> list[str]:
        return [g.name for g in self.groups.values() if g.is_input]

    @property
    def outputs(self) -> list[str]:
        return [g.name for g in self.groups.values() if g.output]

    def incoming(self, group: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.tgt == group]

    def outgoing(self, group: str) -> list[Connection]:
        return [c for c in self.connections.values() if c.src == group]

    def order(self) -> list[str]:
        """The groups in topological order (inputs first; ties in the order added)."""
        if self._order is None:
            indeg = dict.fromkeys(self.groups, 0)
            succ: dict[str, list[str]] = {g: [] for g in self.groups}
            for c in self.connections.values():
                if c.gate is not None and not c.gate_delay:  # a gate precedes its target
                    indeg[c.tgt] += 1
                    succ[c.gate].append(c.tgt)
                if c.delay:  # (within one step, delayed connections order nothing)
                    continue
                indeg[c.tgt] += 1
                succ[c.src].append(c.tgt)
            ready = deque(g for g in self.groups if indeg[g] == 0)
            out: list[str] = []
            while ready:
                g = ready.popleft()
                out.append(g)
                for t in succ[g]:
                    indeg[t] -= 1
                    if indeg[t] == 0:
                        ready.append(t)
            self._order = out
        return self._order

    def trainable(self) -> dict[str, np.ndarray]:
        """The parameters that training changes (fixed connections left out)."""
        fixed = {c.param for c in self.connections.values() if not c.trainable and c.share is None}
        return {k: v for k, v in self.params.items() if k not in fixed}

    @property
    def num_params(self) -> int:
        return int(sum(v.size for v in self.trainable().values()))

    def validate(self) -> None:
        """Check the network can run: inputs, outputs, and every group reachable."""
        if not self.inputs:
            raise NetworkError("the network has no input group; add one with add_input()")
        if not self.outputs:
            raise NetworkError("the network has no output group; add one with add_output()")
        read_earlier = {c.src for c in self.connections.values() if c.delay}
        read_earlier |= {c.gate for c in self.connections.values() if c.gate and c.gate_delay}
        for g in self.groups.values():
            if not g.is_input and not self.incoming(g.name) and not g.bias:
                raise NetworkError(f"group '{g.name}' has no incoming connection and no bias")
            if g.initial_param is not None and g.name not in read_earlier:
                raise NetworkError(
                    f"group '{g.name}' has a learned initial state, but no delayed connection "
                    "reads it at an earlier step"
                )

    def set_params(self, values: Mapping[str, Any]) -> None:
        """Copy new values into the parameters, in place (names and shapes checked)."""
        if not isinstance(values, Mapping):
            raise NetworkError(f"set_params() takes a dict by parameter name, got {values!r:.60}")
        for k, v in values.items():
            if k not in self.params:
                raise UnknownNameError(f"unknown parameter '{k}'{suggest(k, self.params)}")
            v = numbers(v, f"parameter '{k}'", self.params[k].dtype, copy=False)
            if v.shape != self.params[k].shape:
                raise ShapeError(
                    f"parameter '{k}': shape {v.shape}, expected {self.params[k].shape}"
                )
            self.params[k][...] = v
