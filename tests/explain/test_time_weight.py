"""explain through time: one weight's update on a recurrent network, every number read off
the trainer's own step, the terms by step summing to the gradient, each δ(t) rebuilt from
its terms, and the gradient checked against finite differences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anyprop import Network
from anyprop.cli.main import main
from anyprop.errors import AnypropError
from anyprop.explain import explain_step, explain_weight
from anyprop.explain.names import parse_target
from anyprop.train.trainer import Trainer
from tests.nn.test_recurrent_plan import NETWORKS, _data
from tests.train.test_sequence_training import _elman as sequence_elman

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


def _weights(net):
    """One weight of every connection (its first unit pair) and one bias of every group."""
    names = []
    for c in net.connections.values():
        src, tgt, _ = c.unit_pairs(net.params[c.param].shape)
        names.append(f"{c.src}[{src[0]}]->{c.tgt}[{tgt[0]}]")
    for g in net.groups.values():
        if g.bias_param is not None:
            names.append(f"{g.name}.bias[{g.size - 1}]")
    return names


def _rebuilt(d):
    """δ from its own terms, as the rule builds it: f'·(Σ terms + ∂L/∂o) (+ the fused part)."""
    inner = d.terms_sum + (d.loss_gradient or 0.0)
    if d.fused:
        return d.fused_part + (d.derivative or 0.0) * d.terms_sum
    return (d.derivative + d.prime_offset) * inner


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_every_weight_through_time_sums_its_terms_and_matches_finite_differences(name):
    net = NETWORKS[name]()
    x, t = _data(net)
    for weight in _weights(net):
        target = parse_target(net, weight)
        shared = sum(c.param == target.param for c in net.connections.values()) > 1
        e = explain_weight(net, x, t, weight, depth=2, top=50)
        assert e.relative_error < 1e-6 or abs(e.numeric - e.plain_gradient) < 10 * e.rounding
        trained = target.param in net.trainable()
        if trained:  # (a fixed weight's step uses no gradient: its Δw is 0)
            assert e.plain_gradient == pytest.approx(e.gradient, rel=1e-12, abs=1e-15)
            assert e.step == pytest.approx(-0.01 * e.gradient, rel=1e-8, abs=1e-18)
        else:
            assert e.step == 0
        if not shared:  # the terms by sequence and step are the whole gradient
            total = sum(e.per_sample)
            assert total == pytest.approx(e.plain_gradient, rel=1e-10, abs=1e-14)
        row = e.through_time[e.step_shown]
        assert row["delta"] == e.delta.value and row["term"] == e.contribution
        gate = 1.0 if row["gate"] is None else row["gate"]
        assert row["term"] == pytest.approx(row["o_i"] * gate * row["delta"], rel=1e-12)
        d = e.delta
        if d.jacobian is None:
            assert _rebuilt(d) == pytest.approx(d.value, rel=1e-9, abs=1e-15), (weight, d.unit)
        for term in d.terms:
            factor = term.weight * (1.0 if term.gate is None else term.gate)
            assert term.product == pytest.approx(factor * term.delta, rel=1e-12)
            if term.expansion is not None and term.expansion.jacobian is None:
                assert _rebuilt(term.expansion) == pytest.approx(term.delta, rel=1e-9, abs=1e-15)


def _elman(dtype="float32"):
    return sequence_elman(seed=1, dtype=dtype)


def _sequences(n=10, steps=7, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, 1))
    y = (rng.random((n, steps, 1)) > 0.5).astype(float)
    mask = np.ones((n, steps))
    mask[::3, 5:] = 0  # some sequences shorter than others
    return x, y, mask


def test_the_explained_step_is_the_step_training_takes_digit_for_digit():
    net = _elman()
    x, y, mask = _sequences()
    tr = Trainer(net, "sgd", lr=0.3, momentum=0.9, batch_size=4, seed=3)
    tr.fit((x, y, mask), epochs=2)  # momentum state, a shuffled order
    for batch in (0, 2):
        e = explain_step(tr, (x, y, mask), "h[1]->h[2]", batch=batch, sample=1, step=3)
        assert e.step_shown == 3 and e.batches == 3 and e.batch == batch
        copy = Trainer.from_state(net.astype(net.dtype), tr.state_dict())
        copy.fit((x, y, mask), epochs=3)  # the real third epoch, from the same state
        if batch == 2:  # the last step of the epoch: the weight the epoch leaves
            c = net.connections["h->h"]
            k = parse_target(net, "h[1]->h[2]").index
            assert float(copy.network.params[c.param].reshape(-1)[k]) == e.w_after
    assert any("mask" in note for note in e.notes)
    before = explain_step(tr, (x, y, mask), "y.bias[0]")
    assert before.w == float(net.params[net.groups["y"].bias_param][0])  # tr unchanged


def test_last_step_targets_and_sample_weights_through_time():
    net = _elman("float64")
    x, _, mask = _sequences()
    last = (x[:, :, 0].sum(axis=1, keepdims=True) > 0).astype(float)
    w = np.linspace(0.5, 2.0, len(x))
    e = explain_weight(net, x, last, "x[0]->h[3]", mask=mask, sample_weight=w)
    assert e.relative_error < 1e-7
    taken = [r["t"] for r in e.through_time if r["taken"]]
    assert taken == [4]  # sample 0's last kept step (its steps 5 and 6 are masked)
    assert sum(e.per_sample) == pytest.approx(e.gradient, rel=1e-10)


def test_the_text_names_terms_by_time_and_step_picks_the_expanded_one():
    net = _elman("float64")
    x, y, _ = _sequences(n=3, steps=5)
    e = explain_weight(net, x, y, "h[0]->h[1]", step=2)
    text = e.to_text()
    assert "δ of h[1] at t=2" in text and "at t=3" in text and "(delay 1)" in text
    assert "o_i = output of h[0], 1 step earlier" in text
    assert "t=2:" in text and "← expanded below" in text
    assert e.through_time[0]["o_i"] == 0.0  # o(−1) = 0: the state before the first step
    json.dumps(e.to_dict())


def test_bad_steps_and_data_of_the_wrong_kind_are_named():
    net = _elman("float64")
    x, y, _ = _sequences(n=3, steps=5)
    with pytest.raises(AnypropError, match="step 5 is out of range: the sequences have 5"):
        explain_weight(net, x, y, "h[0]->h[1]", step=5)
    with pytest.raises(AnypropError, match="sample 3 is out of range"):
        explain_weight(net, x, y, "h[0]->h[1]", sample=3)
    with pytest.raises(AnypropError, match="runs over sequences"):
        explain_weight(net, x[:, 0], y[:, 0], "h[0]->h[1]")
    plain = Network.layered([2, 3, 1], seed=0)
    with pytest.raises(AnypropError, match="names a time step"):
        explain_weight(plain, x[:, 0], y[:, 0], "h1[0]->output[0]", step=1)


def test_the_cli_explains_a_trained_recurrent_model_through_time(tmp_path, capsys):
    model = tmp_path / "elman.anyprop"
    spec = str(SPECS / "elman.toml")
    args = ["train", spec, "--data", "temporal_xor", "--epochs", "2", "--out", str(model)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["explain", str(model), "--weight", "h[0]->h[1]", "--step", "4"]) == 0
    text = capsys.readouterr().out
    assert "δ of h[1] at t=4" in text and "check: ∂L/∂w by finite differences" in text
    assert main(["explain", str(model), "--weight", "h.bias[0]", "--json", "--sample", "2"]) == 0
    e = json.loads(capsys.readouterr().out)
    assert e["sample"] == 2 and len(e["through_time"]) == e["steps"]
    assert e["relative_error"] < 1e-5
    assert main(["explain", spec, "--data", "temporal_xor", "--weight", "x[0]->h[0]"]) == 0
    assert "Σ over the" in capsys.readouterr().out
    assert main(["explain", str(model), "--weight", "h[0]->h[1]", "--step", "999"]) == 2
    assert "step 999 is out of range" in capsys.readouterr().err
