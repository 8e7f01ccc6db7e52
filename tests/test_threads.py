"""Threads for the matrix products: set by count, and the same training for any count
(up to the order of floating-point sums)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import anyprop
from anyprop.cli.main import main
from anyprop.errors import AnypropError


def test_the_model_does_not_depend_on_the_thread_count(tmp_path):
    common = ["train", "--data", "digits", "--hidden", "64", "--epochs", "2", "--seed", "1"]
    for n in (1, 2):
        out = io.StringIO()
        assert (
            main([*common, "--threads", str(n), "--out", str(tmp_path / f"{n}.anyprop")], out) == 0
        )
    a, b = (anyprop.load(tmp_path / f"{n}.anyprop") for n in (1, 2))
    for k in a.network.params:
        np.testing.assert_allclose(a.network.params[k], b.network.params[k], rtol=1e-4,
                                   atol=1e-6, err_msg=k)  # fmt: skip
    anyprop.set_threads(2)  # (put back as the suite runs: two cores)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, 5000])
def test_a_thread_count_that_is_not_one_is_refused(bad):
    with pytest.raises(AnypropError, match="threads must be a whole number from 1 to 1024"):
        anyprop.set_threads(bad)
    err = io.StringIO()
    assert (
        main(["train", "--data", "xor", "--threads", str(bad), "--no-save"], io.StringIO(), err)
        == 2
    )
