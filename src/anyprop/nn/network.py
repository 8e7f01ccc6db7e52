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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from anyprop.errors import NetworkError
from anyprop.nn import cells
from anyprop.nn.graph import Graph
from anyprop.nn.group import Group
from anyprop.nn.params import ParamDict
from anyprop.nn.plan import DEFAULT_OPTIONS, Plan
from anyprop.nn.plan.recurrent import SequencePlan

__all__ = ["Group", "Network", "ParamDict"]


class Network(Graph):
    """A network of any shape. Build it with :meth:`add_input`, :meth:`add_group`,
    :meth:`add_output` and :meth:`connect`, or with :meth:`layered`.

    ``params`` maps stable dotted names (``"h1.bias"``, ``"x->h1.weight"``) to the
    weight arrays; optimizers update them in place.
    """

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
        the next. ``transfer`` is one transfer function for every hidden layer, or a
        list with one per hidden layer; the output's is ``output_transfer`` (by default
        the last hidden layer's). ``shortcuts=True`` also connects every layer to every
        later layer (FANN's shortcut networks).
        """
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise NetworkError(f"layered() takes a list of sizes such as [2, 3, 1], got {sizes!r}")
        sizes = list(sizes)
        if len(sizes) < 2:
            raise NetworkError(f"layered() needs at least an input and an output size, got {sizes}")
        hidden = len(sizes) - 2
        if isinstance(transfer, (list, tuple)):
            if len(transfer) != hidden:
                raise NetworkError(
                    f"layered(): {len(transfer)} transfer functions for {hidden} hidden "
                    f"layer{'s' if hidden != 1 else ''}; give one, or one per hidden layer"
                )
            transfers = list(transfer)
            last = transfers[-1] if transfers else "sigmoid"
        else:
            transfers, last = [transfer] * hidden, transfer
        net = cls(dtype=dtype, seed=seed)
        names = ["input"] + [f"h{i}" for i in range(1, len(sizes) - 1)] + ["output"]
        net.add_input(names[0], sizes[0])
        for name, size, t in zip(names[1:-1], sizes[1:-1], transfers, strict=True):
            net.add_group(name, size, transfer=t, bias=bias)
        net.add_output(names[-1], sizes[-1], transfer=output_transfer or last, loss=loss, bias=bias)
        for j in range(1, len(names)):
            for i in range(j - 1 if not shortcuts else 0, j):
                net.connect(names[i], names[j], init=init)
        return net

    # --- data as one array ----------------------------------------------------------
    @property
    def primary_output(self) -> str:
        """The output group that one array of targets refers to (metrics and predictions
        read it): the first output group with a loss, else the first output group."""
        outs = self.outputs
        return next((g for g in outs if self.groups[g].loss is not None), outs[0] if outs else "")

    @property
    def recurrent(self) -> bool:
        """Whether the network runs over sequences: it has a delayed or a gated connection."""
        return any(c.delay or c.gate for c in self.connections.values())

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
            odd = next((c for c in self.connections.values() if c.delay or c.gate), None)
            if odd is not None:
                what = "is delayed" if odd.delay else f"is gated by '{odd.gate}'"
                raise NetworkError(
                    f"connection '{odd.name}' {what}: such a network runs over sequences "
                    "of (sequences, steps, units) (Network.sequence_plan(), and the trainer "
                    "on sequence data)"
                )
            self._plan = Plan(self)
        return self._plan

    def sequence_plan(self) -> Any:
        """The compiled plan over sequences (any network: delayed and gated connections
        too), made once and again after the network changes."""
        if self._sequence_plan is None:
            self.validate()
            self._sequence_plan = SequencePlan(self)
        return self._sequence_plan

    def add_lstm(self, name: str, size: int, sources: Any, init: Any = None) -> str:
        """Add an LSTM cell fed by ``sources`` (groups and connections; see
        :mod:`anyprop.nn.cells`); returns its output group, ``name``."""
        return cells.add_lstm(self, name, size, sources, init)

    def add_gru(self, name: str, size: int, sources: Any, init: Any = None) -> str:
        """Add a GRU cell fed by ``sources`` (see :mod:`anyprop.nn.cells`); returns its
        output group, ``name``."""
        return cells.add_gru(self, name, size, sources, init)

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
        new = type(self)(dtype=dtype, name=self.name)
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
                    initial_state=g.initial_state,
                )
                new.groups[g.name].explicit_bias = g.explicit_bias
        for c in self.connections.values():
            common = {
                "trainable": c.trainable,
                "name": c.name if c.name != f"{c.src}->{c.tgt}" else None,
                "init": c.init,
                "delay": c.delay,
                "gate": c.gate,
                "gate_delay": c.gate_delay,
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
            if c.delay:
                tags.append(f"delay {c.delay}")
            if c.gate is not None:
                tags.append(
                    f"gated by {c.gate}" + (f" (delay {c.gate_delay})" if c.gate_delay else "")
                )
            lines.append(f"  {c.name}: {', '.join(tags)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        n, c = len(self.groups), len(self.connections)
        return f"<Network {self.name!r}: {n} groups, {c} connections>"
