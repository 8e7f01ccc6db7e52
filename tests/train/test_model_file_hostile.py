"""Damaged or hand-made model files: each is refused with a FormatError naming the file
and what is wrong, before anything is used; never another exception."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anyprop
from anyprop.errors import AnypropError


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "m.anyprop"
    anyprop.train_model("xor", epochs=2, hidden=3, out=str(path))
    return path.read_bytes()


def split(blob):
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8 : 8 + n]), blob[8 + n :]


def join(header, data):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def first_param(header):
    return next(k for k in header if k.startswith("param/"))


def with_meta(header, **fields):
    meta = json.loads(header["__metadata__"]["anyprop"])
    meta.update(fields)
    header["__metadata__"]["anyprop"] = json.dumps(meta)
    return header


CASES = {
    "shape 2**70": lambda h: h[first_param(h)].update(shape=[2**70]),
    "shape 1e400": lambda h: h[first_param(h)].update(shape=[float("inf")]),
    "shape 2**32 x 2**32": lambda h: h[first_param(h)].update(shape=[2**32, 2**32]),
    "shape 2.7": lambda h: h[first_param(h)].update(shape=[2.7]),
    "shape true": lambda h: h[first_param(h)].update(shape=[True]),
    "offsets of three": lambda h: h[first_param(h)].update(data_offsets=[0, 1, 2]),
    "I32 for F32": lambda h: h[first_param(h)].update(dtype="I32"),
    "data 5": lambda h: with_meta(h, data=5),
    "trainer 5": lambda h: with_meta(h, trainer=5),
    "history 5": lambda h: with_meta(h, history=5),
    "info list": lambda h: with_meta(h, info=[1, 2]),
    "labels 5": lambda h: with_meta(h, data={"labels": 5}),
    "task 7": lambda h: with_meta(h, data={"task": 7}),
    "spec list": lambda h: with_meta(h, spec=[1]),
    "newer format": lambda h: with_meta(h, format=99, anyprop="9.0"),
    "version 5": lambda h: with_meta(h, anyprop=5),
    "history.epochs 5": lambda h: nested(h, ("history", "epochs"), 5),
    "history.epochs [5]": lambda h: nested(h, ("history", "epochs"), [5]),
    "trainer.config 5": lambda h: nested(h, ("trainer", "config"), 5),
    "trainer.rng 5": lambda h: nested(h, ("trainer", "rng"), 5),
    "trainer.optimizer 5": lambda h: nested(h, ("trainer", "optimizer"), 5),
    "trainer.optimizer.state [1]": lambda h: nested(h, ("trainer", "optimizer", "state"), [1]),
    "trainer.epoch text": lambda h: nested(h, ("trainer", "epoch"), "2"),
    "info.job 5": lambda h: nested(h, ("info", "job"), 5),
}


def nested(header, keys, value):
    meta = json.loads(header["__metadata__"]["anyprop"])
    place = meta
    for k in keys[:-1]:
        place = place[k]
    place[keys[-1]] = value
    header["__metadata__"]["anyprop"] = json.dumps(meta)
    return header


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_field_is_refused_by_name(tmp_path, model_bytes, case):
    header, data = split(model_bytes)
    CASES[case](header)
    path = tmp_path / "bad.anyprop"
    path.write_bytes(join(header, data))
    with pytest.raises(AnypropError) as e:
        anyprop.load(path)
    assert "bad.anyprop" in str(e.value)
    if case == "newer format":
        assert "newer anyprop (9.0, model format 99)" in str(e.value)


def test_a_header_or_a_description_nested_deep_is_refused(tmp_path, model_bytes):
    header, data = split(model_bytes)
    deep = "[" * 5000 + "]" * 5000
    text = json.dumps(header).encode()[:-1] + b', "x": ' + deep.encode() + b"}"
    path = tmp_path / "deep.anyprop"
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    with pytest.raises(AnypropError, match="deep.anyprop"):
        anyprop.load(path)
    header["__metadata__"]["anyprop"] = deep
    path.write_bytes(join(header, data))
    with pytest.raises(AnypropError, match="deep.anyprop"):
        anyprop.load(path)


@settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_any_mutation_of_a_model_file_loads_or_is_an_anyprop_error(tmp_path, model_bytes, data):
    blob = bytearray(model_bytes)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    path = tmp_path / "x.anyprop"
    path.write_bytes(bytes(blob))
    try:
        model = anyprop.load(path)
    except AnypropError:
        return
    model.predict(np.zeros((2, model.network.input_width)))


def test_an_optimizer_state_of_another_dtype_is_refused_on_resume(tmp_path):
    from anyprop.train.job import TrainJob, run

    path = tmp_path / "a.anyprop"
    anyprop.train_model("xor", epochs=2, hidden=3, optimizer="adam", out=str(path))
    header, data = split(path.read_bytes())
    name = next(k for k in header if k.startswith("trainer/optimizer/state/"))
    header[name]["dtype"] = "I32" if header[name]["dtype"] == "F32" else "I64"
    path.write_bytes(join(header, data))
    with pytest.raises(AnypropError, match="is stored as int"):
        run(TrainJob(resume=str(path), epochs=3, out=None))


def test_a_stored_update_rule_that_does_not_parse_is_refused_on_load(tmp_path):
    path = tmp_path / "r.anyprop"
    anyprop.train_model("xor", epochs=1, hidden=2, rule="w - lr*g", out=str(path))
    header, data = split(path.read_bytes())
    nested(header, ("trainer", "optimizer", "config", "rule"), "w - lr*g + 1/0")
    path.write_bytes(join(header, data))
    with pytest.raises(AnypropError, match="the stored update rule is invalid"):
        anyprop.load(path)
