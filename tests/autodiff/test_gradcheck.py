"""gradcheck finds wrong derivatives and reports per input."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import AnypropError, Tensor, gradcheck
from anyprop.autodiff.engine import primitive


@primitive(name="wrong_square", register=False)
def wrong_square(x):
    """x², with a deliberately wrong derivative (x instead of 2x)."""
    return x * x, lambda g: (g * x,)


def test_a_wrong_derivative_fails_and_is_located():
    report = gradcheck(
        lambda a, b: (wrong_square(a) + b).sum(), np.array([1.0, 2.0]), np.array([0.5, 0.5])
    )
    assert not report.passed
    assert not report.inputs[0].passed and report.inputs[1].passed
    assert report.inputs[0].worst_element == (1,)
    assert report.inputs[0].max_abs_error == pytest.approx(2.0, rel=1e-5)
    assert "FAIL" in str(report)


def test_a_correct_function_passes_with_float32_gradients():
    report = gradcheck(
        lambda x: (x @ x.T).tanh().sum(),
        np.random.default_rng(0).normal(size=(3, 2)),
        dtype="float32",
    )
    assert report.passed and report.dtype == "float32"


def test_wrt_restricts_the_inputs_checked():
    report = gradcheck(lambda a, b: a * b, np.ones(2), np.ones(2), wrt=[1])
    assert [c.index for c in report.inputs] == [1]


def test_bad_uses_are_clear_errors():
    with pytest.raises(AnypropError, match="must return a Tensor"):
        gradcheck(lambda x: 3.0, np.ones(2))
    with pytest.raises(AnypropError, match="out of range"):
        gradcheck(lambda x: x, np.ones(2), wrt=[3])
    with pytest.raises(AnypropError, match="does not depend"):
        gradcheck(lambda x: Tensor([1.0]), np.ones(2))
