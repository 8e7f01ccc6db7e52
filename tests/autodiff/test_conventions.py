"""Derivatives at kinks and ties: each convention stated in the docs, tested here."""

from __future__ import annotations

import numpy as np

from anyprop import Tensor, ops


def grad_of(fn, *values):
    ts = [Tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    fn(*ts).sum().backward()
    return [t.grad for t in ts]


def test_abs_has_derivative_zero_at_zero():
    (g,) = grad_of(ops.abs, [-1.0, 0.0, 2.0])
    assert g.tolist() == [-1.0, 0.0, 1.0]


def test_relu_has_derivative_zero_at_zero():
    (g,) = grad_of(ops.relu, [-1.0, 0.0, 2.0])
    assert g.tolist() == [0.0, 0.0, 1.0]


def test_maximum_and_minimum_split_ties_equally():
    gx, gy = grad_of(ops.maximum, [1.0, 2.0, 3.0], [1.0, 5.0, 0.0])
    assert gx.tolist() == [0.5, 0.0, 1.0] and gy.tolist() == [0.5, 1.0, 0.0]
    gx, gy = grad_of(ops.minimum, [1.0, 2.0, 3.0], [1.0, 5.0, 0.0])
    assert gx.tolist() == [0.5, 1.0, 0.0] and gy.tolist() == [0.5, 0.0, 1.0]


def test_max_and_min_reductions_share_ties_equally():
    (g,) = grad_of(lambda t: ops.max(t, axis=1), [[3.0, 1.0, 3.0], [0.0, 2.0, 1.0]])
    assert g.tolist() == [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]
    (g,) = grad_of(ops.min, [2.0, 2.0, 2.0, 5.0])
    np.testing.assert_allclose(g, [1 / 3, 1 / 3, 1 / 3, 0.0])


def test_clip_passes_the_gradient_at_its_bounds():
    (g,) = grad_of(lambda t: ops.clip(t, -1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    assert g.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_pow_exponent_gradient_is_zero_at_zero_base():
    _, gp = grad_of(ops.pow, [0.0, 2.0], [2.0, 3.0])
    assert gp[0] == 0.0 and np.isclose(gp[1], 8 * np.log(2))


def test_where_sends_the_gradient_to_the_chosen_branch():
    gx, gy = grad_of(lambda a, b: ops.where(np.array([True, False]), a, b), [1.0, 1.0], [2.0, 2.0])
    assert gx.tolist() == [1.0, 0.0] and gy.tolist() == [0.0, 1.0]


def test_getitem_accumulates_repeated_indices():
    (g,) = grad_of(lambda t: t[np.array([0, 2, 2, 2])], [1.0, 1.0, 1.0])
    assert g.tolist() == [1.0, 0.0, 3.0]


def test_stable_functions_at_extreme_inputs():
    x = Tensor([-1000.0, 0.0, 1000.0], dtype="float64", requires_grad=True)
    s = ops.sigmoid(x)
    assert s.data.tolist() == [0.0, 0.5, 1.0]
    sp = ops.softplus(x)
    assert np.isfinite(sp.data).all() and sp.data[2] == 1000.0
    lse = ops.logsumexp(x)
    assert lse.item() == 1000.0
    ls = ops.log_softmax(x)
    assert np.isfinite(ls.data[1:]).all()
    (sp.sum() + lse + ops.softmax(x)[2]).backward()
    assert np.isfinite(x.grad).all()
