"""Reading a spec: TOML text to a network, every mistake named by file, line and key."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from anyprop.errors import AnypropError
from anyprop.fileio import read_file
from anyprop.nn.network import Network
from anyprop.nn.spec.keys import (
    CONNECTION_BASE_KEYS,
    FORMAT_VERSION,
    GROUP_KEYS,
    LAYERED_KEYS,
    NETWORK_KEYS,
    TOP_KEYS,
    UNITS_KEYS,
    SpecError,
    connection_keys,
)
from anyprop.nn.spec.locate import Locator, check_keys, typed
from anyprop.nn.unitgraph import from_units
from anyprop.registry import suggest


def loads(text: str, source: str = "<spec>") -> Network:
    """Read a network from TOML text; ``source`` names it in messages."""
    if not isinstance(text, str):
        raise SpecError(f"{source}: a spec is TOML text, got {type(text).__name__}")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{source}: not valid TOML: {e}") from None
    except RecursionError:
        raise SpecError(f"{source}: the TOML nests too deep to be a network spec") from None
    return from_dict(data, Locator(text, source))


def load(path: str | os.PathLike) -> Network:
    """Read a network from a TOML spec file."""
    text = read_file(path, "spec file", SpecError, encoding="utf-8")
    return loads(text, str(Path(path)))


def from_dict(data: Mapping, loc: Locator | None = None) -> Network:
    """Build a network from a parsed spec (a dict as TOML gives it)."""
    loc = loc or Locator("", "<spec>")
    if not isinstance(data, Mapping):
        raise SpecError(f"{loc.source}: a spec is a table of tables, got {type(data).__name__}")
    check_keys(data, TOP_KEYS, (), loc)
    meta = data.get("network", {})
    if not isinstance(meta, Mapping):
        raise loc.error(("network",), "must be a table")
    check_keys(meta, NETWORK_KEYS, ("network",), loc)
    fmt = meta.get("format", FORMAT_VERSION)
    if fmt != FORMAT_VERSION:
        raise loc.error(
            ("network", "format"),
            f"format {fmt!r} is not known (this anyprop reads {FORMAT_VERSION})",
        )
    dtype = typed(meta, "dtype", (str,), "'float32' or 'float64'", ("network",), loc) or "float32"
    seed = typed(meta, "seed", (int,), "a whole number", ("network",), loc)
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


def _wrap(loc: Locator, path: tuple, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except SpecError:
        raise
    except AnypropError as e:
        raise loc.error(path, str(e)) from None


def _layered(t: Any, dtype: str, seed: int | None, loc: Locator) -> Network:
    path = ("layered",)
    if not isinstance(t, Mapping):
        raise loc.error(path, "must be a table")
    check_keys(t, LAYERED_KEYS, path, loc)
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


def _units(t: Any, dtype: str, seed: int | None, loc: Locator) -> Network:
    path = ("units",)
    if not isinstance(t, Mapping):
        raise loc.error(path, "must be a table")
    check_keys(t, UNITS_KEYS, path, loc)
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


def _groups(data: Mapping, dtype: str, seed: int | None, loc: Locator) -> Network:
    groups = data["groups"]
    if not isinstance(groups, Mapping) or not groups:
        raise loc.error(("groups",), "must hold at least one [groups.NAME] table")
    net = Network(dtype=dtype, seed=seed)
    for name, g in groups.items():
        path = ("groups", name)
        if not isinstance(g, Mapping):
            raise loc.error(path, "must be a table such as [groups.h] with size = 3")
        check_keys(g, GROUP_KEYS, path, loc)
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
        if g.get("initial_state", "zero") not in ("zero", "learned"):
            raise loc.error(
                (*path, "initial_state"), f"must be 'zero' or 'learned', got {g['initial_state']!r}"
            )
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
            initial_state=g.get("initial_state", "zero"),
        )
        if "initial_weights" in g:
            if g.get("initial_state") != "learned":
                raise loc.error(
                    (*path, "initial_weights"),
                    "given for a group without initial_state = 'learned'",
                )
            values = {f"{name}.initial": g["initial_weights"]}
            _wrap(loc, (*path, "initial_weights"), net.set_params, values)
        if "bias_weights" in g:
            if not g.get("bias", True):
                raise loc.error((*path, "bias_weights"), "given for a group with bias = false")
            values = {f"{name}.bias": g["bias_weights"]}
            _wrap(loc, (*path, "bias_weights"), net.set_params, values)
            net.groups[name].explicit_bias = True
    conns = data.get("connections", [])
    if not isinstance(conns, list):
        raise loc.error(("connections",), "must be written as [[connections]] tables")
    for k, c in enumerate(conns):
        path = ("connections", k)
        if not isinstance(c, Mapping):
            raise loc.error(path, "must be a table")
        check_keys(c, connection_keys(), path, loc)
        for key in ("from", "to"):
            if key not in c:
                raise loc.error(path, f"needs '{key}' (a group name)")
            if not isinstance(c[key], str):
                raise loc.error((*path, key), f"must be a group's name, got {c[key]!r}")
            if c[key] not in net.groups:
                hint = suggest(c[key], net.groups)
                raise loc.error(
                    (*path, key),
                    f"unknown group '{c[key]}'{hint} (groups: {', '.join(net.groups)})",
                )
        kwargs = {k2: v for k2, v in c.items() if k2 not in ("from", "to", "kind")}
        # the key a mistake most likely lies in, for the message's line
        key = (
            "weights"
            if "weights" in c
            else next((k2 for k2 in c if k2 not in CONNECTION_BASE_KEYS), None)
            or next((k2 for k2 in ("share", "kind") if k2 in c), None)
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
