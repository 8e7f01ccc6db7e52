"""Spec files: three forms, round trips, and every mistake named with file, line and key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anyprop.nn import Network, spec
from anyprop.nn.spec import SpecError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"

GOOD = """
[network]
name = "demo"
seed = 3

[groups.x]
size = 3
input = true

[groups.h]
size = 4
transfer = { name = "leaky_relu", alpha = 0.1 }

[groups.code]
size = 4
transfer = "x/(1+abs(x))"
bias = false

[groups.out]
size = 2
transfer = "softmax"
loss = "cross_entropy"

[groups.dec]
size = 4
transfer = "identity"

[groups.rec]
size = 3
transfer = "identity"
loss = { name = "huber", delta = 0.5 }
loss_weight = 0.25

[[connections]]
from = "x"
to = "h"
init = { name = "uniform", r = 0.3 }

[[connections]]
from = "h"
to = "code"
kind = "one_to_one"

[[connections]]
from = "code"
to = "out"

[[connections]]
from = "x"
to = "out"
kind = "sparse"
pairs = [[0, 0], [2, 1]]
weights = [0.5, -0.5]

[[connections]]
from = "out"
to = "dec"
share = "code->out"
transpose = true

[[connections]]
from = "dec"
to = "rec"
trainable = false
"""


def test_every_feature_loads_and_round_trips_with_weights():
    net = spec.loads(GOOD, "good.toml")
    assert net.name == "demo"
    assert net.connections["out->dec"].share == "code->out"
    assert "dec->rec.weight" not in net.trainable()
    assert repr(net.groups["h"].transfer) == "leaky_relu(alpha=0.1)"
    text = spec.dumps(net, weights=True)
    again = spec.loads(text)
    assert spec.dumps(again, weights=True) == text
    for k in net.params:
        np.testing.assert_array_equal(net.params[k], again.params[k])
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(net.forward(x)["rec"], again.forward(x)["rec"])


def test_structure_round_trips_without_weights():
    net = spec.loads(GOOD)
    again = spec.loads(spec.dumps(net))
    assert again.summary() == net.summary()


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.toml")))
def test_example_specs_load_and_run(name):
    net = spec.load(EXAMPLES / f"{name}.toml")
    if any(c.delay or c.gate for c in net.connections.values()):  # over sequences
        outs = net.sequence_plan().forward(np.ones((2, 5, net.input_width)))
        assert all(np.isfinite(o).all() and o.shape[:2] == (2, 5) for o in outs.values())
        again = spec.loads(spec.dumps(net))  # the delays and gates written back
        assert [(c.delay, c.gate, c.gate_delay) for c in again.connections.values()] == [
            (c.delay, c.gate, c.gate_delay) for c in net.connections.values()
        ]
        return
    x = np.zeros((2, net.input_width))
    assert np.isfinite(net.forward(x)).all()
    assert spec.dumps(net)


def test_save_is_atomic_and_loadable(tmp_path):
    net = Network.layered([2, 3, 1], seed=0)
    path = tmp_path / "net.toml"
    spec.save(net, path, weights=True)
    assert [p.name for p in tmp_path.iterdir()] == ["net.toml"]
    again = spec.load(path)
    for k in net.params:
        np.testing.assert_array_equal(net.params[k], again.params[k])


def test_layered_form():
    net = spec.loads("[layered]\nsizes = [4, 3, 2]\ntransfer = 'tanh'\nshortcuts = true\n")
    assert "input->output" in net.connections and len(net.connections) == 3


def error(text, source="net.toml"):
    with pytest.raises(SpecError) as info:
        spec.loads(text, source)
    return str(info.value)


def with_groups(extra, groups=None):
    base = groups or (
        "[groups.x]\nsize = 2\ninput = true\n\n[groups.h]\nsize = 3\n\n"
        "[groups.out]\nsize = 1\nloss = 'mse'\n\n"
    )
    return base + extra


def test_unknown_group_names_the_line_key_and_nearest():
    msg = error(with_groups("[[connections]]\nfrom = 'x'\nto = 'hh'\n"))
    assert msg.startswith("net.toml:14: connections[0].to: unknown group 'hh'; did you mean 'h'")


def test_duplicate_group_is_a_toml_error_with_its_line():
    msg = error("[groups.x]\nsize = 2\ninput = true\n\n[groups.x]\nsize = 3\n")
    assert "net.toml: not valid TOML" in msg and "line 5" in msg


def test_cycle_names_its_path():
    text = with_groups(
        "[[connections]]\nfrom = 'x'\nto = 'h'\n\n[[connections]]\nfrom = 'h'\nto = 'out'\n\n"
        "[[connections]]\nfrom = 'out'\nto = 'h'\n"
    )
    msg = error(text)
    assert "connections[2]" in msg and "cycle: out -> h -> out" in msg and "net.toml:20" in msg


def test_wrong_weight_matrix_size():
    msg = error(with_groups("[[connections]]\nfrom = 'x'\nto = 'h'\nweights = [[1.0, 2.0]]\n"))
    assert "net.toml:15: connections[0].weights" in msg
    assert "(1, 2) do not fit: expected (2, 3)" in msg


def test_unknown_transfer_function_and_loss_suggest_names():
    msg = error("[groups.x]\nsize = 2\ninput = true\n[groups.h]\nsize = 2\ntransfer = 'sigmiod'\n")
    assert "net.toml:6: groups.h.transfer: unknown transfer function 'sigmiod'" in msg
    assert "did you mean 'sigmoid'" in msg
    msg = error("[groups.x]\nsize = 2\ninput = true\n[groups.o]\nsize = 2\nloss = 'crossentropy'\n")
    assert "groups.o.loss: unknown loss 'crossentropy'; did you mean 'cross_entropy'" in msg


def test_bad_formula_gives_the_column():
    msg = error(
        "[groups.x]\nsize = 2\ninput = true\n[groups.h]\nsize = 2\ntransfer = 'x/(1+abs(x)'\n"
    )
    assert "net.toml:6: groups.h.transfer: formula 'x/(1+abs(x)'" in msg
    assert "at column 12" in msg


def test_unknown_keys_and_wrong_types():
    msg = error("[groups.x]\nsize = 2\ninput = true\n[groups.h]\nsize = 2\ntranfer = 'tanh'\n")
    assert "net.toml:6: groups.h.tranfer: unknown key 'tranfer'; did you mean 'transfer'" in msg
    msg = error("[groups.x]\nsize = 'two'\ninput = true\n")
    assert "net.toml:2: groups.x.size: must be a whole number, got 'two'" in msg
    msg = error("[groups.x]\ninput = true\n")
    assert "groups.x: needs a size" in msg
    msg = error("[network]\nseed = 'a'\n[layered]\nsizes = [1, 1]\n")
    assert "network.seed: must be a whole number" in msg


def test_forms_and_sections():
    assert "exactly one way" in error("[network]\nname = 'x'\n")
    assert "exactly one way" in error(
        "[layered]\nsizes = [1, 1]\n[units]\nconnections = [[0, 1]]\n"
    )
    assert "layered.sizes: must be a list" in error("[layered]\nsizes = 3\n")
    assert "units: the unit graph has a cycle: [1, 2, 1]" in error(
        "[units]\nconnections = [[0, 1], [1, 2], [2, 1]]\n"
    )
    with pytest.raises(SpecError, match="no such spec file"):
        spec.load("/nonexistent.toml")


def test_python_functions_cannot_be_written():
    net = Network()
    net.add_input("x", 1)
    net.add_output("y", 1, transfer=lambda v: v * 2)
    net.connect("x", "y")
    with pytest.raises(SpecError, match="specs hold no code"):
        spec.dumps(net)


def test_a_sparse_connection_with_too_many_weights_is_named_at_its_weights_line():
    text = (
        "[groups.x]\nsize = 3\ninput = true\n[groups.y]\nsize = 2\nloss = 'mse'\n"
        "[[connections]]\nfrom = 'x'\nto = 'y'\nkind = 'sparse'\npairs = [[0, 0], [1, 1]]\n"
        "weights = [1.0, 2.0, 3.0]\n"
    )
    with pytest.raises(
        SpecError, match=r"<spec>:12: connections\[0\]\.weights: .*3 weights given for 2 pairs"
    ):
        spec.loads(text)
