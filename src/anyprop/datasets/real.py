"""Real data sets: digits (bundled with anyprop) and scikit-learn's small sets (an extra)."""

from __future__ import annotations

from importlib import resources

import numpy as np

from anyprop.data import Dataset
from anyprop.datasets.registry import dataset
from anyprop.errors import AnypropError


@dataset("digits", source="bundled")
def digits() -> Dataset:
    """Handwritten digits: 1,797 images of 8×8 pixels (0–16), 10 classes (UCI, bundled)."""
    with resources.files("anyprop.datasets").joinpath("data/digits.npz").open("rb") as f:
        data = np.load(f, allow_pickle=False)
        x, y = data["x"].astype(np.float64), data["y"].astype(np.int64)
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return Dataset(x, y, "digits", names, ["digit"], [str(d) for d in range(10)], "classification")


def _sklearn(name: str):
    try:
        from sklearn import datasets as skd
    except ImportError:
        raise AnypropError(
            f"the '{name}' data set comes from scikit-learn: pip install 'anyprop[datasets]'"
        ) from None
    return getattr(skd, f"load_{name}")()


def _classes(name: str) -> Dataset:
    d = _sklearn(name)
    labels = [str(t) for t in d.target_names]
    return Dataset(
        d.data.astype(np.float64),
        d.target.astype(np.int64),
        name,
        list(map(str, d.feature_names)),
        ["class"],
        labels,
        "classification",
    )


@dataset("iris", source="scikit-learn")
def iris() -> Dataset:
    """Fisher's iris: 150 flowers, 4 measurements, 3 species."""
    return _classes("iris")


@dataset("wine", source="scikit-learn")
def wine() -> Dataset:
    """Wine recognition: 178 wines, 13 chemical measurements, 3 cultivars."""
    return _classes("wine")


@dataset("breast_cancer", source="scikit-learn")
def breast_cancer() -> Dataset:
    """Wisconsin breast cancer: 569 tumours, 30 features, malignant or benign."""
    return _classes("breast_cancer")


@dataset("diabetes", source="scikit-learn")
def diabetes() -> Dataset:
    """Diabetes progression: 442 patients, 10 features, a number to predict (regression)."""
    d = _sklearn("diabetes")
    return Dataset(
        d.data.astype(np.float64),
        d.target.astype(np.float64)[:, None],
        "diabetes",
        list(map(str, d.feature_names)),
        ["progression"],
        None,
        "regression",
    )
