"""Initial weights: every scheme, seeded, with the statistics it promises."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import AnypropError
from anyprop.nn import init


@pytest.mark.parametrize("name", init.INITIALIZERS.names())
def test_every_initialiser_is_seeded_and_shaped(name):
    a = init.make(name, np.random.default_rng(3), (20, 30), 20, 30, np.float32)
    b = init.make(name, np.random.default_rng(3), (20, 30), 20, 30, np.float32)
    assert a.shape == (20, 30) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_ranges_and_statistics():
    rng = np.random.default_rng(0)
    g = init.make("glorot_uniform", rng, (300, 200), 300, 200, np.float64)
    assert np.abs(g).max() <= np.sqrt(6 / 500)
    h = init.make("he_normal", rng, (400, 400), 400, 400, np.float64)
    assert h.std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    u = init.make({"name": "uniform", "r": 0.3}, rng, (1000,), 1, 1, np.float64)
    assert np.abs(u).max() <= 0.3 and np.abs(u).max() > 0.29
    q = init.make("orthogonal", rng, (5, 3), 5, 3, np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)
    nw = init.make("nguyen_widrow", rng, (4, 10), 4, 10, np.float64)
    np.testing.assert_allclose(np.linalg.norm(nw, axis=0), 0.7 * 10 ** (1 / 4), rtol=1e-12)


def test_bad_initialisers():
    with pytest.raises(AnypropError, match="unknown initialiser 'glorot'"):
        init.make("glorot", np.random.default_rng(), (2, 2), 2, 2, np.float32)
    with pytest.raises(AnypropError, match="dense connection"):
        init.make("orthogonal", np.random.default_rng(), (4,), 2, 2, np.float32)
    with pytest.raises(AnypropError, match="initialiser 'uniform'"):
        init.make({"name": "uniform", "radius": 1}, np.random.default_rng(), (2,), 1, 1, np.float32)


def test_an_initialisers_options_are_named_and_its_spreads_not_negative():
    import numpy as np
    import pytest

    from anyprop.errors import AnypropError
    from anyprop.nn.init import make

    rng = np.random.default_rng(0)
    with pytest.raises(AnypropError, match=r"has no option 'q' \(options: r\)"):
        make({"name": "uniform", "q": 1}, rng, (2, 2), 2, 2, "float32")
    for spec in ({"name": "uniform", "r": -1}, {"name": "normal", "std": -1}):
        with pytest.raises(AnypropError, match="must be >= 0"):
            make(spec, rng, (2, 2), 2, 2, "float32")
    constant = make({"name": "constant", "value": -0.5}, rng, (2,), 1, 2, "float64")
    assert constant.tolist() == [-0.5, -0.5]
