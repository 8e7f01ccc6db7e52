"""The recipes: what fills the options a user did not give, through the API and the CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

import anyprop
from anyprop import AnypropError
from anyprop.cli import main
from anyprop.data import Dataset
from anyprop.train.job import TrainJob, run
from anyprop.train.recipes import RECIPES, UNSET, recipe

TABULAR = RECIPES["tabular"]


def fill(rows, **given):
    unset = {"optimizer": None, "epochs": None, "validation_split": None, "early_stopping": None}
    return TABULAR.fill(rows, **{**unset, "batch_size": UNSET, **given}).fields


def blobs(n, seed=0, classes=3, features=5, separation=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(size=(n, features)) + separation * y[:, None]
    return Dataset(x, y, "blobs", labels=[f"c{k}" for k in range(classes)], task="classification")


def test_a_small_set_is_never_split_and_is_one_batch_when_it_fits():
    assert fill(4) == {
        "optimizer": "adam",
        "epochs": 200,
        "validation_split": 0.0,
        "early_stopping": 10,  # on the training loss: ends once it settles
        "min_delta": 1e-4,
        "restore_best": False,  # (the last weights, as scikit-learn keeps them)
        "batch_size": None,
    }
    assert fill(65)["batch_size"] == 64 and fill(64)["batch_size"] is None
    assert fill(9999)["validation_split"] == 0.0 and fill(9999)["min_delta"] == 1e-4


def test_a_small_set_runs_the_epochs_given_and_its_own_stops():
    for given in (
        {"epochs": 500},
        {"early_stopping": 3},
        {"stops": True},
        {"early_stopping": False},
    ):
        assert "min_delta" not in fill(100, **given), given
    assert fill(100, early_stopping=3).get("early_stopping") is None  # (given: not filled)
    assert fill(100, min_delta=0.01)["min_delta"] == 0.01  # the user's, for the recipe's stop
    assert fill(100, validation_split=0.0)["min_delta"] == 1e-4  # (a hold-out of none)


def test_a_large_set_holds_out_a_part_and_stops_early():
    f = fill(10000)
    assert f["validation_split"] == 0.1 and f["early_stopping"] == 10 and f["batch_size"] == 64


def test_what_the_user_gives_is_never_filled():
    assert fill(20000, optimizer="sgd", epochs=7, batch_size=None) == {
        "validation_split": 0.1,
        "early_stopping": 10,
    }
    assert fill(20000, validation_split=0.0, epochs=200) == {"optimizer": "adam", "batch_size": 64}
    f = fill(20000, early_stopping=3)  # a hold-out for the patience given
    assert f["validation_split"] == 0.1 and "early_stopping" not in f
    f = fill(70, validation_split=0.5)  # the batch size is decided on the rows left to train
    assert f["batch_size"] is None
    # a validation part given, even the recipe's own fraction, still stops early on it
    assert fill(20000, validation_split=0.1)["early_stopping"] == 10
    assert fill(300, validation_split=0.2)["early_stopping"] == 10
    assert "early_stopping" not in fill(20000, early_stopping=False)


def test_the_plain_recipe_is_the_rule_itself():
    plain = recipe("plain")
    f = plain.fill(100000, None, None, UNSET, None, None).fields
    assert plain.fill(10, None, None, UNSET, None, None).fields == f
    assert f == {"optimizer": "sgd", "epochs": 100, "validation_split": 0.0, "batch_size": None}
    with pytest.raises(AnypropError, match="no recipe 'plan'; did you mean 'plain'"):
        recipe("plan")


def test_a_run_takes_the_filled_options_and_says_so():
    result = run(TrainJob(data=blobs(12000), out=None, epochs=3))
    job, trainer = result.job, result.trainer
    assert job.optimizer == "adam" and trainer.optimizer.lr == 0.001
    assert trainer.settings.batch_size == 64 and job.validation_split == 0.1
    assert job.early_stopping == 10 and "val_loss" in result.history.names()
    assert len(result.history) == 3  # the epochs given
    said = result.summary()["defaults"]
    assert said == [
        "optimizer adam at lr 0.001",
        "10% held out for validation (12000 rows >= 10000)",
        "early stopping after 10 epochs without a better validation loss, best weights kept",
        "batch size 64",
    ]
    assert result.summary()["recipe"] == "tabular"


def test_early_stopping_by_default_keeps_the_best_weights():
    rng = np.random.default_rng(1)  # labels that have nothing to do with the inputs: overfits
    x, y = rng.normal(size=(10000, 20)), rng.integers(0, 2, 10000)
    data = Dataset(x, y, "noise", labels=["a", "b"], task="classification")
    result = run(TrainJob(data=data, out=None))
    h = result.history
    assert h.stop_reason.startswith("early stopping") and len(h) < 200
    best = int(np.argmin(h["val_loss"]))
    val = result.model().evaluate(_val_part(result))
    assert val["loss"] == pytest.approx(h["val_loss"][best], rel=1e-6)


def _val_part(result):
    """The validation part as run() split it off (the same seed)."""
    from anyprop.train.trainer import split_seed_for

    rng = np.random.default_rng(split_seed_for(result.job.seed))
    return result.data.split(result.job.validation_split, rng)[1]


def test_the_four_row_xor_is_never_split():
    result = run(TrainJob(data="xor", out=None, epochs=2))
    assert result.job.validation_split == 0.0 and result.trainer.settings.batch_size is None
    assert "val_loss" not in result.history.names()


def test_a_small_set_ends_once_its_training_loss_settles():
    data = blobs(500, separation=8.0)
    result = run(TrainJob(data=data, out=None))
    h = result.history
    assert h.stop_reason.startswith("early stopping: loss has not improved") and len(h) < 200
    losses = np.array(h["loss"])
    assert h.restored_epoch is None  # the last weights are kept
    # the last 10 epochs improved on the best before them by less than 1e-4
    assert losses[-10:].min() > losses[:-10].min() - 1e-4
    assert any("training loss improves by less than 0.0001" in w for w in result.defaults)


def test_cli_recipe_plain_is_full_batch_sgd_at_the_rule_rate(tmp_path):
    path = tmp_path / "m.anyprop"
    argv = ["train", "--data", "iris", "--recipe", "plain", "--out", str(path), "--json"]
    out = io.StringIO()
    assert main(argv, stdout=out, stderr=io.StringIO()) == 0
    summary = json.loads(out.getvalue())
    assert summary["recipe"] == "plain" and summary["epochs"] == 100
    state = anyprop.load(path).trainer_state
    optimizer = state["optimizer"]["config"]
    assert optimizer["name"] == "sgd" and optimizer["lr"] == 0.01 and optimizer["momentum"] == 0
    assert state["config"]["batch_size"] is None
    assert "val_loss" not in summary["final"]


def test_the_cli_says_what_the_recipe_filled(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    assert main(["train", "--data", "iris", "--epochs", "2", "--no-save"], out, err) == 0
    assert "defaults (recipe tabular): optimizer adam at lr 0.001, batch size 64" in out.getvalue()
    out = io.StringIO()
    argv = ["train", "--data", "iris", "--epochs", "2", "--no-save", "--optimizer", "sgd"]
    assert main([*argv, "--lr", "0.1", "--batch-size", "8"], out, err) == 0
    assert "defaults" not in out.getvalue()


def test_momentum_without_an_optimizer_names_the_default():
    with pytest.raises(AnypropError, match="default optimizer is adam"):
        anyprop.train_model("xor", momentum=0.9, epochs=1)
    anyprop.train_model("xor", momentum=0.9, optimizer="sgd", epochs=1)


def test_a_resumed_run_goes_on_to_the_epochs_it_was_given(tmp_path):
    path = tmp_path / "m.anyprop"
    first = anyprop.train_model("iris", epochs=3, out=str(path))
    assert len(first.history["epochs"]) == 3
    with pytest.raises(AnypropError, match="has already done 3 epochs"):
        run(TrainJob(resume=str(path), out=str(path)))
    result = run(TrainJob(resume=str(path), out=str(path), epochs=5))
    assert result.resumed_from == 3 and result.epochs_run == 2
    assert result.trainer.settings.batch_size == 64  # as the first run had it


def test_a_resumed_run_given_more_epochs_runs_past_an_early_stop(tmp_path):
    data = blobs(500, separation=8.0)
    path = tmp_path / "m.anyprop"
    first = run(TrainJob(data=data, out=str(path)))
    done = len(first.history)
    assert first.history.stop_reason.startswith("early stopping") and done < 200
    again = run(TrainJob(data=data, resume=str(path), out=None, epochs=done + 30))
    assert again.epochs_run == 30  # epochs given: the recipe's stop once settled is off
    # a hold-out's early stopping goes on, with its patience afresh
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(10000, 20)), rng.integers(0, 2, 10000)
    noise = Dataset(x, y, "noise", labels=["a", "b"], task="classification")
    stopped = run(TrainJob(data=noise, out=str(path)))
    n = len(stopped.history)
    assert stopped.history.stop_reason.startswith("early stopping")
    more = run(TrainJob(data=noise, resume=str(path), out=None, epochs=n + 50))
    assert more.epochs_run == 10 and more.job.early_stopping == 10


def test_min_delta_is_used_or_refused_never_dropped():
    result = run(TrainJob(data=blobs(300), out=None, min_delta=0.05))
    assert result.job.min_delta == 0.05 and result.job.early_stopping == 10
    with pytest.raises(AnypropError, match="--min-delta applies to early stopping"):
        run(TrainJob(data=blobs(300), out=None, min_delta=0.05, epochs=3))
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(AnypropError, match="--min-delta must be a number >= 0"):
            run(TrainJob(data=blobs(300), out=None, min_delta=bad))


def test_no_early_stopping_runs_every_epoch_and_the_embedded_default_keeps_its_own():
    result = run(TrainJob(data=blobs(500, separation=8.0), out=None, early_stopping=False))
    assert len(result.history) == 200 and result.job.early_stopping is None
    out, err = io.StringIO(), io.StringIO()
    assert main(["train", "--recipe", "plain", "--no-save"], out, err) == 2
    assert "the embedded default sets its own" in err.getvalue()
    out = io.StringIO()
    argv = ["train", "--data", "iris", "--no-early-stopping", "--epochs", "3", "--no-save"]
    assert main([*argv, "--json"], out, err) == 0 and json.loads(out.getvalue())["epochs"] == 3


def test_a_cosine_schedule_anneals_over_the_run_from_both_paths(tmp_path):
    out = tmp_path / "c.anyprop"
    argv = ["train", "--data", "iris", "--schedule", "cosine", "--epochs", "7", "--out", str(out)]
    assert main(argv, io.StringIO(), io.StringIO()) == 0
    py = anyprop.train_model("iris", schedule="cosine", epochs=7)
    cli = anyprop.load(out)
    assert cli.trainer_state["config"]["schedule"] == py.trainer_state["config"]["schedule"]
    assert cli.trainer_state["config"]["schedule"]["epochs"] == 7
    for k, v in cli.network.params.items():
        np.testing.assert_array_equal(v, py.network.params[k])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"validation_split": float("nan")}, "--validation-split must be a fraction in [0, 1)"),
        ({"validation_split": 1.0}, "--validation-split must be a fraction in [0, 1)"),
        ({"early_stopping": 0}, "--early-stopping (the patience, in epochs) must be a whole"),
        ({"early_stopping": "5"}, "--early-stopping (the patience, in epochs) must be a whole"),
        ({"min_delta": "0.1"}, "--min-delta must be a number >= 0"),
    ],
)
def test_stopping_and_splitting_options_out_of_range_are_named(options, message):
    with pytest.raises(AnypropError) as e:
        anyprop.train_model("iris", **options)
    assert message in str(e.value)


def test_a_negative_zero_min_delta_reads_as_zero():
    result = run(TrainJob(data=blobs(100), out=None, min_delta=-0.0))
    assert "improves by less than 0 in" in result.defaults[-2]
    assert str(result.job.min_delta) == "0.0"


def test_a_resumed_run_refuses_another_recipe_test_split_or_schedule(tmp_path):
    path = tmp_path / "m.anyprop"
    anyprop.train_model("iris", epochs=3, test_split=0.2, out=str(path))
    for flags, message in (
        (["--recipe", "plain"], "--recipe plain differs from the resumed model's (tabular)"),
        (["--test-split", "0.5"], "--test-split 0.5 differs from the resumed model's (0.2)"),
        (["--schedule", "cosine"], "--schedule cosine: a resumed run keeps its"),
    ):
        err = io.StringIO()
        argv = ["train", "--resume", str(path), "--epochs", "5", *flags]
        assert main(argv, io.StringIO(), err) == 2, flags
        assert message in err.getvalue() and "Traceback" not in err.getvalue()
    # a test file scores the resumed run; the rows held out still stay out
    out = io.StringIO()
    argv = ["train", "--resume", str(path), "--epochs", "5", "--test", "iris", "--json"]
    assert main(argv, out, io.StringIO()) == 0
    summary = json.loads(out.getvalue())
    assert summary["test"]["samples"] == 150 and summary["samples"] == 120
    assert anyprop.load(path).info["job"]["test_split"] == 0.2
