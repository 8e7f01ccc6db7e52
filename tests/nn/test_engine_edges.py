"""The engine at its edges: x**0, Tensors as sequences and numbers, axis lists, and a
sigmoid of steepness s fused with binary cross-entropy."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Network, Tensor
from anyprop.explain import explain_weight
from anyprop.explain.check import check_gradients


def test_x_to_the_zero_has_a_zero_gradient_even_at_zero():
    x = Tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_a_tensor_is_a_sequence_an_array_and_a_number():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    rows = list(t)
    assert len(rows) == 2 and rows[1].data.tolist() == [3.0, 4.0]
    a, b = Tensor([1.0, 2.0])
    assert (float(a), int(b)) == (1.0, 2)
    np.testing.assert_array_equal(np.asarray(t), t.data)
    with pytest.raises(TypeError, match="takes a tensor of one element"):
        float(t)
    with pytest.raises(TypeError, match="0-d"):
        iter(Tensor(1.0))


def test_an_axis_list_sums_as_numpy_does():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    s = t.sum(axis=[0, 1])
    assert s.item() == 15.0
    s.backward()
    np.testing.assert_array_equal(t.grad, np.ones((2, 3)))
    assert t.mean(axis=[1]).data.tolist() == [1.0, 4.0]


def steep_network(s):
    net = Network(seed=0, dtype="float64")
    net.add_input("x", 2)
    net.add_group("h", 3, transfer="tanh")
    steep = {"name": "sigmoid", "steepness": s}
    net.add_output("o", 1, transfer=steep, loss="binary_cross_entropy")
    net.connect("x", "h"), net.connect("h", "o")
    net.params["h->o.weight"][...] = 8.0  # confidently wrong on the first sample
    return net


def test_a_steep_sigmoid_with_binary_cross_entropy_is_fused_and_exact():
    net = steep_network(2.0)
    x, t = np.array([[1.0, 1.0], [0.3, -0.2]]), np.array([[0.0], [1.0]])
    assert net.plan().fused("o")
    h = np.tanh(x @ net.params["x->h.weight"] + net.params["h.bias"])
    z = 2.0 * (h @ net.params["h->o.weight"] + net.params["o.bias"])
    exact = np.mean(np.logaddexp(0, z) - t * z)  # no clamp: the exact value
    assert net.plan().loss(x, t) == pytest.approx(exact, rel=1e-12)
    assert check_gradients(net, x, t).passed
    bp = net.backprop(x, t)
    o = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(bp.deltas["o"], 2.0 * (o - t) / 2, rtol=1e-12)  # s·(o − t)/N


def test_explain_shows_the_steepness_and_its_step_is_the_real_one():
    net = steep_network(2.0)
    x, t = np.array([[1.0, 1.0], [0.3, -0.2]]), np.array([[0.0], [1.0]])
    e = explain_weight(net, x, t, "h[0]->o[0]", lr=0.5)
    text = e.to_text()
    assert "δ = s·(o − t) · scale" in text and "s = 2, the steepness" in text
    grad = net.backprop(x, t).grads["h->o.weight"][0, 0]
    assert e.w_after == pytest.approx(net.params["h->o.weight"][0, 0] - 0.5 * grad, rel=1e-12)
