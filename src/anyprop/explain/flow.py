"""Where gradients flow: per-group figures from training, and warnings in plain words.

The :class:`~anyprop.train.callbacks.GradientStats` callback records, per epoch,
each group's mean |δ|, each connection's gradient norm, and the fractions of
saturated (|f'| < 1e-3) and of dead (relu-like, never positive) units. This
module reads those records:

>>> flow = {"delta/out": 1e-2, "delta/h1": 2.5e-4, "saturated/h1": 0.8}
>>> for w in flow_warnings(flow, ["h1", "out"], {"h1": "tanh", "out": "sigmoid"}):
...     print(w)
deltas shrink 40× from out to h1: vanishing gradients
tanh units in h1 are 80% saturated (|f'| < 0.001): their deltas are all but zero
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.fileio import write_figure

SHRINK = 10.0  # deltas falling (or rising) this many times from output to input: a warning
SATURATED = 0.5
DEAD = 0.25


def group_figures(record: Mapping[str, float], groups: Sequence[str]) -> list[dict[str, Any]]:
    """One row per group (in the given order) of one epoch's record."""
    rows = []
    for g in groups:
        if f"delta/{g}" not in record:
            continue
        rows.append(
            {
                "group": g,
                "mean_abs_delta": record[f"delta/{g}"],
                "saturated": record.get(f"saturated/{g}"),
                "dead": record.get(f"dead/{g}"),
            }
        )
    return rows


def flow_warnings(
    record: Mapping[str, float], order: Sequence[str], transfers: Mapping[str, str]
) -> list[str]:
    """Plain-word warnings from one epoch's gradient record; ``order`` is the groups'
    topological order (inputs first), ``transfers`` their transfer functions' names."""
    warnings = []
    deltas = [(g, record[f"delta/{g}"]) for g in order if f"delta/{g}" in record]
    if len(deltas) >= 2:
        last_g, last = deltas[-1]
        small_g, small = min(deltas[:-1], key=lambda p: p[1])
        big_g, big = max(deltas[:-1], key=lambda p: p[1])
        if last > 0 and small > 0 and last / small >= SHRINK:
            warnings.append(
                f"deltas shrink {last / small:.0f}× from {last_g} to {small_g}: vanishing gradients"
            )
        if last > 0 and big / last >= SHRINK:
            warnings.append(
                f"deltas grow {big / last:.0f}× from {last_g} to {big_g}: exploding gradients"
            )
    for g in order:
        sat = record.get(f"saturated/{g}")
        if sat is not None and sat >= SATURATED:
            warnings.append(
                f"{transfers.get(g, '')} units in {g} are {sat:.0%} saturated "
                f"(|f'| < 0.001): their deltas are all but zero"
            )
        dead = record.get(f"dead/{g}")
        if dead is not None and dead >= DEAD:
            warnings.append(
                f"{dead:.0%} of the {transfers.get(g, '')} units in {g} are dead "
                "(never positive this epoch): they no longer learn"
            )
    return warnings


def network_warnings(network: Any, gradients: Sequence[Mapping[str, float]]) -> list[str]:
    """Warnings from the last epoch's record of a network's training."""
    if not gradients:
        return []
    if isinstance(gradients, (str, bytes, Mapping)) or not all(
        isinstance(g, Mapping) for g in gradients
    ):
        raise AnypropError("gradients must be a list of per-epoch records (dicts), as recorded")
    net = network
    order = [g for g in net.order() if not net.groups[g].is_input]
    transfers = {g: net.groups[g].transfer.name for g in order}
    return flow_warnings(gradients[-1], order, transfers)


def relative_flow(network: Any, gradients: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
    """Each group's mean |δ| per epoch divided by the output group's. As the loss falls
    every |δ| falls with it, which alone would read as vanishing gradients; the ratio
    shows how much of the output's error signal reaches each layer."""
    net = network
    out = net.primary_output
    ref = np.array([r.get(f"delta/{out}", np.nan) for r in gradients], dtype=float)
    ref[~(ref > 0)] = np.nan
    return {
        g: np.array([r.get(f"delta/{g}", np.nan) for r in gradients], dtype=float) / ref
        for g in net.order()
        if not net.groups[g].is_input
    }


def plot_flow(
    network: Any, gradients: Sequence[Mapping[str, float]], path: str | os.PathLike
) -> None:
    """Each group's mean |δ| per epoch, on a log scale (matplotlib, an extra)."""
    from anyprop.explain.diagram import plain
    from anyprop.train.plots import pyplot

    plt = pyplot()
    net = network
    fig, ax = plt.subplots(figsize=(6, 3.8))
    epochs = np.arange(1, len(gradients) + 1)
    for g, values in relative_flow(net, gradients).items():
        ax.plot(epochs, values, label=plain(g))
    ax.set_xlabel("epoch")
    ax.set_ylabel(plain(f"mean |δ| ÷ that of {net.primary_output}"))
    ax.set_title("each layer's mean |δ| relative to the output layer's")
    finish_log_plot(plt, fig, ax, path)


def finish_log_plot(plt: Any, fig: Any, ax: Any, path: str | os.PathLike) -> None:
    """A plot of |δ| on a log scale, with a grid and a legend, written to ``path``."""
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    write_figure(fig, path, 110)
    plt.close(fig)
