"""The fit loop: determinism, exact resume, convergence, stopping rules, failures."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network, datasets, fit
from anyprop.nn.unitgraph import from_units
from anyprop.train import EarlyStopping, GradientStats, PrintLogger, Trainer, TrainingError
from anyprop.train.model_io import load_model


def digits_small():
    d = datasets.load("digits")
    d.x = d.x / 16
    return d.subset(np.arange(300))


def mlp(seed=0):
    return Network.layered(
        [64, 16, 10], transfer="tanh", output_transfer="softmax", loss="cross_entropy", seed=seed
    )


def params(net):
    return {k: v.copy() for k, v in net.params.items()}


def strip_time(history):
    return [{k: v for k, v in e.items() if k != "time"} for e in history.epochs]


def test_a_fixed_seed_gives_a_bitwise_identical_run():
    runs = []
    for _ in range(2):
        net = mlp()
        h = fit(
            net,
            digits_small(),
            optimizer="adam",
            lr=0.01,
            batch_size=32,
            epochs=3,
            validation_split=0.2,
            seed=7,
            verbose=False,
        )
        runs.append((params(net), strip_time(h)))
    for k in runs[0][0]:
        np.testing.assert_array_equal(runs[0][0][k], runs[1][0][k])
    assert runs[0][1] == runs[1][1]


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "adam", "lr": 0.01},
        {"name": "sgd", "lr": 0.1, "momentum": 0.9},
        {"name": "formula", "rule": "w - lr*g + 0.5*dw", "lr": 0.1},
    ],
)
def test_resume_equals_uninterrupted_bitwise(tmp_path, optimizer):
    data = digits_small()
    whole = mlp()
    t1 = Trainer(
        whole,
        dict(optimizer),
        batch_size=32,
        seed=3,
        schedule={"name": "step", "step_size": 2, "gamma": 0.5},
        callbacks=[EarlyStopping("val_loss", patience=50)],
    )
    t1.fit(data, 6, validation_split=0.25)

    part = mlp()
    t2 = Trainer(
        part,
        dict(optimizer),
        batch_size=32,
        seed=3,
        schedule={"name": "step", "step_size": 2, "gamma": 0.5},
        callbacks=[EarlyStopping("val_loss", patience=50)],
    )
    t2.fit(data, 2, validation_split=0.25)
    t2.save(str(tmp_path / "ckpt.anyprop"))
    model = load_model(tmp_path / "ckpt.anyprop")
    t3 = Trainer.from_state(
        model.network, model.trainer_state, callbacks=[EarlyStopping("val_loss", patience=50)]
    )
    t3.fit(data, 6, validation_split=0.25)
    for k in whole.params:
        np.testing.assert_array_equal(whole.params[k], model.network.params[k])
    assert strip_time(t1.history) == strip_time(t3.history)


def test_xor_and_the_encoder_converge():
    net = Network.layered([2, 2, 1], transfer="sigmoid", seed=2, init={"name": "uniform", "r": 0.5})
    h = fit(
        net,
        datasets.load("xor"),
        optimizer="sgd",
        lr=2.0,
        momentum=0.9,
        epochs=2000,
        stop_when_solved=True,
        seed=0,
        verbose=False,
    )
    assert h.solved_epoch is not None and h.stop_reason.startswith("solved")
    assert h.last("accuracy") == 1.0
    net = Network.layered([8, 3, 8], transfer="sigmoid", seed=0)
    h = fit(
        net,
        datasets.load("encoder"),
        optimizer="adam",
        lr=0.05,
        epochs=3000,
        stop_when_solved=True,
        seed=0,
        verbose=False,
    )
    assert h.solved_epoch is not None


def test_online_and_minibatch_learning():
    for batch in ("online", 2):
        net = Network.layered([2, 4, 1], transfer="tanh", output_transfer="sigmoid", seed=1)
        h = fit(
            net,
            datasets.load("xor"),
            optimizer="sgd",
            lr=0.5,
            batch_size=batch,
            epochs=400,
            seed=0,
            verbose=False,
        )
        assert h.last("loss") < 0.05


def test_early_stopping_restores_the_best_weights():
    net = mlp()
    es = EarlyStopping("val_loss", patience=2)
    h = fit(
        net,
        digits_small(),
        optimizer="adam",
        lr=0.2,
        batch_size=16,
        epochs=60,
        validation_split=0.3,
        callbacks=[es],
        seed=0,
        verbose=False,
    )
    assert h.stop_reason.startswith("early stopping")
    assert h.restored_epoch == es.best_epoch
    np.testing.assert_array_equal(net.params["h1.bias"], es.best_params["h1.bias"])


def test_target_loss_stops():
    net = Network.layered([2, 4, 1], transfer="tanh", output_transfer="sigmoid", seed=1)
    h = fit(
        net,
        datasets.load("xor"),
        optimizer="adam",
        lr=0.05,
        epochs=5000,
        target_loss=0.01,
        seed=0,
        verbose=False,
    )
    assert h.stop_reason == "target loss 0.01 reached" and h.last("loss") <= 0.01
    assert len(h) < 5000


def test_a_diverging_run_stops_with_a_clear_message_and_good_weights():
    net = Network.layered([2, 8, 1], transfer="identity", loss="mse", seed=0)
    x = np.random.default_rng(0).normal(size=(20, 2)) * 100
    y = x.sum(axis=1, keepdims=True)
    with pytest.raises(
        TrainingError,
        match=r"epoch \d+, batch 1: .*(loss became|gradient).*"
        r"learning rate too large",
    ) as info:
        fit(net, (x, y), optimizer="sgd", lr=10.0, epochs=100, seed=0, verbose=False)
    assert "first group whose deltas went non-finite" in str(info.value) or "loss became" in str(
        info.value
    )
    assert all(np.isfinite(v).all() for v in net.params.values())


def test_sample_and_class_weights():
    net = Network.layered([2, 2], transfer="softmax", loss="cross_entropy", seed=0)
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1])
    trainer = Trainer(net, "sgd", lr=0.0, seed=0)
    base = trainer.run_epoch(datasets.load("xor").__class__(x, y, task="classification"), None)
    weighted = trainer.run_epoch(
        datasets.load("xor").__class__(x, y, task="classification"), np.array([0.0, 1.0, 1.0])
    )
    per = net.backprop(x, y).loss * 3  # the sum of the three per-sample losses
    only0 = net.backprop(x[:1], y[:1]).loss
    assert weighted["loss"] == pytest.approx((per - only0) / 3)
    assert base["loss"] == pytest.approx(per / 3)
    t = Trainer(net, "sgd", lr=0.0, class_weight={0: 0.0}, seed=0)
    w = t.sample_weights(datasets.load("xor").__class__(x, y, task="classification"), None)
    assert w.tolist() == [0.0, 1.0, 1.0]


def test_gradient_statistics_are_recorded():
    net = mlp()
    stats = GradientStats()
    h = fit(
        net,
        digits_small(),
        optimizer="sgd",
        lr=0.1,
        batch_size=50,
        epochs=2,
        callbacks=[stats],
        seed=0,
        verbose=False,
    )
    record = h.gradients[-1]
    assert {"delta/h1", "delta/output", "grad/input->h1.weight", "saturated/h1"} <= set(record)
    assert 0.0 <= record["saturated/h1"] <= 1.0


def test_fahlman_prime_offset_and_atanh_error():
    from anyprop.nn.plan import Options

    net = Network.layered([2, 2, 1], transfer="sigmoid", seed=0, dtype="float64")
    x, t = datasets.load("xor").x, datasets.load("xor").y
    plain = net.backprop(x, t)
    d0 = plain.deltas["output"].copy()
    o = plain.outputs["output"].copy()
    shifted = net.backprop(x, t, options=Options(prime_offset=0.1)).deltas["output"].copy()
    np.testing.assert_allclose(shifted, d0 + 0.1 * (o - t) / 4, rtol=1e-12)
    at = net.backprop(x, t, options=Options(atanh_error=True)).deltas["output"]
    np.testing.assert_allclose(at, o * (1 - o) * np.arctanh(o - t) / 4, rtol=1e-10)


def test_training_options_do_not_stay_on_the_network():
    net = Network.layered([2, 3, 2], transfer="sigmoid", seed=0, dtype="float64")
    x, t = datasets.load("xor").x, np.eye(2)[[0, 1, 1, 0]]
    before_loss = net.loss(x, t)
    before = net.backprop(x, t).grads["output.bias"].copy()
    fit(
        net,
        (x, t),
        epochs=1,
        lr=0.0,
        prime_offset=0.1,
        loss_reduction="sum",
        atanh_error=True,
        verbose=False,
    )
    assert net.loss(x, t) == before_loss
    np.testing.assert_array_equal(net.backprop(x, t).grads["output.bias"], before)


def test_a_unit_graph_trains():
    g = from_units([(0, 2), (1, 2), (0, 3), (1, 3), (2, 3)], transfer="sigmoid", seed=3)
    h = fit(
        g,
        datasets.load("xor"),
        optimizer="sgd",
        lr=2.0,
        momentum=0.9,
        epochs=3000,
        stop_when_solved=True,
        seed=0,
        verbose=False,
    )
    assert h.solved_epoch is not None


def test_training_mistakes():
    net = mlp()
    with pytest.raises(Exception, match="64 input units"):
        fit(net, (np.zeros((3, 5)), np.zeros(3, dtype=int)), epochs=1, verbose=False)
    with pytest.raises(Exception, match="batch_size"):
        fit(net, digits_small(), batch_size=0, epochs=1, verbose=False)
    with pytest.raises(Exception, match="watches 'val_loss'"):
        fit(net, digits_small(), epochs=1, callbacks=[EarlyStopping()], verbose=False)


def test_the_standardisation_is_fitted_on_the_training_part_only():
    from anyprop.train.job import TrainJob, run, split_seed_for

    result = run(
        TrainJob(data="digits", epochs=1, validation_split=0.25, optimizer="adam", out=None, seed=5)
    )
    full = datasets.load("digits")
    train, _ = full.split(0.25, np.random.default_rng(split_seed_for(5)))
    np.testing.assert_allclose(result.standardizer.mean, train.x.mean(axis=0))
    assert not np.allclose(result.standardizer.mean, full.x.mean(axis=0))


def test_fit_takes_a_loss_and_clipping():
    net = Network.layered([2, 3, 1], transfer="tanh", output_transfer="sigmoid", seed=1)
    h = fit(
        net,
        datasets.load("xor"),
        loss="binary_cross_entropy",
        optimizer="sgd",
        lr=0.5,
        momentum=0.9,
        clip_norm=1.0,
        epochs=200,
        seed=0,
        verbose=False,
    )
    assert net.groups["output"].loss.name == "binary_cross_entropy"
    assert h.last("loss") < h["loss"][0]


def test_sample_weights_follow_the_validation_split():
    d = digits_small()
    h = fit(
        mlp(),
        d,
        epochs=1,
        validation_split=0.25,
        sample_weight=np.ones(len(d)),
        seed=0,
        verbose=False,
    )
    assert len(h) == 1


def test_the_summed_loss_does_not_depend_on_the_batch_size():
    x, y = datasets.load("xor").x, datasets.load("xor").y
    losses = []
    for batch in (None, 2, 1):
        net = Network.layered([2, 2, 1], transfer="sigmoid", seed=0, dtype="float64")
        h = fit(
            net,
            (x, y),
            lr=0.0,
            batch_size=batch,
            epochs=1,
            loss_reduction="sum",
            shuffle=False,
            verbose=False,
        )
        losses.append(h.last("loss"))
    np.testing.assert_allclose(losses, losses[0], rtol=1e-12)


def test_a_state_dict_is_a_snapshot():
    tr = Trainer(mlp(), "sgd", lr=0.1, lr_scale={"h1.*": 0.5}, batch_size=50, seed=0)
    data = digits_small()
    tr.fit(data, 2)
    sd = tr.state_dict()
    tr.fit(data, 4)
    assert len(sd["history"]["epochs"]) == 2
    sd["optimizer"]["config"]["lr_scale"]["h1.*"] = 9.0
    assert tr.optimizer.lr_scale["h1.*"] == 0.5


def test_resuming_gives_each_callback_its_own_state_whatever_their_order(tmp_path):
    """fit(target_loss=...) puts a stop rule first, and the CLI its progress bar: the
    saved states must still reach the callbacks they belong to."""
    from anyprop.train import Checkpoint
    from anyprop.train.model_io import load_model

    path = tmp_path / "m.anyprop"
    net = Network.layered([2, 3, 1], transfer="tanh", seed=0)
    tr = Trainer(
        net, "sgd", lr=0.1, seed=0, callbacks=[EarlyStopping("loss", 3), Checkpoint(str(path))]
    )
    tr.fit(datasets.load("xor"), 4, target_loss=1e-9)
    m = load_model(path)
    es = EarlyStopping("loss", 3)
    again = Trainer.from_state(m.network, m.trainer_state, callbacks=[PrintLogger(every=100), es])
    assert es.best == tr.callbacks[0].best and es.best_epoch == tr.callbacks[0].best_epoch
    again.fit(datasets.load("xor"), 6, target_loss=1e-9)


def test_early_stopping_restores_the_optimizer_state_of_the_best_epoch_with_its_weights():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    xv, yv = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    net = Network.layered([2, 16, 1], transfer="tanh", output_transfer="identity", seed=0)
    states = {}

    class Record(EarlyStopping):
        def on_epoch_end(self, trainer, logs):
            states[trainer.epoch] = trainer.optimizer.state_dict()
            super().on_epoch_end(trainer, logs)

    es = Record("val_loss", patience=2)
    tr = Trainer(net, "adam", lr=0.2, seed=0, callbacks=[es])
    tr.fit((x, y), 60, validation=(xv, yv))
    assert tr.history.restored_epoch is not None
    best = states[es.best_epoch]
    now = tr.optimizer.state_dict()
    assert now["steps"] == best["steps"]
    for name, s in best["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(now["state"][name][k], v)


@pytest.mark.parametrize("metrics", [None, ["accuracy", "mse"]])
def test_an_epoch_in_little_memory_is_the_epoch_in_full(monkeypatch, metrics):
    """Class targets kept as indices and made one-hot batch by batch, batches gathered into
    buffers kept for the epoch, and accuracy counted batch by batch (instead of keeping the
    epoch's outputs): the same figures and weights as the whole arrays give."""
    from anyprop.train.evaluation import Prepared

    data = digits_small()

    def run(compact):
        monkeypatch.setattr(Prepared, "COMPACT_BYTES", 0 if compact else 1 << 60)
        monkeypatch.setattr(Trainer, "PERMUTE_BYTES", 0 if compact else 1 << 60)
        monkeypatch.setattr(Trainer, "STREAM_BYTES", 0 if compact else 1 << 60)
        t = Trainer(mlp(), "sgd", lr=0.1, batch_size=64, seed=3, metrics=metrics)
        t.fit(data, 3)
        return t

    small, full = run(True), run(False)
    assert strip_time(small.history) == strip_time(full.history)
    for k, v in params(full.network).items():
        np.testing.assert_array_equal(small.network.params[k], v)
    monkeypatch.setattr(Prepared, "COMPACT_BYTES", 0)
    p = Prepared.of(mlp(), data)
    monkeypatch.setattr(Prepared, "COMPACT_BYTES", 1 << 60)
    q = Prepared.of(mlp(), data)
    assert p.classes is not None and q.classes is None
    np.testing.assert_array_equal(p.y, q.y)  # made whole when asked for
    np.testing.assert_array_equal(p.exact, q.exact)
    np.testing.assert_array_equal(p.one_hot(np.array([4, 0])), q.y[[4, 0]])
