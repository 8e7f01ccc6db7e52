"""Any text as a spec, and any mutation of a real one, is a network or an AnypropError
(within a bounded time and memory); so is any data-set name with options."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anyprop import datasets
from anyprop.errors import AnypropError
from anyprop.limits import ENV
from anyprop.nn import spec as spec_io

SPECS = sorted((Path(__file__).resolve().parents[2] / "examples" / "specs").glob("*.toml"))
TEXTS = [p.read_text() for p in SPECS]


@pytest.fixture(autouse=True)
def small_memory(monkeypatch):
    monkeypatch.setenv(ENV, "64M")  # a hostile size is refused, not allocated


def _load(text):
    with contextlib.suppress(AnypropError):
        spec_io.loads(text, "<fuzz>")


@settings(
    max_examples=200, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_a_mutated_spec_is_a_network_or_an_anyprop_error(data):
    text = data.draw(st.sampled_from(TEXTS))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        piece = data.draw(
            st.sampled_from(
                [
                    "",
                    "0",
                    "-1",
                    "1e9",
                    "999999999",
                    '"x"',
                    "[",
                    "]",
                    "=",
                    "\n",
                    "{",
                    "}",
                    ".",
                    "nan",
                    "true",
                ]
            )
        )
        cut = data.draw(st.integers(0, 5))
        text = text[:i] + piece + text[i + cut :]
    _load(text)


@settings(
    max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=300))
def test_any_text_is_a_network_or_an_anyprop_error(text):
    _load(text)


@settings(
    max_examples=150, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["moons", "parity", "encoder", "symmetry", "two_spirals", "regression", "xor"]),
    st.lists(
        st.tuples(
            st.sampled_from(["n", "noise", "seed", "points", "m", "zz"]),
            st.one_of(st.integers(-10, 10**15), st.floats(allow_nan=True), st.text(max_size=5)),
        ),
        max_size=3,
    ),
)
def test_any_data_set_name_with_options_is_data_or_an_anyprop_error(name, options):
    text = name + (":" + ",".join(f"{k}={v}" for k, v in options) if options else "")
    with contextlib.suppress(AnypropError):
        datasets.load(text)
