"""Losses: array forms == op forms, fused == unfused, conventions and errors."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import ShapeError, Tensor, UnknownNameError, gradcheck
from anyprop.nn import losses as L
from anyprop.nn import transfer as T

RNG = np.random.default_rng(0)


def data(name):
    o = RNG.uniform(0.1, 0.9, (5, 3))
    if name in ("cross_entropy", "nll", "multiclass_hinge"):
        t = np.eye(3)[RNG.integers(0, 3, 5)]
        if name == "nll":
            o = np.log(o / o.sum(axis=1, keepdims=True))
        if name == "cross_entropy":
            o = o / o.sum(axis=1, keepdims=True)
    elif name == "hinge":
        t = RNG.choice([-1.0, 1.0], (5, 3))
        o = RNG.uniform(-2, 2, (5, 3))
    elif name == "binary_cross_entropy":
        t = RNG.integers(0, 2, (5, 3)).astype(float)
    elif name == "poisson":
        o = RNG.uniform(0.5, 3, (5, 3))
        t = RNG.poisson(2, (5, 3)).astype(float)
    else:
        t = RNG.normal(size=(5, 3))
        o = RNG.normal(size=(5, 3)) * 2
    return o, t


@pytest.mark.parametrize("name", L.LOSSES.names())
def test_array_form_equals_the_op_form_and_its_derivative(name):
    loss = L.get(name)
    o, t = data(name)
    per, d = loss.per_sample(o, t)
    ot = Tensor(o, requires_grad=True)
    tape = loss.on_tape(ot, Tensor(t))
    np.testing.assert_allclose(per, tape.data, rtol=1e-12)
    tape.sum().backward()
    np.testing.assert_allclose(d, ot.grad, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x: loss.on_tape(x, Tensor(t)), o).passed


@pytest.mark.parametrize(
    ("loss", "transfer"), [("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")]
)
def test_fused_pairs_equal_the_composition(loss, transfer):
    lo, tr = L.get(loss), T.get(transfer)
    net = RNG.normal(size=(4, 3)) * 3
    t = np.eye(3)[[0, 2, 1, 2]] if loss == "cross_entropy" else RNG.integers(0, 2, (4, 3)) * 1.0
    per, delta = lo.fused(net, t)
    out = tr.forward(net)
    per2, dout = lo.per_sample(out, t)
    np.testing.assert_allclose(per, per2, rtol=1e-10)
    np.testing.assert_allclose(delta, tr.backward(net, out, dout), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(delta, out - t, rtol=1e-10, atol=1e-12)  # the classic δ = o - t


def test_fused_forms_are_stable_where_the_composition_is_not():
    per, delta = L.get("cross_entropy").fused(np.array([[1000.0, -1000.0]]), np.array([[0.0, 1.0]]))
    assert np.isfinite(per).all() and per[0] == pytest.approx(2000.0)
    assert np.isfinite(delta).all()
    per, _ = L.get("binary_cross_entropy").fused(np.array([[800.0]]), np.array([[0.0]]))
    assert per[0] == pytest.approx(800.0)


def test_mse_keeps_the_half():
    per, d = L.get("mse").per_sample(np.array([[3.0, 1.0]]), np.array([[1.0, 1.0]]))
    assert per.tolist() == [2.0] and d.tolist() == [[2.0, 0.0]]


def test_class_indices_become_one_hot_and_bad_targets_are_named():
    lo = L.get("cross_entropy")
    assert lo.prepare_target(np.array([2, 0]), 3, np.float32).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ShapeError, match="class index 3 .*3 units"):
        lo.prepare_target(np.array([0, 3]), 3, np.float32)
    with pytest.raises(ShapeError, match=r"\(2, 4\) do not fit an output group of 3"):
        L.get("mse").prepare_target(np.zeros((2, 4)), 3, np.float32)


def test_user_losses_from_formulas_and_ops():
    o, t = data("mse")
    f = L.get("0.5*(o - t)^2")
    np.testing.assert_allclose(f.per_sample(o, t)[0], L.get("mse").per_sample(o, t)[0])
    np.testing.assert_allclose(f.per_sample(o, t)[1], L.get("mse").per_sample(o, t)[1])
    g = L.get(lambda o, t: (o - t).abs())
    np.testing.assert_allclose(g.per_sample(o, t)[0], np.abs(o - t).sum(axis=1))


def test_loss_errors():
    with pytest.raises(UnknownNameError, match="did you mean 'mse'"):
        L.get("mes")
    with pytest.raises(L.LossError, match="no parameter"):
        L.get("huber", width=2)
    with pytest.raises(L.LossError, match="positive outputs"):
        L.get("poisson").per_sample(np.array([[-1.0]]), np.array([[1.0]]))


@pytest.mark.parametrize("name", L.LOSSES.names())
def test_totals_equal_the_sum_of_per_sample_values(name):
    loss = L.get(name)
    o, t = data(name)
    per, d = loss.per_sample(o, t)
    total, d2 = loss.total(o, t)
    assert total == pytest.approx(per.sum(), rel=1e-12)
    np.testing.assert_allclose(d, d2, rtol=1e-12)


def test_fused_total_with_soft_and_one_hot_targets():
    lo = L.get("cross_entropy")
    net = RNG.normal(size=(5, 4)) * 2
    for t in (np.eye(4)[[0, 1, 2, 3, 0]], RNG.dirichlet(np.ones(4), 5), RNG.random((5, 4))):
        per, d = lo.fused(net, t)
        total, d2 = lo.fused_total(net, t)
        assert total == pytest.approx(per.sum(), rel=1e-10)
        np.testing.assert_allclose(d, d2, rtol=1e-10, atol=1e-12)


def test_sigmoid_with_binary_cross_entropy_runs_fused_even_when_saturated():
    """A confidently wrong sigmoid output: the fused pair gives the true loss (40) and
    δ = o − t = 1; unfused, the clipped log would give a wrong loss and δ = 0."""
    from anyprop import Network

    for dtype in ("float32", "float64"):
        net = Network(dtype=dtype, seed=0)
        net.add_input("x", 1)
        net.add_output("y", 1, transfer="sigmoid", loss="binary_cross_entropy")
        net.connect("x", "y", weights=[[40.0]])
        bp = net.backprop(np.array([[1.0]]), np.array([[0.0]]))
        assert net.plan().fused("y")
        assert bp.loss == pytest.approx(40.0, rel=1e-6)
        assert bp.deltas["y"][0, 0] == pytest.approx(1.0)
