"""Drawing a network: every shape of the zoo, PNG and SVG, widths from weights or gradients."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from anyprop import Network
from anyprop.errors import AnypropError
from anyprop.explain import draw_network
from anyprop.explain.diagram import levels
from tests.nn.zoo import ZOO


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
