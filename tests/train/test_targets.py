"""Regression targets standardised for training; class labels given as whole numbers."""

from __future__ import annotations

import io

import numpy as np
import pytest

import anyprop
from anyprop.cli import main
from anyprop.explain import explain_step
from anyprop.train.job import TrainJob, run, training_data
from anyprop.train.trainer import Trainer


def regression_csv(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = 150 + 60 * x[:, 0] - 20 * x[:, 1] ** 2 + rng.normal(size=n)
    rows = [f"{a:.5f},{b:.5f},{c:.5f},{t:.4f}" for (a, b, c), t in zip(x, y, strict=True)]
    path.write_text("a,b,c,y\n" + "\n".join(rows) + "\n")
    return path, x, y


def test_large_targets_are_standardised_and_predicted_in_their_own_units(tmp_path):
    path, x, y = regression_csv(tmp_path / "r.csv")
    model = anyprop.train_model(str(path), target="y", epochs=60)
    scaler = model.target_scaler
    assert scaler is not None
    train = y[: len(y)]  # no hold-out below 2000 rows: fitted on all of them
    np.testing.assert_allclose(scaler.mean, [train.mean()])
    np.testing.assert_allclose(scaler.std, [train.std()])
    p = model.predict(x)[:, 0]
    assert abs(p.mean() - y.mean()) < 5 and np.corrcoef(p, y)[0, 1] > 0.95
    figures = model.evaluate(str(path), target="y")
    err = p - y
    assert figures["mae"] == pytest.approx(np.abs(err).mean(), rel=1e-5)
    assert figures["rmse"] == pytest.approx(np.sqrt((err**2).mean()), rel=1e-5)
    assert figures["mse"] == pytest.approx((err**2).mean(), rel=1e-5)
    # the loss is the training loss: on the standardised targets (mse reduction: ½·mean)
    z = (y - scaler.mean[0]) / scaler.std[0]
    zp = (p - scaler.mean[0]) / scaler.std[0]
    assert figures["loss"] == pytest.approx(0.5 * ((zp - z) ** 2).mean(), rel=1e-3)
    model.save(tmp_path / "m.anyprop")
    back = anyprop.load(tmp_path / "m.anyprop")
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_targets_already_small_or_a_bounded_output_are_left_as_they_are(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 2))
    small = anyprop.train_model((x, np.tanh(x[:, :1])), epochs=2)
    assert small.target_scaler is None
    kept = anyprop.train_model((x, 100 * x[:, :1]), epochs=2, standardize_targets=False)
    assert kept.target_scaler is None
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[groups.x]\nsize = 2\ninput = true\n[groups.out]\nsize = 1\ntransfer = "sigmoid"\n'
        'loss = "mse"\n[[connections]]\nfrom = "x"\nto = "out"\n'
    )
    bounded = anyprop.train_model((x, 5 + x[:, :1]), spec=str(spec), epochs=2)
    assert bounded.target_scaler is None


def test_explain_predicts_the_step_on_standardised_targets(tmp_path):
    path, _, _ = regression_csv(tmp_path / "r.csv", n=80)
    model_path = tmp_path / "m.anyprop"
    common = ["--data", str(path), "--target", "y", "--hidden", "4", "--batch-size", "full"]
    sink = io.StringIO()
    assert main(["train", *common, "--epochs", "2", "--out", str(model_path)], sink, sink) == 0
    model = anyprop.load(model_path)
    trainer = Trainer.from_state(model.network, model.trainer_state)
    e = explain_step(trainer, training_data(model), "h1[0]->output[0]")
    assert e.w == model.network.params["h1->output.weight"][0, 0]
    result = run(TrainJob(resume=str(model_path), out=None, epochs=3))
    assert e.w_after == result.network.params["h1->output.weight"][0, 0]  # the same bits


def test_standardize_targets_from_the_cli_equals_python(tmp_path):
    path, _, _ = regression_csv(tmp_path / "r.csv", n=60)
    out = tmp_path / "c.anyprop"
    argv = ["train", "--data", str(path), "--target", "y", "--epochs", "3", "--out", str(out)]
    sink = io.StringIO()
    assert main([*argv, "--no-standardize-targets"], sink, sink) == 0
    assert anyprop.load(out).target_scaler is None
    assert main(argv, sink, sink) == 0
    assert "targets: standardised for training" in sink.getvalue()
    py = anyprop.train_model(str(path), target="y", epochs=3)
    np.testing.assert_array_equal(anyprop.load(out).target_scaler.std, py.target_scaler.std)


@pytest.mark.parametrize("offset", [0, 3])
def test_integer_class_arrays_come_back_as_the_numbers_they_were(tmp_path, offset):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 150) + offset
    x = rng.normal(size=(150, 4)) + 3 * (y - offset)[:, None]
    model = anyprop.train_model((x, y), epochs=30)
    assert model.task == "classification"
    assert model.labels == [str(k + offset) for k in range(3)]
    got = model.predict_labels(x)
    assert all(isinstance(v, int) for v in got) and set(got) <= set(range(offset, offset + 3))
    assert np.mean(np.array(got) == y) > 0.8
    model.save(tmp_path / "m.anyprop")
    assert anyprop.load(tmp_path / "m.anyprop").predict_labels(x) == got
    npz = tmp_path / "d.npz"
    np.savez(npz, x=x, y=y)
    from_file = anyprop.train_model(str(npz), epochs=30)
    for k, v in from_file.network.params.items():
        np.testing.assert_array_equal(v, model.network.params[k])


def test_an_integer_array_read_as_values_when_asked():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 2)), rng.integers(0, 3, 50)
    model = anyprop.train_model((x, y), task="regression", epochs=2)
    assert model.task == "regression" and model.labels is None


def test_the_validation_figures_of_training_are_evaluates_on_the_same_rows(tmp_path):
    path, _, _ = regression_csv(tmp_path / "r.csv", n=200)
    result = run(TrainJob(data=str(path), target="y", out=None, epochs=20, validation_split=0.25))
    from anyprop.train.trainer import split_seed_for

    rows = result.data.split(0.25, np.random.default_rng(split_seed_for(0)))[1]
    figures = result.model().evaluate(rows)
    last = result.history.epochs[-1]
    assert figures["loss"] == pytest.approx(last["val_loss"], rel=1e-6)
    assert figures["mse"] == pytest.approx(last["val_mse"], rel=1e-5)  # in the targets' units
    assert figures["mse"] > 10 and figures["r2"] == pytest.approx(last["val_r2"], rel=1e-6)


def test_a_model_of_number_classes_reads_rows_with_some_of_them(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(1, 4, 120)
    x = rng.normal(size=(120, 3)) + 3 * y[:, None]
    model = anyprop.train_model((x, y))
    assert model.labels == ["1", "2", "3"]
    some = y != 3
    figures = model.evaluate((x[some], y[some]))
    assert figures["samples"] == int(some.sum()) and figures["accuracy"] > 0.8
    with pytest.raises(anyprop.AnypropError, match="the label '7'"):
        model.evaluate((x[:3], np.array([1, 2, 7])))


def test_a_resumed_run_keeps_its_test_rows_out_and_explain_counts_the_training_part(tmp_path):
    path, _, _ = regression_csv(tmp_path / "r.csv", n=200)
    model_path = tmp_path / "m.anyprop"
    common = ["--data", str(path), "--target", "y", "--test-split", "0.25"]
    sink = io.StringIO()
    assert main(["train", *common, "--epochs", "2", "--out", str(model_path)], sink, sink) == 0
    whole = tmp_path / "w.anyprop"
    assert main(["train", *common, "--epochs", "4", "--out", str(whole)], sink, sink) == 0
    assert main(["train", "--resume", str(model_path), "--epochs", "4"], sink, sink) == 0
    resumed, straight = anyprop.load(model_path), anyprop.load(whole)
    for k, v in straight.network.params.items():
        np.testing.assert_array_equal(v, resumed.network.params[k])
    assert len(training_data(resumed)) == 150  # the test quarter left out


def test_standardize_targets_on_classes_is_refused_by_name():
    with pytest.raises(anyprop.AnypropError, match="--standardize-targets is for regression"):
        anyprop.train_model("iris", standardize_targets=True, epochs=1)
    err = io.StringIO()
    argv = ["train", "--data", "iris", "--standardize-targets", "--no-save"]
    assert main(argv, io.StringIO(), err) == 2 and "is for regression" in err.getvalue()
