"""Spec files: a network as TOML text (docs/spec.md describes the format).

Three forms, one result: explicit ``[groups.NAME]`` tables with
``[[connections]]``; a ``[layered]`` table (sizes and a transfer function); or a
``[units]`` table listing unit-to-unit connections. :func:`load` returns a
:class:`~anyprop.nn.network.Network` (for the ``[units]`` form, one compiled from
the unit list, carrying its unit map); :func:`dumps` writes a network back, and loading
what it wrote gives the same network. Every mistake is a :class:`SpecError`
naming the file, the line and key, and the fix.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.fileio import atomic_write, read_file
from anyprop.nn.connections import KINDS
from anyprop.nn.network import Network
from anyprop.nn.unitgraph import from_units
from anyprop.registry import suggest

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
}
#: keys of every connection; each kind adds its own options (``pairs``, ``density``...)
CONNECTION_BASE_KEYS = {"from", "to", "kind", "name", "init", "weights", "trainable", "share"}
CONNECTION_BASE_KEYS |= {"transpose"}


def connection_keys() -> set[str]:
    """The keys a [[connections]] table may have: the common ones and every kind's."""
    return CONNECTION_BASE_KEYS | {o for name in KINDS for o in KINDS.get(name).options}


LAYERED_KEYS = {"sizes", "transfer", "output_transfer", "loss", "shortcuts", "init", "bias"}
UNITS_KEYS = {"connections", "transfer", "inputs", "outputs", "loss", "bias", "init"}
TOP_KEYS = {"network", "groups", "connections", "layered", "units"}


class SpecError(AnypropError, ValueError):
    """A spec that cannot be read; the message starts with file:line and the key."""


class _Locator:
    """Finds the line of a key in the TOML text, for messages (best effort)."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def _header(self, pattern: str, nth: int = 0) -> int | None:
        rx = re.compile(pattern)
        hits = [i for i, line in enumerate(self.lines) if rx.match(line.strip())]
        return hits[nth] if nth < len(hits) else None

    def _key_after(self, start: int | None, key: str | None) -> int | None:
        if start is None or key is None:
            return start
        rx = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for i in range(start + 1, len(self.lines)):
            if self.lines[i].lstrip().startswith("["):
                break
            if rx.match(self.lines[i]):
                return i
        return start

    def line(self, path: tuple) -> int | None:
        """1-based line of ``path`` such as ("groups", "h", "size") or ("connections", 2, "to")."""
        if not path:
            return None
        head = path[0]
        i = None
        if head == "groups" and len(path) >= 2:
            name = re.escape(str(path[1]))
            i = self._header(rf"^\[\s*groups\s*\.\s*(\"{name}\"|'{name}'|{name})\s*\]")
            i = self._key_after(i, path[2] if len(path) > 2 else None)
        elif head == "connections" and len(path) >= 2 and isinstance(path[1], int):
            i = self._header(r"^\[\[\s*connections\s*\]\]", path[1])
            i = self._key_after(i, path[2] if len(path) > 2 else None)
        elif head in ("network", "layered", "units"):
            i = self._header(rf"^\[\s*{head}\s*\]")
            i = self._key_after(i, path[1] if len(path) > 1 else None)
        return None if i is None else i + 1

    def error(self, path: tuple, message: str) -> SpecError:
        line = self.line(path)
        where = f"{self.source}:{line}" if line else self.source
        key = _path_text(path)
        return SpecError(f"{where}: {key}: {message}" if key else f"{where}: {message}")


def _path_text(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _check_keys(table: Mapping, allowed: set[str], path: tuple, loc: _Locator) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)  # one, or the list
            hint = (
                f"; did you mean '{close[0]}'?"
                if close
                else f" (keys: {', '.join(sorted(allowed))})"
            )
            raise loc.error((*path, key), f"unknown key '{key}'{hint}")


def _typed(table: Mapping, key: str, kinds: tuple, what: str, path: tuple, loc: _Locator) -> Any:
    value = table.get(key)
    if value is not None and (
        not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
    ):
        raise loc.error((*path, key), f"must be {what}, got {value!r}")
    return value


def loads(text: str, source: str = "<spec>") -> Network:
    """Read a network from TOML text; ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{source}: not valid TOML: {e}") from None
    return from_dict(data, _Locator(text, source))


def load(path: str | os.PathLike) -> Network:
    """Read a network from a TOML spec file."""
    text = read_file(path, "spec file", SpecError, encoding="utf-8")
    return loads(text, str(Path(path)))


def from_dict(data: Mapping, loc: _Locator | None = None) -> Network:
    """Build a network from a parsed spec (a dict as TOML gives it)."""
    loc = loc or _Locator("", "<spec>")
    _check_keys(data, TOP_KEYS, (), loc)
    meta = data.get("network", {})
    if not isinstance(meta, Mapping):
        raise loc.error(("network",), "must be a table")
    _check_keys(meta, NETWORK_KEYS, ("network",), loc)
    fmt = meta.get("format", FORMAT_VERSION)
    if fmt != FORMAT_VERSION:
        raise loc.error(
            ("network", "format"),
            f"format {fmt!r} is not known (this anyprop reads {FORMAT_VERSION})",
        )
    dtype = _typed(meta, "dtype", (str,), "'float32' or 'float64'", ("network",), loc) or "float32"
    seed = _typed(meta, "seed", (int,), "a whole number", ("network",), loc)
    forms = [k for k in ("groups", "layered", "units") if k in data]
    if len(forms) != 1:
        what = "none" if not forms else " and ".join(f"[{f}]" for f in forms)
        raise loc.error(
            (),
            f"a spec describes the network in exactly one way ([groups] with "
            f"[[connections]], [layered] or [units]); found {what}",
        )
    if "connections" in data and forms[0] != "groups":
        raise loc.error(("connections",), "[[connections]] go with [groups] tables")
    try:
        if forms[0] == "layered":
            net = _layered(data["layered"], dtype, seed, loc)
        elif forms[0] == "units":
            net = _units(data["units"], dtype, seed, loc)
        else:
            net = _groups(data, dtype, seed, loc)
    except SpecError:
        raise
    except AnypropError as e:
        raise loc.error((), str(e)) from None
    if "name" in meta:
        net.name = str(meta["name"])
    net.seeded = seed is not None
    return net


def _wrap(loc: _Locator, path: tuple, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except SpecError:
        raise
    except AnypropError as e:
        raise loc.error(path, str(e)) from None


def _layered(t: Any, dtype: str, seed: int | None, loc: _Locator) -> Network:
    path = ("layered",)
    if not isinstance(t, Mapping):
        raise loc.error(path, "must be a table")
    _check_keys(t, LAYERED_KEYS, path, loc)
    sizes = t.get("sizes")
    if not isinstance(sizes, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in sizes
    ):
        raise loc.error((*path, "sizes"), "must be a list of whole numbers, e.g. sizes = [2, 2, 1]")
    kwargs = {
        k: t[k]
        for k in ("transfer", "output_transfer", "loss", "shortcuts", "init", "bias")
        if k in t
    }
    return _wrap(loc, path, Network.layered, sizes, dtype=dtype, seed=seed, **kwargs)


def _unit_key(key: str) -> Any:
    return int(key) if re.fullmatch(r"-?\d+", key) else key


def _units(t: Any, dtype: str, seed: int | None, loc: _Locator) -> Network:
    path = ("units",)
    if not isinstance(t, Mapping):
        raise loc.error(path, "must be a table")
    _check_keys(t, UNITS_KEYS, path, loc)
    edges = t.get("connections")
    if not isinstance(edges, list) or not edges:
        raise loc.error(
            (*path, "connections"), "must be a list of [source, target] or [source, target, weight]"
        )
    transfer = t.get("transfer", "sigmoid")
    if isinstance(transfer, Mapping) and "name" not in transfer:
        transfer = {("default" if k == "default" else _unit_key(k)): v for k, v in transfer.items()}
    kwargs = {k: t[k] for k in ("inputs", "outputs", "loss", "bias", "init") if k in t}
    return _wrap(
        loc,
        path,
        from_units,
        [tuple(e) if isinstance(e, list) else e for e in edges],
        transfer=transfer,
        dtype=dtype,
        seed=seed,
        **kwargs,
    )


def _groups(data: Mapping, dtype: str, seed: int | None, loc: _Locator) -> Network:
    groups = data["groups"]
    if not isinstance(groups, Mapping) or not groups:
        raise loc.error(("groups",), "must hold at least one [groups.NAME] table")
    net = Network(dtype=dtype, seed=seed)
    for name, g in groups.items():
        path = ("groups", name)
        if not isinstance(g, Mapping):
            raise loc.error(path, "must be a table such as [groups.h] with size = 3")
        _check_keys(g, GROUP_KEYS, path, loc)
        size = g.get("size")
        if size is None:
            raise loc.error(path, "needs a size (the number of units)")
        if not isinstance(size, int) or isinstance(size, bool):
            raise loc.error((*path, "size"), f"must be a whole number, got {size!r}")
        if g.get("input", False):
            extra = sorted(set(g) - {"size", "input"})
            if extra:
                raise loc.error((*path, extra[0]), "an input group has only a size")
            _wrap(loc, path, net.add_input, name, size)
            continue
        for key in ("transfer", "loss", "bias_init"):
            if key in g:
                _wrap(loc, (*path, key), _check_spec_value, key, g[key])
        _wrap(
            loc,
            (*path, "transfer") if "transfer" in g else path,
            net.add_group,
            name,
            size,
            transfer=g.get("transfer", "sigmoid"),
            bias=g.get("bias", True),
            output=g.get("output", False),
            loss=g.get("loss"),
            loss_weight=g.get("loss_weight", 1.0),
            bias_init=g.get("bias_init", "zeros"),
        )
        if "bias_weights" in g:
            if not g.get("bias", True):
                raise loc.error((*path, "bias_weights"), "given for a group with bias = false")
            values = {f"{name}.bias": g["bias_weights"]}
            _wrap(loc, (*path, "bias_weights"), net.set_params, values)
    conns = data.get("connections", [])
    if not isinstance(conns, list):
        raise loc.error(("connections",), "must be written as [[connections]] tables")
    for k, c in enumerate(conns):
        path = ("connections", k)
        if not isinstance(c, Mapping):
            raise loc.error(path, "must be a table")
        _check_keys(c, connection_keys(), path, loc)
        for key in ("from", "to"):
            if key not in c:
                raise loc.error(path, f"needs '{key}' (a group name)")
            if c[key] not in net.groups:
                hint = suggest(c[key], net.groups)
                raise loc.error(
                    (*path, key),
                    f"unknown group '{c[key]}'{hint} (groups: {', '.join(net.groups)})",
                )
        kwargs = {k2: v for k2, v in c.items() if k2 not in ("from", "to", "kind")}
        # the key a mistake most likely lies in, for the message's line
        key = next((k2 for k2 in c if k2 not in CONNECTION_BASE_KEYS), None) or next(
            (k2 for k2 in ("weights", "share", "kind") if k2 in c), None
        )
        _wrap(
            loc,
            (*path, key) if key else path,
            net.connect,
            c["from"],
            c["to"],
            c.get("kind", "dense"),
            **kwargs,
        )
    return net


def _check_spec_value(key: str, value: Any) -> None:
    """Make a transfer function, loss or initialiser once, so that mistakes point at their key."""
    from anyprop.nn import losses, transfer

    if key == "transfer":
        transfer.get(value)
    elif key == "loss":
        losses.get(value)
    elif key == "bias_init" and isinstance(value, str):
        from anyprop.nn.init import INITIALIZERS

        INITIALIZERS.get(value)


# --- writing -----------------------------------------------------------------------
def to_dict(net: Network, weights: bool = False) -> dict:
    """The spec of a network as a dict (TOML-ready); ``weights`` includes the weights."""
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
            if weights:
                t["weights"] = net.params[c.param].tolist()
        if not c.trainable:
            t["trainable"] = False
        conns.append(t)
    out["connections"] = conns
    return out


def _units_table(graph: Any) -> dict[str, Any]:
    """The [units] table a unit graph was made from."""
    from anyprop.nn import losses, transfer

    src, tgt, w = graph.args["edges"]
    cols = [src.tolist(), tgt.tolist()] + ([w.tolist()] if w is not None else [])
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
