"""The recurrent benchmark's hand-written references compute the plan's gradients (so the
benchmark compares equal work); the timing itself is a benchmark (``make bench``)."""

from __future__ import annotations

import numpy as np
import pytest

from bench import recurrent

ELMAN = {"W": "x->h.weight", "U": "h->h.weight", "b": "h.bias", "V": "h->y.weight", "c": "y.bias"}


@pytest.mark.parametrize("cell", ["elman", "lstm"])
def test_the_hand_written_loops_compute_the_plans_gradients(cell, monkeypatch):
    monkeypatch.setattr(recurrent, "T", 7)
    net = (recurrent.elman if cell == "elman" else recurrent.lstm)().astype("float64")
    x, t = (a.astype(np.float64) for a in recurrent._data(1))
    got = net.sequence_plan().backprop(x, t).grads
    hand = recurrent.hand_elman if cell == "elman" else recurrent.hand_lstm
    want = hand(recurrent._hand_params(net, cell), x, t)
    if cell == "elman":
        for key, param in ELMAN.items():
            np.testing.assert_allclose(got[param], want[key], rtol=1e-9, atol=1e-12)
        return
    h = recurrent.H
    for k, gate in enumerate(("i", "f", "o", "g")):
        cols = slice(k * h, (k + 1) * h)
        for key, param in (("W", f"x->h_{gate}.weight"), ("U", f"h->h_{gate}.weight")):
            np.testing.assert_allclose(got[param], want[key][:, cols], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got[f"h_{gate}.bias"], want["b"][cols], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["h->y.weight"], want["V"], rtol=1e-9, atol=1e-12)
