"""Truncated backpropagation through time (``bptt = K``): a step of the rule per chunk of
K steps, the state carried from chunk to chunk, checked against the tape reference run
chunk by chunk; whole sequences when K covers them; explain's promise and exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anyprop import Network
from anyprop.cli.main import main
from anyprop.errors import AnypropError
from anyprop.explain import explain_step
from anyprop.explain.names import parse_target
from anyprop.nn.sequence import sequence_forward, sequence_gradients
from anyprop.train.settings import SettingsError, TrainSettings
from anyprop.train.trainer import Trainer

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


def _net(learned=False):
    """Elman with a delay-2 loop too (a state two steps deep), and a learned start."""
    net = Network(seed=0, dtype="float64")
    net.add_input("x", 2)
    net.add_group("h", 5, transfer="tanh", initial_state="learned" if learned else "zero")
    net.add_output("y", 1, transfer="identity", loss="mse")
    net.connect("x", "h")
    net.connect("h", "h", delay=1)
    net.connect("h", "h", "one_to_one", delay=2, name="far")
    net.connect("h", "y")
    if learned:
        net.params["h.initial"][...] = np.linspace(-0.5, 0.5, 5)
    return net


def _data(n=6, steps=11, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 2))
    return x, 0.3 * np.cumsum(x[:, :, :1], axis=1)


@pytest.mark.parametrize("learned", [False, True])
def test_each_chunk_is_a_step_on_the_tapes_gradient_from_the_carried_state(learned):
    x, y = _data()
    net = _net(learned)
    tr = Trainer(net, "sgd", lr=0.05, batch_size=None, shuffle=False, bptt=4)
    ref = _net(learned)
    tr.fit((x, y), epochs=1)
    state = None  # the tape, chunk by chunk: 0–3, 4–7, 8–10
    for a in range(0, 11, 4):
        xc, yc = x[:, a : a + 4], y[:, a : a + 4]
        _, grads = sequence_gradients(ref, xc, yc, state=state)
        outs = sequence_forward(ref, xc, state=state)
        prev = state["h"] if state is not None else None
        state = {
            "h": np.concatenate([prev, outs["h"]], axis=1)[:, -2:]
            if prev is not None
            else outs["h"][:, -2:]
        }
        for k, g in grads.items():
            if k in ref.trainable():
                ref.params[k] -= 0.05 * g
    assert tr.optimizer.steps == 3
    for k, w in ref.params.items():
        np.testing.assert_allclose(net.params[k], w, rtol=1e-10, atol=1e-13, err_msg=k)
    if learned:  # only the first chunk starts from it
        assert not np.allclose(net.params["h.initial"], np.linspace(-0.5, 0.5, 5))


def test_a_chunk_as_long_as_the_sequences_is_whole_sequence_training():
    x, y = _data()
    a, b = _net(), _net()
    Trainer(a, "adam", lr=0.01, batch_size=4, seed=1).fit((x, y), epochs=3)
    Trainer(b, "adam", lr=0.01, batch_size=4, seed=1, bptt=50).fit((x, y), epochs=3)
    for k, w in a.params.items():
        np.testing.assert_array_equal(w, b.params[k])


def test_last_step_targets_train_only_the_chunk_holding_them():
    x, y = _data(n=8)
    mask = np.ones((8, 11))
    mask[:4, 6:] = 0  # half the sequences end in the second chunk
    tr = Trainer(_net(), "sgd", lr=0.05, batch_size=4, shuffle=False, bptt=3)
    history = tr.fit((x, y[:, -1], mask), epochs=1)
    # batch 1 (sequences 0–3) ends at step 5 (chunk 1); batch 2 at step 10 (chunk 3)
    assert tr.optimizer.steps == 2
    assert np.isfinite(history.epochs[-1]["loss"])


def test_resume_with_bptt_continues_exactly():
    x, y = _data()
    a = Trainer(_net(True), "sgd", lr=0.05, momentum=0.9, batch_size=4, seed=2, bptt=3)
    a.fit((x, y), epochs=4)
    b = Trainer(_net(True), "sgd", lr=0.05, momentum=0.9, batch_size=4, seed=2, bptt=3)
    b.fit((x, y), epochs=2)
    c = Trainer.from_state(b.network, b.state_dict())
    assert c.settings.bptt == 3
    c.fit((x, y), epochs=4)
    for k, w in a.network.params.items():
        np.testing.assert_array_equal(w, c.network.params[k])


def test_explain_takes_the_chunk_step_training_takes():
    x, y = _data()
    net = _net()
    tr = Trainer(net, "sgd", lr=0.05, momentum=0.9, batch_size=None, shuffle=False, bptt=4)
    tr.fit((x, y), epochs=1)
    e = explain_step(tr, (x, y), "h[1]->h[3]", batch=2, step=0)  # the third chunk, 8–10
    assert e.steps == 3 and any("truncated backpropagation" in n for n in e.notes)
    assert "the state the chunk before left before the first step" in e.to_text()
    assert e.through_time[0]["o_i"] != 0  # o(−1): the carried state, not zero
    assert e.relative_error < 1e-6
    copy = Trainer.from_state(net.astype(net.dtype), tr.state_dict())
    copy.fit((x, y), epochs=2)  # the epoch's three chunk steps, the last the one explained
    k = parse_target(net, "h[1]->h[3]").index
    assert float(copy.network.params["h->h.weight"].reshape(-1)[k]) == e.w_after
    with pytest.raises(AnypropError, match="the next epoch has 3 steps"):
        explain_step(tr, (x, y), "h[1]->h[3]", batch=3)


def test_bptt_is_checked_and_refused_on_tables():
    with pytest.raises(SettingsError, match="bptt must be a whole number of steps >= 1"):
        TrainSettings(bptt=0)
    tr = Trainer(Network.layered([2, 2, 1], seed=0), "sgd", bptt=5)
    with pytest.raises(AnypropError, match="applies to sequences"):
        tr.fit((np.zeros((4, 2)), np.zeros((4, 1))), epochs=1)


def test_the_cli_trains_with_bptt_and_keeps_it(tmp_path, capsys):
    model = tmp_path / "m.anyprop"
    args = ["train", str(SPECS / "elman.toml"), "--data", "temporal_xor", "--epochs", "2"]
    assert main([*args, "--bptt", "10", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["explain", str(model), "--weight", "h[0]->h[1]", "--batch", "1", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["steps"] == 10 and e["relative_error"] < 1e-4
    assert main(["train", "--data", "xor", "--bptt", "3", "--epochs", "1"]) == 2
    assert "applies to sequences" in capsys.readouterr().err
    assert main([*args, "--bptt", "0"]) == 2
    assert "bptt must be a whole number" in capsys.readouterr().err
