"""The HTML report: self-contained, its sections and pictures, rendered in headless Chromium."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from anyprop.cli import main
from anyprop.errors import AnypropError
from anyprop.explain.html import default_weight, write_report
from anyprop.train.job import load_data
from anyprop.train.model_io import Model, load_model
from tests.nn.zoo import ZOO

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"
SECTIONS = ["Network", "Training", "Where gradients flowed", "One weight explained"]


def _train(tmp_path, *extra):
    import io

    path = tmp_path / "m.anyprop"
    argv = [
        "train",
        "--data",
        "xor",
        "--hidden",
        "8",
        "--transfer",
        "tanh",
        "--epochs",
        "10",
        "--out",
        str(path),
    ]
    out, err = io.StringIO(), io.StringIO()
    assert main([*argv, *extra], stdout=out, stderr=err) == 0, err.getvalue()
    return path


def _report(tmp_path, *argv):
    import io

    out, err = io.StringIO(), io.StringIO()
    status = main(["report", *argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_the_report_is_self_contained_and_explains_a_hidden_weight(tmp_path):
    model = load_model(_train(tmp_path, "--report"))
    data = load_data("xor")
    sections = write_report(model, tmp_path / "r.html", model.prepare(data.x), data.y)
    assert sections == SECTIONS
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 4  # groups, units with δ, curves, flow
    # nothing fetched from elsewhere: no links, scripts or images by address
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", page)
    assert default_weight(model.network) == "input[0]->h1[0]"
    # xor's first sample is (0, 0): o_i = 0, so a sample with a gradient is chosen
    assert "on sample 0:" not in page and "weight input[0]-&gt;h1[0]" in page


def test_without_data_or_gradient_record_the_report_says_what_is_missing(tmp_path):
    model = load_model(_train(tmp_path))
    assert write_report(model, tmp_path / "r.html") == ["Network", "Training", SECTIONS[-1]]
    assert "Give the data" in (tmp_path / "r.html").read_text()


def test_a_bad_weight_is_named(tmp_path):
    model = load_model(_train(tmp_path))
    data = load_data("xor")
    with pytest.raises(AnypropError, match="nope"):
        write_report(model, tmp_path / "r.html", data.x, data.y, weight="nope[0]->h1[0]")
    assert not (tmp_path / "r.html").exists()


def test_cli_writes_the_report(tmp_path):
    path = _train(tmp_path, "--report")
    status, out, err = _report(tmp_path, str(path), "--out", str(tmp_path / "r.html"))
    assert status == 0, err
    assert (
        "report written to" in out
        and "<h2>One weight explained" in (tmp_path / "r.html").read_text()
    )
    status, out, err = _report(tmp_path, str(path), "--out", str(tmp_path / "r.pdf"))
    assert status == 2 and "HTML" in err
    plain = _train(tmp_path)
    status, out, err = _report(
        tmp_path,
        str(plain),
        "--out",
        str(tmp_path / "p.html"),
        "--weight",
        "h1[1]->output[0]",
        "--json",
    )
    assert status == 0, err and json.loads(out)["html"].endswith("p.html")
    assert "weight h1[1]-&gt;output[0]" in (tmp_path / "p.html").read_text()


HARNESS = """<!DOCTYPE html><html><body>
<iframe id=f src="report.html" style="width:1200px;height:4000px"></iframe><pre id=out>pending</pre>
<script>
document.getElementById('f').addEventListener('load', () => {
  const d = document.getElementById('f').contentDocument;
  document.getElementById('out').textContent = JSON.stringify({
    title: d.title,
    sections: [...d.querySelectorAll('section h2')].map(h => h.textContent),
    pictures: [...d.querySelectorAll('figure svg')].map(s => {
      const b = s.getBoundingClientRect(); return [b.width, b.height]; }),
    explained: (d.querySelector('pre') || {}).textContent || ''});
});
</script></body></html>"""


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no Chromium here (.ci/run installs Debian's chromium package where it can)")


def test_the_report_renders_in_headless_chromium(tmp_path):
    browser = _chromium()
    path = _train(tmp_path, "--report")
    assert _report(tmp_path, str(path), "--out", str(tmp_path / "report.html"))[0] == 0
    (tmp_path / "harness.html").write_text(HARNESS)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'p'}"]
    dom = subprocess.run(
        [
            browser,
            *flags,
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            "--dump-dom",
            (tmp_path / "harness.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "pending", dom[-2000:]
    shown = json.loads(
        found.group(1).replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")
    )
    assert shown["sections"] == SECTIONS
    assert len(shown["pictures"]) == 4 and all(w > 200 and h > 100 for w, h in shown["pictures"])
    assert "the next step of training" in shown["explained"]
    assert "finite differences" in shown["explained"]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            *flags,
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            (tmp_path / "report.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert (pixels < 0.9).mean() > 0.01  # drawn, not a blank page


@pytest.mark.parametrize("name", sorted(ZOO))
def test_a_report_for_every_zoo_network(name, tmp_path):
    net, x, t = ZOO[name]()
    assert write_report(Model(network=net), tmp_path / "r.html", x, t) == [
        "Network",
        "One weight explained",
    ]
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 2 and f"weight {html.escape(default_weight(net))}" in page


def test_a_unit_graph_model_gets_its_report(tmp_path):
    spec = str(SPECS / "units.toml")
    path = tmp_path / "u.anyprop"
    out, err = io.StringIO(), io.StringIO()
    argv = ["train", spec, "--data", "xor", "--epochs", "5", "--report", "--out", str(path)]
    assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    status, _, err = _report(tmp_path, str(path), "--out", str(tmp_path / "u.html"))
    assert status == 0, err
    page = (tmp_path / "u.html").read_text()
    assert "unit graph" in page and page.count("<svg") == 4  # groups, units, curves, flow
    # its weight is explained too, named by its units (the default: the first hidden one's)
    assert "How backpropagation computed the update of <code>0-&gt;2</code>" in page
    assert "unit 0" in page and "unit 2" in page


def test_a_moved_training_file_leaves_the_report_without_a_weight(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    path = tmp_path / "c.anyprop"
    out, err = io.StringIO(), io.StringIO()
    argv = ["train", "--data", str(data), "--target", "y", "--epochs", "2", "--out", str(path)]
    assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    data.unlink()
    status, _, err = _report(tmp_path, str(path), "--out", str(tmp_path / "c.html"))
    assert status == 0 and "explains no weight" in err
    assert "Give the data" in (tmp_path / "c.html").read_text()
