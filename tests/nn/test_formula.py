"""The allow-list formula parser: precedence, errors with columns, nothing but arithmetic."""

from __future__ import annotations

import re

import numpy as np
import pytest

from anyprop import gradcheck
from anyprop.nn.formula import Formula, FormulaError, parse, to_text


def value(text, **env):
    return (
        Formula(text).__call__(**{k: np.asarray(v, dtype=np.float64) for k, v in env.items()}).data
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x^2", -9.0),
        ("2^3^2", 512.0),
        ("2**3", 8.0),
        ("1 - 2 - 3", -4.0),
        ("8 / 2 / 2", 2.0),
        ("x*2 + 1", 7.0),
        ("-(x - 1)", -2.0),
        ("1e-1 * x", 0.3),
        (".5*x", 1.5),
        ("pi", np.pi),
        ("max(x, 4) + min(x, 4)", 7.0),
        ("abs(-x) + sqrt(x*3)", 6.0),
    ],
)
def test_precedence_and_values(text, expected):
    np.testing.assert_allclose(value(text, x=[3.0]), [expected])


@pytest.mark.parametrize(
    ("text", "column", "problem"),
    [
        ("x/(1+abs(x)", 12, "expected ')'"),
        ("x +", 4, "expected a number"),
        ("x $ 2", 3, "unexpected character '$'"),
        ("x.real", 2, "unexpected character '.'"),
        ("__import__('os')", 1, "unknown function '__import__'"),
        ("tahn(x)", 1, "or 'tanh'?"),
        ("$", 1, "unexpected character"),
        ("exp", 1, "needs its arguments"),
        ("max(x)", 1, "takes 2 argument"),
        ("x y", 3, "unexpected 'y'"),
        ("", 1, "empty"),
        ("z + 1", 1, "unknown name 'z'"),
    ],
)
def test_errors_give_the_column(text, column, problem):
    with pytest.raises(FormulaError, match=re.escape(problem)) as info:
        Formula(text, variables=("x",))
    assert info.value.column == column
    assert "^" in str(info.value)


def test_formulas_are_differentiable_by_the_engine():
    f = Formula("log(1+exp(x)) * sin(x) / (1 + x^2) + atanh(x/3) + cosh(x) - tan(x/4)")
    assert gradcheck(lambda x: f(x=x), np.array([0.3, -0.7, 1.1])).passed


def test_sign_has_zero_derivative():
    f = Formula("sign(x) * 3")
    from anyprop import Tensor

    x = Tensor([-2.0, 0.0, 5.0], requires_grad=True)
    y = f(x=x)
    assert y.data.tolist() == [-3.0, 0.0, 3.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_round_trip_to_text():
    for text in ["x/(1+abs(x))", "-x^2 + 3*max(x, 0)", "w - lr*sign(g)*sqrt(abs(g))"]:
        tree = parse(text)
        assert to_text(parse(to_text(tree))) == to_text(tree)


def test_variables_are_found():
    assert Formula("w - lr*g + 0.9*dw").variables == {"w", "lr", "g", "dw"}


def test_python_numbers_stay_exact():
    out = Formula("lr*x").__call__(lr=0.1, x=np.array([1.0]))
    assert out.data.tolist() == [0.1] and out.dtype == np.float64
