"""When the steps run compiled: the same training either way, the choice measured
and only made in a run long enough to gain from it."""

from __future__ import annotations

import io

import numpy as np
import pytest

import anyprop
from anyprop import Network
from anyprop.cli.main import main
from anyprop.errors import AnypropError
from anyprop.nn.plan import kernel
from anyprop.train import Trainer
from anyprop.train.compiled_step import LOAD_SECONDS, StepEngine

pytest.importorskip("numba")


def _dag(dtype="float64"):
    net = Network(dtype=dtype, seed=3)
    net.add_input("x", 4)
    net.add_group("a", 6, transfer="tanh")
    net.add_group("b", 3, transfer="relu")
    net.add_output("y", 3, transfer="softmax", loss="cross_entropy")
    for s, t in [("x", "a"), ("a", "b"), ("b", "y"), ("x", "y"), ("a", "y")]:
        net.connect(s, t)
    return net


def _data(n=37):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)), rng.integers(0, 3, n)


def test_compiled_training_is_numpy_training():
    x, y = _data()
    a, b = _dag(), _dag()
    for net, mode in ((a, "never"), (b, "always")):
        tr = Trainer(net, "sgd", lr=0.3, momentum=0.9, batch_size=8, seed=1, compile=mode)
        tr.fit((x, y), 6)  # batches of 8 and a ragged one of 5
        tr.fit((x, y), 8, sample_weight=np.linspace(0.5, 2, len(x)))  # (weighted: NumPy)
    assert b.plan().kernel is not None
    for k in a.params:
        np.testing.assert_allclose(b.params[k], a.params[k], rtol=1e-12, atol=1e-14, err_msg=k)


def _engine(mode="auto", net=None):
    net = net or _dag()
    x, y = _data(8)
    tr = Trainer(net, "sgd", lr=0.1, seed=0, compile=mode)
    tr.step(x, y, None, 0)  # (the plan's buffers)
    return tr.engine, net.plan()


def test_a_run_decides_once_by_its_length_the_same_way_every_time():
    engine, plan = _engine()
    numpy_s, compiled_s = kernel.estimate(plan, 8)
    saving = numpy_s - compiled_s
    assert saving > 0  # a small network: the compiled step is faster by the model
    short = int(LOAD_SECONDS / saving) - 1
    for steps, chosen in ((short, False), (short + 2, True)):
        engine = StepEngine()
        engine.plan_run(plan, 8, steps)
        assert engine.use is chosen
        engine.plan_run(plan, 8, 10**9)  # decided: a later fit does not change it
        assert engine.use is chosen
    engine = StepEngine()
    engine.plan_run(plan, 8, short)
    assert engine.reason == "NumPy (the compiled step would not pay for itself in this run)"


def test_stepped_by_hand_it_switches_where_the_savings_have_paid():
    engine, plan = _engine()
    numpy_s, compiled_s = kernel.estimate(plan, 8)
    after = LOAD_SECONDS / (numpy_s - compiled_s)
    while engine.steps < after:
        assert engine.use is None and plan.kernel is None
        engine.begin(plan, 8)
    engine.begin(plan, 8)
    assert engine.use is True and plan.kernel is not None
    assert engine.reason.startswith("compiled (numba; ready in ")


def test_a_network_that_numpy_runs_faster_stays_in_numpy():
    net = Network(seed=0)
    net.add_input("x", 64)
    for k in range(6):
        net.add_group(f"h{k}", 64, transfer="tanh")
        net.connect("x" if k == 0 else f"h{k - 1}", f"h{k}")
    net.add_output("y", 10, transfer="softmax", loss="cross_entropy")
    net.connect("h5", "y")
    engine = StepEngine()
    engine.plan_run(net.plan(), 256, 10**9)
    assert engine.use is False
    assert engine.reason == "NumPy (faster than the compiled step for this network)"


def test_a_resumed_run_goes_on_as_it_began(tmp_path):
    x, y = _data()
    tr = Trainer(_dag(), "sgd", lr=0.1, seed=0)
    tr.engine.use = True  # as a long run would have decided
    tr.fit((x, y), 2)
    state = tr.state_dict()
    assert state["compiled"] is True
    again = Trainer.from_state(_dag(), state)
    assert again.engine.use is True
    again.fit((x, y), 3)
    assert again.network.plan().kernel is not None


def test_always_and_never_and_their_errors():
    engine, plan = _engine("always")
    assert engine.use is True and plan.kernel is not None
    assert engine.reason.startswith("compiled (numba; ready in ")
    engine, plan = _engine("never")
    assert plan.kernel is None and engine.reason == "NumPy (compile='never')"
    with pytest.raises(AnypropError, match="compile must be one of auto, always, never"):
        StepEngine("sometimes")
    net = Network(seed=0)
    net.add_input("x", 2)
    net.add_output("y", 2, transfer="softmax", loss="mse")
    net.connect("x", "y")
    with pytest.raises(AnypropError, match="compile='always': this network has no compiled"):
        zeros = np.zeros((2, 2), np.float32)
        Trainer(net, "sgd", compile="always").step(zeros, zeros, None, 0)


def test_the_command_line_trains_the_same_model_compiled(tmp_path):
    common = ["train", "--data", "xor", "--hidden", "3", "--transfer", "tanh", "--optimizer",
              "sgd", "--lr", "0.5", "--epochs", "30", "--seed", "2"]  # fmt: skip
    out = io.StringIO()
    assert main([*common, "--compile", "always", "--out", str(tmp_path / "c.anyprop")], out) == 0
    assert "steps: compiled (numba; ready in " in out.getvalue()
    out = io.StringIO()
    assert main([*common, "--compile", "never", "--out", str(tmp_path / "n.anyprop")], out) == 0
    assert "steps: NumPy (compile='never')" in out.getvalue()
    a, b = anyprop.load(tmp_path / "c.anyprop"), anyprop.load(tmp_path / "n.anyprop")
    for k in a.network.params:  # float32: the sums in another order
        np.testing.assert_allclose(a.network.params[k], b.network.params[k], rtol=1e-5,
                                   atol=1e-6, err_msg=k)  # fmt: skip


def _graph(dtype, units=80, edges=900):
    from anyprop.nn.unitgraph import from_units

    rng = np.random.default_rng(5)
    pairs = np.unique(rng.integers(0, units * units, edges))
    a, b = np.divmod(pairs, units)
    keep = a < b
    net = from_units((a[keep], b[keep]), transfer="tanh", seed=0)
    return net if dtype == "float32" else net.astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_unit_graph_trains_with_its_pairs_gradients_compiled_as_in_numpy(dtype):
    rng = np.random.default_rng(1)
    nets = {mode: _graph(dtype) for mode in ("never", "always")}
    x = rng.normal(size=(9, nets["never"].input_width))
    y = rng.normal(size=(9, nets["never"].target_width))
    trainers = {}
    for mode, net in nets.items():
        tr = Trainer(net, "sgd", lr=0.1, momentum=0.9, batch_size=4, seed=2, compile=mode)
        tr.fit((x, y), 3)
        trainers[mode] = tr
    assert nets["always"].plan().block.pairs is not None
    assert nets["never"].plan().block.pairs is None
    assert trainers["always"].engine.reason.startswith("compiled pairs' gradients (numba")
    rtol, atol = (1e-12, 1e-13) if dtype == "float64" else (1e-5, 1e-6)
    for k, w in nets["never"].params.items():
        np.testing.assert_allclose(nets["always"].params[k], w, rtol, atol, err_msg=k)


def test_a_unit_graph_decides_by_the_pairs_time_model():
    net = _graph("float32", 1000, 40_000)  # sparse: the compiled dot products pay
    plan = net.plan()
    numpy_s, compiled_s = kernel.estimate_pairs(plan, 64)
    assert 0 < compiled_s < numpy_s
    saving = numpy_s - compiled_s
    short, long = StepEngine(), StepEngine()
    short.plan_run(plan, 64, int(LOAD_SECONDS / saving / 2))
    long.plan_run(plan, 64, int(LOAD_SECONDS / saving * 2))
    assert (short.use, long.use) == (False, True)
    assert kernel.pairs_unsupported(_dag().plan()) is not None  # (no sparse block)
