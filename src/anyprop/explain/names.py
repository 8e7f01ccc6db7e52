"""Naming what to explain: a weight or a bias, by group and index or by unit name.

``"h1[3]->out[0]"`` is the weight from unit 3 of group h1 to unit 0 of group out;
``"h1.bias[3]"`` the bias of unit 3 of h1. In a network compiled from a unit list,
``"2->3"`` and ``"3.bias"`` name them by the units' own names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.registry import suggest

_WEIGHT = re.compile(r"^\s*([^\[\]]+)\[(\d+)\]\s*->\s*([^\[\]]+)\[(\d+)\]\s*$")
_BIAS = re.compile(r"^\s*([^\[\]]+)\.bias\[(\d+)\]\s*$")
_UNIT_BIAS = re.compile(r"^\s*([^\[\]]+)\.bias\s*$")


@dataclass
class Target:
    """What is explained: a parameter's element, and the units it joins."""

    param: str
    index: int  # into the flattened parameter
    kind: str  # "weight" or "bias"
    src: str | None  # the source group (None for a bias)
    i: int
    tgt: str
    j: int
    connection: str | None


def _check_text(text: Any) -> None:
    if not isinstance(text, str):
        raise AnypropError(
            f"a weight or bias is named by text, such as 'h1[0]->output[0]', got {text!r}"
        )


def parse_target(network: Any, text: str) -> Target:
    """A weight ('h1[3]->out[0]', or '2->3' by unit names in a unit graph) or a bias
    ('h1.bias[3]', or '3.bias' by unit name)."""
    _check_text(text)
    m = _BIAS.match(text)
    if m is not None:
        group, j = m.group(1).strip(), int(m.group(2))
        g = network.group(group)
        if g.bias_param is None:
            why = "an input group" if g.is_input else "a group without a bias"
            raise AnypropError(f"bias '{text}': '{group}' is {why}")
        if j >= g.size:
            raise AnypropError(
                f"bias '{text}': group '{group}' has {g.size} units (0 to {g.size - 1})"
            )
        return Target(g.bias_param, j, "bias", None, 0, group, j, None)
    m = _UNIT_BIAS.match(text)
    if m is not None and network.units is not None:
        unit = network.units.parse_label(m.group(1).strip(), f"bias '{text}'")
        group, j = network.units.where(unit)
        return parse_target(network, f"{group}.bias[{j}]")
    c, i, j, k = parse_weight(network, text)
    return Target(c.param, k, "weight", c.src, i, c.tgt, j, c.name)


def parse_weight(network: Any, text: str) -> tuple[Any, int, int, int]:
    """'h1[3]->out[0]' -> (connection, i, j, index into its weight parameter). A network
    compiled from a unit list also takes its units' names: '3->7'."""
    _check_text(text)
    m = _WEIGHT.match(text)
    if m is None and network.units is not None:
        return _unit_weight(network, text)
    if m is None:
        raise AnypropError(
            f"weight '{text}': write it as SOURCE[i]->TARGET[j], e.g. h1[3]->out[0], or a bias "
            "as GROUP.bias[j], e.g. h1.bias[3]"
        )
    src, i, tgt, j = m.group(1).strip(), int(m.group(2)), m.group(3).strip(), int(m.group(4))
    for name in (src, tgt):
        network.group(name)  # a clear error for an unknown group
    for name, k in ((src, i), (tgt, j)):
        if k >= network.groups[name].size:
            raise AnypropError(
                f"weight '{text}': group '{name}' has {network.groups[name].size} "
                f"units (0 to {network.groups[name].size - 1})"
            )
    conns = [c for c in network.connections.values() if c.src == src and c.tgt == tgt]
    if not conns:
        known = [f"{c.src}->{c.tgt}" for c in network.connections.values()]
        raise AnypropError(
            f"weight '{text}': no connection from '{src}' to '{tgt}'"
            f"{suggest(f'{src}->{tgt}', known)}"
        )
    for c in conns:
        src, tgt, index = c.unit_pairs(network.params[c.param].shape)
        hit = np.flatnonzero((src == i) & (tgt == j))
        if hit.size:
            return c, i, j, int(index[hit[0]])
    raise AnypropError(
        f"weight '{text}': the connection from '{src}' to '{tgt}' does not join "
        f"unit {i} to unit {j}"
    )


def _unit_weight(network: Any, text: str) -> tuple[Any, int, int, int]:
    """'3->7' (unit names of a network compiled from a unit list) -> as parse_weight."""
    units = network.units
    parts = text.split("->")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise AnypropError(
            f"weight '{text}': write it as SOURCE->TARGET by unit names (e.g. "
            f"{units.inputs[0]}->{units.outputs[0]}), or as GROUP[i]->GROUP[j]"
        )
    u, v = (units.parse_label(p.strip(), f"weight '{text}'") for p in parts)
    try:
        c, k = units.edge(u, v)
    except AnypropError as e:
        raise AnypropError(f"weight '{text}': {e}") from None
    return c, units.where(u)[1], units.where(v)[1], k
