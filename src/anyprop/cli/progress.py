"""Showing training as it runs: a rich progress bar, or plain lines when not on a terminal."""

from __future__ import annotations

import time
from typing import Any, TextIO

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from anyprop.cli.output import console, number
from anyprop.train.callbacks import Callback


def _figures(logs: dict[str, float]) -> str:
    keys = [k for k in logs if k not in ("lr", "time")]
    return "  ".join(f"{k} {number(logs[k])}" for k in keys)


class BarProgress(Callback):
    """Epochs and batches as bars, with the loss, the metrics, the rate and the time left."""

    def __init__(
        self, stream: TextIO, epochs: int, batches: int, force_terminal: bool = True
    ) -> None:
        self.epochs, self.batches = epochs, batches
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[figures]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console(stream, force_terminal=force_terminal),
            transient=False,
        )
        self._t0 = time.perf_counter()
        self._samples = 0

    def on_train_begin(self, trainer: Any) -> None:
        self.progress.start()
        self.epoch_task = self.progress.add_task(
            "epochs", total=self.epochs, completed=trainer.epoch, figures="", rate=""
        )
        self.batch_task = self.progress.add_task("batches", total=self.batches, figures="", rate="")

    def on_epoch_begin(self, trainer: Any) -> None:
        self.progress.reset(self.batch_task, total=self.batches, figures="", rate="")

    def on_batch_end(self, trainer: Any, batch: int, backprop: Any) -> None:
        self._samples += next(iter(backprop.outputs.values())).shape[0]
        rate = self._samples / max(time.perf_counter() - self._t0, 1e-9)
        self.progress.update(
            self.batch_task,
            advance=1,
            figures=f"loss {number(backprop.loss)}",
            rate=f"{rate:,.0f} samples/s",
        )

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        self.progress.update(self.epoch_task, completed=trainer.epoch, figures=_figures(logs))

    def on_train_end(self, trainer: Any) -> None:
        self.progress.stop()


class LineProgress(Callback):
    """About ten plain lines over a run (for logs and pipes)."""

    def __init__(self, stream: TextIO, epochs: int) -> None:
        self.stream, self.every = stream, max(1, epochs // 10)

    def on_epoch_end(self, trainer: Any, logs: dict[str, float]) -> None:
        e = trainer.epoch
        if e == 1 or e % self.every == 0 or trainer.stop:
            self.stream.write(f"epoch {e:>5}  {_figures(logs)}\n")
            self.stream.flush()
