"""Building networks: the API, the layered shortcut, and every mistake named."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop import AnypropError, ShapeError, UnknownNameError
from anyprop.nn import Network, NetworkError


def small():
    net = Network(seed=0)
    net.add_input("x", 3)
    net.add_group("h", 4, transfer="tanh")
    net.add_output("out", 2, transfer="sigmoid")
    net.connect("x", "h")
    net.connect("h", "out")
    return net


def test_parameters_have_stable_dotted_names_and_shapes():
    net = small()
    assert {k: v.shape for k, v in net.params.items()} == {
        "h.bias": (4,),
        "out.bias": (2,),
        "x->h.weight": (3, 4),
        "h->out.weight": (4, 2),
    }
    assert net.num_params == 4 + 2 + 12 + 8
    assert net.order() == ["x", "h", "out"]
    assert net.forward(np.zeros((5, 3))).shape == (5, 2)


def test_same_seed_same_weights():
    a, b = small(), small()
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_layered_and_shortcuts():
    net = Network.layered([2, 3, 3, 1])
    assert list(net.connections) == ["input->h1", "h1->h2", "h2->output"]
    net = Network.layered([2, 3, 3, 1], shortcuts=True)
    assert sorted(net.connections) == sorted(
        ["input->h1", "input->h2", "h1->h2", "input->output", "h1->output", "h2->output"]
    )
    assert net.groups["output"].loss.name == "mse"


def test_cycles_are_refused_with_their_path():
    net = small()
    net.add_group("back", 2)
    net.connect("out", "back")
    with pytest.raises(NetworkError, match="cycle: back -> h -> out -> back"):
        net.connect("back", "h")
    with pytest.raises(NetworkError, match="to itself"):
        net.connect("h", "h")


def test_unknown_and_duplicate_names():
    net = small()
    with pytest.raises(UnknownNameError, match="unknown group 'hh'; did you mean 'h'"):
        net.connect("hh", "out")
    with pytest.raises(NetworkError, match="already exists"):
        net.add_group("h", 2)
    with pytest.raises(NetworkError, match="already exists; give the second one a name="):
        net.connect("x", "h")
    net.connect("x", "h", name="second")
    with pytest.raises(NetworkError, match="not allowed"):
        net.add_group("a.b", 2)


def test_connection_mistakes_name_the_connection_and_the_shapes():
    net = small()
    with pytest.raises(NetworkError, match="'x' is an input group"):
        net.connect("h", "x")
    with pytest.raises(ShapeError, match="one_to_one needs groups of equal size.*3 units.*4"):
        net.connect("x", "h", "one_to_one", name="c1")
    with pytest.raises(
        ShapeError, match=r"weights of shape \(4, 3\) do not fit: expected \(3, 4\)"
    ):
        net.connect("x", "h", weights=np.zeros((4, 3)), name="c2")
    with pytest.raises(ShapeError, match="pair 1 names target unit 9.*4 units"):
        net.connect("x", "h", "sparse", pairs=[(0, 0), (1, 9)], name="c3")
    with pytest.raises(NetworkError, match=r"the pair \(1, 2\) is listed twice"):
        net.connect("x", "h", "sparse", pairs=[(1, 2), (0, 0), (1, 2)], name="c4")
    with pytest.raises(NetworkError, match="needs pairs= or density="):
        net.connect("x", "h", "sparse", name="c5")
    with pytest.raises(NetworkError, match="unknown kind 'dens'; did you mean 'dense'"):
        net.connect("x", "h", "dens", name="c6")
    with pytest.raises(UnknownNameError, match="unknown connection 'x->hh'; did you mean 'x->h'"):
        net.connect("x", "h", share="x->hh", name="c7")
    with pytest.raises(ShapeError, match="shares 'x->h' .*does not fit"):
        net.connect("h", "out", share="x->h", name="c8")
    with pytest.raises(NetworkError, match="NaN"):
        net.connect("x", "h", weights=np.full((3, 4), np.nan), name="c9")


def test_group_mistakes():
    net = Network()
    with pytest.raises(NetworkError, match="size must be a whole number"):
        net.add_group("h", 0)
    with pytest.raises(UnknownNameError, match="group 'h': unknown transfer function 'tahn'"):
        net.add_group("h", 2, transfer="tahn")
    with pytest.raises(UnknownNameError, match="group 'o': unknown loss 'mes'"):
        net.add_output("o", 2, loss="mes")
    with pytest.raises(NetworkError, match="no input group"):
        net.plan()


def test_sparse_pairs_with_their_own_weights_are_kept_in_pair_order():
    net = Network(dtype="float64")
    net.add_input("x", 3)
    net.add_output("y", 2, transfer="identity")
    c = net.connect("x", "y", "sparse", pairs=[(2, 1), (0, 0), (1, 1)], weights=[5.0, 7.0, 3.0])
    w = net.params["x->y.weight"]
    lookup = {(int(s), int(t)): float(v) for s, t, v in zip(c.cols, c.rows, w, strict=True)}
    assert lookup == {(2, 1): 5.0, (0, 0): 7.0, (1, 1): 3.0}
    y = net.forward(np.array([[1.0, 10.0, 100.0]]))
    np.testing.assert_allclose(y, [[7.0 + net.params["y.bias"][0], 530.0]])


def test_fixed_connections_are_not_trainable_but_carry_deltas():
    net = Network(dtype="float64", seed=0)
    net.add_input("x", 2)
    net.add_group("h", 2, transfer="tanh")
    net.add_output("y", 1, transfer="identity")
    net.connect("x", "h")
    net.connect("h", "y", trainable=False)
    assert "h->y.weight" not in net.trainable()
    bp = net.backprop(np.ones((3, 2)), np.zeros((3, 1)))
    assert "h->y.weight" not in bp.grads
    assert np.abs(bp.grads["x->h.weight"]).sum() > 0


def test_input_and_target_errors():
    net = small()
    with pytest.raises(ShapeError, match=r"inputs must have shape \(samples, 3\), got \(3,\)"):
        net.forward(np.zeros(3))
    with pytest.raises(AnypropError, match="NaN or infinity \\(sample 1, unit 2\\)"):
        net.forward(np.array([[0, 0, 0], [0, 0, np.nan]]))
    with pytest.raises(ShapeError, match=r"\(5, 3\) do not fit an output group of 2"):
        net.backprop(np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(ShapeError, match="sample_weight has 2 values for 5 samples"):
        net.backprop(np.zeros((5, 3)), np.zeros((5, 2)), sample_weight=[1, 2])


def test_set_params_checks_names_and_shapes():
    net = small()
    net.set_params({"h.bias": np.ones(4)})
    assert net.params["h.bias"].tolist() == [1, 1, 1, 1]
    with pytest.raises(UnknownNameError, match="did you mean 'h.bias'"):
        net.set_params({"h.bais": np.ones(4)})
    with pytest.raises(ShapeError):
        net.set_params({"h.bias": np.ones(3)})


def test_summary_names_everything():
    text = small().summary()
    assert "x->h: dense" in text and "out: 2 units, sigmoid, loss mse" in text


def test_forward_results_are_not_overwritten_by_the_next_call():
    net = small()
    a = net.forward(np.zeros((2, 3)))
    before = a.copy()
    net.forward(np.ones((2, 3)))
    np.testing.assert_array_equal(a, before)


def test_swapped_and_merged_parameters_are_rehomed_correctly():
    net = small()
    net.forward(np.zeros((1, 3)))  # the plan makes the parameters views of one flat array
    p = net.params
    p["h.bias"][...] = 1.0
    p["out.bias"][...] = 2.0
    p["h.bias"], p["out.bias"] = p["out.bias"][:2].repeat(2), p["h.bias"][:2].copy()
    net.forward(np.zeros((1, 3)))
    assert p["h.bias"].tolist() == [2, 2, 2, 2] and p["out.bias"].tolist() == [1, 1]
    p |= {"h.bias": np.full(4, 3.0, dtype=np.float32)}
    net.backprop(np.zeros((2, 3)), np.zeros((2, 2)))
    assert p["h.bias"].tolist() == [3, 3, 3, 3]
    assert np.shares_memory(p["h.bias"], net.plan().flat.weights)


def test_astype_copies_everything_into_another_dtype():
    from tests.nn.zoo import ZOO

    for name, make in ZOO.items():
        net, x, t = make()
        low = net.astype("float32")
        assert low.dtype == np.float32 and low.summary() == net.summary(), name
        for k, v in net.params.items():
            np.testing.assert_array_equal(low.params[k], v.astype(np.float32), err_msg=name)
            assert not np.shares_memory(low.params[k], v)
        np.testing.assert_allclose(low.backprop(x, t).loss, net.backprop(x, t).loss, rtol=1e-4)


def test_sparse_weights_and_gradients_follow_the_order_the_pairs_were_given():
    """The weight vector, its gradient and the spec list the pairs as the user gave them."""
    from anyprop.nn import spec as spec_io
    from anyprop.nn.tape import run_on_tape

    pairs = [(2, 1), (0, 0), (1, 1), (2, 0)]  # (source, target), not target-major
    net = Network(dtype="float64", seed=0)
    net.add_input("x", 3)
    net.add_output("y", 2, transfer="tanh")
    c = net.connect("x", "y", "sparse", pairs=pairs, weights=[0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(net.params["x->y.weight"], [0.1, 0.2, 0.3, 0.4])
    assert np.stack([c.cols, c.rows], axis=1).tolist() == [list(p) for p in pairs]
    x = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]])
    t = np.array([[0.5, -0.5], [0.1, 0.2]])
    bp = net.backprop(x, t)
    # pair k's gradient is Σ_n δ[n, target_k] · x[n, source_k]
    want = [float(bp.deltas["y"][:, tg] @ x[:, sr]) for sr, tg in pairs]
    np.testing.assert_allclose(bp.grads["x->y.weight"], want, rtol=1e-12)
    tape = run_on_tape(net, x, t)
    tape.loss.backward()
    np.testing.assert_allclose(tape.params["x->y.weight"].grad, want, rtol=1e-10)
    text = spec_io.dumps(net, weights=True)
    again = spec_io.loads(text)
    assert again.connections["x->y"].structure()["pairs"].tolist() == [list(p) for p in pairs]
    np.testing.assert_array_equal(again.params["x->y.weight"], [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(again.forward(x), net.forward(x))
