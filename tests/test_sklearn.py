"""The estimators in use: pipelines, grid search, cross-validation, clone, pickle, the
anyprop model file, warm starts, weights, multilabel and multi-output targets, and
equality with the Python API and the command line that run the same job."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris, make_multilabel_classification
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import anyprop
from anyprop.cli import main
from anyprop.nn import Network
from anyprop.sklearn import AnypropClassifier, AnypropRegressor

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X_DIAB, Y_DIAB = load_diabetes(return_X_y=True)


def test_a_pipeline_with_a_scaler():
    pipe = make_pipeline(StandardScaler(), AnypropClassifier(random_state=0)).fit(X_IRIS, Y_IRIS)
    assert pipe.score(X_IRIS, Y_IRIS) > 0.95


def test_grid_search_over_hidden_sizes_and_rates():
    grid = GridSearchCV(
        AnypropClassifier(epochs=50, random_state=0),
        {"hidden": [(8,), (32,)], "lr": [0.003, 0.01]},
        cv=3,
    ).fit(X_IRIS, Y_IRIS)
    assert set(grid.best_params_) == {"hidden", "lr"}
    assert grid.best_score_ > 0.85


def test_cross_val_score_and_clone():
    scores = cross_val_score(AnypropRegressor(random_state=0), X_DIAB, Y_DIAB, cv=3)
    assert scores.mean() > 0.3
    est = AnypropRegressor(hidden=(7,), lr=0.01)
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "model_")


def test_pickle_round_trip_holds_the_model_file_not_python_objects():
    clf = AnypropClassifier(random_state=0).fit(X_IRIS, Y_IRIS)
    state = clf.__getstate__()
    assert "model_" not in state and isinstance(state["_model_file"], bytes)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X_IRIS), clf.predict_proba(X_IRIS))
    assert back.loss_curve_ == clf.loss_curve_


def test_the_estimator_saved_as_a_model_file_predicts_the_same(tmp_path):
    clf = AnypropClassifier(random_state=0).fit(X_IRIS, Y_IRIS)
    clf.save_model(tmp_path / "iris.anyprop")
    model = anyprop.load(tmp_path / "iris.anyprop")
    np.testing.assert_array_equal(model.predict_proba(X_IRIS), clf.predict_proba(X_IRIS))
    assert model.predict_labels(X_IRIS) == clf.predict(X_IRIS).tolist()
    rows = "\n".join(",".join(map(str, r)) for r in X_IRIS[:5])
    (tmp_path / "in.csv").write_text("x0,x1,x2,x3\n" + rows + "\n")
    out = io.StringIO()
    assert main(["predict", str(tmp_path / "iris.anyprop"), str(tmp_path / "in.csv")], out) == 0
    assert [r.split(",")[0] for r in out.getvalue().split()[1:]] == list(
        map(str, clf.predict(X_IRIS[:5]))
    )


def test_the_estimator_trains_as_the_python_api_and_the_cli_do(tmp_path):
    """One job underneath: the same defaults, the same seed, the same weights."""
    clf = AnypropClassifier(random_state=3).fit(X_IRIS, Y_IRIS)
    model = anyprop.train_model((X_IRIS, Y_IRIS), task="classification", seed=3, out=None)
    for name, w in model.network.params.items():
        np.testing.assert_array_equal(clf.network_.params[name], w)
    np.savetxt(
        tmp_path / "iris.csv",
        np.column_stack([X_IRIS, Y_IRIS]),
        delimiter=",",
        header="a,b,c,d,y",
        comments="",
    )
    argv = [
        "train",
        "--data",
        str(tmp_path / "iris.csv"),
        "--seed",
        "3",
        "--out",
        str(tmp_path / "m.anyprop"),
    ]
    assert main(argv, io.StringIO(), io.StringIO()) == 0
    cli = anyprop.load(tmp_path / "m.anyprop")
    for name, w in cli.network.params.items():
        np.testing.assert_array_equal(clf.network_.params[name], w)


def test_learned_attributes():
    clf = AnypropClassifier(random_state=0, early_stopping=5, validation_split=0.2)
    clf.fit(X_IRIS, Y_IRIS)
    assert list(clf.classes_) == [0, 1, 2] and clf.n_features_in_ == 4
    assert clf.n_iter_ == len(clf.loss_curve_) and clf.best_loss_ == min(clf.loss_curve_)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert isinstance(clf.network_, Network)


def test_feature_names_from_pandas():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_IRIS, columns=["sl", "sw", "pl", "pw"])
    clf = AnypropClassifier(epochs=5, random_state=0).fit(frame, Y_IRIS)
    assert list(clf.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    assert clf.model_.feature_names == ["sl", "sw", "pl", "pw"]


def test_text_labels():
    names = np.array(["setosa", "versicolor", "virginica"])[Y_IRIS]
    clf = AnypropClassifier(random_state=0).fit(X_IRIS, names)
    assert set(clf.predict(X_IRIS)) <= set(names) and clf.score(X_IRIS, names) > 0.95


def test_warm_start_and_partial_fit_go_on_from_the_last_weights():
    reg = AnypropRegressor(epochs=5, warm_start=True, random_state=0).fit(X_DIAB, Y_DIAB)
    first = reg.loss_curve_[-1]
    reg.fit(X_DIAB, Y_DIAB)
    assert reg.n_iter_ == 10 and reg.loss_curve_[-1] < first
    part = AnypropClassifier(random_state=0)
    for _ in range(3):
        part.partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])
    assert part.n_iter_ == 3
    cold = AnypropRegressor(epochs=5, random_state=0)
    cold.fit(X_DIAB, Y_DIAB).fit(X_DIAB, Y_DIAB)
    assert cold.n_iter_ == 5  # without warm_start, a fit starts afresh


def test_sample_weight_of_two_is_the_sample_twice_with_one_batch():
    X, y = X_IRIS[::5], Y_IRIS[::5]
    w = np.arange(len(y)) % 3
    kw = {"dtype": "float64", "random_state": 0, "epochs": 30, "early_stopping": False}
    a = AnypropClassifier(**kw).fit(X, y, sample_weight=w)
    b = AnypropClassifier(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-9)


def test_float32_outputs_agree_to_float32_resolution():
    """The two scikit-learn checks that ask more than float32 can resolve, at float32's
    own tolerance: sample weights equal repeats, and any subset predicts as the whole."""
    X, y = X_IRIS[::5], Y_IRIS[::5]
    w = np.arange(len(y)) % 3
    a = AnypropClassifier(random_state=0).fit(X, y, sample_weight=w)
    b = AnypropClassifier(random_state=0).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)
    whole = a.predict_proba(X)
    parts = np.vstack([a.predict_proba(X[k : k + 1]) for k in range(len(X))])
    np.testing.assert_allclose(parts, whole, atol=1e-6)
    X, y = X_DIAB[::10], Y_DIAB[::10]
    w = np.arange(len(y)) % 3
    kw = {"random_state": 0, "epochs": 30, "early_stopping": False}
    a = AnypropRegressor(**kw).fit(X, y, sample_weight=w)
    b = AnypropRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-4, atol=1e-3 * y.std())


def test_class_weight_balanced_and_by_label():
    X, y = X_IRIS[:120], Y_IRIS[:120]  # 50, 50, 20
    bal = AnypropClassifier(class_weight="balanced", random_state=0).fit(X, y)
    assert bal.score(X, y) > 0.9
    with pytest.raises(ValueError, match="class 7"):
        AnypropClassifier(class_weight={7: 2.0}).fit(X, y)


def test_multilabel_and_multi_output():
    X, Y = make_multilabel_classification(n_samples=200, n_classes=3, random_state=0)
    clf = AnypropClassifier(random_state=0).fit(X, Y)
    assert clf.predict(X).shape == Y.shape and clf.predict_proba(X).shape == Y.shape
    assert clf.network_.groups["output"].loss.name == "binary_cross_entropy"
    assert clf.score(X, Y) > 0.5
    Y2 = np.column_stack([Y_DIAB, -Y_DIAB / 2])
    reg = AnypropRegressor(random_state=0).fit(X_DIAB, Y2)
    assert reg.predict(X_DIAB).shape == Y2.shape and reg.score(X_DIAB, Y2) > 0.4


SPEC = """
[network]
seed = 1
[groups.x]
size = 4
input = true
[groups.h]
size = 6
transfer = "x/(1+abs(x))"
[groups.y]
size = 3
transfer = "softmax"
loss = "cross_entropy"
[[connections]]
from = "x"
to = "h"
[[connections]]
from = "h"
to = "y"
[[connections]]
from = "x"
to = "y"
"""


def test_any_network_as_a_spec_file_text_dict_or_network(tmp_path):
    import tomllib

    (tmp_path / "net.toml").write_text(SPEC)
    net = anyprop.nn.spec.loads(SPEC)
    probs = []
    for spec in (str(tmp_path / "net.toml"), SPEC, tomllib.loads(SPEC), net):
        clf = AnypropClassifier(spec=spec, epochs=20).fit(X_IRIS, Y_IRIS)
        assert set(clf.network_.groups) == {"x", "h", "y"}
        probs.append(clf.predict_proba(X_IRIS))
    for p in probs[1:]:
        np.testing.assert_array_equal(p, probs[0])
    before = {k: v.copy() for k, v in net.params.items()}
    assert all(np.array_equal(net.params[k], v) for k, v in before.items())  # untouched


def test_bad_parameters_are_value_errors_at_fit():
    for est in (
        AnypropClassifier(dtype="float16"),
        AnypropClassifier(hidden=(-3,)),
        AnypropClassifier(optimizer="nope"),
        AnypropClassifier(lr=-1.0),
        AnypropClassifier(spec=5),
        AnypropClassifier(spec="missing.toml"),
        AnypropRegressor(epochs=-2),
        AnypropRegressor(transfer="x/("),
        AnypropRegressor(random_state="seven"),
    ):
        with pytest.raises(ValueError):
            est.fit(X_IRIS, Y_IRIS)
