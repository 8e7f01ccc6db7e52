"""The one model of a network: a DAG of named unit groups joined by connections.

A group's net input is the sum over its incoming connections plus its bias,
net_j = Σ_c W_c · o_src(c) + b_j, and its output is o_j = f_j(net_j). Input groups
hold data; any group may be an output with its own loss. The general rule then
runs group by group in reverse topological order (see :mod:`anyprop.nn.plan`).

>>> net = Network(seed=0)
>>> net.add_input("x", 2)
<group x: 2 inputs>
>>> net.add_group("h", 3, transfer="tanh")
<group h: 3 × tanh>
>>> net.add_output("out", 1, transfer="sigmoid", loss="mse")
<group out: 1 × sigmoid, loss mse>
>>> net.connect("x", "h"), net.connect("h", "out"), net.connect("x", "out")  # a skip
(<connection x->h: dense 2 × 3>, <connection h->out: dense 3 × 1>, <connection x->out: dense 2 × 1>)
>>> sorted(net.params)
['h->out.weight', 'h.bias', 'out.bias', 'x->h.weight', 'x->out.weight']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anyprop.autodiff.tensor import resolve_dtype
from anyprop.errors import AnypropError, NetworkError, ShapeError, UnknownNameError
from anyprop.nn import init as initializers
from anyprop.nn import losses as loss_registry
from anyprop.nn import transfer as transfer_registry
from anyprop.nn.connections import KINDS, Connection
from anyprop.nn.losses import Loss
from anyprop.nn.plan import DEFAULT_OPTIONS, Plan
from anyprop.nn.transfer import Transfer
from anyprop.registry import suggest


@dataclass
class Group:
    """A set of units sharing a transfer function; a layer, or a single unit."""

    name: str
    size: int
    transfer: Transfer | None = None  # None for an input group
    bias: bool = True
    is_input: bool = False
    output: bool = False
    loss: Loss | None = None
    loss_weight: float = 1.0
    bias_init: Any = "zeros"
    meta: dict = field(default_factory=dict)

    @property
    def bias_param(self) -> str | None:
        return f"{self.name}.bias" if self.bias and not self.is_input else None

    def __repr__(self) -> str:
        if self.is_input:
            return f"<group {self.name}: {self.size} inputs>"
        extra = f", loss {self.loss!r}" if self.loss is not None else ""
        return f"<group {self.name}: {self.size} × {self.transfer!r}{extra}>"


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in ".[]\n\"'") or "->" in name:
        raise NetworkError(
            f"{what} name {name!r} is not allowed: use a non-empty name without '.', '[', ']', "
            "quotes or '->'"
        )
    return name


class ParamDict(dict):
    """The parameters by name; ``version`` counts assignments, so that a plan that
    holds views of the arrays can tell when one was replaced rather than updated."""

    version = 0

    def __setitem__(self, key: str, value: np.ndarray) -> None:
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


class Network:
    """A network of any shape. Build it with :meth:`add_input`, :meth:`add_group`,
    :meth:`add_output` and :meth:`connect`, or with :meth:`layered`.

    ``params`` maps stable dotted names (``"h1.bias"``, ``"x->h1.weight"``) to the
    weight arrays; optimizers update them in place.
    """

    def __init__(
        self,
        dtype: Any = "float32",
        seed: int | np.random.Generator | None = None,
        name: str = "network",
    ) -> None:
        self.dtype = resolve_dtype(dtype)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.name = name
        self.groups: dict[str, Group] = {}
        self.connections: dict[str, Connection] = {}
        self.params: dict[str, np.ndarray] = ParamDict()
        #: a network compiled from a unit list: which unit is which column (else None)
        self.units: Any = None
        #: whether the weights were drawn from a seed the spec gave (a spec reader sets it)
        self.seeded = seed is not None
        self._plan: Any = None
        self._order: list[str] | None = None
        self._known_acyclic = False  # set by compilers that connect in topological order

    # --- building ----------------------------------------------------------
    def _changed(self) -> None:
        self._plan = None
        self._order = None

    def add_input(self, name: str, size: int) -> Group:
        """An input group of ``size`` units: it holds data."""
        return self._add(
            Group(_check_name(name, "group"), self._size(size, name), None, False, True)
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
    ) -> Group:
        """A group of ``size`` units with a transfer function (a name, a formula in x,
        an ops function or a :class:`Transfer`) and, by default, a bias."""
        _check_name(name, "group")
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
        if not isinstance(loss_weight, (int, float)) or loss_weight < 0:
            raise NetworkError(
                f"group '{name}': loss_weight must be a number >= 0, got {loss_weight!r}"
            )
        g = self._add(
            Group(name, size, t, bool(bias), False, bool(output), lo, float(loss_weight), bias_init)
        )
        if g.bias:
            self.params[g.bias_param] = initializers.make(
                bias_init, self.rng, (size,), 1, size, self.dtype
            )
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
        try:
            return self.groups[name]
        except (KeyError, TypeError):
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
        """
        s, t = self.group(src), self.group(tgt)
        cname = _check_name(name or f"{src}->{tgt}", "connection") if name else f"{src}->{tgt}"
        where = f"connection '{cname}'"
        if cname in self.connections:
            raise NetworkError(f"{where} already exists; give the second one a name=")
        if t.is_input:
            raise NetworkError(f"{where}: '{tgt}' is an input group; nothing can connect into it")
        if src == tgt:
            raise NetworkError(
                f"{where} connects a group to itself: that is a cycle ({src} -> {src})"
            )
        path = None if self._known_acyclic else self._path(tgt, src)
        if path is not None:
            cycle = " -> ".join([src, *path])
            raise NetworkError(f"{where} would close a cycle: {cycle}")
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
        self.connections[cname] = c
        self._changed()
        return c

    def _draw(self, c: Connection) -> np.ndarray:
        """Initial weights for connection ``c`` from its initialiser (the kind's default,
        glorot_uniform for most, when none is named)."""
        fan_in, fan_out = c.fans()
        init = c.init or c.default_init
        return initializers.make(init, self.rng, c.param_shape(), fan_in, fan_out, self.dtype)

    def reinitialize(self, seed: int | np.random.Generator | None) -> None:
        """Draw every weight again from a new seed (weights given explicitly are kept),
        in place, in the order the network was built."""
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        for g in self.groups.values():
            if g.bias_param is not None:
                new = initializers.make(g.bias_init, self.rng, (g.size,), 1, g.size, self.dtype)
                self.params[g.bias_param][...] = new
        for c in self.connections.values():
            if c.share is None and not c.explicit:
                self.params[c.param][...] = self._draw(c)

    def _owner(self, share: str, where: str) -> Connection:
        """The connection that owns the weights named by ``share`` (followed through a
        connection that itself shares)."""
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
            succ.setdefault(c.src, []).append(c.tgt)
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

    @classmethod
    def layered(
        cls,
        sizes: Sequence[int],
        transfer: Any = "sigmoid",
        output_transfer: Any = None,
        loss: Any = "mse",
        shortcuts: bool = False,
        init: Any = None,
        bias: bool = True,
        dtype: Any = "float32",
        seed: int | np.random.Generator | None = None,
    ) -> Network:
        """A layered network: ``sizes`` = [inputs, hidden..., outputs].

        Groups are ``input``, ``h1``, ``h2``, ... and ``output``; every layer feeds
        the next. ``shortcuts=True`` also connects every layer to every later
        layer (FANN's shortcut networks).
        """
        sizes = list(sizes)
        if len(sizes) < 2:
            raise NetworkError(f"layered() needs at least an input and an output size, got {sizes}")
        net = cls(dtype=dtype, seed=seed)
        names = ["input"] + [f"h{i}" for i in range(1, len(sizes) - 1)] + ["output"]
        net.add_input(names[0], sizes[0])
        for name, size in zip(names[1:-1], sizes[1:-1], strict=True):
            net.add_group(name, size, transfer=transfer, bias=bias)
        net.add_output(
            names[-1], sizes[-1], transfer=output_transfer or transfer, loss=loss, bias=bias
        )
        for j in range(1, len(names)):
            for i in range(j - 1 if not shortcuts else 0, j):
                net.connect(names[i], names[j], init=init)
        return net

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
        for g in self.groups.values():
            if not g.is_input and not self.incoming(g.name) and not g.bias:
                raise NetworkError(f"group '{g.name}' has no incoming connection and no bias")

    # --- data as one array ----------------------------------------------------------
    @property
    def primary_output(self) -> str:
        """The output group that one array of targets refers to (metrics and predictions
        read it): the first output group with a loss, else the first output group."""
        outs = self.outputs
        return next((g for g in outs if self.groups[g].loss is not None), outs[0] if outs else "")

    @property
    def input_width(self) -> int:
        """The number of input columns: the units of every input group."""
        return sum(self.groups[g].size for g in self.inputs)

    @property
    def target_width(self) -> int:
        """The number of target (and output) columns one array holds."""
        if self.units is not None:
            return len(self.units.outputs)
        return self.groups[self.primary_output].size

    def gather(self, outs: Mapping[str, np.ndarray]) -> np.ndarray:
        """A pass's outputs as one array laid out like the targets: the primary output
        group's (the plan's buffer itself: copy it to keep it), or for a network compiled
        from a unit list, its output units in order (a fresh array)."""
        if self.units is not None:
            return self.units.gather(outs)
        return outs[self.primary_output]

    def prepare_targets(self, y: Any, dtype: Any = np.float64) -> np.ndarray:
        """Targets as one array laid out like :meth:`gather`'s outputs (class indices
        become one-hot rows), checked against the output units."""
        if self.units is not None:
            t = np.asarray(y, dtype=dtype)
            t = t.reshape(len(t), -1) if t.ndim else t
            self.units.split_targets(t)  # checks the shape
            return t
        group = self.groups[self.primary_output]
        if group.loss is None:
            raise NetworkError("the network has no output group with a loss to train")
        return group.loss.prepare_target(y, group.size, dtype)

    # --- running --------------------------------------------------------------
    def plan(self) -> Any:
        """The compiled plan (made once, and again after the network changes)."""
        if self._plan is None:
            self.validate()
            self._plan = Plan(self)
        return self._plan

    def forward(self, inputs: Any) -> Any:
        """The outputs for ``inputs`` (an array for a single input group, else a dict by
        group name): an array for a single output group, else a dict; for a network
        compiled from a unit list, the array of its output units."""
        outs = self.plan().forward(inputs)
        if self.units is not None:
            return self.units.gather(outs)  # (a fresh array)
        res = {g: outs[g].copy() for g in self.outputs}  # the plan reuses its buffers
        return res[self.outputs[0]] if len(res) == 1 else res

    predict = forward

    def backprop(
        self,
        inputs: Any,
        targets: Any,
        sample_weight: Any = None,
        input_grads: bool = False,
        check: bool = True,
        options: Any = None,
    ) -> Any:
        """One forward and backward pass: the loss, every parameter's gradient, and
        every group's deltas (∂L/∂net), all readable by name (see
        :class:`~anyprop.nn.plan.Backprop`). ``check=False`` skips the scan of the
        inputs for NaN (for data already checked once)."""
        return self.plan().backprop(
            inputs, targets, sample_weight, input_grads, check, options or DEFAULT_OPTIONS
        )

    def loss(self, inputs: Any, targets: Any, sample_weight: Any = None) -> float:
        """The loss L on a batch, without gradients."""
        return self.plan().loss(inputs, targets, sample_weight)

    def astype(self, dtype: Any) -> Network:
        """The same network (groups, connections, transfer functions, losses, weights) in
        another float dtype; the copy shares no arrays with this one."""
        new = Network(dtype=dtype, name=self.name)
        new._known_acyclic = True
        for g in self.groups.values():
            if g.is_input:
                new.add_input(g.name, g.size)
            else:
                new.add_group(
                    g.name,
                    g.size,
                    transfer=g.transfer,
                    bias=g.bias,
                    output=g.output,
                    loss=g.loss,
                    loss_weight=g.loss_weight,
                    bias_init=g.bias_init,
                )
        for c in self.connections.values():
            common = {
                "trainable": c.trainable,
                "name": c.name if c.name != f"{c.src}->{c.tgt}" else None,
                "init": c.init,
            }
            if c.share:
                new.connect(c.src, c.tgt, share=c.share, transpose=c.transpose, **common)
            else:
                new.connect(
                    c.src, c.tgt, c.kind, weights=self.params[c.param], **c.structure(), **common
                )
            new.connections[c.name].explicit = c.explicit
        new._known_acyclic = False
        new.seeded = self.seeded
        if self.units is not None:
            self.units.bind(new)
        new.set_params(
            {g.bias_param: self.params[g.bias_param] for g in self.groups.values() if g.bias_param}
        )
        return new

    def set_params(self, values: Mapping[str, Any]) -> None:
        """Copy new values into the parameters, in place (names and shapes checked)."""
        for k, v in values.items():
            if k not in self.params:
                raise UnknownNameError(f"unknown parameter '{k}'{suggest(k, self.params)}")
            v = np.asarray(v)
            if v.shape != self.params[k].shape:
                raise ShapeError(
                    f"parameter '{k}': shape {v.shape}, expected {self.params[k].shape}"
                )
            self.params[k][...] = v

    def summary(self) -> str:
        """A short text description: groups, connections, parameter count."""
        lines = [
            f"{self.name}: {len(self.groups)} groups, {len(self.connections)} connections, "
            f"{self.num_params} trainable parameters"
        ]
        for name in self.order():
            g = self.groups[name]
            kind = "input" if g.is_input else repr(g.transfer)
            extra = f", loss {g.loss!r}" if g.loss is not None else (", output" if g.output else "")
            lines.append(f"  {name}: {g.size} units, {kind}{extra}")
        for c in self.connections.values():
            tags = [c.kind] + (["fixed"] if not c.trainable else [])
            if c.share:
                tags.append(f"shares {c.share}{' (transposed)' if c.transpose else ''}")
            tags += c.tags()
            lines.append(f"  {c.name}: {', '.join(tags)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        n, c = len(self.groups), len(self.connections)
        return f"<Network {self.name!r}: {n} groups, {c} connections>"
