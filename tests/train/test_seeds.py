"""Seeds and sweeps: every point of a grid trained from the same seeds, each point's
figures those of the plain seeds run with its options set."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from anyprop import Network
from anyprop.errors import AnypropError
from anyprop.train.job import TrainJob
from anyprop.train.seeds import run_seeds, run_sweep, sweep_points, with_options
from anyprop.train.settings import TrainSettings
from anyprop.train.trainer import Trainer

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"

XOR = TrainJob(
    data="xor",
    hidden=2,
    transfer="sigmoid",
    optimizer="sgd",
    lr=2.0,
    momentum=0.9,
    epochs=150,
    out=None,
    settings={"loss_reduction": "sum"},
)


def test_the_points_of_a_grid_first_name_slowest():
    points = sweep_points({"lr": [0.1, 0.5], "momentum": [0.0, 0.9]})
    assert points == [
        {"lr": 0.1, "momentum": 0.0},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.5, "momentum": 0.0},
        {"lr": 0.5, "momentum": 0.9},
    ]
    assert sweep_points({}) == [{}]


def test_options_go_to_the_job_and_settings_to_its_settings():
    job = with_options(XOR, {"lr": 0.3, "batch_size": 2, "hidden": [3, 2]})
    assert (job.lr, job.hidden) == (0.3, [3, 2])
    assert job.settings == {"loss_reduction": "sum", "batch_size": 2}
    assert XOR.settings == {"loss_reduction": "sum"}  # the job given is left as it was
    full = dataclasses.replace(XOR, settings=TrainSettings(margin=0.4))
    assert with_options(full, {"margin": 0.2}).settings.margin == 0.2


def test_each_point_is_the_seeds_run_with_its_options():
    results = run_sweep(XOR, 3, {"lr": [1.0, 2.0]})
    assert [p for p, _ in results] == [{"lr": 1.0}, {"lr": 2.0}]
    for point, result in results:
        alone = run_seeds(dataclasses.replace(XOR, **point), 3)
        assert result.stats() == alone.stats()
    seen = []
    run_sweep(XOR, 2, {"momentum": [0.0, 0.9]}, lambda p, k, s: seen.append((p["momentum"], k)))
    assert seen == [(0.0, 0), (0.0, 1), (0.9, 0), (0.9, 1)]


@pytest.mark.parametrize(
    "grid, seeds, words",
    [
        ({"data": ["a"]}, 1, "--sweep data: not an option a sweep can vary"),
        ({"seed": [1, 2]}, 1, "--sweep seed: the seeds of every point are --seed"),
        ({"lr": []}, 1, "--sweep lr: give at least one value"),
        ({"spec": ["no/such.toml"]}, 1, "--sweep spec no/such.toml: no such file"),
        ({"batch_size": [4, 0]}, 1, "--sweep batch_size 0: batch_size must be"),
        ({"lr": list(range(200))}, 100, "200 points × 100 seeds = 20000 runs"),
    ],
)
def test_a_bad_sweep_is_refused_before_any_run(grid, seeds, words):
    with pytest.raises(AnypropError, match=words.replace("(", r"\(")):
        run_sweep(XOR, seeds, grid, lambda *a: pytest.fail("a run started"))


def test_a_grid_too_large_is_refused_before_its_points_are_made():
    grid = {name: list(range(20)) for name in ("lr", "momentum", "margin", "epochs", "clip_norm")}
    with pytest.raises(AnypropError, match="3200000 points × 1 seeds"):
        run_sweep(XOR, 1, grid)


def test_a_point_that_fails_is_named_before_or_in_its_run():
    with pytest.raises(AnypropError, match="--sweep optimizer adam: optimizer 'adam' has no"):
        run_sweep(XOR, 1, {"optimizer": ["sgd", "adam"]}, lambda *a: pytest.fail("a run"))
    recipe_adam = dataclasses.replace(XOR, optimizer=None, momentum=None)
    with pytest.raises(AnypropError, match="--sweep momentum 0.5: momentum .* is an option of"):
        run_sweep(recipe_adam, 1, {"momentum": [0.5]})


# --- the runs trained together (train/stacked.py) ------------------------------------


def test_seeds_trained_together_are_the_seeds_trained_alone():
    job = dataclasses.replace(XOR, compile="never")
    together = run_seeds(job, 6)
    alone = run_seeds(job, 6, together=False)
    assert together.together == 6 and alone.together == 0
    assert together.epochs == alone.epochs and together.failures == alone.failures
    how = ("together", "alone_because")
    both = {k: v for k, v in together.stats().items() if k not in how}
    assert both == {k: v for k, v in alone.stats().items() if k not in how}
    assert alone.alone_because == "together=False"


def test_a_data_file_is_read_once_and_the_runs_agree(tmp_path, monkeypatch):
    from anyprop.train import sources

    path = tmp_path / "xor.csv"
    path.write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    job = dataclasses.replace(XOR, data=str(path), target="y", compile="never")
    reads = []
    real = sources.load_file
    monkeypatch.setattr(sources, "load_file", lambda *a, **k: reads.append(1) or real(*a, **k))
    together = run_seeds(job, 4)
    assert len(reads) == 1
    assert together.epochs == run_seeds(job, 4, together=False).epochs


def test_runs_beyond_one_stack_go_in_several(monkeypatch):
    from anyprop.train import stacked

    job = dataclasses.replace(XOR, compile="never")
    want = run_seeds(job, 5, together=False)
    sizes = []
    real = stacked.train_together
    monkeypatch.setattr(stacked, "STACK_BYTES", 1)
    assert stacked.stack_size(Trainer(Network.layered([2, 2, 1])), 4) == 1  # one at least
    monkeypatch.setattr(stacked, "stack_size", lambda *a: 2)
    monkeypatch.setattr(
        stacked, "train_together", lambda ts, *a: sizes.append(len(ts)) or real(ts, *a)
    )
    got = run_seeds(job, 5)
    assert sizes == [2, 2, 1] and got.together == 5
    assert got.epochs == want.epochs


def test_runs_that_cannot_be_stacked_run_alone_and_say_why():
    job = dataclasses.replace(XOR, validation_split=0.25, early_stopping=False)
    result = run_seeds(job, 2)
    assert result.together == 0
    assert result.alone_because == "each run has a validation part of its own"
    assert result.stats()["alone_because"] == result.alone_because


def test_a_diverging_run_fails_as_it_does_alone():
    job = dataclasses.replace(XOR, transfer="identity", lr=1e200, momentum=0.0)
    with pytest.raises(AnypropError) as alone:
        run_seeds(job, 2, together=False)
    with pytest.raises(AnypropError) as together:
        run_seeds(job, 2)
    assert str(together.value) == str(alone.value)


def test_what_a_run_alone_refuses_the_runs_together_refuse(tmp_path):
    weighted = dataclasses.replace(XOR, settings={"class_weight": {"0": 2.0}})
    with pytest.raises(AnypropError) as alone:
        run_seeds(weighted, 3, together=False)
    with pytest.raises(AnypropError) as together:
        run_seeds(weighted, 3)
    assert "class_weight needs class targets" in str(together.value) == str(alone.value)
    path = tmp_path / "gaps.csv"  # a file the runs would refuse, and a bad epoch count
    path.write_text("a,b,y\n0,,0\n0,1,1\n")
    with pytest.raises(AnypropError, match="epochs"):  # the options first, then the data
        run_sweep(dataclasses.replace(XOR, data=str(path), target="y"), 2, {"epochs": [5, -1]})


def test_one_seed_at_each_point_says_so():
    results = run_sweep(XOR, 1, {"lr": [1.0, 2.0]})
    assert all(r.together == 0 and r.alone_because == "a single run" for _, r in results)


def test_a_spec_read_once_gives_each_run_its_own_weights():
    job = TrainJob(
        data="xor", spec=str(SPECS / "xor.toml"), optimizer="sgd", lr=0.5, momentum=0.9,
        epochs=300, out=None, settings={"loss_reduction": "sum"}, compile="never",
    )  # fmt: skip
    together, alone = run_seeds(job, 6), run_seeds(job, 6, together=False)
    assert together.together == 6 and together.epochs == alone.epochs
    assert together.failures == alone.failures
