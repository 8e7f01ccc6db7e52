"""Deltas through time: a plain recurrent network's fade backwards in time, an LSTM's
cell carries them (the vanishing-gradient picture)."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network
from anyprop.errors import AnypropError
from anyprop.explain import deltas_through_time


def _x():
    return np.random.default_rng(0).normal(size=(16, 50, 1))


def test_an_elman_networks_deltas_vanish_and_an_lstms_cell_keeps_them():
    elman = Network(seed=0, dtype="float64")
    elman.add_input("x", 1)
    elman.add_group("h", 16, transfer="tanh")
    elman.add_output("y", 1, transfer="identity", loss="mse")
    elman.connect("x", "h")
    elman.connect("h", "h", delay=1)
    elman.connect("h", "y")
    lstm = Network(seed=0, dtype="float64")
    lstm.add_input("x", 1)
    lstm.add_lstm("h", 16, ["x"])
    lstm.add_output("y", 1, transfer="identity", loss="mse")
    lstm.connect("h", "y")
    lstm.params["h_f.bias"][...] = 3.0  # a forget gate near 1
    fe, fl = deltas_through_time(elman, _x()), deltas_through_time(lstm, _x())
    assert fe["h"].shape == (50,) and set(fl) >= {"h", "h_c", "h_i"}
    assert fe["h"][0] / fe["h"][-1] < 1e-2  # 49 steps back: almost nothing left
    assert fl["h_c"][0] / fl["h_c"][-1] > 0.5  # the cell carries its deltas


def test_a_network_without_a_recurrence_is_named():
    net = Network.layered([1, 3, 1], seed=0)
    with pytest.raises(AnypropError, match="no recurrence"):
        deltas_through_time(net, _x())
