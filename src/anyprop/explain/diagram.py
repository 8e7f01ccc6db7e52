"""A picture of the network: groups as boxes, connections as arrows (matplotlib, an extra).

Groups are placed by topological level, left to right (inputs first); each box
gives the group's name, size and transfer function (or "input"), and its loss
for an output. Each arrow's width shows the connection's weight norm, or, given
``strengths`` (a connection's gradient norm, say), that instead; sparse,
one-to-one, shared and fixed connections are drawn dashed and labelled.
Written as PNG or SVG, by the file's extension.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from anyprop.errors import AnypropError


def levels(net: Any) -> dict[str, int]:
    """Each group's longest distance from an input, in connections."""
    level: dict[str, int] = {}
    for g in net.order():
        preds = [c.src for c in net.connections.values() if c.tgt == g]
        level[g] = 0 if not preds else 1 + max(level[p] for p in preds)
    return level


def draw_network(
    network: Any,
    path: str | os.PathLike,
    strengths: Mapping[str, float] | None = None,
    title: str | None = None,
) -> None:
    """Draw ``network`` to ``path`` (.png or .svg).

    ``strengths`` maps a connection's name (``"h1->out"``) or its parameter's
    name (``"h1->out.weight"``) to the number its arrow's width shows.
    """
    from anyprop.train.plots import pyplot

    suffix = os.fspath(path).rsplit(".", 1)[-1].lower()
    if suffix not in ("png", "svg"):
        raise AnypropError(f"{path}: a diagram is written as .png or .svg")
    plt = pyplot()
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    net = getattr(network, "network", network)
    level = levels(net)
    columns: dict[int, list[str]] = {}
    for g in net.order():
        columns.setdefault(level[g], []).append(g)
    pos = {}
    for lv, names in columns.items():
        for r, g in enumerate(names):
            pos[g] = (lv * 3.2, -(r - (len(names) - 1) / 2) * 1.8)
    values = {}
    for c in net.connections.values():
        given = None if strengths is None else strengths.get(c.name, strengths.get(c.param))
        if given is not None:
            values[c.name] = float(given)
        else:
            values[c.name] = float(np.linalg.norm(net.params[c.param]))
    top = max(values.values(), default=1.0) or 1.0
    width = 3.2 * (max(columns) + 1)
    height = 1.8 * max(len(v) for v in columns.values()) + 1.2
    fig, ax = plt.subplots(figsize=(max(5.0, width * 0.9), max(3.0, height * 0.9)))
    for c in net.connections.values():
        (x0, y0), (x1, y1) = pos[c.src], pos[c.tgt]
        style = "-" if c.kind == "dense" and c.share is None and c.trainable else "--"
        lw = 0.6 + 5.0 * values[c.name] / top
        bend = 0.0 if level[c.tgt] - level[c.src] == 1 else 0.35  # skips arc over the layers
        ax.add_patch(
            FancyArrowPatch(
                (x0 + 0.75, y0),
                (x1 - 0.75, y1),
                arrowstyle="-|>",
                mutation_scale=12,
                lw=lw,
                linestyle=style,
                color="#57606a",
                connectionstyle=f"arc3,rad={bend}",
                alpha=0.85,
            )
        )
        tags = [] if c.kind == "dense" else [c.kind.replace("_", "-")]
        tags += ["shared" + (" T" if c.transpose else "")] if c.share else []
        tags += [] if c.trainable else ["fixed"]
        if tags:
            ax.text(
                (x0 + x1) / 2,
                (y0 + y1) / 2 + 0.22 + bend,
                ", ".join(tags),
                fontsize=7,
                ha="center",
                color="#57606a",
            )
    for name, (x, y) in pos.items():
        g = net.groups[name]
        kind = "input" if g.is_input else repr(g.transfer)
        loss = f"\nloss {g.loss!r}" if g.loss is not None else ""
        color = "#ddf4ff" if g.is_input else ("#fff8c5" if g.output else "#f6f8fa")
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.75, y - 0.45),
                1.5,
                0.9,
                boxstyle="round,pad=0.05",
                fc=color,
                ec="#24292f",
                lw=1.0,
            )
        )
        label = kind if len(kind) <= 18 else kind[:17] + "…"
        ax.text(x, y, f"{name} ({g.size})\n{label}{loss}", ha="center", va="center", fontsize=8)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(min(ys) - 1.2, max(ys) + 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    what = "gradient norm" if strengths is not None else "weight norm"
    ax.set_title(title or f"{net.name}: arrow width ∝ {what}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
