"""Drawing a network: every shape of the zoo, PNG and SVG, widths from weights or gradients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from anyprop import Network
from anyprop.errors import AnypropError
from anyprop.explain import draw_network
from anyprop.explain.diagram import MAX_UNITS, draw_units, levels, unit_edges
from tests.nn.zoo import ZOO

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_zoo_network_is_drawn(name, tmp_path):
    net, _, _ = ZOO[name]()
    draw_network(net, tmp_path / "n.png")
    assert (tmp_path / "n.png").read_bytes()[:4] == b"\x89PNG"


def test_svg_names_groups_and_connection_kinds(tmp_path):
    net, _, _ = ZOO["sparse_one_to_one_shared_fixed"]()
    path = tmp_path / "n.svg"
    draw_network(net, path)
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for group in net.groups:
        assert group in svg


def test_levels_put_a_skip_target_after_its_deepest_source():
    net = Network.layered([2, 3, 3, 1], seed=0)
    net.connect("input", "output")
    lv = levels(net)
    assert lv["input"] == 0 and lv["output"] == 3


def test_strengths_by_connection_or_parameter_name(tmp_path):
    net = Network.layered([2, 3, 1], seed=0)
    draw_network(net, tmp_path / "a.png", {"input->h1": 1.0, "h1->output.weight": 0.1})
    assert (tmp_path / "a.png").stat().st_size > 0


def test_a_bad_extension_is_refused(tmp_path):
    with pytest.raises(AnypropError, match=r"\.png or \.svg"):
        draw_network(Network.layered([2, 1]), tmp_path / "n.jpg")
    assert not (tmp_path / "n.jpg").exists()


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_unit_of_every_zoo_network_is_drawn_with_its_delta(name, tmp_path):
    net, x, t = ZOO[name]()
    draw_units(net, tmp_path / "u.svg", x, t, sample=1)
    svg = (tmp_path / "u.svg").read_text()
    assert "δ of each unit on sample 1" in svg or "sample 1" in svg


def test_unit_edges_cover_every_kind_of_connection():
    net, _, _ = ZOO["sparse_one_to_one_shared_fixed"]()
    for c in net.connections.values():
        s, t, w = unit_edges(net, c)
        assert len(s) == len(t) == len(w) == np.size(net.params[c.param])
        assert s.max() < net.groups[c.src].size and t.max() < net.groups[c.tgt].size


def test_units_shown_are_the_engines_deltas(tmp_path, monkeypatch):
    net = Network.layered([2, 3, 1], transfer="sigmoid", seed=0)
    x, t = np.array([[0.5, -1.0], [1.0, 0.2]]), np.array([[1.0], [0.0]])
    texts = []
    import matplotlib.axes

    real = matplotlib.axes.Axes.text
    monkeypatch.setattr(
        matplotlib.axes.Axes, "text", lambda ax, *a, **k: texts.append(a[2]) or real(ax, *a, **k)
    )
    draw_units(net, tmp_path / "u.png", x, t, sample=1)
    delta = net.backprop(x[1:], t[1:]).deltas["h1"][0]
    assert all(f"δ={d:.2g}" in texts for d in delta)


def test_too_many_units_or_a_bad_sample_are_refused(tmp_path):
    with pytest.raises(AnypropError, match="101 units"):
        draw_units(Network.layered([50, 50, 1]), tmp_path / "u.png")
    net = Network.layered([2, 1])
    with pytest.raises(AnypropError, match="sample 5 is out of range"):
        draw_units(net, tmp_path / "u.png", np.zeros((2, 2)), np.zeros((2, 1)), sample=5)


@pytest.mark.parametrize("spec", sorted(SPECS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_example_spec_is_drawn(spec, tmp_path):
    from anyprop.nn import spec as spec_io
    from tests.nn.zoo import _data

    loaded = spec_io.load(spec)
    draw_network(loaded, tmp_path / "g.svg")
    net = getattr(loaded, "network", loaded)
    recurrent = any(c.delay or c.gate for c in net.connections.values())
    if recurrent:
        with pytest.raises(AnypropError, match="is recurrent|drawing them one by one"):
            draw_units(loaded, tmp_path / "u.png", *_data(net, 3, 0))
    if sum(g.size for g in net.groups.values()) <= MAX_UNITS:
        x, t = (None, None) if recurrent else _data(net, 3, 0)
        draw_units(loaded, tmp_path / "u.png", x, t)
        assert (tmp_path / "u.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "g.svg").read_text()


def test_a_unit_graph_with_outputs_at_two_depths_takes_one_target_table(tmp_path):
    from anyprop.nn.unitgraph import from_units

    u = from_units([[0, 2], [1, 2], [2, 3], [0, 3]], outputs=[3, 2], dtype="float64")
    x, t = np.random.default_rng(0).normal(size=(3, 2)), np.zeros((3, 2))
    draw_units(u, tmp_path / "u.svg", x, t)
    draw_network(u, tmp_path / "g.svg")


def test_names_with_dollars_and_inputs_without_targets(tmp_path):
    net = Network(seed=0)
    net.add_input("$x^$", 2)
    net.add_group("$h$", 2, transfer="tanh")
    net.add_output("out", 1, transfer="identity", loss="mse")
    net.connect("$x^$", "$h$")
    net.connect("$h$", "out")
    draw_network(net, tmp_path / "g.svg")
    draw_units(net, tmp_path / "u.svg")
    with pytest.raises(AnypropError, match="together"):
        draw_units(net, tmp_path / "u.svg", np.zeros((1, 2)))


def test_fixed_connections_are_thinnest_under_gradient_norms(tmp_path, monkeypatch):
    import matplotlib.patches

    net, _, _ = ZOO["sparse_one_to_one_shared_fixed"]()
    widths = []
    real = matplotlib.patches.FancyArrowPatch.__init__

    def spy(self, *a, **k):
        widths.append((k.get("linestyle"), k["lw"]))
        real(self, *a, **k)

    monkeypatch.setattr(matplotlib.patches.FancyArrowPatch, "__init__", spy)
    fixed = [c.name for c in net.connections.values() if not c.trainable]
    strengths = {c.name: 1.0 for c in net.connections.values() if c.trainable}
    draw_network(net, tmp_path / "g.png", strengths)
    assert fixed and min(w for _, w in widths) == pytest.approx(0.6)
