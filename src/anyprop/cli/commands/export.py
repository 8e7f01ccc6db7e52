"""``anyprop export``: a trained model as an ONNX file (:mod:`anyprop.export`)."""

from __future__ import annotations

import argparse
from typing import TextIO

from anyprop.export import export_onnx
from anyprop.fileio import check_output
from anyprop.train.model_io import load_model


def export_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    replaced = check_output(args.out, "onnx", "--out", [args.model])
    model = load_model(args.model)
    proto = export_onnx(model, args.out, args.dense_limit)
    outputs = ", ".join(o.name for o in proto.graph.output)
    opset = proto.opset_import[0].version
    verb = "replaced" if replaced else "written"
    err.write(f"{args.out} {verb}: ONNX opset {opset}, input 'input', outputs {outputs}\n")
    return 0
