"""Recurrent networks: one step of backpropagation through time (forward over the whole
sequences, backward, every gradient) on an Elman network (1 input, 64 tanh hidden, 1
output, 100 steps, batch 32) and the LSTM spec's cell (the same sizes), float32.
anyprop's plan over sequences against a hand-written NumPy loop (the LSTM's
with its four gates in one product, as fused implementations do) and PyTorch eager
``nn.RNN`` / ``nn.LSTM`` with a ``Linear`` head, timed in alternating rounds in the
same process; ratios are medians of per-round ratios (> 1: anyprop slower).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from anyprop import Network
from bench.timing import compare

T, B, H = 100, 32, 64


def _data(inputs: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, inputs)).astype(np.float32)
    return x, rng.normal(size=(B, T, 1)).astype(np.float32)


def elman() -> Network:
    net = Network(seed=0, dtype="float32", name="elman")
    net.add_input("x", 1)
    net.add_group("h", H, transfer="tanh")
    net.add_output("y", 1, transfer="identity", loss="mse")
    net.connect("x", "h")
    net.connect("h", "h", delay=1)
    net.connect("h", "y")
    return net


def lstm() -> Network:
    net = Network(seed=0, dtype="float32", name="lstm")
    net.add_input("x", 1)
    net.add_lstm("h", H, ["x"])
    net.add_output("y", 1, transfer="identity", loss="mse")
    net.connect("h", "y")
    return net


def hand_elman(p: dict, x: np.ndarray, t: np.ndarray) -> dict:
    """BPTT for h(t) = tanh(x W + h(t−1) U + b), y = h V + c, L = mean ½(y − t)²."""
    W, U, b, V, c = p["W"], p["U"], p["b"], p["V"], p["c"]
    xs = x.transpose(1, 0, 2)
    ts = t.transpose(1, 0, 2).reshape(-1, 1)
    hs = np.zeros((T + 1, B, H), x.dtype)
    pre = (xs.reshape(-1, x.shape[2]) @ W).reshape(T, B, H) + b
    for k in range(T):
        np.tanh(pre[k] + hs[k] @ U, out=hs[k + 1])
    flat = hs[1:].reshape(-1, H)
    d = (flat @ V + c - ts) / (T * B)
    dh = (d @ V.T).reshape(T, B, H)
    dn = np.empty_like(dh)
    carry = np.zeros((B, H), x.dtype)
    for k in range(T - 1, -1, -1):
        g = dh[k] + carry
        dn[k] = g * (1 - hs[k + 1] * hs[k + 1])
        carry = dn[k] @ U.T
    rows = dn.reshape(-1, H)
    return {
        "W": xs.reshape(-1, x.shape[2]).T @ rows,
        "U": hs[:-1].reshape(-1, H).T @ rows,
        "b": rows.sum(0),
        "V": flat.T @ d,
        "c": d.sum(0),
    }


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def hand_lstm(p: dict, x: np.ndarray, t: np.ndarray) -> dict:
    """BPTT for an LSTM (gates i, f, o, g in one (h, 4h) product) with a linear head."""
    W, U, b, V, c = p["W"], p["U"], p["b"], p["V"], p["c"]
    xs = x.transpose(1, 0, 2)
    ts = t.transpose(1, 0, 2).reshape(-1, 1)
    pre = (xs.reshape(-1, x.shape[2]) @ W).reshape(T, B, 4 * H) + b
    hs = np.zeros((T + 1, B, H), x.dtype)
    cs = np.zeros((T + 1, B, H), x.dtype)
    gates = np.empty((T, B, 4 * H), x.dtype)
    tc = np.empty((T, B, H), x.dtype)
    for k in range(T):
        a = pre[k] + hs[k] @ U
        gates[k, :, : 3 * H] = _sigmoid(a[:, : 3 * H])
        gates[k, :, 3 * H :] = np.tanh(a[:, 3 * H :])
        i, f, o, g = np.split(gates[k], 4, axis=1)
        cs[k + 1] = f * cs[k] + i * g
        tc[k] = np.tanh(cs[k + 1])
        hs[k + 1] = o * tc[k]
    flat = hs[1:].reshape(-1, H)
    d = (flat @ V + c - ts) / (T * B)
    dh_out = (d @ V.T).reshape(T, B, H)
    da = np.empty((T, B, 4 * H), x.dtype)
    dh_next = np.zeros((B, H), x.dtype)
    dc_next = np.zeros((B, H), x.dtype)
    for k in range(T - 1, -1, -1):
        i, f, o, g = np.split(gates[k], 4, axis=1)
        dh = dh_out[k] + dh_next
        dc = dc_next + dh * o * (1 - tc[k] * tc[k])
        da[k, :, :H] = dc * g * i * (1 - i)
        da[k, :, H : 2 * H] = dc * cs[k] * f * (1 - f)
        da[k, :, 2 * H : 3 * H] = dh * tc[k] * o * (1 - o)
        da[k, :, 3 * H :] = dc * i * (1 - g * g)
        dc_next = dc * f
        dh_next = da[k] @ U.T
    rows = da.reshape(-1, 4 * H)
    return {
        "W": xs.reshape(-1, x.shape[2]).T @ rows,
        "U": hs[:-1].reshape(-1, H).T @ rows,
        "b": rows.sum(0),
        "V": flat.T @ d,
        "c": d.sum(0),
    }


def _hand_params(net: Network, cell: str) -> dict:
    """The hand loop's weights, the network's own (so both compute the same numbers)."""
    p = net.params
    if cell == "elman":
        return {
            "W": p["x->h.weight"],
            "U": p["h->h.weight"],
            "b": p["h.bias"],
            "V": p["h->y.weight"],
            "c": p["y.bias"],
        }
    order = ("i", "f", "o", "g")
    cat = lambda name: np.concatenate([p[name.format(k)] for k in order], axis=-1)  # noqa: E731
    return {
        "W": cat("x->h_{}.weight"),
        "U": cat("h->h_{}.weight"),
        "b": cat("h_{}.bias"),
        "V": p["h->y.weight"],
        "c": p["y.bias"],
    }


def _torch_step(cell: str) -> Any:
    try:
        import torch
    except ImportError:
        return None
    module = (torch.nn.RNN if cell == "elman" else torch.nn.LSTM)(1, H, batch_first=True)
    head = torch.nn.Linear(H, 1)
    x, t = (torch.tensor(a) for a in _data(1))

    def step() -> None:
        module.zero_grad(set_to_none=True)
        head.zero_grad(set_to_none=True)
        out, _ = module(x)
        loss = 0.5 * ((head(out) - t) ** 2).mean()
        loss.backward()

    return step


def run(quick: bool = False) -> list[dict]:
    rows = []
    rounds = 5 if quick else 15
    for cell, make, hand in (("elman", elman, hand_elman), ("lstm", lstm, hand_lstm)):
        net = make()
        plan = net.sequence_plan()
        x, t = _data(1)
        p = _hand_params(net, cell)
        ours = partial(plan.backprop, x, t)
        ref = partial(hand, p, x, t)
        # the same numbers first: the hand loop is the rule the plan runs
        got, want = ours().grads, hand(p, x, t)
        key = "h->h.weight" if cell == "elman" else "h->h_i.weight"
        np.testing.assert_allclose(got[key], want["U"][:, :H], rtol=2e-3, atol=1e-6)
        c = compare(ours, ref, rounds=rounds)
        row = {
            "network": cell,
            "anyprop_ms": c.a.median * 1e3,
            "numpy_ms": c.b.median * 1e3,
            "ratio": c.ratio,
        }
        torch_step = _torch_step(cell)
        if torch_step is not None:
            ct = compare(ours, torch_step, rounds=rounds)
            row["torch_ms"] = ct.b.median * 1e3
            row["torch_ratio"] = 1 / ct.ratio  # > 1: anyprop faster
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    out = [
        "| network | anyprop ms/step | hand-written NumPy | ratio | PyTorch eager | "
        "PyTorch / anyprop |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        torch = f"{r['torch_ms']:.2f}" if "torch_ms" in r else "–"
        tr = f"{r['torch_ratio']:.2f}×" if "torch_ratio" in r else "–"
        out.append(
            f"| {r['network']} (1-{H}-1, {T} steps, batch {B}) | {r['anyprop_ms']:.2f} | "
            f"{r['numpy_ms']:.2f} | {r['ratio']:.2f}× | {torch} | {tr} |"
        )
    return "\n".join(out) + "\n"
