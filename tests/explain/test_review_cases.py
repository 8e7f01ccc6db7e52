"""Cases a review found: fixed and shared weights, fused outputs that feed on, softmax
without its fused loss, Nesterov's state, labels in another order, resumed jobs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from anyprop import Network
from anyprop.cli import main
from anyprop.explain import explain_step, explain_weight
from anyprop.train import Trainer
from anyprop.train.model_io import load_model

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def test_a_fixed_weight_is_explained_as_not_moving():
    net = Network(dtype="float64", seed=0)
    net.add_input("x", 2)
    net.add_group("h", 3, transfer="tanh")
    net.add_output("y", 1, transfer="identity")
    net.connect("x", "h", trainable=False)
    net.connect("h", "y")
    x, t = np.array([[0.3, -0.2], [1.0, 0.5]]), np.array([[0.1], [0.4]])
    tr = Trainer(net, "adam", lr=0.1, weight_decay=0.1, seed=0)
    tr.fit((x, t), 2)
    e = explain_step(tr, (x, t), "x[0]->h[1]")
    assert e.step == 0.0 and e.w_after == e.w
    assert "fixed" in e.optimizer_lines[-1]["formula"]
    assert abs(e.plain_gradient - e.numeric) < 1e-7  # its gradient is still checked


def test_a_fused_output_that_also_feeds_another_unit_adds_both_parts():
    from anyprop.nn.unitgraph import from_units

    edges = [(0, 3), (1, 3), (2, 4), (3, 4), (0, 5), (3, 5), (4, 5), (1, 4)]
    g = from_units(
        edges,
        transfer="sigmoid",
        outputs=[5, 4],
        loss="binary_cross_entropy",
        dtype="float64",
        seed=0,
    )
    x = np.array([[0.2, -0.4, 0.9], [1.0, 0.3, -0.5]])
    t = np.array([[1.0, 1.0], [0.0, 1.0]])
    e = explain_weight(g, x, t, "2->4", sample=0, depth=2)
    d = e.delta
    assert d.fused and d.terms
    assert d.value == pytest.approx(d.fused_part + d.derivative * d.terms_sum, rel=1e-10)


def test_a_shared_weight_says_its_gradient_sums_the_uses():
    net = Network(dtype="float64", seed=1)
    net.add_input("x", 2)
    net.add_group("h", 2, transfer="tanh")
    net.add_output("k", 2, transfer="identity")
    net.connect("x", "h")
    net.connect("h", "k", share="x->h")
    e = explain_weight(net, np.array([[0.5, -1.0]]), np.array([[0.2, 0.1]]), "h[0]->k[1]")
    assert any("shared by 2 connections" in n for n in e.notes)
    assert abs(e.plain_gradient - e.numeric) < 1e-7 and e.gradient == pytest.approx(
        e.plain_gradient
    )


def test_softmax_without_its_fused_loss_writes_out_the_jacobian():
    net = Network.layered([2, 3], transfer="softmax", loss="mse", seed=0, dtype="float64")
    x, t = np.array([[0.5, -1.0]]), np.array([[1.0, 0.0, 0.0]])
    e = explain_weight(net, x, t, "input[0]->output[1]")
    d = e.delta
    text = e.to_text()
    assert "softmax acts on the whole group" in text and "= f'(net) ·" not in text
    o = net.forward(x)[0]
    g = o - t[0]  # ∂L/∂o of the mse loss, one sample
    assert d.value == pytest.approx(o[1] * (g[1] - o @ g), rel=1e-10)


def test_nesterov_names_its_state_the_velocity():
    net = Network.layered([2, 2, 1], seed=0, dtype="float64")
    x, t = np.array([[0.5, -1.0], [0.1, 0.3]]), np.array([[1.0], [0.0]])
    tr = Trainer(net, "sgd", lr=0.2, momentum=0.9, nesterov=True, seed=0)
    tr.fit((x, t), 3)
    e = explain_step(tr, (x, t), "h1[0]->output[0]")
    assert [line["name"] for line in e.optimizer_lines] == ["v(t−1)", "v(t)", "Δw"]


def test_a_file_without_some_classes_keeps_the_models_class_indices(tmp_path):
    from anyprop.train.task import model_task_data

    rows = ["a,b,pet"] + [f"{i % 3},{i % 5},{['ant', 'cat', 'dog'][i % 3]}" for i in range(30)]
    (tmp_path / "pets.csv").write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.anyprop"
    assert (
        run(
            "train",
            "--data",
            str(tmp_path / "pets.csv"),
            "--target",
            "pet",
            "--epochs",
            "2",
            "--out",
            str(model),
        )[0]
        == 0
    )
    m = load_model(model)
    (tmp_path / "two.csv").write_text(
        "\n".join([rows[0]] + [r for r in rows[1:] if not r.endswith("ant")]) + "\n"
    )
    from anyprop.train.job import load_data

    d = model_task_data(m, load_data(str(tmp_path / "two.csv"), "pet"))
    assert d.labels == ["ant", "cat", "dog"] and set(d.y.tolist()) == {1, 2}
    (tmp_path / "new.csv").write_text(rows[0] + "\n0,0,cow\n")
    status, _, err = run(
        "evaluate", str(model), "--data", str(tmp_path / "new.csv"), "--target", "pet"
    )
    assert status == 2 and "the label 'cow'" in err


def test_a_resumed_run_keeps_its_data_and_target(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    rows = ["a,b,y1,y2"] + [f"{p:.3f},{q:.3f},{p + q:.3f},{p - q:.3f}" for p, q in x]
    (tmp_path / "reg.csv").write_text("\n".join(rows) + "\n")
    first, second = tmp_path / "r0.anyprop", tmp_path / "r1.anyprop"
    assert (
        run(
            "train",
            "--data",
            str(tmp_path / "reg.csv"),
            "--target",
            "y1",
            "--epochs",
            "2",
            "--out",
            str(first),
        )[0]
        == 0
    )
    assert run("train", "--resume", str(first), "--epochs", "3", "--out", str(second))[0] == 0
    job = load_model(second).info["job"]
    assert job["target"] == "y1" and job["data"] == str(tmp_path / "reg.csv")
    assert run("train", "--data", "parity:n=4", "--epochs", "1", "--out", str(first))[0] == 0
    assert run("train", "--resume", str(first), "--epochs", "2", "--out", str(second))[0] == 0
    assert load_model(second).info["job"]["data"] == "parity:n=4"


def test_explaining_a_spec_is_reproducible_and_batch_does_not_apply():
    args = [
        "explain",
        str(SPECS / "xor.toml"),
        "--data",
        "xor",
        "--weight",
        "h1[0]->output[0]",
        "--json",
    ]
    first, second = json.loads(run(*args)[1]), json.loads(run(*args)[1])
    assert first["w"] == second["w"]
    status, _, err = run(*args, "--batch", "1")
    assert status == 2 and "--batch 1 does not apply" in err
