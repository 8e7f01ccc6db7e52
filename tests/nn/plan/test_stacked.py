"""Stacked networks against each network's own pass: the same outputs, deltas and
gradients, bit for bit, on every shape the dense fast path takes."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network
from anyprop.errors import AnypropError
from anyprop.nn.plan.results import Options
from anyprop.nn.plan.stacked import StackedPlan, unstackable
from tests.nn.plan.nets import NETS, _data, chain


def fixed(net):  # a fixed connection beside a trainable one, no bias on the output
    net.add_input("x", 3)
    net.add_group("h", 4, transfer="tanh")
    net.add_output("y", 2, transfer="identity", loss="mse", bias=False)
    net.connect("x", "h")
    net.connect("h", "y")
    net.connect("x", "y", trainable=False)


def _nets(build, dtype, count=3):
    out = []
    for seed in range(count):
        net = Network(dtype=dtype, seed=seed)
        build(net)
        out.append(net)
    return out


def _stack_data(nets, n):
    """Each network's own batch (the seeds' batches differ, as their orders do), and the
    targets stacked as the stacked pass takes them (one array, or by output group)."""
    pairs = [_data(net, n, seed) for seed, net in enumerate(nets)]
    xs = np.stack([x for x, _ in pairs])
    ts = [t for _, t in pairs]
    if isinstance(ts[0], dict):
        return xs, ts, {g: np.stack([t[g] for t in ts]) for g in ts[0]}
    return xs, ts, np.stack(ts)


@pytest.mark.parametrize("build", [*NETS, fixed], ids=lambda b: b.__name__)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_each_stacked_network_is_its_own_pass(build, dtype, reduction):
    nets = _nets(build, dtype)
    xs, ts, ys = _stack_data(nets, 7)
    options = Options(reduction=reduction)
    stack = StackedPlan([n.plan() for n in nets])
    outs = stack.forward(xs)
    total, grads, _ = stack.loss(outs, ys, options, values=True)
    deltas = stack.backward(outs, grads)
    assert stack.loss(outs, ys, options)[0] is None  # the values only when asked for
    for s, net in enumerate(nets):
        want = net.plan().backprop(xs[s], ts[s], None, False, False, options)
        assert total[s] == want.loss  # (by the same calls on its rows)
        for name in want.deltas:
            np.testing.assert_array_equal(deltas[name][s], want.deltas[name], err_msg=name)
            np.testing.assert_array_equal(outs[name][s], want.outputs[name], err_msg=name)
        for name in stack.layout:
            np.testing.assert_array_equal(stack.grad_views[name][s], want.grads[name], name)
        np.testing.assert_array_equal(stack.gather(outs)[s], net.gather(want.outputs))


def test_weights_go_back_and_a_smaller_stack_goes_on_where_it_was():
    nets = _nets(chain, "float64")
    stack = StackedPlan([n.plan() for n in nets])
    stack.weights += 1.0
    kept = stack.weights[[2, 0]].copy()
    stack.write_back([1])
    np.testing.assert_array_equal(nets[1].plan().flat.weights.size, stack.weights.shape[1])
    first = stack.layout[0]
    np.testing.assert_array_equal(nets[1].params[first], stack.params[first][1])
    stack.keep(np.array([2, 0]))
    assert stack.size == 2 and stack.networks == [nets[2], nets[0]]
    np.testing.assert_array_equal(stack.weights, kept)


def test_what_cannot_be_stacked_is_named():
    a, b = _nets(chain, "float64", 2)
    assert unstackable([a.plan(), b.plan()]) is None
    other = Network(seed=0, dtype="float64")
    NETS[1](other)
    assert unstackable([a.plan(), other.plan()]) == "the networks differ in shape"
    with pytest.raises(AnypropError, match="differ in shape"):
        StackedPlan([a.plan(), other.plan()])
    diag = Network(seed=0, dtype="float64")
    diag.add_input("x", 3)
    diag.add_output("y", 3, transfer="tanh", loss="mse")
    diag.connect("x", "y", "one_to_one")
    assert unstackable([diag.plan()]) == "the network has connections other than dense ones"
