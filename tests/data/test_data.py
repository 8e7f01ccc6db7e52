"""Loading data: CSV, .npy, .npz; every mistake named with its row and column."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop.data import DataError, Dataset, Standardizer, load_arrays, load_csv, load_file


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_header_and_labels(tmp_path):
    p = write(tmp_path, "a,b,kind\n1,2,cat\n3,4,dog\n5,6,cat\n")
    d = load_csv(p, target="kind")
    assert d.x.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert d.labels == ["cat", "dog"] and d.y.tolist() == [0, 1, 0]
    assert d.task == "classification" and d.feature_names == ["a", "b"] and d.n_outputs == 2


def test_csv_without_header_numeric_targets(tmp_path):
    p = write(tmp_path, "1,2,0.5\n3,4,1.5\n")
    d = load_csv(p)
    assert d.y.tolist() == [0.5, 1.5] and d.task == "regression"
    d = load_csv(p, target=0)
    assert d.x.tolist() == [[2, 0.5], [4, 1.5]]
    d = load_csv(p, target=[1, 2])
    assert d.y.shape == (2, 2)


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("a,b,c\n1,2,3\n4,5\n", {}, "line 3 has 2 cells, expected 3"),
        ("a,b,c\n1,x,3\n2,5,6\n", {}, "line 2, column 'b': 'x' is not a number"),
        ("a,b,c\n1,,3\n", {}, "line 2, column 'b': is empty"),
        ("a,b,c\n1,nan,3\n", {}, "line 2, column 'b': nan is not a finite number"),
        ("a,b,c\n1,2,\n", {}, "line 2, column 'c': the target is empty"),
        ("a,b,c\n1,2,3\n", {"target": "cc"}, "no column named 'cc'; did you mean 'c'"),
        ("1,2,3\n", {"target": 7}, "target column 7 is out of range"),
        ("a,b,c\n", {}, "a header but no data rows"),
        ("", {}, "holds no data"),
        ("a,b,c\n1,2,x\n1,2,3\n", {"target": ["b", "c"]}, "target 'x' is not a number"),
    ],
)
def test_csv_errors_name_the_place(tmp_path, text, kwargs, message):
    p = write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_csv(p, **kwargs)
    assert str(p) in str(info.value)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "none.csv")
    with pytest.raises(DataError, match="unknown data format '.xls'"):
        load_file(tmp_path / "d.xls")


def test_npz_and_npy(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((4, 2)), y=np.array([0, 1, 0, 1]))
    d = load_file(tmp_path / "d.npz")
    assert d.x.shape == (4, 2) and d.task == "classification"
    np.save(tmp_path / "t.npy", np.arange(12.0).reshape(4, 3))
    d = load_file(tmp_path / "t.npy")
    assert d.x.shape == (4, 2) and d.y.tolist() == [2, 5, 8, 11]
    np.savez(tmp_path / "bad.npz", a=np.ones(3))
    with pytest.raises(DataError, match="arrays named 'x'"):
        load_arrays(tmp_path / "bad.npz")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="no pickles"):
        load_arrays(tmp_path / "obj.npy")
    np.savez(tmp_path / "nan.npz", x=np.array([[1.0, np.nan]]), y=np.array([1.0]))
    with pytest.raises(DataError, match=r"NaN or infinity \(row 0, column 1\)"):
        load_arrays(tmp_path / "nan.npz")


def test_standardizer_and_splits():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = Standardizer.fit(x)
    np.testing.assert_allclose(s.transform(x), [[-1, 0], [1, 0]])
    with pytest.raises(DataError, match="trained on 2"):
        s.transform(np.ones((1, 3)))
    d = Dataset(np.arange(20.0).reshape(10, 2), np.arange(10.0))
    a, b = d.split(0.3, np.random.default_rng(0))
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.y.tolist() + b.y.tolist()) == list(range(10))
    with pytest.raises(DataError, match="leaves a part empty"):
        d.split(0.01, np.random.default_rng(0))


def test_target_columns_by_range_or_pattern(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y0,y1,y2\n1,2,3,4,5\n6,7,8,9,10\n")
    by_range = load_csv(path, target="y0:y2")
    by_glob = load_csv(path, target="y*")
    by_numbers = load_csv(path, target="2:4")
    for d in (by_range, by_glob, by_numbers):
        assert d.target_names == ["y0", "y1", "y2"] and d.feature_names == ["a", "b"]
        assert d.y.tolist() == [[3, 4, 5], [8, 9, 10]]
    with pytest.raises(DataError, match="no column matches the pattern 'z\\*'"):
        load_csv(path, target="z*")
    with pytest.raises(DataError, match="runs backwards"):
        load_csv(path, target="y2:y0")
    with pytest.raises(DataError, match="target column 'y1' is named twice"):
        load_csv(path, target=["y*", "y1"])


def test_a_header_naming_a_column_twice_is_an_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,a,y\n1,2,3,4\n")
    with pytest.raises(DataError, match=r"names two columns 'a' \(columns 1 and 3\)"):
        load_csv(path, target="y")


def test_missing_values_are_counted_with_their_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,,3\n4,5,6\n,,9\n7,8,1\n")
    with pytest.raises(
        DataError,
        match=r"line 2, column 'b': is empty \(3 missing values in "
        r"the inputs, on lines 2, 4\)",
    ):
        load_csv(path, target="y")


def test_text_feature_columns_become_one_hot_categories(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("size,colour,y\n1.5,red,1\n2.0,blue,0\n0.5,red,1\n3.0,green,0\n")
    d = load_csv(path, target="y")
    assert d.feature_names == ["size", "colour=blue", "colour=green", "colour=red"]
    assert d.x.tolist()[0] == [1.5, 0.0, 0.0, 1.0]
    # the model's columns read another file the same way, whatever categories it holds
    other = tmp_path / "o.csv"
    other.write_text("colour,size,y\nred,2.5,1\n")
    again = load_csv(other, target="y", columns=d.columns)
    assert again.x.tolist() == [[2.5, 0.0, 0.0, 1.0]]
    (tmp_path / "bad.csv").write_text("size,colour,y\n1,purple,0\n")
    with pytest.raises(DataError, match="line 2, column 'colour': the category 'purple' was not"):
        load_csv(tmp_path / "bad.csv", target="y", columns=d.columns)
