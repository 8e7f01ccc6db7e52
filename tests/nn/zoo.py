"""Example networks of every shape, for the whole-network tests (float64)."""

from __future__ import annotations

import numpy as np

from anyprop.nn import Network


def xor():
    net = Network.layered([2, 2, 1], transfer="sigmoid", dtype="float64", seed=0)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    return net, x, np.array([[0], [1], [1], [0]], dtype=float)


def skip_and_merge():
    net = Network(dtype="float64", seed=1)
    net.add_input("x", 3)
    net.add_group("a", 4, transfer="tanh")
    net.add_group("b", 3, transfer="relu")
    net.add_group("m", 5, transfer="elu")  # a merge of three sources
    net.add_output("out", 2, transfer="identity", loss="mse")
    for s, t in [
        ("x", "a"),
        ("x", "b"),
        ("a", "m"),
        ("b", "m"),
        ("x", "m"),
        ("m", "out"),
        ("x", "out"),
    ]:
        net.connect(s, t)
    return net, *_data(net, 6, 1)


def shortcuts():
    net = Network.layered(
        [3, 4, 4, 2],
        transfer="sigmoid_symmetric",
        output_transfer="softmax",
        loss="cross_entropy",
        shortcuts=True,
        dtype="float64",
        seed=2,
    )
    return net, *_data(net, 5, 2)


def several_outputs():
    net = Network(dtype="float64", seed=3)
    net.add_input("x", 3)
    net.add_input("y", 2)
    net.add_group("h", 4, transfer="gelu")
    net.add_output("cls", 3, transfer="softmax", loss="cross_entropy", loss_weight=2.0)
    net.add_output("reg", 1, transfer="identity", loss="huber", loss_weight=0.5)
    net.add_output("bin", 2, transfer="sigmoid", loss="binary_cross_entropy")
    for s, t in [("x", "h"), ("y", "h"), ("h", "cls"), ("h", "reg"), ("y", "bin"), ("cls", "reg")]:
        net.connect(s, t)
    return net, *_data(net, 7, 3)


def sparse_one_to_one_shared_fixed():
    net = Network(dtype="float64", seed=4)
    net.add_input("x", 5)
    net.add_group("code", 3, transfer="tanh")
    net.add_group("gate", 3, transfer="sigmoid", bias=False)
    net.add_output("rec", 5, transfer="identity", loss="mse")
    net.connect("x", "code", "sparse", pairs=[(0, 0), (4, 0), (1, 1), (2, 2), (3, 2), (2, 1)])
    net.connect("code", "gate", "one_to_one")
    net.connect("gate", "rec", share="x->code", transpose=True)  # tied sparse decoder
    net.connect("code", "rec", trainable=False)
    net.connect("x", "rec", "sparse", density=0.3)
    return net, *_data(net, 4, 4)


def tied_autoencoder():
    net = Network(dtype="float64", seed=5)
    net.add_input("x", 6)
    net.add_group("h", 3, transfer="softplus")
    net.add_output("xhat", 6, transfer="sigmoid", loss="mse")
    net.connect("x", "h")
    net.connect("h", "xhat", share="x->h", transpose=True)
    return net, *_data(net, 5, 5)


def user_transfers():
    net = Network(dtype="float64", seed=6)
    net.add_input("x", 2)
    net.add_group("f", 3, transfer="x/(1+abs(x))")
    net.add_group("g", 3, transfer=lambda v: v * v.tanh())
    net.add_output("out", 1, transfer="log(1+exp(x))", loss="0.5*(o - t)^2")
    net.connect("x", "f")
    net.connect("f", "g")
    net.connect("g", "out")
    net.connect("x", "out")
    return net, *_data(net, 4, 6)


def _data(net, n, seed):
    rng = np.random.default_rng(100 + seed)
    x = {g: rng.normal(size=(n, net.groups[g].size)) for g in net.inputs}
    t = {}
    for g in net.outputs:
        grp = net.groups[g]
        if grp.loss.name in ("cross_entropy",):
            t[g] = rng.integers(0, grp.size, n)
        elif grp.loss.name == "binary_cross_entropy":
            t[g] = rng.integers(0, 2, (n, grp.size)).astype(float)
        else:
            t[g] = rng.normal(size=(n, grp.size))
    x = x[net.inputs[0]] if len(x) == 1 else x
    t = t[net.outputs[0]] if len(t) == 1 else t
    return x, t


ZOO = {
    f.__name__: f
    for f in [
        xor,
        skip_and_merge,
        shortcuts,
        several_outputs,
        sparse_one_to_one_shared_fixed,
        tied_autoencoder,
        user_transfers,
    ]
}
