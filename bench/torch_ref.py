"""PyTorch CPU eager mode on the same networks (optional: skipped when torch is absent)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def version() -> str | None:
    torch = _torch()
    return (
        None if torch is None else f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )


def _model(net, hidden: str, output: str):
    torch = _torch()
    names = net.order()
    layers = []
    for k, (src, tgt) in enumerate(itertools.pairwise(names)):
        w = net.params[f"{src}->{tgt}.weight"]
        lin = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            lin.bias.copy_(torch.from_numpy(net.params[f"{tgt}.bias"]))
        layers.append(lin)
        if k < len(names) - 2:
            layers.append(
                {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[
                    hidden
                ]()
            )
    if output == "sigmoid":
        layers.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*layers)


def step(net, hidden: str, output: str, x: np.ndarray, t: np.ndarray, lr: float) -> Callable | None:
    torch = _torch()
    if torch is None:
        return None
    model = _model(net, hidden, output)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xt = torch.from_numpy(x)
    if output == "softmax":
        target = torch.from_numpy(t.argmax(axis=1))
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        target = torch.from_numpy(t)

        def loss_fn(o, y):
            return 0.5 * ((o - y) ** 2).sum() / o.shape[0]

    def run() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), target)
        loss.backward()
        opt.step()
        loss.item()

    return run


def epoch(net, hidden: str, x: np.ndarray, y: np.ndarray, batch: int, lr: float) -> Callable | None:
    torch = _torch()
    if torch is None:
        return None
    model = _model(net, hidden, "softmax")
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    gen = torch.Generator().manual_seed(0)

    def run() -> None:
        order = torch.randperm(len(xt), generator=gen)
        for s in range(0, len(xt), batch):
            idx = order[s : s + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            loss.item()

    return run
