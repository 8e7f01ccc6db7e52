"""Every key of every spec form, given each hostile value in turn: the spec is a network
that runs a forward and backward pass, or an AnypropError naming the key; never another
exception. The keys come from the example specs and from a spec that uses every key the
format has (``keys.py``), so a key added to the format without a case here fails."""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from anyprop.errors import AnypropError
from anyprop.explain.check import random_batch
from anyprop.limits import ENV
from anyprop.nn import spec as spec_io
from anyprop.nn.connections import KINDS
from anyprop.nn.sequence import sequence_gradients
from anyprop.nn.spec.keys import (
    CONNECTION_BASE_KEYS,
    GROUP_KEYS,
    LAYERED_KEYS,
    NETWORK_KEYS,
    UNITS_KEYS,
)

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"

#: values of every TOML type and the numbers and texts that break naive code
HOSTILE = [
    "",
    "abc",
    "x" * 3000,
    "x/0",
    "1e999*x",
    -1,
    0,
    1,
    10**30,
    2**70,
    -0.5,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    True,
    False,
    [],
    [1, "a"],
    [[0, 1, 2, 3]],
    [-1, 2],
    [10**9],
    {},
    {"name": "uniform", "r": -1},
    {"a": 1},
]

#: a groups spec with every group key and every connection kind with its options
EVERY_KEY = {
    "network": {"name": "all", "dtype": "float64", "seed": 3, "format": 1},
    "groups": {
        "x": {"size": 3, "input": True},
        "h": {
            "size": 4,
            "transfer": {"name": "leaky_relu", "alpha": 0.1},
            "bias": True,
            "bias_init": "zeros",
        },
        "g": {"size": 4, "transfer": "x/(1+abs(x))", "bias_weights": [0.1, 0.2, 0.3, 0.4]},
        "s": {"size": 2, "transfer": "tanh"},
        "y": {"size": 3, "transfer": "sigmoid", "loss": "mse", "loss_weight": 1.0},
        "z": {
            "size": 2,
            "transfer": "identity",
            "output": True,
            "initial_state": "learned",
            "initial_weights": [0.5, -0.5],
        },
    },
    "connections": [
        {"from": "x", "to": "h", "init": {"name": "uniform", "r": 0.5}, "name": "enc"},
        {"from": "h", "to": "g", "kind": "one_to_one", "trainable": False},
        {"from": "g", "to": "s", "kind": "sparse", "pairs": [[0, 0], [3, 1]]},
        {"from": "s", "to": "y", "kind": "sparse", "density": 0.5},
        {"from": "h", "to": "y", "weights": [[0.1] * 3] * 4},
        {"from": "h", "to": "x2", "share": "enc", "transpose": True},
        {"from": "s", "to": "z", "kind": "dense", "init": "glorot_uniform"},
        {"from": "y", "to": "h", "delay": 1, "name": "back"},
        {"from": "h", "to": "z", "kind": "sparse", "pairs": [[0, 0]], "gate": "s"},
        {"from": "z", "to": "z", "delay": 1, "gate": "s", "gate_delay": 2, "name": "loop"},
    ],
}
EVERY_KEY["groups"]["x2"] = {"size": 3, "transfer": "identity", "loss": "mse"}
LAYERED = {"layered": {**tomllib.loads((SPECS / "xor.toml").read_text())["layered"]}}
LAYERED["layered"].update({"output_transfer": "sigmoid", "shortcuts": True, "bias": True})
UNITS = {
    "units": {
        "connections": [[0, 2], [1, 2], [0, 3, 0.5], [1, 3], [2, 3]],
        "transfer": {"default": "sigmoid", "2": "tanh"},
        "inputs": [0, 1],
        "outputs": [3],
        "loss": "mse",
        "bias": True,
        "init": "glorot_uniform",
    }
}
BASES = {"every-key": EVERY_KEY, "layered": LAYERED, "units": UNITS}
BASES |= {p.stem: tomllib.loads(p.read_text()) for p in sorted(SPECS.glob("*.toml"))}


def _leaves(value, path=()):
    """Every path to a value inside the spec, tables and lists included."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))


def _with(data, path, value):
    data = copy.deepcopy(data)
    at = data
    for key in path[:-1]:
        at = at[key]
    at[path[-1]] = value
    return data


@pytest.fixture(autouse=True)
def small_memory(monkeypatch):
    monkeypatch.setenv(ENV, "64M")  # a hostile size is refused, not allocated


def test_the_every_key_spec_uses_every_key_of_the_format():
    used = set(EVERY_KEY["network"])
    assert used == NETWORK_KEYS
    group_keys = {k for g in EVERY_KEY["groups"].values() for k in g}
    assert group_keys == GROUP_KEYS
    conn = {k for c in EVERY_KEY["connections"] for k in c}
    options = {o for name in KINDS for o in KINDS.get(name).options}
    assert conn == CONNECTION_BASE_KEYS | options
    assert set(LAYERED["layered"]) == LAYERED_KEYS and set(UNITS["units"]) == UNITS_KEYS
    for base in BASES.values():  # and each base is a working network
        _run(spec_io.from_dict(base))


def _run(network):
    """One forward and backward pass on two random samples: the gradients are finite
    numbers or the network says why not."""
    with np.errstate(all="ignore"):  # x/0 is a formula of infinities, not an error
        if any(c.delay for c in network.connections.values()):  # 3 steps, through time
            rng = np.random.default_rng(0)
            shape = {g: (2, 3, network.groups[g].size) for g in network.groups}
            xs = {g: rng.normal(size=shape[g]) for g in network.inputs}
            losses = [g for g in network.outputs if network.groups[g].loss is not None]
            ys = {g: rng.uniform(size=shape[g]) for g in losses}
            grads = sequence_gradients(network, xs, ys)[1]
        else:
            x, y = random_batch(network, 2)
            grads = network.backprop(x, y).grads
    for g in grads.values():
        assert np.asarray(g).dtype.kind == "f"


@pytest.mark.parametrize("name", sorted(BASES))
def test_each_key_with_each_hostile_value_is_a_network_or_an_anyprop_error(name):
    base = BASES[name]
    problems = []
    for path in list(_leaves(base))[1:]:
        for value in HOSTILE:
            data = _with(base, path, value)
            try:
                network = spec_io.from_dict(data)
            except AnypropError as e:
                text = str(e)
                if not text or "Traceback" in text:
                    problems.append((path, value, text))
                continue
            except Exception as e:  # the failure this test looks for
                problems.append((path, repr(value)[:40], f"{type(e).__name__}: {e}"[:200]))
                continue
            try:
                _run(network)
            except AnypropError:
                pass
            except Exception as e:
                problems.append((path, repr(value)[:40], f"run: {type(e).__name__}: {e}"[:200]))
    assert not problems, "\n".join(map(repr, problems))
