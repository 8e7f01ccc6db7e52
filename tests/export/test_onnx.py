"""Every example network and every built-in transfer function, exported and run in
onnxruntime, against anyprop's own outputs. Tolerance: float32 (rtol 1e-5, atol 1e-6);
float64 networks agree to 1e-12."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import anyprop  # noqa: E402
from anyprop.cli import main  # noqa: E402
from anyprop.errors import AnypropError  # noqa: E402
from anyprop.nn import Network  # noqa: E402
from anyprop.nn import spec as spec_io  # noqa: E402
from anyprop.nn.transfer import TRANSFERS  # noqa: E402
from anyprop.nn.transfer.base import OpsTransfer  # noqa: E402

SPECS = sorted((Path(__file__).resolve().parents[2] / "examples" / "specs").glob("*.toml"))
RTOL, ATOL = 1e-5, 1e-6


def _run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def _inputs(net, n=9, seed=0):
    rng = np.random.default_rng(seed)
    return {g: rng.normal(0, 2, (n, net.groups[g].size)).astype(net.dtype) for g in net.inputs}


def _check_network(net, tmp_path, rtol=RTOL, atol=ATOL, **kw):
    proto = anyprop.export_onnx(net, tmp_path / "net.onnx", **kw)
    onnx.checker.check_model(proto, full_check=True)
    feeds = _inputs(net)
    got = _run(tmp_path / "net.onnx", feeds)
    with np.errstate(all="ignore"):
        want = net.plan().forward(feeds if len(net.inputs) > 1 else feeds[net.inputs[0]])
    for g in net.outputs:
        np.testing.assert_allclose(got[f"{g}:out"], want[g], rtol=rtol, atol=atol, err_msg=g)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_example_network(path, tmp_path):
    net = spec_io.load(path)
    odd = next((c for c in net.connections.values() if c.delay or c.gate), None)
    if odd is not None:  # recurrent and gated networks are refused, by connection
        with pytest.raises(AnypropError, match=f"connection '{odd.name}' is (delayed|gated)"):
            anyprop.export_onnx(net, tmp_path / "m.onnx")
        assert not (tmp_path / "m.onnx").exists()
        return
    _check_network(net, tmp_path)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(TRANSFERS.names()))
def test_every_built_in_transfer_function(name, dtype, tmp_path):
    t = TRANSFERS.get(name)
    params = {k: (v * 1.7 if v else 0.3) for k, v in getattr(t, "defaults", {}).items()}
    vector = getattr(t, "vector", False)
    for p in ({}, params) if params else ({},):
        fn = {"name": name, **p} if p else name
        net = Network.layered(
            [3, 5, 4],
            transfer="tanh" if vector else fn,
            output_transfer=fn if vector else "identity",
            loss="mse",
            seed=1,
            dtype=dtype,
        )
        tol = {} if dtype == "float32" else {"rtol": 1e-6 if name == "gelu" else 1e-10}
        _check_network(net, tmp_path, **tol)


FORMULAS = [
    "x/(1+abs(x))",
    "exp(-x^2) + log1p(x^2) - expm1(x/9)",
    "sqrt(1 + x*x) * sign(x) + tanh(x) * sigmoid(x)",
    "softplus(x) - relu(-x) + erf(x/2)",
    "sin(x) + cos(2*x) + tan(x/4) + sinh(x/3) - cosh(x/5)",
    "atanh(x/(1+abs(x))/2) + square(x)/10 + max(x, 0.1) - min(x, -0.2)",
    "ln(2 + x^2) * pi / e - 2^3",
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_transfer_functions(formula, dtype, tmp_path):
    net = Network.layered([3, 6, 2], transfer=formula, output_transfer=formula, seed=2, dtype=dtype)
    tol = {} if dtype == "float32" else {"rtol": 1e-6 if "erf" in formula else 1e-10}
    _check_network(net, tmp_path, **tol)


def test_connection_kinds_shared_fixed_and_sparse_in_both_forms(tmp_path):
    net = Network(seed=4)
    net.add_input("x", 4)
    net.add_input("z", 2)
    net.add_group("h", 4, transfer="tanh")
    net.add_group("g", 4, transfer="relu")
    net.add_group("s", 3, transfer="sigmoid")
    net.add_group("y", 4, transfer="identity", loss="mse")
    net.add_group("w", 3, transfer="softmax", loss="cross_entropy")
    net.connect("x", "h", name="enc")
    net.connect("h", "g", "one_to_one", trainable=False)
    net.connect("g", "s", "sparse", pairs=[[0, 0], [3, 2], [1, 2], [2, 1]])
    net.connect("z", "s", "sparse", density=0.5)
    net.connect("s", "y")
    net.connect("g", "y", share="enc", transpose=True)
    net.connect("x", "w")
    net.connect("s", "w")
    _check_network(net, tmp_path)
    _check_network(net, tmp_path, dense_limit=0)  # every sparse one as gather and scatter


def test_float64_networks(tmp_path):
    """(Erf alone runs in float32 there: onnxruntime has no double kernel for it.)"""
    net = Network.layered([3, 7, 2], transfer="mish", dtype="float64", seed=3)
    proto = anyprop.export_onnx(net, tmp_path / "n.onnx")
    feeds = _inputs(net)
    got = _run(tmp_path / "n.onnx", feeds)["output:out"]
    np.testing.assert_allclose(got, net.plan().forward(feeds["input"])["output"], rtol=1e-12)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    gelu = Network.layered([3, 7, 2], transfer="gelu", dtype="float64", seed=3)
    anyprop.export_onnx(gelu, tmp_path / "g.onnx")
    got = _run(tmp_path / "g.onnx", feeds)["output:out"]
    np.testing.assert_allclose(got, gelu.plan().forward(feeds["input"])["output"], rtol=1e-6)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "digits", "diabetes", "xor"])
def test_models_on_the_bundled_data_sets(name, tmp_path):
    model = anyprop.train_model(name, epochs=3, out=None)
    data = anyprop.datasets.load(name)
    anyprop.export_onnx(model, tmp_path / "m.onnx")
    x = data.x.astype(np.float32)
    got = _run(tmp_path / "m.onnx", {"input": x})
    np.testing.assert_allclose(got["output"], model.predict(x), rtol=RTOL, atol=1e-5)
    if model.task == "classification" and model.labels:
        labels = got["label"].tolist()
        want = model.predict_labels(x)
        assert [str(v) for v in labels] == [str(v) for v in want]


def test_a_model_fills_missing_values_standardises_and_maps_targets_back(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(50, 20, (80, 3))
    y = np.column_stack([x @ [1.0, -2.0, 0.5] + 300, x[:, 0] * 3])
    x[::7, 1] = np.nan
    model = anyprop.train_model((x, y), impute="median", epochs=5, out=None)
    assert model.imputer is not None and model.target_scaler is not None
    anyprop.export_onnx(model, tmp_path / "r.onnx")
    got = _run(tmp_path / "r.onnx", {"input": x.astype(np.float32)})
    np.testing.assert_allclose(got["output"], model.predict(x), rtol=RTOL, atol=1e-3)


def test_number_labels_and_a_unit_graph(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    y = np.where(x[:, 0] > 0, 7, 3)
    model = anyprop.train_model((x, y), task="classification", epochs=3, out=None)
    anyprop.export_onnx(model, tmp_path / "c.onnx")
    got = _run(tmp_path / "c.onnx", {"input": x.astype(np.float32)})
    assert got["label"].dtype == np.int64
    assert got["label"].tolist() == model.predict_labels(x)
    units = SPECS[[p.stem for p in SPECS].index("units")]
    xor = anyprop.train_model("xor", spec=str(units), epochs=3, out=None)
    anyprop.export_onnx(xor, tmp_path / "u.onnx")
    xs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    got = _run(tmp_path / "u.onnx", {"input": xs})
    np.testing.assert_allclose(got["output"], xor.predict(xs), rtol=RTOL, atol=ATOL)


def test_python_code_cannot_be_exported_and_says_where(tmp_path):
    net = Network.layered([2, 3, 1], transfer=OpsTransfer(lambda t: t * 2, name="double"))
    with pytest.raises(AnypropError, match="group 'h1'.*'double' is Python code"):
        anyprop.export_onnx(net, tmp_path / "n.onnx")
    assert not (tmp_path / "n.onnx").exists()


def test_a_model_of_text_columns_is_refused_naming_them(tmp_path):
    data = Path(__file__).resolve().parents[2] / "examples" / "data" / "mydata.csv"
    model = anyprop.train_model(str(data), target="label", epochs=2, out=None)
    with pytest.raises(AnypropError, match=r"text column\(s\).*\(colour\)"):
        anyprop.export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_the_cli_exports_what_predict_prints(tmp_path):
    m, o = tmp_path / "m.anyprop", tmp_path / "m.onnx"
    argv = ["train", "--data", "iris", "--epochs", "5", "--out", str(m)]
    assert main(argv, io.StringIO(), io.StringIO()) == 0
    err = io.StringIO()
    assert main(["export", str(m), "--format", "onnx", "--out", str(o)], io.StringIO(), err) == 0
    assert "opset 17" in err.getvalue()
    data = anyprop.datasets.load("iris")
    rows = "\n".join(",".join(f"{v:g}" for v in r) for r in data.x[:6])
    (tmp_path / "in.csv").write_text(",".join(data.feature_names) + "\n" + rows + "\n")
    out = io.StringIO()
    assert main(["predict", str(m), str(tmp_path / "in.csv")], out) == 0
    printed = [line.split(",") for line in out.getvalue().split()[1:]]
    got = _run(o, {"input": data.x[:6].astype(np.float32)})
    assert [r[0] for r in printed] == got["label"].tolist()
    np.testing.assert_allclose(
        np.array([[float(v) for v in r[1:]] for r in printed]), got["output"], rtol=1e-5
    )
    for bad, message in ((m, "give a .onnx file"), (tmp_path / "no" / "x.onnx", "no folder")):
        err = io.StringIO()
        assert main(["export", str(m), "--out", str(bad)], io.StringIO(), err) == 2
        assert message in err.getvalue() or "folder" in err.getvalue(), err.getvalue()
