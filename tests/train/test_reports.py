"""Evaluation reports against scikit-learn's own metrics."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from anyprop.cli import main
from anyprop.train.reports import classification_report, regression_report

sklearn = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("k", [2, 3, 5])
def test_classification_figures_equal_scikit_learns(k):
    rng = np.random.default_rng(k)
    o = rng.dirichlet(np.ones(k), size=200)
    true = rng.integers(0, k, size=200)
    t = np.eye(k)[true]
    r = classification_report(o, t, [f"c{c}" for c in range(k)])
    pred = o.argmax(axis=1)
    p, rec, f1, sup = sklearn.precision_recall_fscore_support(
        true, pred, labels=range(k), zero_division=0
    )
    for c in range(k):
        got = r["per_class"][f"c{c}"]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx(
            (p[c], rec[c], f1[c], sup[c])
        )
    assert r["macro_f1"] == pytest.approx(sklearn.f1_score(true, pred, average="macro"))
    assert (
        r["confusion"]["matrix"] == sklearn.confusion_matrix(true, pred, labels=range(k)).tolist()
    )
    assert r["accuracy"] == pytest.approx(sklearn.accuracy_score(true, pred))
    if k == 2:
        assert r["roc_auc"] == pytest.approx(sklearn.roc_auc_score(true, o[:, 1]))


def test_one_sigmoid_unit_for_two_classes_and_regression_figures():
    rng = np.random.default_rng(0)
    o = rng.uniform(size=(100, 1))
    t = (rng.uniform(size=(100, 1)) > 0.5).astype(float)
    r = classification_report(o, t, None)
    assert r["roc_auc"] == pytest.approx(sklearn.roc_auc_score(t[:, 0], o[:, 0]))
    y, yhat = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    g = regression_report(yhat, y)
    assert g["mae"] == pytest.approx(sklearn.mean_absolute_error(y, yhat))
    assert g["rmse"] == pytest.approx(np.sqrt(sklearn.mean_squared_error(y, yhat)))
    assert g["r2"] == pytest.approx(sklearn.r2_score(y, yhat))


def test_anyprop_evaluate_prints_and_gives_the_report(tmp_path):
    model = tmp_path / "m.anyprop"
    argv = ["train", "--data", "iris", "--epochs", "5", "--out", str(model)]
    if main(argv, stdout=io.StringIO(), stderr=io.StringIO()) != 0:
        pytest.skip("the iris data set needs scikit-learn")
    out = io.StringIO()
    assert main(["evaluate", str(model)], stdout=out) == 0
    assert "Per class" in out.getvalue() and "Confusion matrix" in out.getvalue()
    out = io.StringIO()
    assert main(["evaluate", str(model), "--json"], stdout=out) == 0
    r = json.loads(out.getvalue())
    assert set(r["per_class"]) == {"setosa", "versicolor", "virginica"} and "macro_f1" in r


def test_evaluate_draws_the_confusion_matrix_or_predicted_against_true(tmp_path):
    for data in ("moons", "regression"):  # classes, then values
        model = tmp_path / f"{data}.anyprop"
        argv = ["train", "--data", data, "--epochs", "3", "--out", str(model)]
        assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
        png = tmp_path / f"{data}.png"
        out = io.StringIO()
        assert main(["evaluate", str(model), "--plot", str(png), "--json"], stdout=out) == 0
        assert png.read_bytes()[:4] == b"\x89PNG" and json.loads(out.getvalue())["plot"] == str(png)
    err = io.StringIO()
    status = main(
        ["evaluate", str(tmp_path / "moons.anyprop"), "--plot", str(tmp_path / "x.txt")],
        stdout=io.StringIO(),
        stderr=err,
    )
    assert status == 2 and ".png or .svg" in err.getvalue()
    assert not (tmp_path / "x.txt").exists()


def test_the_multilabel_report_counts_each_output_on_its_own():
    from anyprop.train.reports import multilabel_report

    o = np.array([[0.9, 0.2], [0.8, 0.7], [0.1, 0.6], [0.3, 0.1]])
    t = np.array([[1, 0], [1, 1], [0, 0], [1, 0]], dtype=float)
    r = multilabel_report(o, t, ["a", "b"])
    assert r["accuracy"] == 6 / 8 and r["exact_match"] == 2 / 4
    assert r["per_label"]["a"] == {
        "precision": 1.0,
        "recall": 2 / 3,
        "f1": 0.8,
        "support": 3,
        "roc_auc": 1.0,
    }
    assert r["per_label"]["b"]["precision"] == 0.5 and r["per_label"]["b"]["recall"] == 1.0
    assert r["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
