"""Hostile formulas: deep, long, or with constants that are not numbers, end in a
FormulaError naming the column, never in another exception; any text at all does."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anyprop.cli import main
from anyprop.errors import AnypropError
from anyprop.nn.formula import MAX_DEPTH, MAX_PARTS, Formula, FormulaError


@pytest.mark.parametrize(
    "text, problem",
    [
        ("(" * 120 + "x" + ")" * 120, "nests more than"),
        ("sin(" * 110 + "x" + ")" * 110, "nests more than"),
        ("-" * 150 + "x", "nests more than"),
        ("2^" * 150 + "x", "nests more than"),
        ("sin(" * 1000 + "x" + ")" * 1000, "too long"),
        ("-" * 3000 + "x", "too long"),
        ("+".join(["x"] * 20000), "too long"),
        ("x+1/0", "divided by zero"),
        ("x+9^9^9", "too large for a number"),
        ("10^10^10*x", "too large for a number"),
        ("1e999999*x", "the number 1e999999 is too large"),
        ("(-8)^(1/3)*x", "not a real number"),
        ("x+log(0)", "log() of these numbers is not a finite number"),
        ("x+exp(1000)", "exp() of these numbers is not a finite number"),
        ("x+sqrt(-1)", "sqrt() of these numbers is not a finite number"),
    ],
)
def test_a_hostile_formula_is_a_formula_error(text, problem):
    with pytest.raises(FormulaError) as e:
        Formula(text, variables=("x",))
    assert problem in str(e.value)
    assert len(str(e.value)) < 400  # a long formula is shown around its column only


def test_the_limits_leave_room_for_real_formulas():
    assert Formula("(" * (MAX_DEPTH - 1) + "x" + ")" * (MAX_DEPTH - 1))(x=2.0).item() == 2.0
    n = MAX_PARTS // 2 - 1
    assert Formula("+".join(["x"] * n))(x=1.0).item() == n
    assert str(Formula("2*3+x").tree.args[0].value) == "6.0"  # numbers folded once
    assert Formula("max(1, 2)*x")(x=1.5).item() == 3.0


@settings(max_examples=300, deadline=1000)
@given(st.text(alphabet="x0123456789.e+-*/^()sincoexpabsqrtlog, ", max_size=120))
def test_any_text_is_a_formula_or_a_formula_error(text):
    try:
        f = Formula(text, variables=("x",))
    except AnypropError:
        return
    f(x=0.5)  # a formula that parses evaluates (to a number, finite or not)


@pytest.mark.parametrize("formula", ["x+1/0", "x^9^9^9", "(" * 300 + "x" + ")" * 300])
def test_the_cli_names_a_hostile_formula_in_a_transfer_or_a_rule(formula):
    for argv in (
        ["transfer", "show", formula],
        ["train", "--data", "xor", "--rule", formula.replace("x", "w"), "--no-save"],
        ["train", "--data", "xor", "--transfer", formula, "--no-save", "--epochs", "1"],
    ):
        out, err = io.StringIO(), io.StringIO()
        assert main(argv, out, err) == 2, (argv, err.getvalue())
        assert "formula" in err.getvalue() and "Traceback" not in err.getvalue()
