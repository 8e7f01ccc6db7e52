"""Engine invariants: accumulation, broadcasting, dtypes, graph release, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import anyprop
from anyprop import AnypropError, GraphError, ShapeError, Tensor, no_grad, ops
from anyprop.autodiff.engine import primitive


def test_value_used_twice_accumulates():
    x = Tensor([3.0], requires_grad=True)
    y = x * x + x  # d/dx = 2x + 1
    y.sum().backward()
    assert x.grad.tolist() == [7.0]


def test_diamond_graph_accumulates_through_both_paths():
    x = Tensor([0.5, -1.0], requires_grad=True, dtype="float64")
    a = x.tanh()
    b = a * 2
    c = a.exp()
    (b + c).sum().backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad, (2 + np.exp(t)) * (1 - t * t), rtol=1e-12)


def test_grads_accumulate_across_backward_calls_until_zeroed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    x.zero_grad()
    assert x.grad is None


@pytest.mark.parametrize(
    "sx, sy",
    [((2, 3), (3,)), ((2, 1), (1, 3)), ((4, 2, 3), (2, 1)), ((3,), ()), ((1,), (5, 1))],
)
def test_broadcasting_is_undone_to_each_input_shape(sx, sy):
    x = Tensor(np.ones(sx), requires_grad=True)
    y = Tensor(np.full(sy, 2.0), requires_grad=True)
    out = x * y
    out.sum().backward()
    assert x.grad.shape == sx and y.grad.shape == sy
    n = out.size
    np.testing.assert_allclose(x.grad.sum(), 2.0 * n)
    np.testing.assert_allclose(y.grad.sum(), 1.0 * n)


def test_gradients_reach_only_tensors_that_require_them():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([5.0, 6.0])
    (x * c).sum().backward()
    assert c.grad is None
    assert x.grad.tolist() == [5.0, 6.0]


def test_ops_on_constants_record_nothing():
    y = Tensor([1.0]) * 2
    assert not y.requires_grad and y.is_leaf


def test_no_grad_records_nothing_and_restores_state():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
        assert not anyprop.autodiff.is_grad_enabled()
    assert anyprop.autodiff.is_grad_enabled()
    assert not y.requires_grad

    @no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_a_chain_of_100000_ops_backpropagates_without_recursion():
    limit = sys.getrecursionlimit()
    x = Tensor([1.0], requires_grad=True, dtype="float64")
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    assert sys.getrecursionlimit() == limit


def test_graph_is_released_after_backward():
    x = Tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(GraphError, match="released graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = Tensor([1.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0]


def test_retain_grad_keeps_an_intermediate_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    np.testing.assert_allclose(x.grad, 6 * h.data)


def test_non_scalar_backward_needs_a_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match=r"shape \(2,\)"):
        (x * 2).backward()
    y = x * 2
    y.backward(np.array([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]


def test_backward_with_wrong_grad_shape():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_without_requires_grad_is_a_clear_error():
    with pytest.raises(GraphError, match="does not require a gradient"):
        Tensor([1.0]).sum().backward()


def test_shape_mismatch_names_the_op_and_the_shapes():
    a = Tensor(np.ones((2, 3)))
    b = Tensor(np.ones((4,)))
    with pytest.raises(ShapeError, match=r"add.*\(2, 3\).*\(4,\)"):
        a + b
    with pytest.raises(ShapeError, match=r"matmul.*\(2, 3\), \(2, 3\)"):
        a @ a
    with pytest.raises(AnypropError):
        a.reshape(7)


def test_default_dtype_is_float32_and_float64_on_request():
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(np.array([1, 2])).dtype == np.float32
    assert Tensor(np.array([1.0], dtype=np.float64)).dtype == np.float64
    assert Tensor([1.0], dtype="float64").dtype == np.float64
    with pytest.raises(AnypropError, match="float32 or float64"):
        Tensor([1.0], dtype="int32")


def test_mixed_dtypes_promote_and_constants_adopt_the_tensor_dtype():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([1.0], dtype="float64", requires_grad=True)
    assert (a + b).dtype == np.float64
    assert (a * 0.5).dtype == np.float32
    assert (a + np.ones(1, dtype=np.float64)).dtype == np.float32
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_cast_to_float32_returns_the_gradient_in_the_input_dtype():
    x = Tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = x.astype("float32")
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64 and x.grad.tolist() == [3.0, 3.0]


def test_numpy_arrays_on_the_left_defer_to_tensor_operators():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, Tensor)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]


def test_leaf_gradients_are_not_aliased():
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 10
    assert b.grad.tolist() == [1.0]


def test_vjp_thunks_are_evaluated_only_when_needed():
    calls = []

    @primitive(name="probe", register=False)
    def probe(x, y):
        return x + y, lambda g: (lambda: calls.append("x") or g, lambda: calls.append("y") or g)

    x = Tensor([1.0], requires_grad=True)
    probe(x, Tensor([2.0])).sum().backward()
    assert calls == ["x"]


def test_tensor_methods_and_repr():
    x = Tensor([[1.0, -2.0]], requires_grad=True)
    assert x.T.shape == (2, 1)
    assert x.reshape(2).shape == (2,)
    assert x.reshape(2, 1).shape == (2, 1)
    assert "requires_grad=True" in repr(x)
    assert len(x) == 1 and x.ndim == 2 and x.size == 2
    assert abs(x).data.tolist() == [[1.0, 2.0]]
    assert x.relu().data.tolist() == [[1.0, 0.0]]
    assert (2 - x).data.tolist() == [[1.0, 4.0]]
    assert (1 / x).data.tolist() == [[1.0, -0.5]]
    assert (2**x).data.tolist() == [[2.0, 0.25]]
    assert x.detach().requires_grad is False
    assert ops.sum(x).item() == -1.0
