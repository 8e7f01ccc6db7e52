"""Every command in-process (exit status and output), and a few through the console script."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from anyprop.cli import main
from anyprop.train.job import TrainJob
from anyprop.train.model_io import load_model
from anyprop.train.seeds import run_sweep

ROOT = Path(__file__).resolve().parents[2]
XOR_SPEC = str(ROOT / "examples" / "specs" / "xor.toml")
# the classic XOR run of the papers: summed error, η = 0.5, α = 0.9
XOR_TRAIN = [
    "train",
    XOR_SPEC,
    "--data",
    "xor",
    "--optimizer",
    "sgd",
    "--lr",
    "0.5",
    "--momentum",
    "0.9",
    "--loss-reduction",
    "sum",
    "--epochs",
    "5000",
]


def run(*argv, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin or ""))
    return status, out.getvalue(), err.getvalue()


def test_the_embedded_default_reaches_95_percent():
    status, out, err = run("train", "--no-save", "--json")
    assert status == 0, err
    summary = json.loads(out)
    assert summary["final"]["val_accuracy"] >= 0.95
    assert summary["seconds"] < 60
    assert "skip connection" in err or err == ""


def test_train_a_spec_until_solved(tmp_path):
    model = tmp_path / "xor.anyprop"
    status, out, err = run(
        *XOR_TRAIN,
        "--stop-when-solved",
        "--out",
        str(model),
        "--seed",
        "1",
    )
    assert status == 0, err
    assert "solved (every output within 0.4 of its target) at epoch" in out
    assert f"model written to {model}" in out
    assert load_model(model).history["solved_epoch"] is not None


def test_not_solved_is_a_failed_check(tmp_path):
    status, _, err = run(
        "train", XOR_SPEC, "--data", "xor", "--epochs", "2", "--stop-when-solved", "--no-save"
    )
    assert status == 1 and "not solved within 2 epochs" in err


def test_seeds_report_epochs_to_success():
    status, out, err = run(
        "train", XOR_SPEC, "--data", "xor", "--optimizer", "sgd", "--lr", "0.5", "--momentum",
        "0.9", "--loss-reduction", "sum", "--epochs", "5000", "--seeds", "3", "--json",
    )  # fmt: skip
    assert status == 0, err
    stats = json.loads(out)
    assert stats["runs"] == 3 and stats["solved"] + stats["failures"] == 3
    assert stats["min"] <= stats["mean"] <= stats["max"]
    assert err.count("seed ") == 0  # progress lines are left out of --json runs


def test_a_sweep_is_one_row_per_point_as_the_api_gives_them():
    argv = ["train", XOR_SPEC, "--data", "xor", "--optimizer", "sgd", "--loss-reduction", "sum",
            "--epochs", "400", "--seeds", "2", "--sweep", "lr", "0.5", "2",
            "--sweep", "momentum", "0", "0.9"]  # fmt: skip
    status, out, err = run(*argv, "--json")
    assert status == 0, err
    rows = json.loads(out)["sweep"]
    assert [(r["lr"], r["momentum"]) for r in rows] == [(0.5, 0), (0.5, 0.9), (2, 0), (2, 0.9)]
    job = TrainJob(data="xor", spec=XOR_SPEC, optimizer="sgd", epochs=400, out=None,
                   settings={"loss_reduction": "sum"})  # fmt: skip
    api = run_sweep(job, 2, {"lr": [0.5, 2.0], "momentum": [0.0, 0.9]})
    assert rows == [{**point, **result.stats()} for point, result in api]
    status, table_out, err = run(*argv)  # the table and a progress line per run
    assert status == 0 and err.count("seed ") == 8 and "seed 1, lr 2.0, momentum 0.9:" in err
    header = next(line for line in table_out.splitlines() if "runs" in line)
    assert header.split()[:3] == ["lr", "┃", "momentum"]
    assert "runs: 8, trained together (stacked)" in table_out
    assert all(r["together"] == 2 for r in rows)
    status, alone_out, _ = run(*argv, "--validation-split", "0.25")
    assert "one at a time (each run has a validation part of its own)" in alone_out


def write_csv(path, n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    label = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    with open(path, "w") as f:
        f.write("a,b,c,label\n")
        for row, lab in zip(x, label, strict=True):
            f.write(",".join(f"{v:.5f}" for v in row) + f",{lab}\n")


def test_own_csv_train_evaluate_predict_info(tmp_path):
    data = tmp_path / "d.csv"
    write_csv(data)
    model = tmp_path / "m.anyprop"
    status, out, err = run(
        "train",
        "--data",
        str(data),
        "--target",
        "label",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--epochs",
        "60",
        "--validation-split",
        "0.25",
        "--out",
        str(model),
        "--plot",
        str(tmp_path / "curves.png"),
    )
    assert status == 0, err
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    status, out, err = run("evaluate", str(model), "--json")
    assert status == 0, err
    assert json.loads(out)["accuracy"] > 0.9
    inputs = tmp_path / "new.csv"
    inputs.write_text("a,b,c\n3,3,0\n-3,-3,0\n")
    status, out, err = run("predict", str(model), str(inputs))
    assert status == 0, err
    lines = out.strip().splitlines()
    assert (
        lines[0] == "label,p_no,p_yes"
        and lines[1].startswith("yes,")
        and lines[2].startswith("no,")
    )
    status, out, _ = run("predict", str(model), "-", stdin="3,3,0\n")
    assert status == 0 and out.splitlines()[1].startswith("yes,")
    status, _, err = run("predict", str(model), str(inputs), "--out", str(tmp_path / "p.csv"))
    assert status == 0 and (tmp_path / "p.csv").read_text().startswith("label,")
    status, out, _ = run("info", str(model), "--json")
    info = json.loads(out)
    assert status == 0 and info["data"]["labels"] == ["no", "yes"] and info["data"]["standardized"]
    status, out, _ = run("info", str(model))
    assert status == 0 and "trainable parameters" in out and "Final figures" in out


def test_resume_equals_an_uninterrupted_run(tmp_path):
    common = [
        "--data",
        "digits",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--batch-size",
        "64",
        "--validation-split",
        "0.2",
        "--seed",
        "4",
        "--checkpoint-every",
        "0",
    ]
    whole, part = tmp_path / "whole.anyprop", tmp_path / "part.anyprop"
    assert run("train", *common, "--epochs", "4", "--out", str(whole))[0] == 0
    assert run("train", *common, "--epochs", "2", "--out", str(part))[0] == 0
    status, out, err = run("train", "--resume", str(part), "--epochs", "4", "--out", str(part))
    assert status == 0, err
    assert "resumed after 2" in out
    a, b = load_model(whole), load_model(part)
    for k in a.network.params:
        np.testing.assert_array_equal(a.network.params[k], b.network.params[k])
    strip = lambda h: [{k: v for k, v in e.items() if k != "time"} for e in h["epochs"]]  # noqa: E731
    assert strip(a.history) == strip(b.history)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["train", "--data", "xor", "--optimizer", "adamm"],
            "unknown optimizer 'adamm'; did you mean 'adam'",
        ),
        (["train", "--data", "nosuch.csv"], "nosuch.csv: no such file"),
        (["train", "--data", "xorr"], "did you mean 'xor'"),
        (
            ["train", XOR_SPEC, "--data", "parity"],
            "the data 'parity4' have 4 input columns, but the network has 2",
        ),
        (["train", "--data", "xor", "--optimizer", "sgd", "--momentum", "1.5"], "momentum must"),
        (["train", "--data", "xor", "--momentum", "0.9"], "the default optimizer is adam"),
        (["train", "--data", "xor", "--transfer", "tahn"], "unknown transfer function 'tahn'"),
        (["train", "--data", "xor", "--rule", "w - lr*q"], "unknown name 'q'"),
        (["info", "nosuch.anyprop"], "nosuch.anyprop: no such file"),
        (["transfer", "show", "x/(1+"], "formula"),
        (["train", "--resume", "nosuch.anyprop"], "no such file"),
    ],
)
def test_user_mistakes_exit_2_with_a_message_and_no_traceback(argv, message, tmp_path):
    os.chdir(tmp_path)
    status, _, err = run(*argv, "--no-save") if argv[0] == "train" else run(*argv)
    assert status == 2, err
    assert message in err and "Traceback" not in err


def test_a_corrupt_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.anyprop"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    for cmd in ("info", "evaluate"):
        status, _, err = run(cmd, str(bad))
        assert (status == 2 and "corrupted" in err) or "truncated" in err


def test_bad_csv_rows_are_named(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n1,2,3\n1,oops,3\n")
    status, _, err = run("train", "--data", str(data), "--no-save")
    assert status == 2 and "line 3, column 'b': 'oops' is not a number" in err


def test_transfer_and_datasets_lists(tmp_path):
    status, out, _ = run("transfer", "list")
    assert status == 0 and "leaky_relu" in out and "elliot_symmetric" in out
    status, out, _ = run("transfer", "show", "x/(1+abs(x))", "--plot", str(tmp_path / "t.png"))
    assert status == 0 and "f'(x) =" in out and (tmp_path / "t.png").exists()
    status, out, _ = run("transfer", "show", "leaky_relu", "--param", "alpha=0.2", "--json")
    assert status == 0 and json.loads(out)["params"] == {"alpha": 0.2}
    status, out, _ = run("datasets", "list", "--json")
    assert status == 0 and {d["name"] for d in json.loads(out)} >= {"xor", "digits", "two_spirals"}
    assert run("datasets")[0] == 0


def test_every_command_has_help_with_an_example():
    for cmd in (
        ["train"],
        ["evaluate"],
        ["predict"],
        ["info"],
        ["transfer"],
        ["transfer", "show"],
        ["datasets"],
        ["ops"],
    ):
        status, out, _ = run(*cmd, "--help")
        assert status == 0
        assert "example:" in out, cmd


def _script():
    script = shutil.which("anyprop", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the anyprop console script is not installed in this environment")
    return script


def test_console_script_trains(tmp_path):
    proc = subprocess.run(
        [_script(), "train", "--data", "xor", "--epochs", "5", "--no-save"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Training summary" in proc.stdout


def test_ctrl_c_stops_cleanly_and_keeps_the_last_checkpoint(tmp_path):
    model = tmp_path / "m.anyprop"
    proc = subprocess.Popen(
        [
            _script(),
            "train",
            "--data",
            "digits",
            "--epochs",
            "100000",
            "--out",
            str(model),
            "--checkpoint-every",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    deadline = time.time() + 60
    while not model.exists() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    m = load_model(model)
    assert m.trainer_state["epoch"] >= 1
    assert [p.name for p in tmp_path.iterdir()] == ["m.anyprop"]  # no temporary files left


def test_cli_seeds_match_the_api_for_a_classic_problem():
    import importlib.util

    spec = importlib.util.spec_from_file_location("classic", ROOT / "examples" / "classic.py")
    classic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(classic)
    api = [classic.epochs_to_success("xor", seed) for seed in range(3)]
    status, out, err = run(
        *XOR_TRAIN,
        "--seeds",
        "3",
        "--json",
    )
    assert status == 0, err
    stats = json.loads(out)
    solved = [e for e in api if e is not None]
    assert (
        stats["solved"] == len(solved)
        and stats["min"] == min(solved)
        and stats["max"] == max(solved)
    )


def test_two_classes_with_one_sigmoid_output():
    status, out, err = run(
        "train", str(ROOT / "examples" / "specs" / "skip.toml"), "--data", "moons",
        "--optimizer", "adam", "--lr", "0.02", "--epochs", "400", "--no-save", "--json",
    )  # fmt: skip
    assert status == 0, err
    assert json.loads(out)["final"]["accuracy"] > 0.95


def test_every_train_option_reaches_the_job():
    from anyprop.cli.commands.train import job_from
    from anyprop.cli.parser import build_parser

    args = build_parser().parse_args(
        [
            "train",
            "--data",
            "xor",
            "--checkpoint-every",
            "0",
            "--report",
            "--clip-norm",
            "1",
            "--loss-reduction",
            "sum",
            "--prime-offset",
            "0.1",
            "--atanh-error",
            "--no-save",
        ]
    )
    job = job_from(args)
    assert job.checkpoint_seconds == 0 and job.report and job.clip_norm == 1.0
    s = job.given_settings()
    assert s.loss_reduction == "sum" and s.prime_offset == 0.1 and s.atanh_error
    assert job.out is None


def test_report_warns_in_plain_words(tmp_path):
    model = tmp_path / "r.anyprop"
    status, out, err = run(
        "train",
        "--data",
        "xor",
        "--transfer",
        "sigmoid",
        "--epochs",
        "20",
        "--report",
        "--out",
        str(model),
    )
    assert status == 0, err and "gradient flow:" in out
    status, out, err = run("report", str(model), "--plot", str(tmp_path / "flow.png"), "--json")
    assert status == 0, err
    data = json.loads(out)
    assert data["epochs"] == 20 and {r["group"] for r in data["groups"]} == {"h1", "output"}
    assert (tmp_path / "flow.png").read_bytes()[:4] == b"\x89PNG"
    status, _, err = run("report", str(tmp_path / "r.anyprop").replace("r.anyprop", "none"))
    assert status == 2


def test_report_draws_the_network(tmp_path):
    trained, plain = tmp_path / "r.anyprop", tmp_path / "p.anyprop"
    common = ["train", "--data", "xor", "--transfer", "tanh", "--epochs", "5"]
    assert run(*common, "--report", "--out", str(trained))[0] == 0
    assert run(*common, "--out", str(plain))[0] == 0
    status, out, err = run("report", str(trained), "--diagram", str(tmp_path / "r.svg"))
    assert status == 0, err
    assert "diagram written" in out and "<svg" in (tmp_path / "r.svg").read_text()
    status, out, err = run("report", str(plain), "--diagram", str(tmp_path / "p.png"), "--json")
    assert status == 0, err
    assert json.loads(out)["widths"] == "weight norm"
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    status, _, err = run("report", str(plain), "--diagram", str(tmp_path / "p.gif"))
    assert status == 2 and ".png or .svg" in err


def test_report_draws_every_unit_with_its_delta(tmp_path):
    model = tmp_path / "u.anyprop"
    assert (
        run("train", "--data", "xor", "--hidden", "3", "--epochs", "3", "--out", str(model))[0] == 0
    )
    status, out, err = run(
        "report", str(model), "--units", str(tmp_path / "u.svg"), "--sample", "2"
    )
    assert status == 0, err
    assert "δ on sample 2" in out and "sample 2" in (tmp_path / "u.svg").read_text()
    status, _, err = run("report", str(model), "--units", str(tmp_path / "u.svg"), "--sample", "9")
    assert status == 2 and "sample 9 is out of range" in err


def test_several_hidden_layers_each_with_its_transfer_function(tmp_path):
    from anyprop.train.job import TrainJob
    from anyprop.train.job import run as run_job

    model = tmp_path / "m.anyprop"
    status, _, err = run(
        "train",
        "--data",
        "moons",
        "--hidden",
        "8,4",
        "--transfer",
        "relu,max(x, 0.1*x)",
        "--epochs",
        "3",
        "--out",
        str(model),
    )
    assert status == 0, err
    net = load_model(model).network
    assert [(g, net.groups[g].size, repr(net.groups[g].transfer)) for g in ("h1", "h2")] == [
        ("h1", 8, "relu"),
        ("h2", 4, "max(x, 0.1*x)"),
    ]
    job = TrainJob(
        data="moons", hidden=[8, 4], transfer=["relu", "max(x, 0.1*x)"], epochs=3, out=None
    )
    same = run_job(job).network  # the API's job, the same network and weights
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, same.params[k])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hidden", "8,x"], "'x' is not a whole number"),
        (["--hidden", "8,0"], "layer sizes must be whole numbers >= 1"),
        (["--hidden", "8", "--transfer", "relu,tanh"], "2 transfer functions (--transfer) for 1"),
        (["--transfer", "relu,"], "an empty transfer function"),
    ],
)
def test_bad_hidden_layers_exit_2_naming_the_option(tmp_path, args, message):
    status, _, err = run(
        "train", "--data", "moons", "--epochs", "1", *args, "--out", str(tmp_path / "m.anyprop")
    )
    assert status == 2 and message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_a_command_whose_output_is_closed_early_ends_quietly(tmp_path):
    """`anyprop predict model big.csv | head -2`: no traceback, no error, status 141."""
    model = tmp_path / "m.anyprop"
    assert run("train", "--data", "xor", "--epochs", "1", "--out", str(model))[0] == 0
    rows = tmp_path / "rows.csv"
    rows.write_text("x0,x1\n" + "0.5,0.25\n" * 200_000)
    proc = subprocess.Popen(
        [_script(), "predict", str(model), str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    proc.stdout.readline()
    proc.stdout.close()  # the reader stops, as head does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_transfer_show_simplifies_and_without_sympy_says_how_to_get_the_formula(monkeypatch):
    status, out, _ = run("transfer", "show", "x/(1+abs(x))")
    assert status == 0 and "f'(x) = (Abs(x) + 1)^(-2)" in out
    import builtins

    real_import = builtins.__import__

    def no_sympy(name, *args, **kwargs):
        if name == "sympy" or name.startswith("sympy."):
            raise ImportError("no sympy here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sympy)
    status, out, _ = run("transfer", "show", "x*tanh(x)")
    assert status == 0 and "None" not in out and "pip install 'anyprop[sympy]'" in out


def test_check_on_a_spec_without_data_uses_random_inputs_and_says_so():
    for spec in ("skip.toml", "units.toml", "digits_mlp.toml"):
        status, out, err = run("check", str(ROOT / "examples" / "specs" / spec))
        assert status == 0, err
        assert "random inputs" in err and "all gradients agree" in out


def test_several_target_columns_by_pattern_from_the_command_line(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    rows = [f"{a:.3f},{b:.3f},{a + b:.3f},{a - b:.3f}" for a, b in x]
    (tmp_path / "d.csv").write_text("a,b,y0,y1\n" + "\n".join(rows) + "\n")
    model = tmp_path / "m.anyprop"
    status, _, err = run(
        "train",
        "--data",
        str(tmp_path / "d.csv"),
        "--target",
        "y*",
        "--epochs",
        "2",
        "--out",
        str(model),
    )
    assert status == 0, err
    m = load_model(model)
    assert m.target_names == ["y0", "y1"] and m.network.target_width == 2


def test_resume_writes_back_to_its_model_and_refuses_what_it_cannot_do(tmp_path):
    model = tmp_path / "m.anyprop"
    base = ["train", "--data", "xor", "--optimizer", "sgd", "--lr", "0.5", "--margin", "0.3"]
    assert run(*base, "--epochs", "2", "--out", str(model))[0] == 0
    status, _, err = run("train", "--resume", str(model), "--epochs", "4")
    assert status == 0, err
    assert load_model(model).trainer_state["epoch"] == 4  # written back to the model resumed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.anyprop"]
    before = model.read_bytes()
    for flags, message in [
        (["--epochs", "4"], "has already done 4 epochs: give --epochs larger than 4"),
        (["--epochs", "6", "--margin", "0.2"], "--margin 0.2 differs from the resumed model's"),
        (["--epochs", "6", "--lr", "0.1"], "--lr 0.1 differs from the resumed model's (0.5)"),
        (["--epochs", "6", "--optimizer", "adam"], "--optimizer adam differs"),
    ]:
        status, _, err = run("train", "--resume", str(model), *flags)
        assert status == 2 and message in err, (flags, err)
        assert model.read_bytes() == before
    status, _, err = run("train", "--resume", str(model), "--epochs", "6", "--margin", "0.3")
    assert status == 0, err  # the same value is no conflict


def test_a_csv_with_text_features_trains_predicts_and_names_an_unseen_category(tmp_path):
    rng = np.random.default_rng(0)
    colours = rng.choice(["red", "green", "blue"], size=60)
    size = rng.normal(size=60)
    label = np.where((colours == "red") | (size > 1), "yes", "no")
    rows = [f"{s:.3f},{c},{lab}" for s, c, lab in zip(size, colours, label, strict=True)]
    (tmp_path / "d.csv").write_text("size,colour,label\n" + "\n".join(rows) + "\n")
    model = tmp_path / "m.anyprop"
    status, _, err = run(
        "train",
        "--data",
        str(tmp_path / "d.csv"),
        "--target",
        "label",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--epochs",
        "30",
        "--out",
        str(model),
    )
    assert status == 0, err
    (tmp_path / "new.csv").write_text("colour,size\nred,0\nblue,0\n")
    status, out, err = run("predict", str(model), str(tmp_path / "new.csv"))
    assert status == 0, err
    assert out.splitlines()[1].startswith("yes") and out.splitlines()[2].startswith("no")
    (tmp_path / "odd.csv").write_text("colour,size\npurple,0\n")
    status, _, err = run("predict", str(model), str(tmp_path / "odd.csv"))
    assert status == 2 and "the category 'purple' was not in the training data" in err
    status, out, err = run("evaluate", str(model), "--json")
    assert status == 0, err


def test_a_held_out_test_part_or_file_is_scored_at_the_end(tmp_path):
    data = ROOT / "examples" / "data" / "mydata.csv"
    model = tmp_path / "m.anyprop"
    fit = ["train", "--data", str(data), "--target", "label", "--optimizer", "adam", "--lr"]
    fit += ["0.02", "--epochs", "20"]
    status, out, err = run(
        *fit,
        "--test-split",
        "0.25",
        "--out",
        str(model),
        "--json",
    )
    assert status == 0, err
    test = json.loads(out)["test"]
    assert test["samples"] == 75 and 0.5 < test["accuracy"] <= 1 and "confusion" in test
    status, out, err = run(
        *fit,
        "--test",
        str(data),
        "--out",
        str(model),
        "--json",
    )
    assert status == 0, err
    scored = json.loads(out)["test"]
    status, out, _ = run("evaluate", str(model), "--data", str(data), "--target", "label", "--json")
    assert status == 0
    shown = json.loads(out)
    assert scored["accuracy"] == shown["accuracy"] and scored["loss"] == shown["loss"]
    status, _, err = run(
        "train",
        "--data",
        str(data),
        "--target",
        "label",
        "--test",
        str(data),
        "--test-split",
        "0.2",
        "--no-save",
    )
    assert status == 2 and "not both" in err


def test_missing_inputs_are_imputed_when_asked_with_values_fitted_on_the_training_part(tmp_path):
    from anyprop.data import Imputer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    label = np.where(x[:, 0] > 0, "yes", "no")
    lines = ["a,b,c,label"]
    for k, ((a, b, c), lab) in enumerate(zip(x, label, strict=True)):
        cells = [f"{a:.3f}", f"{b:.3f}", f"{c:.3f}"]
        if k % 7 == 0:
            cells[1] = ""  # a missing value
        lines.append(",".join([*cells, lab]))
    data = tmp_path / "d.csv"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.anyprop"
    status, _, err = run(
        "train", "--data", str(data), "--target", "label", "--epochs", "3", "--out", str(model)
    )
    assert status == 2 and "missing values in the inputs" in err and "--impute" in err
    status, _, err = run(
        "train",
        "--data",
        str(data),
        "--target",
        "label",
        "--epochs",
        "3",
        "--validation-split",
        "0.25",
        "--impute",
        "median",
        "--out",
        str(model),
    )
    assert status == 0, err
    m = load_model(model)
    assert m.imputer.strategy == "median"
    # fitted on the training part only: the rows the run trained on, without the held-out
    from anyprop.train.job import load_data

    raw = load_data(str(data), "label", missing=True)
    keep, _ = raw.split_indices(0.25, np.random.default_rng(m.trainer_state["split_seed"]))
    want = Imputer.fit(raw.x[keep], "median").values
    np.testing.assert_array_equal(m.imputer.values, want)
    (tmp_path / "new.csv").write_text("a,b,c\n1.0,,0.5\n")
    status, out, err = run("predict", str(model), str(tmp_path / "new.csv"))
    assert status == 0, err
    filled = m.predict(np.array([[1.0, want[1], 0.5]]))
    assert out.splitlines()[1].split(",")[1] == f"{filled[0, 0]:.6g}"
    assert run("evaluate", str(model))[0] == 0
    assert run("explain", str(model), "--weight", "input[1]->h1[0]")[0] == 0


def test_a_resumed_binary_model_stays_binary(tmp_path):
    model = tmp_path / "m.anyprop"
    assert run("train", "--data", "xor", "--epochs", "3", "--out", str(model))[0] == 0
    status, out, err = run("train", "--resume", str(model), "--epochs", "5")
    assert status == 0, err
    assert "accuracy" in out and "task: binary" in out and "regression" not in out
    assert load_model(model).task == "binary"
