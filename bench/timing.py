"""Timing helpers: best and median of several repeats after a warm-up."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    best: float  # seconds per call
    median: float


def measure(
    fn: Callable[[], object], *, number: int = 0, repeat: int = 7, target: float = 0.05
) -> Timing:
    """Seconds per call of ``fn``: ``number`` calls per repeat (chosen so that a
    repeat lasts about ``target`` seconds when 0), best and median of ``repeat``."""
    fn()  # warm-up
    if number <= 0:
        number, elapsed = 1, 0.0
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - t0
            if elapsed >= target / 5 or number >= 1 << 20:
                break
            number *= 4
        number = max(1, int(number * target / max(elapsed, 1e-9)))
    gc_was = gc.isenabled()
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - t0) / number)
    finally:
        if gc_was:
            gc.enable()
    return Timing(min(times), statistics.median(times))
