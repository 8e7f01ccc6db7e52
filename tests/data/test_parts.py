"""One process's part of a data file: part r of P of the rows, read alone, the parts
in order making up the whole."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from anyprop.data.dataset import DataError
from anyprop.data.files import load_arrays, load_csv, part_rows
from anyprop.train.sources import load_data


def test_the_parts_are_in_order_and_within_one_row_of_each_other():
    for n in (3, 7, 10, 101):
        for size in range(1, min(n, 6) + 1):
            ranges = [part_rows(n, (r, size), "d") for r in range(size)]
            assert ranges[0][0] == 0 and ranges[-1][1] == n
            assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
            sizes = {b - a for a, b in ranges}
            assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
    with pytest.raises(DataError, match="d: 2 rows cannot be shared by 3 processes"):
        part_rows(2, (0, 3), "d")


@pytest.mark.parametrize("header", [True, False])
def test_the_parts_of_a_csv_make_up_the_whole(tmp_path, header):
    rng = np.random.default_rng(0)
    rows = [",".join(f"{v:.4f}" for v in r) for r in rng.normal(size=(11, 3))]
    rows.insert(4, "")  # a blank line: not a row
    path = tmp_path / "d.csv"
    path.write_text("\n".join((["a,b,y"] if header else []) + rows) + "\n")
    whole = load_csv(path)
    parts = [load_csv(path, part=(r, 3)) for r in range(3)]
    assert [len(p) for p in parts] == [3, 4, 4]
    np.testing.assert_array_equal(np.concatenate([p.x for p in parts]), whole.x)
    np.testing.assert_array_equal(np.concatenate([p.y for p in parts]), whole.y)
    assert all(p.feature_names == whole.feature_names for p in parts)


def test_a_mistake_in_a_part_is_named_by_its_line_in_the_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,2\n3,4\n5,6\nseven,8\n")
    assert len(load_csv(path, part=(0, 2))) == 2  # (its rows are fine)
    with pytest.raises(DataError, match="d.csv: line 5, column 'a'"):
        load_csv(path, part=(1, 2))
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "none.csv", part=(0, 2))
    with pytest.raises(DataError, match="a header but no data rows"):
        (tmp_path / "h.csv").write_text("a,y\n")
        load_csv(tmp_path / "h.csv", part=(0, 1))


def test_sequences_in_long_form_are_not_split_by_rows(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("sequence,step,x,y\n0,0,1,0\n0,1,2,1\n1,0,3,0\n1,1,4,1\n")
    with pytest.raises(DataError, match="cannot be shared out by rows"):
        load_csv(path, part=(0, 2))


def test_arrays_and_named_sets_give_their_parts(tmp_path):
    table = np.arange(30.0).reshape(10, 3)
    np.save(tmp_path / "t.npy", table)
    part = load_arrays(tmp_path / "t.npy", part=(1, 2))
    np.testing.assert_array_equal(part.x, table[5:, :2])
    np.savez(tmp_path / "s.npz", x=np.zeros((6, 4, 1)), y=np.arange(6), mask=np.ones((6, 4)))
    seqs = load_arrays(tmp_path / "s.npz", part=(0, 3))
    assert seqs.x.shape == (2, 4, 1) and seqs.mask.shape == (2, 4)
    np.testing.assert_array_equal(seqs.y, [0, 1])
    xor = load_data("xor", part=(1, 2))
    np.testing.assert_array_equal(xor.x, load_data("xor").x[2:])


def test_arrays_of_other_lengths_are_refused_whole_or_in_parts(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((8, 2)), y=np.zeros(10))
    np.savez(tmp_path / "b.npz", x=np.float64(3), y=np.zeros(3))
    for part in (None, (0, 2)):
        with pytest.raises(DataError, match="8 input rows but 10 targets"):
            load_arrays(tmp_path / "a.npz", part=part)
        with pytest.raises(DataError, match="'x' is a single number"):
            load_arrays(tmp_path / "b.npz", part=part)


def test_a_quoted_line_break_reads_alike_whole_and_in_parts(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('c,a,y\n"x\ny",1,0\nw,2,1\n"x\ny",3,0\nz,4,1\n')
    whole = load_csv(path)
    assert whole.columns.columns[0] == ("c", ["w", "x\ny", "z"])
    first = load_csv(path, part=(0, 2))
    np.testing.assert_array_equal(first.y, whole.y[:2])
    assert first.columns.columns[0] == ("c", ["w", "x\ny"])  # its own rows' categories
    path.write_text('c,a,y\n"x\ny",1,0\nw,2,1\n"x\ny",3,0\nz,four,1\n')
    for part in (None, (1, 2)):  # the line in the file, past the quoted line breaks
        with pytest.raises(DataError, match="q.csv: line 7, column 'a'"):
            load_csv(path, part=part)
