"""The accuracy panel's own arithmetic, and one small run of it (the panel itself is a
benchmark: ``make accuracy``)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from bench import accuracy


def test_the_paired_difference_and_the_verdict():
    row = accuracy.Row("d", "classification", 10, [0.9, 0.8, 1.0], [0.8, 0.8, 0.9], [1] * 3, [2])
    d = np.array([0.1, 0.0, 0.1])
    mean, se = row.difference
    assert mean == pytest.approx(d.mean()) and se == pytest.approx(d.std(ddof=1) / np.sqrt(3))
    assert row.passed
    worse = accuracy.Row("d", "regression", 10, [0.5, 0.5], [0.9, 0.8], [1, 1], [1, 1])
    assert not worse.passed and "**below**" in accuracy.table([worse])


def test_scores_are_accuracy_for_classes_and_r2_for_values():
    assert accuracy.score("classification", np.array([1, 2, 3]), [1, 2, 0]) == pytest.approx(2 / 3)
    t = np.array([1.0, 2.0, 3.0])
    assert accuracy.score("regression", t, t[:, None]) == 1.0


def test_a_small_run_fills_the_page_under_its_marker(tmp_path):
    rows = accuracy.run(seeds=2, only=["iris"], log=lambda _: None)
    assert [r.name for r in rows] == ["iris"] and len(rows[0].anyprop) == 2
    assert min(rows[0].anyprop) > 0.8  # the no-flag run learns iris
    page = tmp_path / "a.md"
    page.write_text("# text kept\n\n" + accuracy.MARK + "\nold table\n")
    accuracy.write(str(page), rows, 2)
    text = page.read_text()
    assert text.startswith("# text kept") and "old table" not in text and "| iris |" in text
