"""The classic sequence tasks at small sizes: the criteria read what they should, and the
temporal XOR is solved (the full runs over seeds: ``python -m bench.sequence_tasks``)."""

from __future__ import annotations

import numpy as np

from anyprop.datasets import load
from bench import sequence_tasks


def test_the_temporal_xor_is_solved_by_an_elman_network():
    task = sequence_tasks.TASKS[0]
    ok, figure, _ = sequence_tasks.run_task(task, "elman", seed=0)
    assert ok and figure == 1.0


def test_the_criteria():
    reber = next(t for t in sequence_tasks.TASKS if t.name == "embedded_reber")
    adding = next(t for t in sequence_tasks.TASKS if t.name == "adding")
    test = load("embedded_reber", n=8)

    class Perfect:  # outputs the targets themselves: every output on the right side
        def __init__(self, y):
            self.y = y

        def sequence_plan(self):
            return self

        def forward(self, x):
            return {"y": self.y}

    assert reber.solved(Perfect(test.y * 0.9 + 0.05), test) == (True, 1.0)
    wrong = test.y.copy()
    wrong[3, 0] = 1 - wrong[3, 0]  # one output wrong at the first step of one string
    assert reber.solved(Perfect(wrong), test) == (False, 7 / 8)
    sums = load("adding", n=10, steps=6)
    out = np.zeros((10, 6, 1))
    out[:, -1] = sums.y
    assert adding.solved(Perfect(out), sums) == (True, 0.0)
    assert not adding.solved(Perfect(out + 0.2), sums)[0]
