"""A trained model (or a bare network) as an ONNX graph that onnxruntime runs.

For a model, the graph takes raw feature rows, ``input`` (batch, features), and does
what ``anyprop predict`` does: missing values filled as in training, the inputs
standardised, the network's forward pass, regression outputs mapped back to the
targets' units. It returns ``output`` (batch, outputs): the probabilities or values
``predict`` prints; a classifier also returns ``label`` (batch,): each row's class, as
text or as the whole number it was. For a bare network, each input group is an input
and each output group an output, by the groups' names.

Each group's net input is the sum over its incoming connections of o_src · W (a dense
matrix product; a one-to-one connection's elementwise product; a sparse connection's
pairs as a dense matrix up to ``dense_limit`` cells, beyond that a Gather of its
sources and a ScatterElements sum into its targets), plus its bias; its output is
its transfer function's operators (:mod:`anyprop.export.transfers`). The batch
dimension is dynamic; the opset is :data:`~anyprop.export.graph.OPSET`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from anyprop.errors import AnypropError
from anyprop.export.graph import OPSET, Graph, Sym
from anyprop.export.transfers import emit
from anyprop.fileio import atomic_write, check_output

#: sparse connections up to this many (source × target) cells become dense matrices
DENSE_LIMIT = 1 << 22


def _order(net: Any) -> list[str]:
    """The groups in an order where each comes after every group that feeds it."""
    odd = next((c for c in net.connections.values() if c.delay or c.gate is not None), None)
    if odd is not None:
        what = "delayed (recurrent)" if odd.delay else f"gated by '{odd.gate}' (sigma-pi)"
        raise AnypropError(
            f"connection '{odd.name}' is {what}: ONNX export takes networks without delays "
            "or gates (for now; their Scan form is not written yet)"
        )
    incoming = {g: {c.src for c in net.connections.values() if c.tgt == g} for g in net.groups}
    done: list[str] = []
    seen: set[str] = set()
    while len(done) < len(net.groups):
        ready = [g for g in net.groups if g not in seen and incoming[g] <= seen]
        done.extend(ready)
        seen.update(ready)
    return done


def _contribution(g: Graph, c: Any, src: Sym, net: Any, dense_limit: int) -> Sym:
    """o_src · W for connection ``c``, in the form its kind calls for."""
    w = np.asarray(net.params[c.param])
    n_src, n_tgt = c.shape
    if c.kind == "dense":
        m = w.T if c.transpose else w
        return src.op("MatMul", Sym(g, g.const(m, "weight")))
    if c.kind == "one_to_one":
        return src * Sym(g, g.const(w.reshape(-1), "weight"))
    s_units, t_units, idx = c.unit_pairs(w.shape)
    values = w.reshape(-1)[idx]
    if n_src * n_tgt <= dense_limit:
        m = np.zeros((n_src, n_tgt), dtype=w.dtype)
        np.add.at(m, (s_units, t_units), values)
        return src.op("MatMul", Sym(g, g.const(m, "weight")))
    # beyond the limit: gather the pairs' sources, weigh them, sum them into their targets
    cols = g.const(np.asarray(s_units, dtype=np.int64), "pair_src", np.int64)
    gathered = Sym(g, g.node("Gather", [src.name, cols], axis=1)) * Sym(
        g, g.const(values, "weight")
    )
    batch = g.node("Shape", [src.name], start=0, end=1)
    size = g.node("Concat", [batch, g.const([n_tgt], "n", np.int64)], axis=0)
    zeros = g.node("ConstantOfShape", [size], value=_scalar_tensor(g, 0.0))
    rows = g.const(np.asarray(t_units, dtype=np.int64)[None, :], "pair_tgt", np.int64)
    index = g.node("Expand", [rows, g.node("Shape", [gathered.name])])
    out = g.node("ScatterElements", [zeros, index, gathered.name], axis=1, reduction="add")
    return Sym(g, out)


def _scalar_tensor(g: Graph, value: float) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array([value], dtype=g.dtype))


def network_graph(
    g: Graph, net: Any, inputs: dict[str, Sym], dense_limit: int = DENSE_LIMIT
) -> dict[str, Sym]:
    """Every group's output for the given input groups' values."""
    outs: dict[str, Sym] = dict(inputs)
    for name in _order(net):
        group = net.groups[name]
        if group.is_input:
            continue
        where = f"group '{name}'"
        total = None
        for c in net.connections.values():
            if c.tgt != name:
                continue
            part = _contribution(g, c, outs[c.src], net, dense_limit)
            total = part if total is None else total + part
        if group.bias_param is not None:
            b = Sym(g, g.const(np.asarray(net.params[group.bias_param]).reshape(-1), "bias"))
            total = b if total is None else total + b
        if total is None:
            raise AnypropError(f"{where} has no input and no bias")
        outs[name] = emit(group.transfer, total, where)
    return outs


def _check_model(model: Any) -> None:
    """A model whose inputs include text columns (one-hot encoded in training) is refused:
    its raw rows hold text, which this graph's float input cannot."""
    columns = model.columns
    if columns is not None and columns.categorical:
        text = [name for name, cats in columns.columns if cats is not None]
        raise AnypropError(
            f"the model's inputs include text column(s) one-hot encoded in training "
            f"({', '.join(text[:3])}): ONNX export takes models of numeric columns"
        )


def model_graph(model: Any, dense_limit: int = DENSE_LIMIT) -> Any:
    """The ONNX ModelProto for a trained model: raw rows in, predictions (and labels) out."""
    from onnx import TensorProto, helper

    _check_model(model)
    net = model.network
    if len(net.inputs) != 1:
        raise AnypropError("a model with several input groups: export its network instead")
    g = Graph(net.dtype)
    width = net.input_width
    x = Sym(g, "input")
    if model.imputer is not None:  # NaN -> the value fitted in training
        fill = Sym(g, g.const(model.imputer.values, "fill"))
        x = Sym(g, g.node("Where", [g.node("IsNaN", [x.name]), fill.name, x.name]))
    if model.standardizer is not None:
        std = model.standardizer
        x = (x - Sym(g, g.const(std.mean, "mean"))) / Sym(g, g.const(std.std, "std"))
    outs = network_graph(g, net, {net.inputs[0]: x}, dense_limit)
    if net.units is not None:  # the output units in the order of the targets' columns
        parts, cols = [], []
        for group, columns in net.units.output_groups:
            parts.append(outs[group].name)
            cols.extend(int(c) for c in columns)
        joined = g.node("Concat", parts, axis=1) if len(parts) > 1 else parts[0]
        order = np.argsort(np.asarray(cols))
        y = Sym(g, g.node("Gather", [joined, g.const(order, "order", np.int64)], axis=1))
    else:
        y = outs[net.primary_output]
    if model.target_scaler is not None:
        ts = model.target_scaler
        y = y * Sym(g, g.const(ts.std, "target_std")) + Sym(g, g.const(ts.mean, "target_mean"))
    g.nodes.append(helper.make_node("Identity", [y.name], ["output"]))
    n_out = net.target_width
    outputs = [helper.make_tensor_value_info("output", g.elem, ["batch", n_out])]
    if model.task == "classification" and model.labels:
        k = g.node("ArgMax", ["output"], axis=1, keepdims=0)
        if model.label_kind == "number":
            numbers = np.array([int(v) for v in model.labels], dtype=np.int64)
            table = g.const(numbers, "labels", np.int64)
            kind = TensorProto.INT64
        else:
            table = g.const(np.array(model.labels, dtype=object), "labels", object)
            kind = TensorProto.STRING
        g.nodes.append(helper.make_node("Gather", [table, k], ["label"], axis=0))
        outputs.append(helper.make_tensor_value_info("label", kind, ["batch"]))
    graph = helper.make_graph(
        g.nodes,
        net.name or "anyprop",
        [helper.make_tensor_value_info("input", g.elem, ["batch", width])],
        outputs,
        g.initializers,
    )
    return _finish(graph)


def network_graph_model(net: Any, dense_limit: int = DENSE_LIMIT) -> Any:
    """The ONNX ModelProto for a bare network: one input per input group, one output per
    output group, by name."""
    from onnx import helper

    g = Graph(net.dtype)
    ins = {name: Sym(g, name) for name in net.inputs}
    outs = network_graph(g, net, ins, dense_limit)
    outputs = []
    for name in net.outputs:
        g.nodes.append(helper.make_node("Identity", [outs[name].name], [f"{name}:out"]))
        outputs.append(
            helper.make_tensor_value_info(f"{name}:out", g.elem, ["batch", net.groups[name].size])
        )
    graph = helper.make_graph(
        g.nodes,
        net.name or "anyprop",
        [
            helper.make_tensor_value_info(n, g.elem, ["batch", net.groups[n].size])
            for n in net.inputs
        ],
        outputs,
        g.initializers,
    )
    return _finish(graph)


def _finish(graph: Any) -> Any:
    import onnx
    from onnx import helper

    from anyprop._version import __version__

    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="anyprop"
    )
    proto.producer_version = __version__
    proto.ir_version = min(proto.ir_version, 9)  # readable by onnxruntime releases since 1.16
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(thing: Any, path: str | os.PathLike, dense_limit: int = DENSE_LIMIT) -> Any:
    """Write ``thing`` (a Model, a model file's path, or a Network) as an ONNX file at
    ``path`` (atomically); returns the ModelProto, validated by ``onnx.checker``."""
    from anyprop.train.model_io import Model, load_model

    inputs = [thing] if isinstance(thing, (str, os.PathLike)) else []
    check_output(path, "onnx", "the ONNX path", inputs)
    if isinstance(thing, (str, os.PathLike)):
        thing = load_model(thing)
    if isinstance(thing, Model):
        proto = model_graph(thing, dense_limit)
    elif hasattr(thing, "params") and hasattr(thing, "groups"):
        proto = network_graph_model(thing, dense_limit)
    else:
        raise AnypropError(f"export_onnx() takes a model or a network, got {type(thing).__name__}")
    atomic_write(path, proto.SerializeToString())
    return proto
