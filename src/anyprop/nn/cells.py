"""Gated cells (LSTM, GRU) written as groups and connections of the one network model.

Nothing here is a built-in layer: each helper adds ordinary groups, delayed connections
and gated (sigma-pi) connections to a network, and the plan runs them as it runs any
other network (the four gates of an LSTM share their sources, so each source's
connections into them run as one product). The equations, with ``x`` every source:

LSTM (``add_lstm(net, "h", H, ["x"])``; groups ``h_i``, ``h_f``, ``h_g``, ``h_o``,
``h_c``, ``h_tanh`` and ``h``)::

    i(t) = σ(x(t) W_xi + h(t−1) W_hi + b_i)      f(t) = σ(x(t) W_xf + h(t−1) W_hf + b_f)
    g(t) = tanh(x(t) W_xg + h(t−1) W_hg + b_g)   o(t) = σ(x(t) W_xo + h(t−1) W_ho + b_o)
    c(t) = f(t) ⊙ c(t−1) + i(t) ⊙ g(t)           (h_c: two gated one-to-one connections)
    h(t) = o(t) ⊙ tanh(c(t))                     (h_tanh, then h: one gated connection)

GRU (``add_gru(net, "h", H, ["x"])``; groups ``h_r``, ``h_z``, ``h_hn``, ``h_n``,
``h_d`` and ``h``)::

    r(t) = σ(x(t) W_xr + h(t−1) W_hr + b_r)      z(t) = σ(x(t) W_xz + h(t−1) W_hz + b_z)
    hn(t) = h(t−1) W_hn + b_hn                   n(t) = tanh(x(t) W_xn + b_n + r(t) ⊙ hn(t))
    d(t) = h(t−1) − n(t)                         h(t) = n(t) + z(t) ⊙ d(t)

(the last line is (1 − z) ⊙ n + z ⊙ h(t−1), written with fixed connections of weight ±1).
These are PyTorch's ``nn.LSTM`` and ``nn.GRU`` equations; their two biases per gate add
up to the one bias here (:func:`lstm_from_torch`, :func:`gru_from_torch` copy weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from anyprop.errors import NetworkError
from anyprop.nn.group import check_name

LSTM_GATES = ("i", "f", "g", "o")  # PyTorch's order of the gates
#: the order the groups are added in: the three sigmoid gates side by side run as one
LSTM_ORDER = ("i", "f", "o", "g")
GRU_GATES = ("r", "z", "n")


def _free(
    net: Any, name: str, size: Any, parts: Sequence[str], links: Sequence[str], where: str
) -> None:
    """Refuse, before anything is added, a cell whose groups and connections would not
    all fit (so that a refused cell leaves the network as it was)."""
    check_name(name, "cell")
    for link in links:
        if f"{name}_{link}" in net.connections:
            raise NetworkError(f"{where}: a connection '{name}_{link}' already exists")
    for part in parts:
        group = f"{name}_{part}" if part else name
        if group in net.groups:
            raise NetworkError(f"{where}: a group '{group}' already exists; name the cell apart")
    net._size(size, name)  # (a size that is not one is refused, naming the cell)


def _sources(net: Any, sources: Any, where: str) -> list[str]:
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, Sequence) or not sources:
        raise NetworkError(f"{where}: give the groups that feed the cell, e.g. ['x']")
    for s in sources:
        net.group(s)  # (an unknown name is refused, with suggestions)
    return list(sources)


def _fixed(net: Any, src: str, tgt: str, sign: float = 1.0, **kw: Any) -> None:
    """A fixed one-to-one connection of weight ``sign`` (carries, never trained)."""
    init = None if sign == 1 else {"name": "constant", "value": sign}  # (1: the kind's own)
    net.connect(src, tgt, "one_to_one", init=init, trainable=False, **kw)


def add_lstm(net: Any, name: str, size: int, sources: Any, init: Any = None) -> str:
    """Add an LSTM cell of ``size`` units fed by ``sources``; returns its output group
    (``name``: h(t)), which later groups connect from (see the module's equations)."""
    where = f"LSTM '{name}'"
    sources = _sources(net, sources, where)
    _free(net, name, size, (*LSTM_ORDER, "c", "tanh", ""), ("keep", "write", "read"), where)
    g = {k: f"{name}_{k}" for k in LSTM_GATES}
    for k in LSTM_ORDER:
        net.add_group(g[k], size, transfer="tanh" if k == "g" else "sigmoid")
    net.add_group(f"{name}_c", size, transfer="identity", bias=False)
    net.add_group(f"{name}_tanh", size, transfer="tanh", bias=False)
    net.add_group(name, size, transfer="identity", bias=False)
    for s in sources:
        for k in LSTM_ORDER:
            net.connect(s, g[k], init=init)
    for k in LSTM_ORDER:
        net.connect(name, g[k], delay=1, init=init)
    c = f"{name}_c"
    _fixed(net, c, c, delay=1, gate=g["f"], name=f"{name}_keep")  # f ⊙ c(t−1)
    _fixed(net, g["g"], c, gate=g["i"], name=f"{name}_write")  # i ⊙ g
    _fixed(net, c, f"{name}_tanh")
    _fixed(net, f"{name}_tanh", name, gate=g["o"], name=f"{name}_read")  # o ⊙ tanh(c)
    return name


def add_gru(net: Any, name: str, size: int, sources: Any, init: Any = None) -> str:
    """Add a GRU cell of ``size`` units fed by ``sources``; returns its output group
    (``name``: h(t)) (see the module's equations)."""
    where = f"GRU '{name}'"
    sources = _sources(net, sources, where)
    links = ("reset", "prev", "minus_n", "new", "update")
    _free(net, name, size, ("r", "z", "hn", "n", "d", ""), links, where)
    r, z, hn, n, d = (f"{name}_{k}" for k in ("r", "z", "hn", "n", "d"))
    net.add_group(r, size, transfer="sigmoid")
    net.add_group(z, size, transfer="sigmoid")
    net.add_group(hn, size, transfer="identity")
    net.add_group(n, size, transfer="tanh")
    net.add_group(d, size, transfer="identity", bias=False)
    net.add_group(name, size, transfer="identity", bias=False)
    for s in sources:
        for k in (r, z, n):
            net.connect(s, k, init=init)
    for k in (r, z, hn):
        net.connect(name, k, delay=1, init=init)
    _fixed(net, hn, n, gate=r, name=f"{name}_reset")  # r ⊙ (h(t−1) W_hn + b_hn)
    _fixed(net, name, d, delay=1, name=f"{name}_prev")  # d = h(t−1) − n
    _fixed(net, n, d, -1.0, name=f"{name}_minus_n")
    _fixed(net, n, name, name=f"{name}_new")  # h = n + z ⊙ d
    _fixed(net, d, name, gate=z, name=f"{name}_update")
    return name


def lstm_from_torch(net: Any, name: str, source: str, lstm: Any, layer: int = 0) -> None:
    """Copy one layer of a ``torch.nn.LSTM`` (fed by group ``source``) into the cell
    ``name``: W_x· = weight_ih's rows of the gate, transposed; b = b_ih + b_hh."""
    wi, wh, b = _torch_layer(lstm, layer, 4)
    for k, gate in enumerate(LSTM_GATES):
        tgt = f"{name}_{gate}"
        net.set_params(
            {
                f"{source}->{tgt}.weight": wi[k].T,
                f"{name}->{tgt}.weight": wh[k].T,
                f"{tgt}.bias": b[0][k] + b[1][k],
            }
        )


def gru_from_torch(net: Any, name: str, source: str, gru: Any, layer: int = 0) -> None:
    """Copy one layer of a ``torch.nn.GRU`` into the cell ``name`` (b_hn stays inside the
    reset gate's product, as PyTorch has it)."""
    wi, wh, b = _torch_layer(gru, layer, 3)
    values = {}
    for k, gate in enumerate(GRU_GATES):
        tgt = f"{name}_{gate}"
        values[f"{source}->{tgt}.weight"] = wi[k].T
    values[f"{name}_n.bias"] = b[0][2]
    values[f"{name}_hn.bias"] = b[1][2]
    values[f"{name}->{name}_hn.weight"] = wh[2].T
    for k, gate in enumerate(GRU_GATES[:2]):
        values[f"{name}->{name}_{gate}.weight"] = wh[k].T
        values[f"{name}_{gate}.bias"] = b[0][k] + b[1][k]
    net.set_params(values)


def _torch_layer(module: Any, layer: int, gates: int) -> tuple:
    """(input weights, hidden weights, (input biases, hidden biases)), split by gate."""
    get = lambda k: getattr(module, f"{k}_l{layer}").detach().double().numpy()  # noqa: E731
    split = lambda a: np.split(a, gates, axis=0)  # noqa: E731
    return (
        split(get("weight_ih")),
        split(get("weight_hh")),
        (split(get("bias_ih")), split(get("bias_hh"))),
    )
