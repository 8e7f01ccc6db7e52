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
from anyprop.fileio import write_figure
from anyprop.nn.values import numbers


def plain(text: str) -> str:
    """``text`` as matplotlib should show it: a '$' in a name is a dollar, not math."""
    return text.replace("$", r"\$")


def levels(net: Any) -> dict[str, int]:
    """Each group's longest distance from an input, in connections."""
    level: dict[str, int] = {}
    for g in net.order():
        preds = [c.src for c in net.connections.values() if c.tgt == g and not c.delay]
        level[g] = 0 if not preds else 1 + max(level[p] for p in preds)
    return level


def columns(net: Any, level: Mapping[str, int]) -> dict[int, list[str]]:
    """The groups of each level, in the network's order: the diagrams' columns."""
    out: dict[int, list[str]] = {}
    for g in net.order():
        out.setdefault(level[g], []).append(g)
    return out


def last_gradient_norms(gradients: Any) -> dict[str, float] | None:
    """Each parameter's gradient norm in the last epoch GradientStats recorded (None if none):
    the ``strengths`` that make a diagram's arrows show where gradients flowed."""
    last = gradients[-1] if gradients else {}
    norms = {k[len("grad/") :]: v for k, v in last.items() if k.startswith("grad/")}
    return norms or None


def _check_drawable(network: Any, strengths: Any, title: Any) -> None:
    """A network with groups to draw; strengths a dict of numbers; a title of text."""
    if not hasattr(network, "groups") or not hasattr(network, "connections"):
        raise AnypropError(f"draw a network, got {type(network).__name__}")
    if not network.groups:
        raise AnypropError("the network has no groups to draw")
    if strengths is not None:
        if not isinstance(strengths, Mapping):
            raise AnypropError(f"strengths must map connections to numbers, got {strengths!r:.60}")
        for k, v in strengths.items():
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or v != v:
                raise AnypropError(f"strengths[{k!r}] must be a number, got {v!r}")
    if title is not None and not isinstance(title, str):
        raise AnypropError(f"title must be text, got {title!r}")


def _check_suffix(path: str | os.PathLike) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise AnypropError(f"a diagram's path must be a file name, got {path!r}")
    if os.fspath(path).rsplit(".", 1)[-1].lower() not in ("png", "svg"):
        raise AnypropError(f"{path}: a diagram is written as .png or .svg")


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

    _check_suffix(path)
    _check_drawable(network, strengths, title)
    plt = pyplot()
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    net = network
    level = levels(net)
    cols = columns(net, level)
    pos = {}
    for lv, names in cols.items():
        for r, g in enumerate(names):
            pos[g] = (lv * 3.2, -(r - (len(names) - 1) / 2) * 1.8)
    values = {}
    for c in net.connections.values():
        if strengths is not None:  # a connection with no figure (a fixed one) is thinnest
            values[c.name] = float(strengths.get(c.name, strengths.get(c.param, 0.0)))
        else:
            values[c.name] = float(np.linalg.norm(net.params[c.param]))
    top = max(values.values(), default=1.0) or 1.0
    width = 3.2 * (max(cols) + 1)
    height = 1.8 * max(len(v) for v in cols.values()) + 1.2
    fig, ax = plt.subplots(figsize=(max(5.0, width * 0.9), max(3.0, height * 0.9)))
    arcs: list[tuple[str, str]] = []
    for c in net.connections.values():
        (x0, y0), (x1, y1) = pos[c.src], pos[c.tgt]
        style = "-" if c.kind == "dense" and c.share is None and c.trainable else "--"
        lw = 0.6 + 5.0 * values[c.name] / top
        color = "#57606a"
        if c.delay and c.src == c.tgt:  # a loop onto the group itself, over its box
            start, end, bend, color = (
                (x0 - 0.35, y0 + 0.45),
                (x0 + 0.35, y0 + 0.45),
                -1.6,
                "#8250df",
            )
        elif c.delay:  # back in time: an arc below the boxes, of its own colour
            start, end, color = (x0, y0 - 0.45), (x1, y1 - 0.45), "#8250df"
            k = sum(1 for d in arcs if d == (c.src, c.tgt))  # (parallel ones bend further)
            arcs.append((c.src, c.tgt))
            bend = (0.45 + 0.25 * k) * (-1 if x1 < x0 else 1)
        else:
            start, end = (x0 + 0.75, y0), (x1 - 0.75, y1)
            bend = 0.0 if level[c.tgt] - level[c.src] == 1 else 0.35  # skips arc over layers
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=12,
                lw=lw,
                linestyle=style,
                color=color,
                connectionstyle=f"arc3,rad={bend}",
                alpha=0.85,
            )
        )
        tags = [] if c.kind == "dense" else [c.kind.replace("_", "-")]
        tags += ["shared" + (" T" if c.transpose else "")] if c.share else []
        tags += [] if c.trainable else ["fixed"]
        tags += [f"delay {c.delay}"] if c.delay else []
        if c.gate is not None:
            tags.append(f"× {c.gate}" + (f" (delay {c.gate_delay})" if c.gate_delay else ""))
        if tags:
            if c.delay and c.src == c.tgt:
                where = (x0, y0 + 1.05)
            elif c.delay:  # at the arc's lowest point: half its control point's offset
                dx, dy = end[0] - start[0], end[1] - start[1]
                mx, my = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
                where = (mx + bend * dy / 2, my - bend * dx / 2 - 0.25)
            else:
                where = ((x0 + x1) / 2, (y0 + y1) / 2 + 0.22 + bend)
            ax.text(*where, plain(", ".join(tags)), fontsize=7, ha="center", color=color)
    for name, (x, y) in pos.items():
        g = net.groups[name]
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
        ax.text(x, y, plain(_header(name, g, g.size) + loss), ha="center", va="center", fontsize=8)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(
        min(ys) - 1.2 - (0.8 if any(c.delay for c in net.connections.values()) else 0),
        max(ys)
        + 1.2
        + (0.6 if any(c.delay and c.src == c.tgt for c in net.connections.values()) else 0),
    )
    ax.set_aspect("equal")
    ax.axis("off")
    what = "gradient norm" if strengths is not None else "weight norm"
    # a scale for the widths: three arrows with the numbers they stand for
    from matplotlib.lines import Line2D

    marks = [top, top / 2, top / 10]
    ax.legend(
        [Line2D([0], [0], color="#57606a", lw=0.6 + 5.0 * m / top) for m in marks],
        [f"{what} {m:.3g}" for m in marks],
        loc="lower right",
        fontsize=7,
        frameon=False,
    )
    ax.set_title(plain(title or f"{net.name}: arrow width ∝ {what}"), fontsize=9)
    fig.tight_layout()
    write_figure(fig, path, 120)
    plt.close(fig)


MAX_UNITS = 100  # above this, draw groups (draw_network), not units


def _header(name: str, g: Any, size: int | None = None) -> str:
    """A group's label: its name (and size), then its kind, said once ("input", not
    "input / input")."""
    first = name if size is None else f"{name} ({size})"
    kind = "input" if g.is_input else repr(g.transfer)
    kind = kind if len(kind) <= 18 else kind[:17] + "…"
    return first if kind == name else f"{first}\n{kind}"


def unit_edges(net: Any, c: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A connection's weights as (source unit, target unit, w) arrays, whatever its kind."""
    w = np.asarray(net.params[c.param], dtype=np.float64)
    src, tgt, index = c.unit_pairs(w.shape)
    return src, tgt, w.reshape(-1)[index]


def draw_units(
    network: Any,
    path: str | os.PathLike,
    inputs: Any = None,
    targets: Any = None,
    sample: int = 0,
    title: str | None = None,
) -> None:
    """Draw every unit of a small network (at most ``MAX_UNITS``) to ``path`` (.png or .svg).

    Each weight is a line, its width ∝ |w|, blue for w > 0 and red for w < 0.
    Given one sample's ``inputs`` and ``targets`` (row ``sample``), each unit is
    coloured and labelled by its δ_j = ∂L/∂net_j on that sample (inputs by their
    value), so one can follow δ_j = f'_j(net_j) · Σ_k w_jk δ_k backwards.
    """
    from anyprop.train.plots import pyplot

    _check_suffix(path)
    _check_drawable(network, None, title)
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise AnypropError(f"sample must be a whole number >= 0, got {sample!r}")
    net = network
    total = sum(g.size for g in net.groups.values())
    if total > MAX_UNITS:
        raise AnypropError(
            f"{net.name} has {total} units: drawing them one by one is for networks of at "
            f"most {MAX_UNITS}; draw its groups instead (draw_network)"
        )
    values: dict[str, np.ndarray] = {}
    if (inputs is None) != (targets is None):
        raise AnypropError("draw_units: give the inputs and the targets together (or neither)")
    if inputs is not None and any(c.delay or c.gate for c in net.connections.values()):
        raise AnypropError(
            f"{net.name} is recurrent: its deltas differ at every step, which draw_units "
            "does not show yet; draw its units without data, or its groups (draw_network)"
        )
    if inputs is not None:
        x = inputs if isinstance(inputs, Mapping) else numbers(inputs, "the inputs")
        n = len(next(iter(x.values()))) if isinstance(x, Mapping) else len(x)
        if not 0 <= sample < n:
            raise AnypropError(f"sample {sample} is out of range (0 to {n - 1})")
        pick = slice(sample, sample + 1)
        xs = {k: np.asarray(v)[pick] for k, v in x.items()} if isinstance(x, Mapping) else x[pick]
        ts = (
            {k: np.asarray(v)[pick] for k, v in targets.items()}
            if isinstance(targets, Mapping)
            else np.asarray(targets)[pick]
        )
        bp = net.backprop(xs, ts)
        values = {g: np.array(d[0], dtype=np.float64) for g, d in bp.deltas.items()}
        for g in net.inputs:
            values[g] = np.array(bp.outputs[g][0], dtype=np.float64)
    plt = pyplot()
    level = levels(net)
    cols = columns(net, level)
    step, gap = 0.55, 0.9
    pos: dict[str, np.ndarray] = {}  # each unit's (x, y)
    tallest = 0.0
    for lv, names in cols.items():
        height = sum(net.groups[g].size * step for g in names) + gap * (len(names) - 1)
        tallest = max(tallest, height)
        y = height / 2
        for g in names:
            size = net.groups[g].size
            ys = y - step / 2 - step * np.arange(size)
            pos[g] = np.stack([np.full(size, lv * 4.0), ys], axis=1)
            y -= size * step + gap
    fig, ax = plt.subplots(figsize=(max(5.0, 2.6 * (max(cols) + 1)), max(3.5, 0.5 * tallest + 1.5)))
    edges = [(c, *unit_edges(net, c)) for c in net.connections.values()]
    top = max((np.abs(w).max() for *_, w in edges if w.size), default=1.0) or 1.0
    for c, s, t, w in edges:
        a, b = pos[c.src][s], pos[c.tgt][t]
        bend = level[c.tgt] - level[c.src] > 1
        for (x0, y0), (x1, y1), wk in zip(a, b, w, strict=True):
            mid = ((x0 + x1) / 2, (y0 + y1) / 2 + (0.6 if bend else 0.0))
            ax.plot(
                [x0, mid[0], x1] if bend else [x0, x1],
                [y0, mid[1], y1] if bend else [y0, y1],
                color="#1f6feb" if wk >= 0 else "#d1242f",
                lw=0.2 + 2.5 * abs(wk) / top,
                alpha=0.55,
                ls="-" if c.trainable else "--",
                zorder=1,
            )
    scale = max((np.abs(v).max() for g, v in values.items() if g not in net.inputs), default=0.0)
    cmap = plt.get_cmap("coolwarm")
    for g, xy in pos.items():
        grp = net.groups[g]
        v = values.get(g)
        for u, (x0, y0) in enumerate(xy):
            if v is None or g in net.inputs:
                color = "#ddf4ff" if grp.is_input else "#f6f8fa"
            else:
                color = cmap(0.5 + 0.5 * v[u] / scale) if scale else cmap(0.5)
            ax.add_patch(plt.Circle((x0, y0), 0.18, fc=color, ec="#24292f", lw=0.8, zorder=2))
            name = f"{g}[{u}]" if net.units is None else f"unit {net.units.label(g, u)}"
            ax.text(x0 - 0.25, y0, plain(name), fontsize=5, ha="right", va="center", zorder=3)
            if v is not None:
                label = f"x={v[u]:.2g}" if g in net.inputs else f"δ={v[u]:.2g}"
                ax.text(x0 + 0.25, y0 + 0.08, label, fontsize=6, va="bottom", zorder=3)
        header = _header(g, grp)
        ax.text(xy[0, 0], xy[0, 1] + 0.35, plain(header), ha="center", va="bottom", fontsize=7)
    every = np.concatenate(list(pos.values()))
    ax.set_xlim(every[:, 0].min() - 1.0, every[:, 0].max() + 1.4)
    ax.set_ylim(every[:, 1].min() - 0.8, every[:, 1].max() + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    if scale:  # the colours' numbers
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        bar = fig.colorbar(
            ScalarMappable(Normalize(-scale, scale), cmap), ax=ax, shrink=0.6, pad=0.02
        )
        bar.set_label("δ = ∂L/∂net", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    what = f"δ of each unit on sample {sample}" if values else "weights"
    ax.set_title(
        plain(title or f"{net.name}: {what}; line width ∝ |w| (blue w > 0, red w < 0)"),
        fontsize=9,
    )
    fig.tight_layout()
    write_figure(fig, path, 120)
    plt.close(fig)
