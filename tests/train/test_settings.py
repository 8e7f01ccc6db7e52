"""Training settings: one definition, read by the trainer, the CLI and the model file."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

from anyprop import AnypropError, Network, datasets
from anyprop.cli import main
from anyprop.cli.commands.train import job_from
from anyprop.cli.parser import build_parser
from anyprop.train import Trainer
from anyprop.train.model_io import load_model
from anyprop.train.settings import FIELDS, TrainSettings, cli_options

GIVEN = {
    "batch_size": 2,
    "shuffle": False,
    "margin": 0.25,
    "metrics": ("mse", "solved"),
    "loss_reduction": "sum",
    "prime_offset": 0.1,
    "atanh_error": True,
    "class_weight": {"0": 2.0},
    "bptt": 20,
}


def test_every_field_round_trips_through_the_state():
    s = TrainSettings(**GIVEN)
    assert set(GIVEN) == FIELDS
    assert TrainSettings.from_state(s.to_state()) == s
    assert TrainSettings.from_state({}) == TrainSettings()  # an older file: the defaults


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("batch_size", 0, "batch_size must be a whole number >= 1"),
        ("batch_size", 2.5, "batch_size must be a whole number >= 1"),
        ("margin", -0.1, "margin must be a number >= 0"),
        ("margin", float("inf"), "margin must be finite"),
        ("prime_offset", "x", "prime_offset must be a number >= 0"),
        ("loss_reduction", "avg", "loss_reduction must be 'mean' or 'sum'"),
        ("shuffle", "yes", "shuffle must be true or false"),
        ("metrics", "mse", "metrics must be a list of names"),
        ("metrics", ["acuracy"], "unknown metric 'acuracy'"),
        ("class_weight", {0: -1}, "class_weight of 0 must be a number >= 0"),
        ("bptt", 2.5, "bptt must be a whole number of steps >= 1"),
        ("bptt", True, "bptt must be a whole number of steps >= 1"),
    ],
)
def test_bad_values_name_the_setting(field, value, message):
    with pytest.raises(AnypropError) as e:  # (a SettingsError, or an unknown name)
        TrainSettings(**{field: value})
    assert message in str(e.value)


def test_keywords_and_settings_reach_the_trainer_and_its_state():
    net = Network.layered([2, 2, 1], seed=0)
    tr = Trainer(net, "sgd", lr=0.1, momentum=0.5, **{**GIVEN, "class_weight": None})
    assert tr.settings == TrainSettings(**{**GIVEN, "class_weight": None})
    assert tr.optimizer.momentum == 0.5
    again = Trainer.from_state(net, tr.state_dict())
    assert again.settings == tr.settings and again.options == tr.settings.options


def test_the_command_line_offers_every_setting_it_defines():
    parser = build_parser()
    for name, cli, default in cli_options():
        if isinstance(default, bool):
            argv = [cli["flag"] if not default else "--no-" + cli["flag"][2:]]
        else:
            values = {"batch_size": "5", "loss_reduction": "sum", "bptt": "7"}
            argv = [cli["flag"], values.get(name, "0.5")]
        args = parser.parse_args(["train", *argv])
        assert getattr(args, name) != default, name
        assert not hasattr(parser.parse_args(["train"]), name)  # not given: the job's default


def test_cli_settings_equal_python_settings():
    argv = ["train", "--data", "xor", "--batch-size", "online", "--margin", "0.3"]
    argv += ["--loss-reduction", "sum", "--prime-offset", "0.1", "--atanh-error", "--no-shuffle"]
    job = job_from(build_parser().parse_args(argv))
    assert job.given_settings() == TrainSettings(
        batch_size=1,
        margin=0.3,
        loss_reduction="sum",
        prime_offset=0.1,
        atanh_error=True,
        shuffle=False,
    )
    default = job_from(build_parser().parse_args(["train", "--margin", "0.2"]))
    assert default.settings.batch_size == 32 and default.settings.margin == 0.2


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--margin", "-1", "margin must be a number >= 0"),
        ("--prime-offset", "-0.5", "prime_offset must be a number >= 0"),
        ("--batch-size", "0", "batch_size must be a whole number >= 1"),
    ],
)
def test_a_bad_setting_on_the_command_line_exits_2_and_writes_nothing(
    tmp_path, flag, value, message
):
    out, err = io.StringIO(), io.StringIO()
    model = tmp_path / "m.anyprop"
    argv = ["train", "--data", "xor", "--epochs", "1", flag, value, "--out", str(model)]
    assert main(argv, stdout=out, stderr=err) == 2
    assert message in err.getvalue() and "Traceback" not in err.getvalue()
    assert not list(tmp_path.iterdir())


def test_a_model_file_keeps_the_settings_it_was_trained_with(tmp_path):
    model = tmp_path / "m.anyprop"
    argv = ["train", "--data", "xor", "--epochs", "2", "--loss-reduction", "sum"]
    argv += ["--margin", "0.3", "--batch-size", "2", "--out", str(model)]
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    state = load_model(model).trainer_state
    s = TrainSettings.from_state(state["config"])
    assert (s.loss_reduction, s.margin, s.batch_size) == ("sum", 0.3, 2)
    assert dataclasses.replace(s) == s


def test_fit_keywords_override_a_settings_object():
    net = Network.layered([2, 2, 1], seed=0)
    tr = Trainer(net, settings=TrainSettings(margin=0.1, batch_size=2), margin=0.2)
    assert tr.settings.margin == 0.2 and tr.settings.batch_size == 2
    h = tr.fit(datasets.load("xor"), 1)
    assert np.isfinite(h.last("loss"))


def test_numpy_numbers_and_class_keys_of_any_numeric_type_are_taken():
    s = TrainSettings(margin=np.float32(0.3), class_weight={0.0: 5.0, np.int64(2): 0.5})
    assert s.margin == pytest.approx(0.3) and s.class_weights([0, 1, 2]) == [5.0, 1.0, 0.5]
    net = Network.layered([2, 2, 1], seed=0)
    h = Trainer(net, seed=0).fit(datasets.load("xor"), 3, target_loss=np.float32(100.0))
    assert h.stop_reason.startswith("target loss")


def test_fit_keeps_the_batch_size_of_its_settings_object():
    from anyprop.train import Callback, fit

    sizes = []

    class Spy(Callback):
        def on_batch_end(self, trainer, batch, backprop):
            sizes.append(len(backprop.deltas["output"]))

    net = Network.layered([2, 2, 1], seed=0)
    fit(
        net,
        datasets.load("xor"),
        epochs=1,
        verbose=False,
        callbacks=[Spy()],
        settings=TrainSettings(batch_size=2, margin=0.1),
    )
    assert sizes == [2, 2]


def test_a_file_written_with_a_value_now_refused_still_resumes_as_it_was_trained():
    state = {**TrainSettings().to_state(), "prime_offset": -0.05, "batch_size": "online"}
    s = TrainSettings.from_state(state)
    assert s.prime_offset == -0.05 and s.batch_size == 1 and s.options.prime_offset == -0.05
