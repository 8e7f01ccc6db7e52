"""Model files: round trips, atomic writes, and clear errors for damaged files."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from anyprop import AnypropError, Network, datasets
from anyprop.nn.unitgraph import from_units
from anyprop.train import Standardizer, Trainer
from anyprop.train.model_io import load_model, save_model
from anyprop.train.safetensors import FormatError, dumps, loads


def trained(tmp_path):
    net = Network.layered([2, 3, 1], transfer="x/(1+abs(x))", output_transfer="sigmoid", seed=0)
    tr = Trainer(net, "adam", lr=0.05, seed=0)
    tr.fit(datasets.load("xor"), 5)
    path = tmp_path / "m.anyprop"
    save_model(
        path,
        net,
        trainer=tr,
        standardizer=Standardizer(np.zeros(2), np.ones(2)),
        labels=None,
        feature_names=["a", "b"],
        task="binary",
    )
    return net, path


def test_round_trip_predicts_the_same(tmp_path):
    net, path = trained(tmp_path)
    m = load_model(path)
    x = datasets.load("xor").x
    np.testing.assert_array_equal(m.predict(x), net.forward(x.astype(np.float32)))
    assert m.feature_names == ["a", "b"] and m.task == "binary"
    assert m.trainer_state["epoch"] == 5 and len(m.history["epochs"]) == 5
    assert repr(m.network.groups["h1"].transfer) == "x/(1+abs(x))"


def test_unit_graph_models_round_trip(tmp_path):
    g = from_units(
        [(0, 2), (1, 2), (0, 3), (2, 3)], transfer={"default": "tanh", 3: "sigmoid"}, seed=0
    )
    save_model(tmp_path / "g.anyprop", g)
    m = load_model(tmp_path / "g.anyprop")
    x = np.array([[0.3, -0.2]])
    np.testing.assert_array_equal(m.predict(x), g.forward(x))


def test_writes_are_atomic(tmp_path):
    _, path = trained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.anyprop"]
    before = path.read_bytes()
    net = Network.layered([2, 2], seed=0)
    with pytest.raises(AnypropError, match="cannot write the model"):
        save_model(path, net, info={"bad": object()})  # fails while encoding: nothing written
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.anyprop"]


def test_truncated_corrupted_and_tampered_files(tmp_path):
    _, path = trained(tmp_path)
    blob = path.read_bytes()
    cases = {
        "truncated": blob[: len(blob) // 2],
        "tiny": blob[:5],
        "garbage header": blob[:8] + b"\xff" * (len(blob) - 8),
    }
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    name = next(k for k in header if k.startswith("param/"))
    header[name]["data_offsets"][1] += 4
    text = json.dumps(header).encode()
    cases["tampered offsets"] = struct.pack("<Q", len(text)) + text + blob[8 + n :]
    for label, data in cases.items():
        bad = tmp_path / f"{label}.anyprop"
        bad.write_bytes(data)
        with pytest.raises(FormatError) as info:
            load_model(bad)
        assert str(bad) in str(info.value), label
    assert path.read_bytes() == blob  # the good file is untouched


def test_not_a_model_and_mismatched_weights(tmp_path):
    p = tmp_path / "x.safetensors"
    p.write_bytes(dumps({"a": np.ones(2)}))
    with pytest.raises(FormatError, match="not an anyprop model"):
        load_model(p)
    _, path = trained(tmp_path)
    tensors, meta = loads(path.read_bytes())
    tensors["param/h1.bias"] = np.ones(7, dtype=np.float32)
    (tmp_path / "w.anyprop").write_bytes(dumps(tensors, meta))
    with pytest.raises(FormatError, match=r"weight 'h1.bias' has shape \(7,\)"):
        load_model(tmp_path / "w.anyprop")


def test_compatible_with_the_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    _, path = trained(tmp_path)
    tensors = st.load_file(str(path))
    assert "param/h1.bias" in tensors
    st.save_file({"param/x": np.arange(3, dtype=np.float32)}, str(tmp_path / "o.safetensors"))
    ours, _ = loads((tmp_path / "o.safetensors").read_bytes())
    assert ours["param/x"].tolist() == [0, 1, 2]


LEGACY = __import__("pathlib").Path(__file__).parent / "legacy"


@pytest.mark.parametrize("name", ["units", "sparse"])
def test_model_files_written_before_the_connection_classes_still_load(name):
    """Files saved by anyprop 0.1.0 before issue 10 (a unit graph; a sparse connection
    whose pairs were given out of target-major order, saved in that order) load and
    predict as they did, and their training resumes."""
    m = load_model(LEGACY / f"{name}.anyprop")
    x = np.load(LEGACY / f"{name}_x.npy")
    np.testing.assert_allclose(m.predict(x), np.load(LEGACY / f"{name}_out.npy"), rtol=1e-6)
    tr = Trainer.from_state(m.network, m.trainer_state)
    y = np.zeros((len(x), m.predict(x).shape[1]))
    tr.fit((x, y), tr.epoch + 1)
    assert tr.epoch == m.trainer_state["epoch"] + 1
