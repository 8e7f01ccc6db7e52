"""Dense networks of every shape the fast paths take, and data for them (shared by the
tests of the compiled step and of stacked networks)."""

from __future__ import annotations

import numpy as np

from anyprop import Network


def _net(dtype, build):
    net = Network(dtype=dtype, seed=7)
    build(net)
    return net


def chain(net):  # XOR's shape, classic sigmoid and MSE
    net.add_input("x", 2)
    net.add_group("h", 3, transfer="sigmoid")
    net.add_output("y", 1, transfer="sigmoid", loss="mse")
    net.connect("x", "h")
    net.connect("h", "y")


def dag(net):  # skips, a merge, a softmax output fed twice
    net.add_input("x", 4)
    net.add_group("a", 5, transfer="tanh")
    net.add_group("b", 3, transfer="relu")
    net.add_group("m", 4, transfer="elu")
    net.add_output("y", 3, transfer="softmax", loss="cross_entropy")
    for s, t in [("x", "a"), ("x", "b"), ("a", "m"), ("b", "m"), ("x", "m"), ("m", "y"),
                 ("a", "y")]:  # fmt: skip
        net.connect(s, t)


def outputs(net):  # two losses, one output feeding another, a fused sigmoid of steepness 2
    net.add_input("x", 3)
    net.add_group("h", 6, transfer="softsign")
    net.add_output("r", 2, transfer="identity", loss="mse", loss_weight=0.5)
    net.add_output("c", 2, transfer={"name": "sigmoid", "steepness": 2.0},
                   loss="binary_cross_entropy")  # fmt: skip
    net.add_group("z", 2, transfer="gaussian", bias=False)
    net.add_output("q", 1, transfer="leaky_relu", loss="mse")
    for s, t in [("x", "h"), ("h", "r"), ("h", "c"), ("r", "z"), ("z", "q"), ("x", "q")]:
        net.connect(s, t)


def shared(net):  # one weight matrix used twice
    net.add_input("x", 3)
    net.add_group("a", 3, transfer="softplus")
    net.add_group("b", 3, transfer="sigmoid_symmetric")
    net.add_output("y", 2, transfer="tanh", loss="mse")
    net.connect("x", "a")
    net.connect("a", "b", share="x->a")
    net.connect("b", "y")
    net.connect("x", "y")


def wide(net):  # products large enough for BLAS
    net.add_input("x", 40)
    net.add_group("h", 48, transfer="tanh")
    net.add_output("y", 10, transfer="softmax", loss="cross_entropy")
    net.connect("x", "h")
    net.connect("h", "y")


def _data(net, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, net.input_width)).astype(net.dtype)
    parts = {}
    for g in net.outputs:
        group = net.groups[g]
        if group.loss is None:
            continue
        size = group.size
        if group.loss.name == "cross_entropy":
            parts[g] = np.eye(size)[rng.integers(0, size, n)]
        elif group.loss.name == "binary_cross_entropy":
            parts[g] = rng.integers(0, 2, (n, size)).astype(float)
        else:
            parts[g] = rng.normal(size=(n, size))
    parts = {g: v.astype(net.dtype) for g, v in parts.items()}
    return x, parts if len(parts) > 1 else next(iter(parts.values()))


NETS = [chain, dag, outputs, shared, wide]
