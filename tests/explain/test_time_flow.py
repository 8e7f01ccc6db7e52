"""Deltas through time: a plain recurrent network's fade backwards in time, an LSTM's
cell carries them (the vanishing-gradient picture)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anyprop import Network
from anyprop.cli.main import main
from anyprop.errors import AnypropError
from anyprop.explain import deltas_through_time
from anyprop.explain.time_flow import time_rows, time_warnings

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


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
    row = time_rows(fe)[0]
    assert row["group"] == "h" and row["steps_back"][0] == fe["h"][-1]
    assert row["steps_back"][10] == fe["h"][-11]
    assert row["per_step"] == pytest.approx((fe["h"][0] / fe["h"][-1]) ** (1 / 49))
    assert any("vanishing through time: h's" in w for w in time_warnings(fe))
    assert not any("h_c" in w for w in time_warnings(fl))


def test_report_shows_a_recurrent_models_deltas_through_time(tmp_path, capsys):
    model, png, page = tmp_path / "m.anyprop", tmp_path / "t.png", tmp_path / "r.html"
    args = ["train", str(SPECS / "elman.toml"), "--data", "temporal_xor", "--epochs", "2"]
    assert main([*args, "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["report", str(model), "--time-plot", str(png), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    groups = got["through_time"]["groups"]
    assert [g["group"] for g in groups] == ["h"] and groups[0]["steps_back"]["0"] > 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["report", str(model), "--out", str(page)]) == 0
    text = capsys.readouterr().out
    assert "How |δ| fades backwards in time" in text
    html = page.read_text()
    assert "Gradients through time" in html and "at t=" in html  # the weight, through time
    plain = tmp_path / "p.anyprop"
    assert main(["train", "--data", "xor", "--epochs", "1", "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main(["report", str(plain), "--time-plot", str(tmp_path / "x.png")]) == 2
    assert "has no delayed connection" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_a_network_without_a_recurrence_is_named():
    net = Network.layered([1, 3, 1], seed=0)
    with pytest.raises(AnypropError, match="no recurrence"):
        deltas_through_time(net, _x())
