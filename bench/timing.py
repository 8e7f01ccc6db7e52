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


@dataclass
class Comparison:
    a: Timing
    b: Timing
    ratio: float  # median over rounds of (a's time / b's time) within the same round


def compare(
    a: Callable[[], object], b: Callable[[], object], *, rounds: int = 15, target: float = 0.02
) -> Comparison:
    """Time ``a`` against ``b`` in alternating rounds, so that both see the same load on a
    shared machine; the ratio is the median of the per-round ratios."""
    a()
    b()
    number = 1
    while True:  # calls per round: each side about `target` seconds
        t0 = time.perf_counter()
        for _ in range(number):
            a()
        if time.perf_counter() - t0 >= target / 4 or number >= 1 << 16:
            break
        number *= 4
    elapsed = time.perf_counter() - t0
    number = max(1, int(number * target / max(elapsed, 1e-9)))
    ta, tb, ratios = [], [], []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for k in range(rounds):
            pair = []
            for fn in (a, b) if k % 2 == 0 else (b, a):
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                pair.append((time.perf_counter() - t0) / number)
            x, y = pair if k % 2 == 0 else pair[::-1]
            ta.append(x)
            tb.append(y)
            ratios.append(x / y)
    finally:
        if gc_was:
            gc.enable()
    return Comparison(
        Timing(min(ta), statistics.median(ta)),
        Timing(min(tb), statistics.median(tb)),
        statistics.median(ratios),
    )
