"""The unrolled gradients against PyTorch's autograd on the same recurrent networks
written by hand in PyTorch (optional: skipped without torch)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from anyprop import Network  # noqa: E402
from anyprop.nn.sequence import sequence_gradients  # noqa: E402


def _net(jordan: bool) -> Network:
    net = Network(seed=3, dtype="float64")
    net.add_input("x", 2)
    net.add_group("h", 5, transfer="tanh")
    net.add_group("y", 2, transfer="sigmoid", loss="mse")
    net.connect("x", "h")
    net.connect("h", "h", delay=1)
    net.connect("h", "y")
    if jordan:
        net.connect("y", "h", delay=2)
    return net


@pytest.mark.parametrize("jordan", [False, True], ids=["elman", "elman and jordan, delay 2"])
def test_gradients_equal_pytorch_autograd(jordan):
    net = _net(jordan)
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(4, 6, 2)), rng.uniform(size=(4, 6, 2))
    mask = np.ones((4, 6))
    mask[2, 3:] = 0
    loss, grads = sequence_gradients(net, x, t, mask)

    p = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    xs, ts, ms = (torch.tensor(a) for a in (x, t, mask))
    hs, ys = [], []
    total = torch.zeros((), dtype=torch.float64)
    for step in range(6):
        net_h = xs[:, step] @ p["x->h.weight"] + p["h.bias"]
        if step >= 1:
            net_h = net_h + hs[step - 1] @ p["h->h.weight"]
        if jordan and step >= 2:
            net_h = net_h + ys[step - 2] @ p["y->h.weight"]
        hs.append(torch.tanh(net_h))
        ys.append(torch.sigmoid(hs[-1] @ p["h->y.weight"] + p["y.bias"]))
        per = 0.5 * ((ys[-1] - ts[:, step]) ** 2).sum(dim=1)
        total = total + (per * ms[:, step]).sum()
    total = total / ms.sum()
    total.backward()
    assert loss == pytest.approx(total.item(), rel=1e-12)
    for k, v in p.items():
        np.testing.assert_allclose(grads[k], v.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_cells_equal_torch_nn_lstm_and_gru_with_copied_weights(cell):
    """Outputs at every step and every weight's gradient (after copying back to PyTorch's
    layout) equal torch.nn.LSTM / torch.nn.GRU's, through the fast plan."""
    from anyprop.nn.cells import gru_from_torch, lstm_from_torch

    torch.manual_seed(0)
    module = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(3, 4, batch_first=True).double()
    net = Network(seed=0, dtype="float64")
    net.add_input("x", 3)
    (net.add_lstm if cell == "lstm" else net.add_gru)("h", 4, ["x"])
    net.add_output("y", 4, transfer="identity", loss="mse", bias=False)
    net.connect("h", "y", weights=np.eye(4), trainable=False)
    (lstm_from_torch if cell == "lstm" else gru_from_torch)(net, "h", "x", module)

    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(2, 7, 3)), rng.normal(size=(2, 7, 4))
    bp = net.sequence_plan().backprop(x, t)
    xt = torch.tensor(x)
    out, _ = module(xt)
    np.testing.assert_allclose(bp.outputs["h"], out.detach().numpy(), rtol=1e-12, atol=1e-14)
    # the plan's L is the mean over sample-steps of Σ_units ½(o − t)²
    loss = 0.5 * ((out - torch.tensor(t)) ** 2).sum() / 14
    loss.backward()
    assert bp.loss == pytest.approx(loss.item(), rel=1e-12)
    gates = ("i", "f", "g", "o") if cell == "lstm" else ("r", "z", "n")
    wi = np.split(module.weight_ih_l0.grad.numpy(), len(gates))
    wh = np.split(module.weight_hh_l0.grad.numpy(), len(gates))
    bh = np.split(module.bias_hh_l0.grad.numpy(), len(gates))
    for k, g in enumerate(gates):
        np.testing.assert_allclose(bp.grads[f"x->h_{g}.weight"], wi[k].T, rtol=1e-9, atol=1e-12)
        hidden = f"h->h_{g}.weight" if (cell == "lstm" or g != "n") else "h->h_hn.weight"
        np.testing.assert_allclose(bp.grads[hidden], wh[k].T, rtol=1e-9, atol=1e-12)
        bias = f"h_{g}.bias" if (cell == "lstm" or g != "n") else "h_hn.bias"
        np.testing.assert_allclose(bp.grads[bias], bh[k], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_example_specs_equal_torch_with_copied_weights(cell):
    """examples/specs/{lstm,gru}.toml, weights copied from torch.nn.LSTM/GRU and the
    output layer from a torch Linear: outputs and every gradient equal, in float64."""
    from pathlib import Path

    from anyprop.nn import spec as spec_io
    from anyprop.nn.cells import gru_from_torch, lstm_from_torch

    path = Path(__file__).resolve().parents[2] / "examples" / "specs" / f"{cell}.toml"
    net = spec_io.load(path).astype("float64")
    torch.manual_seed(1)
    module = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(2, 32, batch_first=True).double()
    head = torch.nn.Linear(32, 1).double()
    (lstm_from_torch if cell == "lstm" else gru_from_torch)(net, "h", "x", module)
    net.set_params(
        {"h->y.weight": head.weight.detach().numpy().T, "y.bias": head.bias.detach().numpy()}
    )
    rng = np.random.default_rng(2)
    x, t = rng.normal(size=(3, 9, 2)), rng.normal(size=(3, 9, 1))
    bp = net.sequence_plan().backprop(x, t)
    out, _ = module(torch.tensor(x))
    y = head(out)
    np.testing.assert_allclose(bp.outputs["y"], y.detach().numpy(), rtol=1e-11, atol=1e-13)
    loss = 0.5 * ((y - torch.tensor(t)) ** 2).sum() / 27
    loss.backward()
    assert bp.loss == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(bp.grads["h->y.weight"], head.weight.grad.numpy().T, rtol=1e-9)
    wi = module.weight_ih_l0.grad.numpy()
    first = "h_i" if cell == "lstm" else "h_r"
    np.testing.assert_allclose(bp.grads[f"x->{first}.weight"], wi[:32].T, rtol=1e-9, atol=1e-13)
