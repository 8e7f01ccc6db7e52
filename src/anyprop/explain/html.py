"""One self-contained HTML report of a model: its diagram, curves, gradient flow, one weight.

Every picture is inline SVG and the style sheet is in the page, so the file
opens anywhere, with no network access. Sections: the network (diagram and a
table of groups), training (loss and metrics per epoch), where gradients flowed
(warnings and mean |δ| per epoch; for a model trained with ``--report``), and
one weight's update explained by the general rule (when data is given).
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.fileio import atomic_write

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #24292f; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: .2em .6em; }
th { background: #f6f8fa; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; line-height: 1.35; }
.note { color: #57606a; }
"""


def default_weight(network: Any) -> str | None:
    """A weight to explain: the first trainable connection's first weight, into a hidden
    group where there is one (the interesting case: δ built from the deltas it feeds)."""
    net = network
    conns = [c for c in net.connections.values() if c.trainable]
    hidden = [c for c in conns if not net.groups[c.tgt].output]
    delayed = [c for c in conns if c.delay]  # through time: a recurrent weight first
    for c in delayed + hidden + conns:
        src, tgt, _ = c.unit_pairs(net.params[c.param].shape)
        if src.size:
            i, j = int(src[0]), int(tgt[0])
            if net.units is not None:  # a unit graph's weight, by its units' names
                return f"{net.units.label(c.src, i)}->{net.units.label(c.tgt, j)}"
            return f"{c.src}[{i}]->{c.tgt}[{j}]"
    return None


def _svg(draw: Callable[[str], None]) -> str:
    """Run ``draw(path)`` into a temporary .svg file and return its ``<svg>`` element."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "figure.svg")
        draw(path)
        text = Path(path).read_text(encoding="utf-8")
    return text[text.index("<svg") :]


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _groups_table(net: Any) -> str:
    rows = []
    for name in net.order():
        g = net.groups[name]
        kind = "input" if g.is_input else str(g.transfer)
        loss = "" if g.loss is None else str(g.loss)
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td class=n>{g.size}</td>"
            f"<td>{html.escape(kind)}</td><td>{html.escape(loss)}</td></tr>"
        )
    conns = "".join(
        f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.kind)}</td>"
        f"<td class=n>{np.size(net.params[c.param])}</td></tr>"
        for c in net.connections.values()
    )
    return (
        "<table><tr><th>group</th><th>units</th><th>transfer</th><th>loss</th></tr>"
        + "".join(rows)
        + "</table><p></p><table><tr><th>connection</th><th>kind</th><th>weights</th></tr>"
        + conns
        + "</table>"
    )


def _explained(
    net: Any, x: Any, t: Any, weight: str, trainer: Any, mask: Any = None
) -> tuple[int, Any]:
    """The next step of training explained for ``weight`` (by the model's trainer, or one
    plain step on the data), its terms shown for the first of the batch's first ten samples
    whose term is not 0 (an input of 0, say, makes o_i = 0 and the term nothing to see)."""
    from anyprop.explain.weight import explain_step, explain_weight

    sample = 0
    data = (x, t) if mask is None else (x, t, mask)
    while True:
        if trainer is not None:
            e = explain_step(trainer, data, weight, sample=sample)
        else:
            e = explain_weight(net, x, t, weight, sample=sample, mask=mask)
        if e.contribution != 0.0 or sample + 1 >= min(e.samples, 10):
            return sample, e
        sample += 1


def _through_time(net: Any, x: Any) -> str:
    """The section on |δ| backwards in time: a plot, the table, the warnings."""
    from anyprop.explain.time_flow import (
        deltas_through_time,
        plot_through_time,
        time_rows,
        time_warnings,
    )

    flow = deltas_through_time(net, np.asarray(x)[:64])
    rows = time_rows(flow)
    backs = sorted({k for r in rows for k in r["steps_back"]})
    head = "".join(f"<th>{k} back</th>" for k in backs)
    body = "".join(
        f"<tr><td>{html.escape(r['group'])}</td>"
        + "".join(f"<td>{r['steps_back'].get(k, float('nan')):.3g}</td>" for k in backs)
        + f"<td>{'' if r['per_step'] is None else format(r['per_step'], '.3g')}</td></tr>"
        for r in rows
    )
    warnings = time_warnings(flow) or ["no vanishing or exploding deltas through time"]
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return (
        f"<ul>{items}</ul>"
        + _figure(
            _svg(lambda p: plot_through_time(flow, p)),
            "Mean |δ(t)| of each recurrent group, from an error at the last step.",
        )
        + f"<table><tr><th>group</th>{head}<th>× per step back</th></tr>{body}</table>"
    )


def write_report(
    model: Any,
    path: str | os.PathLike,
    x: Any = None,
    t: Any = None,
    weight: str | None = None,
    trainer: Any = None,
    title: str | None = None,
    mask: Any = None,
) -> list[str]:
    """Write the HTML report of ``model`` (a loaded model file) to ``path``.

    With inputs ``x`` and targets ``t`` (prepared as the model expects), one
    weight (``weight``, or the first hidden one) is explained: the next step of
    training (``trainer``, the model's; else one plain step), its terms shown on the
    first sample of the batch where they are not 0. A recurrent model takes sequences
    (``x`` of shape (sequences, steps, features), with their ``mask``): the weight is
    explained through time, and a section shows how |δ| fades backwards in time.
    Returns the titles of the sections written.
    """
    from anyprop.fileio import check_output

    if not hasattr(model, "network") or not hasattr(model, "history"):
        raise AnypropError(
            f"write_report() takes a model (anyprop.load's), got {type(model).__name__}"
        )
    check_output(path, "page", "the report path")
    from anyprop.explain.diagram import (
        MAX_UNITS,
        draw_network,
        draw_units,
        last_gradient_norms,
    )
    from anyprop.explain.flow import network_warnings, plot_flow
    from anyprop.train.plots import plot_history
    from anyprop.train.trainer import History

    net = model.network
    history = History.from_dict(model.history or {})
    gradients = history.gradients
    strengths = last_gradient_norms(gradients)
    name = title or getattr(net, "name", "network")
    sections: list[tuple[str, str]] = []

    what = "the last epoch's gradient norm" if strengths else "the weight norm"
    sections.append(
        (
            "Network",
            _figure(
                _svg(lambda p: draw_network(net, p, strengths)),
                f"Groups by depth; an arrow's width shows {what}.",
            )
            + _groups_table(net),
        )
    )
    weight = weight or default_weight(net)
    small = sum(g.size for g in net.groups.values()) <= MAX_UNITS
    explained = x is not None and weight
    sample, e = _explained(net, x, t, weight, trainer, mask) if explained else (0, None)
    if e is not None and e.sample_row is not None:
        sample = e.sample_row  # the row of the data the explained sample is
    over_time = x is not None and np.ndim(x) == 3
    if small and x is not None and not over_time:
        sections[0] = (
            "Network",
            sections[0][1]
            + _figure(
                _svg(lambda p: draw_units(net, p, x, t, sample=sample)),
                f"Every unit, coloured by its δ on sample {sample} (inputs: their values);"
                " a line's width shows |w|, blue for w > 0, red for w < 0.",
            ),
        )
    if len(history) and any(k not in ("lr", "time") for k in history.names()):
        sections.append(
            (
                "Training",
                _figure(
                    _svg(lambda p: plot_history(history, p)),
                    f"{len(history)} epochs"
                    + (f"; stopped: {history.stop_reason}" if history.stop_reason else ""),
                ),
            )
        )
    if gradients:
        warnings = network_warnings(net, gradients) or [
            "no vanishing, exploding, saturated or dead units"
        ]
        items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
        sections.append(
            (
                "Where gradients flowed",
                f"<ul>{items}</ul>"
                + _figure(_svg(lambda p: plot_flow(net, gradients, p)), "Mean |δ| per epoch."),
            )
        )
    if over_time and net.recurrent:
        sections.append(("Gradients through time", _through_time(net, x)))
    if e is not None:
        sections.append(
            (
                "One weight explained",
                f"<p>How backpropagation computed the update of <code>{html.escape(weight)}</code>"
                f" on sample {sample}:</p>"
                f"<pre>{html.escape(e.to_text())}</pre>",
            )
        )
    else:
        sections.append(
            (
                "One weight explained",
                "<p class=note>Give the data (<code>--data</code>) to explain a weight "
                "here; in the terminal: <code>anyprop explain MODEL --weight ...</code>.</p>",
            )
        )
    body = "".join(
        f'<section id="{t.lower().replace(" ", "-")}"><h2>{html.escape(t)}</h2>{content}</section>'
        for t, content in sections
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>anyprop report: {html.escape(name)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>anyprop report: {html.escape(name)}</h1>{body}</body></html>\n"
    )
    atomic_write(path, page.encode("utf-8"))  # (checked before the page was made)
    return [t for t, _ in sections]
