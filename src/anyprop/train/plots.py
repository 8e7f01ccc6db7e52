"""Training curves as PNG (matplotlib, an optional extra: ``pip install 'anyprop[plot]'``)."""

from __future__ import annotations

import os
from typing import Any

from anyprop.errors import AnypropError


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
    fig.savefig(path, dpi=110)
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
