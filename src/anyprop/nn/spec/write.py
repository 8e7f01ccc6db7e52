"""Writing a spec: a network to TOML text that reads back as the same network."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from anyprop.fileio import atomic_write, check_output
from anyprop.nn.network import Network
from anyprop.nn.spec.keys import FORMAT_VERSION, SpecError


def to_dict(net: Network, weights: bool = False) -> dict:
    """The spec of a network as a dict (TOML-ready); ``weights`` includes the weights."""
    if not isinstance(net, Network):
        raise SpecError(f"a spec is written from a Network, got {type(net).__name__}")
    if net.units is not None:
        meta = {"format": FORMAT_VERSION, "dtype": str(net.dtype)}
        if net.name != "unit graph":
            meta["name"] = net.name
        return {"network": meta, "units": _units_table(net.units)}
    out: dict[str, Any] = {
        "network": {"format": FORMAT_VERSION, "name": net.name, "dtype": str(net.dtype)}
    }
    groups: dict[str, Any] = {}
    for g in net.groups.values():
        if g.is_input:
            groups[g.name] = {"size": g.size, "input": True}
            continue
        t: dict[str, Any] = {"size": g.size, "transfer": _spec_of(g.transfer, f"group '{g.name}'")}
        if not g.bias:
            t["bias"] = False
        if g.bias_init != "zeros":
            t["bias_init"] = g.bias_init
        if weights and g.bias:
            t["bias_weights"] = net.params[g.bias_param].tolist()
        if g.initial_param is not None:
            t["initial_state"] = "learned"
            if weights:
                t["initial_weights"] = net.params[g.initial_param].tolist()
        if g.output:
            t["output"] = True
        if g.loss is not None:
            t["loss"] = _spec_of(g.loss, f"group '{g.name}'")
            if g.loss_weight != 1.0:
                t["loss_weight"] = g.loss_weight
        groups[g.name] = t
    out["groups"] = groups
    conns = []
    for c in net.connections.values():
        t = {"from": c.src, "to": c.tgt}
        if c.name != f"{c.src}->{c.tgt}":
            t["name"] = c.name
        if c.share:
            t["share"] = c.share
            if c.transpose:
                t["transpose"] = True
        else:
            if c.kind != "dense":
                t["kind"] = c.kind
            t.update({k: np.asarray(v).tolist() for k, v in c.structure().items()})
            if c.init is not None:
                t["init"] = c.init
            # fixed weights given by hand are part of the network's structure (a GRU's
            # −1 for 1 − z): always written
            if weights or (c.explicit and not c.trainable):
                t["weights"] = net.params[c.param].tolist()
        if not c.trainable:
            t["trainable"] = False
        if c.delay:
            t["delay"] = c.delay
        if c.gate is not None:
            t["gate"] = c.gate
            if c.gate_delay:
                t["gate_delay"] = c.gate_delay
        conns.append(t)
    out["connections"] = conns
    return out


def _units_table(graph: Any) -> dict[str, Any]:
    """The [units] table a unit graph was made from."""
    from anyprop.nn import losses, transfer

    src, tgt, w, d = graph.args["edges"]
    cols = [src.tolist(), tgt.tolist()] + ([w.tolist()] if w is not None else [])
    if d is not None:
        cols.append(d.tolist())
    t = graph.args["transfer"]
    if isinstance(t, Mapping) and "name" not in t:
        t = {str(k): _spec_of(transfer.get(v), f"unit {k}") for k, v in t.items()}
    else:
        t = _spec_of(transfer.get(t), "the unit graph")
    table: dict[str, Any] = {
        "connections": [list(e) for e in zip(*cols, strict=True)],
        "transfer": t,
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
    }
    if graph.args["loss"] is not None:
        table["loss"] = _spec_of(losses.get(graph.args["loss"]), "the unit graph")
    if not graph.args["bias"]:
        table["bias"] = False
    if graph.args["init"] is not None:
        table["init"] = graph.args["init"]
    return table


def _spec_of(thing: Any, where: str) -> Any:
    """How a transfer function or loss is written: a name, a table or a formula.
    A Python function can be written only by a name it was registered under."""
    from anyprop.nn.losses import FormulaLoss, OpsLoss
    from anyprop.nn.transfer import USER_TRANSFERS, FormulaTransfer, OpsTransfer, PairTransfer

    spec = thing.spec()
    code = isinstance(thing, (OpsTransfer, PairTransfer, OpsLoss)) and not isinstance(
        thing, (FormulaTransfer, FormulaLoss)
    )
    if code and not (isinstance(spec, str) and USER_TRANSFERS.get_or_none(spec) is thing):
        raise SpecError(
            f"{where}: a Python function cannot be written into a spec (specs hold no code); "
            "use a formula string, or register the function by name"
        )
    return spec


def dumps(net: Network, weights: bool = False) -> str:
    """The network as TOML text."""
    return _toml(to_dict(net, weights))


def save(net: Network, path: str | os.PathLike, weights: bool = False) -> None:
    """Write the network's spec to ``path`` atomically (a temporary file, then a rename)."""
    check_output(path, "spec", "the spec path")
    atomic_write(path, dumps(net, weights).encode("utf-8"))


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise SpecError(f"cannot write {v!r} into a spec")


def _key(k: Any) -> str:
    k = str(k)
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _value(k)


def _toml(d: dict) -> str:
    lines = ["# anyprop network spec (docs/spec.md)"]
    for section in ("network", "layered", "units"):
        if section in d:
            lines += ["", f"[{section}]"] + [
                f"{_key(k)} = {_value(v)}" for k, v in d[section].items()
            ]
    for name, g in d.get("groups", {}).items():
        lines += ["", f"[groups.{_key(name)}]"] + [f"{_key(k)} = {_value(v)}" for k, v in g.items()]
    for c in d.get("connections", []):
        lines += ["", "[[connections]]"] + [f"{_key(k)} = {_value(v)}" for k, v in c.items()]
    return "\n".join(lines) + "\n"
