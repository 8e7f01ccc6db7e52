"""Every transfer function: fused NumPy form == op form, derivative checked, kinks stated."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import Tensor, UnknownNameError, gradcheck
from anyprop.nn import transfer as T
from anyprop.nn.formula import FormulaError
from anyprop.nn.transfer import TransferError

PARAMS = {
    "sigmoid": {"steepness": 2.0},
    "sigmoid_symmetric": {"steepness": 0.5},
    "leaky_relu": {"alpha": 0.2},
    "elu": {"alpha": 0.7},
    "celu": {"alpha": 1.5},
    "swish": {"beta": 1.7},
    "softplus": {"beta": 2.0},
    "elliot": {"steepness": 1.5},
    "elliot_symmetric": {"steepness": 0.5},
    "gaussian": {"steepness": 0.8},
    "gaussian_symmetric": {"steepness": 1.2},
    "sin": {"steepness": 2.0},
    "cos": {"steepness": 0.5},
    "linear_piece": {"steepness": 0.3},
    "linear_piece_symmetric": {"steepness": 0.4},
}
STEPS = {"threshold", "threshold_symmetric"}
DIFFERENTIABLE = [n for n in T.TRANSFERS.names() if n not in STEPS]


def points(shape=(4, 5), seed=0):
    """Values in (-4, 4) that keep clear of every built-in's kinks (0, ±1, ±3, 6, ...)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, shape)
    frac = x - np.round(x * 2) / 2
    return np.where(np.abs(frac) < 0.1, x + 0.2, x)


def variants(name):
    yield {}
    if name in PARAMS:
        yield PARAMS[name]


CASES = [(n, p) for n in DIFFERENTIABLE for p in variants(n)]
IDS = [f"{n}{'-' + '-'.join(f'{k}={v}' for k, v in p.items()) if p else ''}" for n, p in CASES]


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_fused_forward_equals_the_op_form(name, params):
    t = T.get(name, **params)
    x = points()
    np.testing.assert_allclose(t.forward(x), t.on_tape(Tensor(x)).data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_fused_backward_equals_the_engine_derivative_of_the_op_form(name, params):
    t = T.get(name, **params)
    x = points()
    g = np.random.default_rng(1).normal(size=x.shape)
    xt = Tensor(x, requires_grad=True)
    t.on_tape(xt).backward(g)
    np.testing.assert_allclose(t.backward(x, t.forward(x), g), xt.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_op_form_passes_gradcheck(name, params, dtype):
    t = T.get(name, **params)
    report = gradcheck(t.on_tape, points((3, 4), seed=2), dtype=dtype)
    assert report.passed, f"{name}:\n{report}"


def test_float32_in_float32_out():
    x = points().astype(np.float32)
    for name in DIFFERENTIABLE:
        t = T.get(name)
        y = t.forward(x)
        assert y.dtype == np.float32, name
        assert t.backward(x, y, np.ones_like(x)).dtype == np.float32, name


@pytest.mark.parametrize(
    ("name", "params", "x", "expected"),
    [
        ("relu", {}, 0.0, 0.0),
        ("leaky_relu", {"alpha": 0.1}, 0.0, 0.1),
        ("relu6", {}, 0.0, 0.0),
        ("relu6", {}, 6.0, 0.0),
        ("hard_tanh", {}, 1.0, 0.0),
        ("hard_tanh", {}, -1.0, 0.0),
        ("hard_sigmoid", {}, 3.0, 0.0),
        ("hard_sigmoid", {}, -3.0, 0.0),
        ("elu", {"alpha": 0.5}, 0.0, 0.5),
        ("celu", {}, 0.0, 1.0),
        ("linear_piece", {}, 0.0, 0.0),
        ("linear_piece", {}, 1.0, 0.0),
        ("linear_piece_symmetric", {}, 1.0, 0.0),
        ("hard_swish", {}, -3.0, 0.0),
        ("hard_swish", {}, 3.0, 1.0),
    ],
)
def test_kink_conventions(name, params, x, expected):
    t = T.get(name, **params)
    xs = np.array([[x]])
    assert t.backward(xs, t.forward(xs), np.ones_like(xs))[0, 0] == expected
    xt = Tensor(xs, requires_grad=True)
    t.on_tape(xt).sum().backward()
    assert xt.grad[0, 0] == expected, "the op form must follow the same convention"


def test_softmax_backward_is_the_jacobian_transpose_product():
    t = T.get("softmax")
    x = points((2, 4))
    y = t.forward(x)
    g = np.arange(8.0).reshape(2, 4)
    for n in range(2):
        jac = np.diag(y[n]) - np.outer(y[n], y[n])
        np.testing.assert_allclose(t.backward(x, y, g)[n], jac.T @ g[n], rtol=1e-12)


def test_threshold_refuses_to_train_and_suggests_a_surrogate():
    t = T.get("threshold")
    x = np.array([[-1.0, 0.0, 2.0]])
    assert t.forward(x).tolist() == [[0.0, 1.0, 1.0]]
    assert T.get("threshold_symmetric").forward(x).tolist() == [[-1.0, 1.0, 1.0]]
    assert not t.differentiable
    with pytest.raises(TransferError, match="no derivative.*surrogate"):
        t.backward(x, t.forward(x), np.ones_like(x))


def test_threshold_with_a_named_surrogate_trains_through_its_derivative():
    t = T.get({"name": "threshold", "surrogate": "sigmoid"})
    x = np.array([[-1.0, 0.0, 2.0]])
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(t.backward(x, t.forward(x), np.ones_like(x)), s * (1 - s))
    assert t.spec() == {"name": "threshold", "surrogate": "sigmoid"}
    with pytest.raises(TransferError, match="differentiable elementwise"):
        T.get("threshold", surrogate="softmax")


def test_a_formula_transfer_function_gets_its_derivative():
    t = T.get("x/(1+abs(x))")
    x = points()
    np.testing.assert_allclose(t.forward(x), T.get("softsign").forward(x), rtol=1e-12)
    g = np.ones_like(x)
    np.testing.assert_allclose(
        t.backward(x, t.forward(x), g), T.get("softsign").backward(x, None, g), rtol=1e-12
    )
    assert t.spec() == "x/(1+abs(x))"


def test_an_ops_function_transfer():
    t = T.get(lambda x: x * x.sigmoid())
    x = points()
    np.testing.assert_allclose(
        t.backward(x, None, np.ones_like(x)),
        T.get("silu").backward(x, None, np.ones_like(x)),
        rtol=1e-10,
    )


def test_register_a_pair_checks_the_derivative():
    name = "test_cube_pair"
    t = T.register(name, lambda x: x**3, lambda x: 3 * x**2)
    assert T.get(name) is t
    assert name in T.names()
    with pytest.raises(TransferError, match="disagrees with finite differences at x ="):
        T.register("test_bad_pair", lambda x: x**3, lambda x: 2 * x**2)
    with pytest.raises(TransferError, match="built-in"):
        T.register("tanh", "x")


def test_register_a_formula_by_name():
    t = T.register("test_soft_abs", "sqrt(x^2 + 1)")
    assert t.spec() == "test_soft_abs"
    np.testing.assert_allclose(T.get("test_soft_abs").forward(np.array([[0.0]])), [[1.0]])


def test_bad_names_parameters_and_formulas_are_clear_errors():
    with pytest.raises(UnknownNameError, match="did you mean 'tanh'"):
        T.get("tahn")
    with pytest.raises(TransferError, match="no parameter 'beta'.*alpha"):
        T.get("leaky_relu", beta=1)
    with pytest.raises(TransferError, match="finite number"):
        T.get("leaky_relu", alpha="big")
    with pytest.raises(FormulaError, match="column 12"):
        T.get("x/(1+abs(x)")
    with pytest.raises(FormulaError, match="unknown name 'y'"):
        T.get("x*y")


def test_describe_gives_f_and_its_derivative():
    d = T.describe("tanh")
    assert d["f"] == "tanh(x)" and d["df"] == "1-f^2" and d["kind"] == "built-in"
    pytest.importorskip("sympy")
    d = T.describe("log(1+exp(x))")
    assert d["kind"] == "formula" and "exp(x)" in d["df"]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_in_place_backward_gives_the_same_bits(name):
    t = T.get(name)
    x = points().astype(np.float32)
    out = t.forward(x)
    g = np.random.default_rng(3).normal(size=x.shape).astype(np.float32)
    expected = t.backward(x, out, g.copy())
    got = t.backward_into(x, out, g.copy(), np.empty_like(x))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(t.forward_into(x, np.empty_like(x)), t.forward(x))


def test_prime_is_f_prime_per_unit_for_builtins_formulas_and_ops():
    x = np.linspace(-3, 3, 13).reshape(1, -1)
    tanh = T.get("tanh")
    expected = 1 - np.tanh(x) ** 2
    assert np.allclose(tanh.prime(x, tanh.forward(x)), expected)
    formula = T.get("tanh(x)")
    assert np.allclose(formula.prime(x, formula.forward(x)), expected)
    with pytest.raises(TransferError, match="vector"):
        soft = T.get("softmax")
        soft.prime(x, soft.forward(x))
