"""Networks: unit groups, connections, transfer functions, losses, initial weights."""

from anyprop.nn import init, losses, transfer
from anyprop.nn.connections import KINDS, Connection
from anyprop.nn.formula import Formula, FormulaError
from anyprop.nn.network import Group, Network, NetworkError
from anyprop.nn.plan import Backprop, Plan
from anyprop.nn.tape import run_on_tape

__all__ = [
    "KINDS",
    "Backprop",
    "Connection",
    "Formula",
    "FormulaError",
    "Group",
    "Network",
    "NetworkError",
    "Plan",
    "init",
    "losses",
    "run_on_tape",
    "transfer",
]
