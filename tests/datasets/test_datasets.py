"""Every registered data set loads; the classic problems are the classic truth tables."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import AnypropError, datasets
from anyprop.data.sequences import Sequences


@pytest.mark.parametrize("name", datasets.DATASETS.names())
def test_every_data_set_loads(name):
    if datasets.DATASETS.get(name).source == "scikit-learn":
        pytest.importorskip("sklearn")
    d = datasets.load(name)
    if isinstance(d, Sequences):  # (sequences, steps, features)
        assert d.x.ndim == 3 and len(d.y) == len(d.x) > 0 and np.isfinite(d.x).all()
        return
    assert d.x.ndim == 2 and len(d.y) == len(d.x) > 0
    assert np.isfinite(d.x).all()
    assert d.n_outputs >= 1


def test_the_sequence_tasks_are_their_papers():
    xor = datasets.load("temporal_xor", n=5, steps=12)
    bits = np.concatenate([xor.x[:, :1, 0], xor.y[:, :, 0]], axis=1)[:, :12]  # the stream
    assert (bits[:, 2::3] == np.logical_xor(bits[:, 0::3], bits[:, 1::3])).all()
    kept = np.flatnonzero(xor.mask[0])
    assert ((kept + 1) % 3 == 2).all()  # the predictable bits only
    reber = datasets.load("embedded_reber", n=50)
    for i in range(50):
        steps = int(reber.mask[i].sum())
        x, y = reber.x[i, :steps], reber.y[i, :steps]
        assert x[0, 0] == 1 and y[-1, 6] == 1  # starts with B; E follows the last T/P
        wrap = np.argmax(x[1])  # the second symbol, T or P, is predicted again at the end
        assert wrap in (1, 2) and y[-2].tolist() == np.eye(7)[wrap].tolist()
        assert (x[1:] * y[:-1]).sum(axis=1).min() == 1  # each symbol was a possible next
    add = datasets.load("adding", n=100, steps=20)
    assert add.x.shape == (100, 20, 2) and (add.x[:, :, 1].sum(axis=1) == 2).all()
    marked = (add.x[:, :, 0] * add.x[:, :, 1]).sum(axis=1)
    np.testing.assert_allclose(add.y[:, 0], marked)
    assert add.x[:, :10, 1].sum(axis=1).min() == 1  # one marker in each half


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
