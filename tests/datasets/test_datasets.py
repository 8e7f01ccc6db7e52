"""Every registered data set loads; the classic problems are the classic truth tables."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import AnypropError, datasets


@pytest.mark.parametrize("name", datasets.DATASETS.names())
def test_every_data_set_loads(name):
    if datasets.DATASETS.get(name).source == "scikit-learn":
        pytest.importorskip("sklearn")
    d = datasets.load(name)
    assert d.x.ndim == 2 and len(d.y) == len(d.x) > 0
    assert np.isfinite(d.x).all()
    assert d.n_outputs >= 1


def test_classic_truth_tables():
    assert datasets.load("parity", n=3).y.ravel().tolist() == [0, 1, 1, 0, 1, 0, 0, 1]
    sym = datasets.load("symmetry")
    assert sym.x.shape == (64, 6) and sym.y.sum() == 8  # 2^3 symmetric patterns of 6 bits
    enc = datasets.load("encoder:n=4")
    assert (enc.x == np.eye(4)).all() and (enc.y == enc.x).all()
    comp = datasets.load("complement_encoder", n=4)
    assert (comp.x == 1 - np.eye(4)).all()
    spirals = datasets.load("two_spirals")
    assert spirals.x.shape == (194, 2) and spirals.y.sum() == 97
    np.testing.assert_allclose(spirals.x[0], [0.0, 6.5])


def test_digits_are_bundled():
    d = datasets.load("digits")
    assert d.x.shape == (1797, 64) and d.x.max() == 16 and d.labels[3] == "3"


def test_options_and_names():
    with pytest.raises(AnypropError, match="no option 'm' \\(options: n=8\\)"):
        datasets.load("encoder:m=2")
    with pytest.raises(AnypropError, match="did you mean 'parity'"):
        datasets.load("parrity")
    with pytest.raises(AnypropError, match="key=value"):
        datasets.load("parity:6")
    assert datasets.parse_name("moons:n=50,noise=0.2") == ("moons", {"n": 50, "noise": 0.2})
