"""Training curves as PNG (matplotlib, an optional extra: ``pip install 'anyprop[plot]'``)."""

from __future__ import annotations

import os
from typing import Any

from anyprop.errors import AnypropError
from anyprop.fileio import write_figure


def plot_evaluation(
    result: dict[str, Any], outputs: Any, targets: Any, path: Any, title: str
) -> None:
    """The confusion matrix with its counts (classes), or predicted against true with the
    line y = x (values), to ``path`` (.png or .svg)."""
    import numpy as np

    if not str(path).lower().endswith((".png", ".svg")):
        raise AnypropError(f"{path}: the plot is a picture: give a .png or .svg file")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    if "confusion" in result:
        conf = result["confusion"]
        m = np.array(conf["matrix"])
        im = ax.imshow(m, cmap="Blues")
        names = conf["labels"]
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        for (i, j), v in np.ndenumerate(m):
            color = "white" if v > m.max() / 2 else "black"
            ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color=color)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        fig.colorbar(im, ax=ax, shrink=0.8)
    else:
        o, t = np.asarray(outputs, float).reshape(-1), np.asarray(targets, float).reshape(-1)
        ax.scatter(t, o, s=8, alpha=0.6)
        lo, hi = float(min(t.min(), o.min())), float(max(t.max(), o.max()))
        ax.plot([lo, hi], [lo, hi], color="#d1242f", lw=1, label="predicted = true")
        ax.set_xlabel("true")
        ax.set_ylabel("predicted")
        ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    write_figure(fig, path, 110)
    plt.close(fig)


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend, or a clear error."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise AnypropError("plots need matplotlib: pip install 'anyprop[plot]'") from None
    return plt


def plot_history(history: Any, path: str | os.PathLike, title: str | None = None) -> None:
    """Loss (and each metric) per epoch, training and validation, one panel each."""
    plt = pyplot()
    keys = [k for k in history.names() if k not in ("lr", "time") and not k.startswith("val_")]
    if not keys:
        raise AnypropError("the history is empty: nothing to plot")
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.6), squeeze=False)
    epochs = list(range(1, len(history) + 1))
    for ax, key in zip(axes[0], keys, strict=True):
        ax.plot(epochs, history[key], label="training", color="#1f6feb")
        if f"val_{key}" in history.names():
            ax.plot(epochs, history[f"val_{key}"], label="validation", color="#d1242f")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        if key == "loss" and min(history[key]) > 0:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    write_figure(fig, path, 110)
    plt.close(fig)


def plot_transfer(
    transfer: Any, path: str | os.PathLike, lo: float = -4.0, hi: float = 4.0
) -> None:
    """f and f' of an elementwise transfer function on [lo, hi]."""
    import numpy as np

    plt = pyplot()
    x = np.linspace(lo, hi, 401)[None, :]
    y = transfer.forward(x)
    d = transfer.backward(x, y, np.ones_like(x))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(x[0], y[0], label="f(x)", color="#1f6feb")
    ax.plot(x[0], d[0], label="f'(x)", color="#d1242f", linestyle="--")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_title(repr(transfer))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    write_figure(fig, path, 110)
    plt.close(fig)
