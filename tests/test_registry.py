from __future__ import annotations

import pytest

from anyprop.errors import AnypropError, UnknownNameError
from anyprop.registry import Registry


def test_unknown_names_suggest_the_nearest():
    r = Registry("loss")
    r.register("mse", 1)
    r.register("cross_entropy", 2)
    with pytest.raises(UnknownNameError, match="did you mean 'mse'"):
        r.get("mes")
    with pytest.raises(UnknownNameError, match="known: cross_entropy, mse"):
        r.get("zzz")
    with pytest.raises(KeyError):  # still a KeyError for callers that expect one
        r.get("zzz")


def test_a_name_is_registered_once():
    r = Registry("thing")
    r.register("a", 1)
    with pytest.raises(AnypropError, match="already registered"):
        r.register("a", 2)
    assert "a" in r and r.names() == ["a"] and len(r) == 1
