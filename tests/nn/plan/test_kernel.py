"""The compiled step against the NumPy plan: the same loss, gradients, deltas and
outputs on a representative set of dense networks (1e-12 relative in float64, a few
float32 ulp), and each network the kernel cannot run named with its reason."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from anyprop.errors import AnypropError
from anyprop.nn.plan import kernel
from anyprop.nn.plan.results import Options
from anyprop.nn.transfer import TRANSFERS
from tests.nn.plan.nets import NETS, _data, _net, chain

pytest.importorskip("numba")


@pytest.mark.parametrize("build", NETS, ids=lambda b: b.__name__)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_the_compiled_pass_is_the_numpy_pass(build, dtype, reduction):
    a = _net(dtype, build)
    b = copy.deepcopy(a)
    x, t = _data(a, 9, 1)
    options = Options(reduction=reduction)
    pa, pb = a.plan(), b.plan()
    pb.kernel = kernel.Kernel(pb)
    want = pa.backprop(x, t, None, False, False, options)
    got = pb.backprop(x, t, None, False, False, options)
    assert pb.kernel is not None and got.grads is pb.grads  # it ran compiled
    rtol, atol = (1e-12, 1e-13) if dtype == "float64" else (2e-5, 2e-6)
    assert got.loss == pytest.approx(want.loss, rel=rtol)
    for name, value in want.losses.items():
        assert got.losses[name] == pytest.approx(value, rel=rtol)
    for name in a.params:
        if name in want.grads:
            np.testing.assert_allclose(got.grads[name], want.grads[name], rtol, atol, err_msg=name)
    for name in want.deltas:
        np.testing.assert_allclose(got.deltas[name], want.deltas[name], rtol, atol, err_msg=name)
        np.testing.assert_allclose(got.outputs[name], want.outputs[name], rtol, atol)
        np.testing.assert_allclose(got.nets[name], want.nets[name], rtol, atol)


def test_every_transfer_function_with_a_scalar_form_has_its_numpy_derivative():
    for name, cls in kernel.ks.kinds(TRANSFERS.items()):
        params = {p: 0.7 + 0.4 * k for k, p in enumerate(sorted(cls.defaults))}

        def build(net, name=name, params=params):
            net.add_input("x", 3)
            net.add_group("h", 4, transfer={"name": name, **params})
            net.add_output("y", 2, transfer="identity", loss="mse")
            net.connect("x", "h")
            net.connect("h", "y")

        a = _net("float64", build)
        b = copy.deepcopy(a)
        x, t = _data(a, 6, 2)
        b.plan().kernel = kernel.Kernel(b.plan())
        want = a.plan().backprop(x, t, None, False, False)
        got = b.plan().backprop(x, t, None, False, False)
        for k in want.grads:
            np.testing.assert_allclose(got.grads[k], want.grads[k], 1e-11, 1e-13, err_msg=name)


def test_what_the_kernel_does_not_take_goes_to_numpy():
    net = _net("float64", chain)
    plan = net.plan()
    plan.kernel = kernel.Kernel(plan)
    x, t = _data(net, 4, 3)
    assert plan.backprop(x, t, None, False, False).deltas is plan.kernel.deltas  # compiled
    plain = {"sample_weight": None, "input_grads": False, "check": False, "options": Options()}
    for args in [  # sample weights, input gradients, a NaN scan, Fahlman's offsets
        {"sample_weight": np.ones(4)},
        {"input_grads": True},
        {"check": True},
        {"options": Options(prime_offset=0.1)},
    ]:
        kw = plain | args
        bp = plan.backprop(x, t, kw["sample_weight"], kw["input_grads"], kw["check"],
                           kw["options"])  # fmt: skip
        assert bp.deltas is not plan.kernel.deltas
    assert not plan.kernel.takes(x.astype(np.float32), Options())  # another dtype
    assert not plan.kernel.takes(np.asfortranarray(x), Options())


@pytest.mark.parametrize(
    "build, reason",
    [
        (lambda n: (n.add_input("x", 2), n.add_output("y", 2, transfer="softmax", loss="mse"),
                    n.connect("x", "y")), "the transfer function 'softmax'"),
        (lambda n: (n.add_input("x", 2), n.add_output("y", 1, transfer="identity",
                    loss="huber"), n.connect("x", "y")), "the loss 'huber'"),
        (lambda n: (n.add_input("x", 2), n.add_input("z", 2), n.add_output("y", 1, loss="mse"),
                    n.connect("x", "y"), n.connect("z", "y")), "more than one input group"),
        (lambda n: (n.add_input("x", 4), n.add_output("y", 4, loss="mse"),
                    n.connect("x", "y", "one_to_one")), "a connection that is not dense"),
        (lambda n: (n.add_input("x", 2), n.add_output("y", 1, loss="mse"),
                    n.connect("x", "y", trainable=False)), "fixed weights from 'x'"),
    ],
)  # fmt: skip
def test_a_network_without_a_compiled_step_is_named_with_its_reason(build, reason):
    net = _net("float64", build)
    assert reason in kernel.unsupported(net.plan())
    with pytest.raises(AnypropError, match="no compiled step: .*" + reason):
        kernel.Kernel(net.plan())
