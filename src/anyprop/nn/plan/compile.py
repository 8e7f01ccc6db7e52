"""Compiling a network into steps: what each group's forward and backward will do.

The groups are visited in topological order. Each non-input group becomes a
:class:`Step` holding its incoming connections (:class:`Use`), its transfer
function and bias, and the flags that pick its path: ``simple`` (every incoming
connection dense, as stored: the textbook products), ``block_target`` and
``block_source`` (fed by, or feeding, the merged sparse block). ``first`` marks
the first gradient written into a parameter in a backward pass: later uses of a
shared weight add to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anyprop.nn.connections import Connection
from anyprop.nn.flat import FlatParams
from anyprop.nn.sparse_block import SparseBlock
from anyprop.nn.transfer import TRANSFERS


@dataclass
class Use:
    """One incoming connection of a group, as the plan runs it."""

    conn: Connection
    src: str
    param: str
    trainable: bool
    first: bool  # the first gradient written into this parameter in a backward pass
    src_is_input: bool = False


@dataclass
class Step:
    """One non-input group, with everything its forward and backward need."""

    name: str
    size: int
    transfer: Any
    bias: str | None
    uses: list[Use]
    offset: int
    block_target: bool = False
    block_source: bool = False
    #: the fast path: every incoming connection dense and as stored (not shared transposed)
    simple: bool = False
    fused_forward: Any = None  # the loss's forward for a fused pair (output, cache), or None
    #: the fast path's connections: ((source, parameter, first write, trainable, from input),)
    dense: tuple = field(default_factory=tuple)


def is_fused(group: Any) -> bool:
    """Whether a group's transfer function and loss run as one fused primitive (softmax
    with cross-entropy, sigmoid with binary cross-entropy), chosen by their names. A
    sigmoid of steepness s fuses too: its loss is the fused one's at s·net, and its
    δ = s·(o − t) (:func:`fused_steepness`)."""
    if group.loss is None or group.loss.fused_with is None:
        return False
    if type(group.transfer) is not TRANSFERS.get(group.loss.fused_with):
        return False
    params = set(group.transfer.params)
    return not params or (params == {"steepness"} and group.loss.name == "binary_cross_entropy")


def fused_steepness(group: Any) -> float:
    """The s of a fused sigmoid(s·net) (1 for every other fused pair)."""
    return float(group.transfer.params.get("steepness", 1.0))


def compile_steps(network: Any, order: list[str]) -> tuple[list[Step], dict[str, int], int]:
    """(steps in topological order, each group's first row in unit-major buffers, units)."""
    groups = network.groups
    incoming: dict[str, list[Connection]] = {g: [] for g in groups}
    for c in network.connections.values():
        incoming[c.tgt].append(c)
    offsets: dict[str, int] = {}
    start = 0
    for name in order:
        offsets[name] = start
        start += groups[name].size
    steps = []
    for name in order:
        g = groups[name]
        if g.is_input:
            continue
        uses = [
            Use(c, c.src, c.param, c.trainable, False, groups[c.src].is_input)
            for c in incoming[name]
        ]
        steps.append(Step(name, g.size, g.transfer, g.bias_param, uses, offsets[name]))
    seen: set[str] = set()
    for step in reversed(steps):  # the order backward visits them
        for u in step.uses:
            if u.trainable:
                u.first = u.param not in seen
                seen.add(u.param)
    for step in steps:
        if is_fused(groups[step.name]):
            step.fused_forward = groups[step.name].loss.fused_forward
    return steps, offsets, start


def merge_sparse(
    steps: list[Step], groups: Any, offsets: dict[str, int], units: int, dtype: Any
) -> SparseBlock | None:
    """Run every group fed by several sparse connections of its own as one block (a
    compiled unit graph has thousands); mark the steps it feeds and reads, and pick
    the fast path for the others."""
    merged: dict[str, list[Use]] = {}
    for step in steps:
        own = [
            u
            for u in step.uses
            if u.conn.mergeable and u.conn.share is None and (u.first or not u.trainable)
        ]
        if len(own) >= 2:
            merged[step.name] = own
            step.uses = [u for u in step.uses if u not in own]
            step.block_target = True
    block = None
    if merged:
        sizes = {g: grp.size for g, grp in groups.items()}
        block = SparseBlock(merged, sizes, offsets, units, dtype)
    sources = {u.src for us in merged.values() for u in us}
    for step in steps:
        step.block_source = step.name in sources
        step.simple = (
            bool(step.uses)
            and not step.block_target
            and not step.block_source
            and all(u.conn.plain_dense for u in step.uses)
        )
        step.dense = tuple(
            (u.src, u.param, u.first, u.trainable, u.src_is_input) for u in step.uses
        )
    return block


def flat_layout(network: Any, block: SparseBlock | None, dtype: Any) -> tuple[FlatParams, bool]:
    """The flat layout of the trainable parameters: a block's first (contiguous, so that
    it works on a slice), then the rest in the network's order. The flag says whether
    every trainable parameter is in it (a block holding fixed weights keeps its own
    storage)."""
    trainable = network.trainable()
    layout: list[str] = []
    complete = True
    own: set[str] = set()
    if block is not None:
        own = {u.param for u in block.uses}
        if all(u.trainable for u in block.uses):
            layout += [u.param for u in block.uses]
        else:
            complete = False
    layout += [k for k in trainable if k not in layout and k not in own]
    return FlatParams(layout, network.params, dtype), complete
