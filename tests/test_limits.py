"""Sizes are checked before anything is allocated, against a limit that small test
limits stand in for (the machine is never exhausted to test it)."""

from __future__ import annotations

import io

import pytest

from anyprop import AnypropError, Network, datasets
from anyprop.cli import main
from anyprop.limits import ENV, check_bytes, memory_limit, parse_size


def test_sizes_read_as_people_write_them():
    assert parse_size("1000") == 1000 and parse_size("64k") == 65536
    assert parse_size("1.5G") == 3 * 2**29 and parse_size("2TB") == 2 * 2**40
    for bad in ("lots", "-1G", "1e9", ""):
        with pytest.raises(AnypropError, match="memory size"):
            parse_size(bad)


def test_the_limit_is_the_environment_s_else_what_is_free(monkeypatch):
    monkeypatch.setenv(ENV, "10M")
    assert memory_limit() == 10 * 2**20
    with pytest.raises(AnypropError, match=r"needs 20 MiB of memory, more than the 10 MiB"):
        check_bytes(20 * 2**20, "this")
    monkeypatch.delenv(ENV)
    assert memory_limit() > 2**20


def test_a_network_too_large_is_refused_before_it_is_allocated(monkeypatch):
    monkeypatch.setenv(ENV, "1M")
    with pytest.raises(AnypropError, match=r"connection 'h1->h2': weights of shape \(1000, 1000\)"):
        Network.layered([2, 1000, 1000, 1])
    with pytest.raises(AnypropError, match="group 'big'"):
        Network(seed=0).add_group("big", 10**9)
    Network.layered([2, 100, 1])  # (well within)


@pytest.mark.parametrize(
    "name, message",
    [
        ("moons:n=1000000000000", "needs 87.3 TiB of memory"),
        ("parity:n=60", "of memory, more than"),
        ("moons:n=abc", "option n='abc' must be a whole number"),
        ("moons:n=-5", "option n=-5 must be at least 1"),
        ("moons:n=2.5", "must be a whole number"),
        ("moons:seed=-1", "option seed=-1 must be at least 0"),
        ("moons:noise=-1", "option noise=-1 must be a number >= 0"),
    ],
)
def test_a_data_set_too_large_or_with_a_bad_option_is_named(name, message):
    with pytest.raises(AnypropError) as e:
        datasets.load(name)
    assert message in str(e.value)


def test_memory_limit_from_the_command_line():
    err = io.StringIO()
    argv = ["--memory-limit", "1M", "train", "--data", "xor", "--hidden", "100000", "--no-save"]
    assert main(argv, io.StringIO(), err) == 2 and "more than the 1 MiB available" in err.getvalue()
    err = io.StringIO()
    assert main(["--memory-limit", "lots", "train", "--data", "xor"], io.StringIO(), err) == 2
    assert "memory size" in err.getvalue()


def test_a_training_run_whose_arrays_together_would_not_fit_is_refused(monkeypatch):
    import anyprop

    monkeypatch.setenv(ENV, "4M")  # each layer fits; all of them, with their gradients, not
    with pytest.raises(AnypropError, match=r"training this network \([\d,]+ parameters"):
        anyprop.train_model("xor", hidden=[300] * 8, epochs=1)
    anyprop.train_model("xor", hidden=3, epochs=1)
