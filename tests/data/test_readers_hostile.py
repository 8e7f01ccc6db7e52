"""Hostile data files: each is refused with a DataError naming the file (and the line
where there is one); arbitrary bytes as a CSV are a result or an AnypropError."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anyprop
from anyprop.cli import main
from anyprop.data import load_file
from anyprop.errors import AnypropError


def test_a_cell_over_the_csv_limit_names_its_line(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,y\n1,0\n" + "7" * 200_000 + ",1\n")
    with pytest.raises(AnypropError, match=r"big\.csv: line 3: a cell longer than"):
        load_file(path)


def test_object_arrays_and_complex_numbers_are_refused(tmp_path):
    np.savez(tmp_path / "o.npz", x=np.array([[1], [2]], dtype=object), y=np.array([1, 2]))
    with pytest.raises(AnypropError, match=r"o\.npz: an array anyprop cannot read"):
        load_file(tmp_path / "o.npz")
    np.save(tmp_path / "c.npy", np.array([[1 + 2j, 1.0], [3.0, 0.0]]))
    with pytest.raises(AnypropError, match=r"c\.npy: the inputs are complex numbers"):
        load_file(tmp_path / "c.npy")


@pytest.mark.parametrize("content", ["a,b\n1,2\n\xe9,3\n".encode("latin-1"), bytes(range(256))])
def test_predict_on_a_file_that_is_not_utf8_text_names_it(tmp_path, content):
    model = tmp_path / "m.anyprop"
    anyprop.train_model("xor", epochs=1, hidden=2, out=str(model))
    (tmp_path / "in.csv").write_bytes(content)
    err = io.StringIO()
    assert main(["predict", str(model), str(tmp_path / "in.csv")], io.StringIO(), err) == 2
    assert "in.csv: cannot read the file of inputs" in err.getvalue()
    assert "Traceback" not in err.getvalue()


@settings(
    max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400) | st.text(alphabet='0123456789.,-e\n"ab ', max_size=300))
def test_any_bytes_as_a_csv_are_data_or_an_anyprop_error(tmp_path, content):
    path = tmp_path / "d.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with contextlib.suppress(AnypropError):  # (any other exception fails the test)
        load_file(path)
