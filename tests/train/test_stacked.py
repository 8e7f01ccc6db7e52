"""Runs trained together, stacked, against the same runs trained alone: the same epochs,
the same solved epochs and the same weights, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network
from anyprop.datasets import load
from anyprop.train.callbacks import EarlyStopping
from anyprop.train.divergence import TrainingError
from anyprop.train.stacked import Diverged, train_together, unstackable
from anyprop.train.trainer import Trainer


def xor_net(seed, dtype="float64"):
    net = Network(seed=seed, dtype=dtype)
    net.add_input("x", 2)
    net.add_group("h", 2, transfer="sigmoid")
    net.add_output("y", 1, transfer="sigmoid", loss="mse")
    net.connect("x", "h")
    net.connect("h", "y")
    return net


def class_net(seed, dtype="float64"):  # a skip, a merge, softmax with cross-entropy
    net = Network(seed=seed, dtype=dtype)
    net.add_input("x", 4)
    net.add_group("a", 5, transfer="tanh")
    net.add_group("b", 3, transfer="relu")
    net.add_output("y", 3, transfer="softmax", loss="cross_entropy")
    for s, t in [("x", "a"), ("a", "b"), ("b", "y"), ("x", "y")]:
        net.connect(s, t)
    return net


def _pair(make, seeds, optimizer, **options):
    """Two trainers per seed on equal networks: one to run alone, one to stack."""

    def one(k):
        return Trainer(make(k), optimizer, seed=k, compile="never", **options)

    return [one(k) for k in seeds], [one(k) for k in seeds]


CASES = [
    ("xor", xor_net, "sgd", {"lr": 2.0, "momentum": 0.9, "loss_reduction": "sum"}, 300, None),
    ("xor", xor_net, "sgd", {"lr": 0.5, "momentum": 0.9, "nesterov": True}, 200, 0.05),
    ("xor", xor_net, "adam", {"lr": 0.1, "batch_size": 3, "weight_decay": 1e-3}, 150, None),
    ("iris", class_net, "sgd", {"lr": 0.05, "momentum": 0.5, "batch_size": 32}, 6, None),
    ("iris", class_net, "rmsprop", {"lr": 0.01, "batch_size": 50, "shuffle": False}, 4, 0.3),
]


@pytest.mark.parametrize("data, make, optimizer, options, epochs, target", CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_each_stacked_run_is_its_run_alone(data, make, optimizer, options, epochs, target, dtype):
    data = load(data)
    alone, together = _pair(lambda k: make(k, dtype), range(5), optimizer, **options)
    for t in alone:
        t.fit(data, epochs, target_loss=target, stop_when_solved=True)
    assert unstackable(together, data, None, None) is None
    outcomes = train_together(together, data, epochs, target, stop_when_solved=True)
    for a, b, o in zip(alone, together, outcomes, strict=True):
        assert (o.epochs, o.solved_epoch, o.stop_reason) == (
            a.epoch,
            a.history.solved_epoch,
            a.history.stop_reason,
        )
        assert b.epoch == a.epoch and b.history.solved_epoch == a.history.solved_epoch
        for name, w in a.network.params.items():
            np.testing.assert_array_equal(b.network.params[name], w, err_msg=name)
        # the generators drew the same orders: the next epoch's is the same too
        assert a.rng.bit_generator.state == b.rng.bit_generator.state


def test_runs_that_stop_early_leave_the_stack_and_the_rest_go_on():
    data = load("xor")
    alone, together = _pair(xor_net, range(8), "sgd", lr=2.0, momentum=0.9, loss_reduction="sum")
    for t in alone:
        t.fit(data, 400, stop_when_solved=True)
    epochs = [t.epoch for t in alone]
    assert len(set(epochs)) > 2  # (the seeds stop at different epochs: the stack shrinks)
    got = train_together(together, data, 400, stop_when_solved=True)
    assert [o.epochs for o in got] == epochs


def test_a_step_gone_non_finite_is_left_to_the_run_alone():
    data = load("xor")

    def linear(seed):
        net = Network(seed=seed, dtype="float64")
        net.add_input("x", 2)
        net.add_output("y", 1, transfer="identity", loss="mse")
        net.connect("x", "y")
        return net

    with pytest.raises(TrainingError, match="epoch"):  # alone, it says where
        Trainer(linear(0), "sgd", seed=0, lr=1e200).fit(data, 50)
    together = [Trainer(linear(k), "sgd", seed=k, lr=1e200) for k in range(2)]
    with pytest.raises(Diverged):
        train_together(together, data, 50)


def test_a_step_schedule_is_followed():
    data = load("xor")
    opts = {"lr": 1.0, "momentum": 0.5, "schedule": {"name": "step", "step_size": 20}}
    alone, together = _pair(xor_net, range(3), "sgd", **opts)
    for t in alone:
        t.fit(data, 60)
    train_together(together, data, 60)
    for a, b in zip(alone, together, strict=True):
        for name, w in a.network.params.items():
            np.testing.assert_array_equal(b.network.params[name], w)


def _reason(**options):
    trainers = [Trainer(xor_net(k), seed=k, **options) for k in range(2)]
    return unstackable(trainers, load("xor"), None, None)


def test_what_keeps_runs_apart_is_named():
    data = load("xor")
    plain = [Trainer(xor_net(k), seed=k) for k in range(2)]
    assert unstackable(plain, data, data, None) == "each run has a validation part of its own"
    assert unstackable(plain, data, None, np.ones(4)) == "the samples are weighted"
    assert "clip_norm" in _reason(clip_norm=1.0)
    assert "watches" in _reason(schedule={"name": "plateau"})
    assert "prime_offset" in _reason(prime_offset=0.1)
    assert _reason(class_weight={"0": 2.0}) == "the classes are weighted"
    assert "compile='always'" in _reason(compile="always")
    assert "callbacks" in unstackable(
        [Trainer(xor_net(0), callbacks=[EarlyStopping("loss", 3)])], data, None, None
    )
    rule = [Trainer(xor_net(k), "formula", seed=k, rule="w - lr * g") for k in range(2)]
    assert unstackable(rule, data, None, None) == "optimizer 'formula' is not elementwise"
    mixed = [Trainer(xor_net(0), lr=0.1), Trainer(xor_net(1), lr=0.2)]
    assert unstackable(mixed, data, None, None) == "the runs' options differ"
    shapes = [Trainer(xor_net(0)), Trainer(class_net(1))]
    assert unstackable(shapes, data, None, None) == "the networks differ in shape"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_target_loss_met_to_the_last_bit_stops_where_the_run_alone_stops(dtype, reduction):
    """Each run's loss by the same calls on its own rows: a target equal to an epoch's own
    loss (the tie where a sum in another order would stop an epoch late or early)."""
    data = load("xor")
    opts = {"lr": 0.5, "momentum": 0.9, "loss_reduction": reduction, "batch_size": 3}
    for k in range(4):
        probe = Trainer(xor_net(k, dtype), "sgd", seed=k, compile="never", **opts)
        probe.fit(data, 40)
        target = probe.history.epochs[24]["loss"]  # the 25th epoch's loss, exactly
        alone, together = _pair(lambda s, k=k: xor_net(k, dtype), [k, k], "sgd", **opts)
        alone[0].fit(data, 40, target_loss=target)
        got = train_together(together, data, 40, target)
        assert got[0].epochs == alone[0].epoch <= 25
        assert got[0].loss == alone[0].history.epochs[-1]["loss"]


def test_a_loss_gone_non_finite_with_finite_deltas_is_left_to_the_run_alone():
    import dataclasses

    data = load("xor")
    data = dataclasses.replace(data, y=np.asarray(data.y, float) * 1e30)  # (o − t)² overflows
    net = lambda k: xor_net(k, "float32")  # noqa: E731
    with pytest.raises(TrainingError, match="the loss became inf"):
        Trainer(net(0), "sgd", seed=0, lr=1e-40).fit(data, 3)
    with pytest.raises(Diverged):
        train_together([Trainer(net(k), "sgd", seed=k, lr=1e-40) for k in range(2)], data, 3)


def test_what_fit_refuses_train_together_refuses(monkeypatch):
    from anyprop.errors import AnypropError

    data = load("xor")
    with pytest.raises(AnypropError, match="target loss must be a number"):
        train_together([Trainer(xor_net(0))], data, 3, float("nan"))
    with pytest.raises(AnypropError, match="bptt = 5"):
        train_together([Trainer(xor_net(0), bptt=5)], data, 3)
    with pytest.raises(AnypropError, match="epochs must be"):
        train_together([Trainer(xor_net(0))], data, -1)
    monkeypatch.setenv("ANYPROP_MEMORY_LIMIT", "1K")
    with pytest.raises(AnypropError, match="more than the 1 KiB"):
        train_together([Trainer(xor_net(0))], data, 3)
