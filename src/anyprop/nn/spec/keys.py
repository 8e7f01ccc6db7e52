"""The keys a spec may have, table by table, and the error every mistake raises."""

from __future__ import annotations

from anyprop.errors import AnypropError
from anyprop.nn.connections import KINDS

FORMAT_VERSION = 1

NETWORK_KEYS = {"name", "dtype", "seed", "format"}
GROUP_KEYS = {
    "size",
    "input",
    "transfer",
    "bias",
    "bias_init",
    "bias_weights",
    "output",
    "loss",
    "loss_weight",
    "initial_state",
    "initial_weights",
}
#: keys of every connection; each kind adds its own options (``pairs``, ``density``...)
CONNECTION_BASE_KEYS = {"from", "to", "kind", "name", "init", "weights", "trainable", "share"}
CONNECTION_BASE_KEYS |= {"transpose", "delay", "gate", "gate_delay"}


def connection_keys() -> set[str]:
    """The keys a [[connections]] table may have: the common ones and every kind's."""
    return CONNECTION_BASE_KEYS | {o for name in KINDS for o in KINDS.get(name).options}


LAYERED_KEYS = {"sizes", "transfer", "output_transfer", "loss", "shortcuts", "init", "bias"}
UNITS_KEYS = {"connections", "transfer", "inputs", "outputs", "loss", "bias", "init"}
TOP_KEYS = {"network", "groups", "connections", "layered", "units"}


class SpecError(AnypropError, ValueError):
    """A spec that cannot be read; the message starts with file:line and the key."""
