"""Training on sequences through the one trainer: a step is the rule on BPTT's gradients,
epochs, validation, weights, exact resume, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import anyprop
from anyprop import Network
from anyprop.data.dataset import DataError
from anyprop.data.sequences import Sequences
from anyprop.errors import AnypropError
from anyprop.train.trainer import Trainer


def _elman(seed=0, dtype="float64"):
    net = Network(seed=seed, dtype=dtype)
    net.add_input("x", 1)
    net.add_group("h", 6, transfer="tanh")
    net.add_output("y", 1, transfer="sigmoid", loss="binary_cross_entropy")
    net.connect("x", "h")
    net.connect("h", "h", delay=1)
    net.connect("h", "y")
    return net


def _xor_data(n=32, steps=10, seed=0):
    """y(t) = x(t−1) xor x(t−2); the first two steps are masked out."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(n, steps, 1)).astype(float)
    y = np.zeros((n, steps, 1))
    y[:, 2:, 0] = np.logical_xor(x[:, 1:-1, 0], x[:, :-2, 0])
    mask = np.ones((n, steps))
    mask[:, :2] = 0
    return x, y, mask


def test_a_step_is_minus_lr_times_the_bptt_gradient():
    net = _elman()
    x, y, mask = _xor_data(n=8)
    before = {k: v.copy() for k, v in net.params.items()}
    grads = {k: v.copy() for k, v in net.sequence_plan().backprop(x, y, mask).grads.items()}
    trainer = Trainer(net, "sgd", lr=0.5, batch_size=None, shuffle=False)
    trainer.fit((x, y, mask), epochs=1)
    for k, w in net.params.items():
        np.testing.assert_allclose(w, before[k] - 0.5 * grads[k], rtol=1e-12, atol=1e-15)


def test_training_learns_the_temporal_xor_and_validates():
    net = _elman()
    x, y, mask = _xor_data(n=64)
    history = anyprop.fit(
        net,
        (x, y, mask),
        epochs=150,
        optimizer="adam",
        lr=0.03,
        batch_size=16,
        validation_split=0.25,
        verbose=False,
    )
    last = history.epochs[-1]
    assert last["loss"] < 0.05 < history.epochs[0]["loss"]
    assert last["val_loss"] < 0.1
    out = net.sequence_plan().forward(x)["y"]
    right = (out[:, 2:] > 0.5) == (y[:, 2:] > 0.5)
    assert right.mean() == 1.0


def test_the_epoch_loss_is_the_mean_over_kept_steps_of_the_batches():
    net = _elman()
    x, y, mask = _xor_data(n=8)
    mask[3, 5:] = 0
    ref = net.sequence_plan().evaluate(x, y, mask)[0]
    trainer = Trainer(net, "sgd", lr=0.0, batch_size=3, shuffle=False)
    logs = trainer.run_epoch(Sequences(x, y, mask), None)
    assert logs["loss"] == pytest.approx(ref, rel=1e-12)


def test_last_step_targets_and_class_indices():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 6, 2))
    labels = (x[:, :, 0].sum(axis=1) > 0).astype(int)  # the sign of a running sum
    net = Network(seed=0, dtype="float64")
    net.add_input("x", 2)
    net.add_lstm("h", 6, ["x"])
    net.add_output("y", 2, transfer="softmax", loss="cross_entropy")
    net.connect("h", "y")
    history = anyprop.fit(net, (x, labels), epochs=80, optimizer="adam", lr=0.05, verbose=False)
    assert history.epochs[-1]["accuracy"] == 1.0
    assert history.epochs[-1]["loss"] < history.epochs[0]["loss"] / 4


def test_resume_continues_exactly():
    x, y, mask = _xor_data(n=12)
    data = Sequences(x, y, mask)
    a = Trainer(_elman(), "sgd", lr=0.2, momentum=0.9, batch_size=4, seed=3)
    a.fit(data, epochs=4)
    b = Trainer(_elman(), "sgd", lr=0.2, momentum=0.9, batch_size=4, seed=3)
    b.fit(data, epochs=2)
    c = Trainer.from_state(b.network, b.state_dict())
    c.fit(data, epochs=4)
    for k, w in a.network.params.items():
        np.testing.assert_array_equal(w, c.network.params[k])


def test_sequence_weights_count_per_sequence():
    x, y, mask = _xor_data(n=6)
    net1, net2 = _elman(), _elman()
    Trainer(net1, "sgd", lr=0.3, shuffle=False).fit(
        (x, y, mask), epochs=1, sample_weight=[2, 2, 2, 2, 2, 2]
    )
    Trainer(net2, "sgd", lr=0.6, shuffle=False).fit((x, y, mask), epochs=1)
    for k, w in net1.params.items():
        np.testing.assert_allclose(w, net2.params[k], rtol=1e-12)


def test_bad_sequences_are_named():
    x, y, mask = _xor_data(n=4)
    with pytest.raises(DataError, match="targets at every step have shape"):
        Sequences(x, y[:, :3])
    with pytest.raises(DataError, match=r"mask must be \(4, 10\)"):
        Sequences(x, y, mask[:, :3])
    bad = mask.copy()
    bad[2] = 0
    with pytest.raises(DataError, match="sequence 2 has no step"):
        Sequences(x, y, bad)
    nan = x.copy()
    nan[1, 2, 0] = np.nan
    with pytest.raises(DataError, match="sequence 1, step 2"):
        Sequences(nan, y)
    net = _elman()
    with pytest.raises(AnypropError, match="2 input features per step"):
        anyprop.fit(net, (np.zeros((4, 10, 2)), y), epochs=1, verbose=False)
    with pytest.raises(AnypropError, match="runs over sequences"):
        anyprop.fit(net, (x[:, 0], y[:, 0]), epochs=1, verbose=False)
