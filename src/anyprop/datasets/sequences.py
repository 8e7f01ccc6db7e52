"""The classic sequence tasks of recurrent networks, generated (each from its seed).

Elman (1990): the temporal XOR. Hochreiter and Schmidhuber (1997), the LSTM paper's
benchmarks: the embedded Reber grammar (Cleeremans, Servan-Schreiber and McClelland
1989, embedded by Smith and Zipser 1989) and the adding problem.
"""

from __future__ import annotations

import numpy as np

from anyprop.data import DataError
from anyprop.data.sequences import Sequences
from anyprop.datasets.registry import dataset


@dataset("temporal_xor", cells=lambda n, steps, seed, every_step: 3.0 * n * steps)
def temporal_xor(n: int = 100, steps: int = 30, seed: int = 0, every_step: int = 0) -> Sequences:
    """Elman's temporal XOR: bits in threes (a, b, a xor b); predict the next bit.

    Input at step t: bit t; target: bit t + 1. Only every third bit can be predicted
    (it is the XOR of the two before it): the mask keeps those steps, where a trained
    network's error falls to near 0 (Elman's figure 2); ``every_step=1`` keeps every
    step, as Elman trained, where the other bits stay at chance."""
    if steps < 3:
        raise DataError(f"temporal_xor: steps must be at least 3, got {steps}")
    rng = np.random.default_rng(seed)
    triples = -(-(steps + 1) // 3)
    ab = rng.integers(0, 2, size=(n, triples, 2))
    bits = np.concatenate([ab, (ab[:, :, :1] ^ ab[:, :, 1:])], axis=2).reshape(n, -1)
    bits = bits[:, : steps + 1].astype(np.float64)
    x, y = bits[:, :steps, None], bits[:, 1:, None]
    mask = np.ones((n, steps))
    if not every_step:  # the target at step t is bit t + 1: predictable when (t + 1) % 3 == 2
        mask[:, (np.arange(steps) + 1) % 3 != 2] = 0
    return Sequences(x, y, mask, "temporal_xor", "binary", per_step=True)


#: the Reber grammar: state -> [(symbol, next state)]; 0 is the start, 5 the end
_REBER = {
    0: [("T", 1), ("P", 2)],
    1: [("S", 1), ("X", 3)],
    2: [("T", 2), ("V", 4)],
    3: [("X", 2), ("S", 5)],
    4: [("P", 3), ("V", 5)],
}
SYMBOLS = "BTPSXVE"


def _reber(rng: np.random.Generator) -> str:
    out, state = [], 0
    while state != 5:
        sym, state = _REBER[state][rng.integers(2)]
        out.append(sym)
    return "".join(out)


def _next_sets(word: str) -> list[str]:
    """For an embedded Reber string, the symbols that may follow each prefix."""
    sets = ["TP"]  # after B
    wrap = word[1]
    sets.append("B")  # after the wrapping T or P: the inner string's B
    inner = word[3:-3]
    sets.append("TP")  # after the inner B
    state = 0
    for sym in inner:
        state = dict(_REBER[state])[sym]
        sets.append("".join(s for s, _ in _REBER[state]) if state != 5 else "E")
    sets.append(wrap)  # after the inner E: the wrapping symbol again (the long memory)
    sets.append("E")
    return sets


@dataset("embedded_reber", cells=lambda n, seed: 60.0 * 7 * n)
def embedded_reber(n: int = 256, seed: int = 0) -> Sequences:
    """Strings of the embedded Reber grammar, one-hot; predict the possible next symbols.

    B (T|P) <Reber string> (T|P) E, the second T/P the same as the first: to predict it
    a network must remember the first across the whole inner string. Input: the
    symbol at each step (7 one-hot: B T P S X V E); target: every symbol that may come
    next (0/1 each). Solved, in Hochreiter and Schmidhuber's sense, when on every
    sequence every output is on the right side of 0.5 (so the penultimate symbol is
    predicted right)."""
    rng = np.random.default_rng(seed)
    words = []
    for _ in range(n):
        wrap = "TP"[rng.integers(2)]
        words.append("B" + wrap + _reber(rng).join("BE") + wrap + "E")
    steps = max(len(w) for w in words) - 1
    x = np.zeros((n, steps, 7))
    y = np.zeros((n, steps, 7))
    mask = np.zeros((n, steps))
    index = {s: k for k, s in enumerate(SYMBOLS)}
    for i, w in enumerate(words):
        for t, (sym, allowed) in enumerate(zip(w[:-1], _next_sets(w), strict=True)):
            x[i, t, index[sym]] = 1
            y[i, t, [index[s] for s in allowed]] = 1
            mask[i, t] = 1
    names = [f"is_{s}" for s in SYMBOLS]
    return Sequences(
        x,
        y,
        mask,
        "embedded_reber",
        "binary",
        feature_names=names,
        per_step=True,
        target_names=[f"next_{s}" for s in SYMBOLS],
    )


@dataset("adding", cells=lambda n, steps, seed: 3.0 * n * steps)
def adding(n: int = 2000, steps: int = 50, seed: int = 0) -> Sequences:
    """The adding problem: the sum of the two marked numbers of a long sequence.

    Each step holds a number drawn from U(0, 1) and a marker: 1 at one step of the
    first half and one of the second, else 0. The target, at the last step, is the sum
    of the two marked numbers. Predicting the mean sum (1) gives an MSE of 1/6 ≈ 0.167;
    the task counts as solved below 0.01 (an LSTM does it at T = 50; a plain
    recurrent network mostly stays at the baseline, Hochreiter and Schmidhuber 1997)."""
    if steps < 2:
        raise DataError(f"adding: steps must be at least 2, got {steps}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(size=(n, steps))
    marks = np.zeros((n, steps))
    half = steps // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, steps, size=n)
    rows = np.arange(n)
    marks[rows, first] = marks[rows, second] = 1
    x = np.stack([values, marks], axis=2)
    y = (values[rows, first] + values[rows, second])[:, None]
    return Sequences(
        x,
        y,
        None,
        f"adding{steps}",
        "regression",
        feature_names=["value", "marker"],
        per_step=False,
        target_names=["sum"],
    )
