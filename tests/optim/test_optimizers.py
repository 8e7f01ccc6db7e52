"""One step of each optimizer against numbers worked out by hand; state round trips."""

from __future__ import annotations

import numpy as np
import pytest

from anyprop.optim import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    FormulaRule,
    IRpropMinus,
    OptimizerError,
    Quickprop,
    RMSprop,
    clip_by_global_norm,
    make,
)
from anyprop.optim.schedules import CosineLR, ExponentialLR, ReduceOnPlateau, StepLR


def params():
    return {"w": np.array([1.0, -2.0])}


G1 = {"w": np.array([0.5, 0.5])}
G2 = {"w": np.array([1.0, -1.0])}


def test_plain_sgd_is_the_textbook_rule_with_lr_001_by_default():
    p = params()
    opt = SGD(p)
    assert opt.lr == 0.01
    opt.step(G1)
    np.testing.assert_allclose(p["w"], [0.995, -2.005])


def test_sgd_classic_momentum():
    p = params()
    opt = SGD(p, lr=0.1, momentum=0.9)
    opt.step(G1)
    np.testing.assert_allclose(p["w"], [0.95, -2.05])
    opt.step(G2)  # Δw = 0.9·(−0.05) − 0.1·g = [−0.145, 0.055]
    np.testing.assert_allclose(p["w"], [0.805, -1.995])


def test_nesterov():
    p = params()
    SGD(p, lr=0.1, momentum=0.9, nesterov=True).step(G1)  # w += 0.9·(−0.05) − 0.1·0.5
    np.testing.assert_allclose(p["w"], [0.905, -2.095])


def test_weight_decay_adds_lambda_w():
    p = params()
    SGD(p, lr=0.1, weight_decay=0.1).step(G1)  # g' = g + 0.1w = [0.6, 0.3]
    np.testing.assert_allclose(p["w"], [0.94, -2.03])


def test_adam_first_step_is_lr_times_sign():
    p = params()
    Adam(p, lr=0.001).step(G1)
    np.testing.assert_allclose(p["w"], [0.999, -2.001], rtol=1e-7)
    p = params()
    AdamW(p, lr=0.001, weight_decay=0.5).step(G1)  # w·(1 − 0.0005), then −0.001·sign(g)
    np.testing.assert_allclose(p["w"], [1 * 0.9995 - 0.001, -2 * 0.9995 - 0.001], rtol=1e-7)


def test_rmsprop_and_adagrad_first_steps():
    p = params()
    RMSprop(p, lr=0.01).step(G1)  # v = 0.1·g², step = 0.01·g/(√0.1·|g|)
    np.testing.assert_allclose(
        p["w"], [1 - 0.01 / np.sqrt(0.1), -2 - 0.01 / np.sqrt(0.1)], rtol=1e-6
    )
    p = params()
    Adagrad(p, lr=0.1).step(G1)
    np.testing.assert_allclose(p["w"], [0.9, -2.1], rtol=1e-8)


def test_irprop_minus_grows_shrinks_and_skips_after_a_sign_change():
    p = {"w": np.array([0.0])}
    opt = IRpropMinus(p)
    opt.step({"w": np.array([1.0])})
    np.testing.assert_allclose(p["w"], [-0.1])
    opt.step({"w": np.array([1.0])})  # same sign: Δ = 0.12
    np.testing.assert_allclose(p["w"], [-0.22])
    opt.step({"w": np.array([-1.0])})  # sign change: Δ = 0.06, no step
    np.testing.assert_allclose(p["w"], [-0.22])
    opt.step({"w": np.array([-1.0])})  # after the skip, no sign information: Δ stays 0.06
    np.testing.assert_allclose(p["w"], [-0.16])


def test_quickprop_secant_and_gradient_terms():
    p = params()
    opt = Quickprop(p, lr=0.5)
    opt.step(G1)  # from a standstill: ε·s = −0.25
    np.testing.assert_allclose(p["w"], [0.75, -2.25])
    opt.step({"w": np.array([0.2, -0.5])})
    # unit 0: s = −0.2 keeps the sign: ε·s = −0.1, secant −0.25·(−0.2)/(−0.5+0.2) = −1/6
    # unit 1: s = 0.5 flips it: secant −0.25·0.5/(−0.5−0.5) = 0.125, no gradient term
    np.testing.assert_allclose(p["w"], [0.75 - 0.1 - 1 / 6, -2.25 + 0.125])


def test_quickprop_caps_growth_at_mu():
    p = {"w": np.array([0.0])}
    opt = Quickprop(p, lr=1.0, mu=1.75)
    opt.step({"w": np.array([-1.0])})  # step +1
    opt.step({"w": np.array([-0.9])})  # s = 0.9 > μ/(1+μ)·1: capped at μ·1, plus ε·s
    np.testing.assert_allclose(p["w"], [1.0 + 1.75 + 0.9])


def test_a_formula_rule_reproduces_momentum_and_rmsprop():
    a, b = params(), params()
    mom = SGD(a, lr=0.1, momentum=0.9)
    rule = FormulaRule(b, "w - lr*g + 0.9*dw", lr=0.1)
    for g in (G1, G2, G1):
        mom.step(g)
        rule.step(g)
    np.testing.assert_allclose(a["w"], b["w"], rtol=1e-12)
    a, b = params(), params()
    rms = RMSprop(a, lr=0.01, rho=0.9, eps=1e-8)
    rule = FormulaRule(
        b, "w - lr*g/(sqrt(v) + 1e-8)", lr=0.01, state={"v": "0.9*v + (1 - 0.9)*g^2"}
    )
    for g in (G1, G2, G1):
        rms.step(g)
        rule.step(g)
    np.testing.assert_allclose(a["w"], b["w"], rtol=1e-12)


def test_formula_rule_errors():
    with pytest.raises(OptimizerError, match="unknown name 'q'"):
        FormulaRule(params(), "w - lr*q")
    with pytest.raises(OptimizerError, match="is a variable of every rule"):
        FormulaRule(params(), "w", state={"g": "g"})
    rule = FormulaRule(params(), "w / (g - g)")
    with (
        pytest.raises(OptimizerError, match="non-finite value for 'w' at step 1"),
        np.errstate(all="ignore"),
    ):
        rule.step(G1)


def new(name, p):
    if name == "formula":
        return FormulaRule(p, "w - lr*sign(g)*sqrt(abs(g)) - 0.01*m", state={"m": "0.9*m + g"})
    return OPTIMIZERS.get(name)(p)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_state_round_trips_exactly(name):
    rng = np.random.default_rng(0)
    grads = [{"w": rng.normal(size=2)} for _ in range(6)]
    a = params()
    opt = new(name, a)
    for g in grads[:3]:
        opt.step(g)
    sd = opt.state_dict()
    b = {"w": a["w"].copy()}
    other = new(name, b)
    other.load_state_dict(sd)
    for g in grads[3:]:
        opt.step(g)
        other.step(g)
    np.testing.assert_array_equal(a["w"], b["w"])
    assert other.state_dict()["steps"] == 6


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_lowers_a_quadratic(name):
    p = {"w": np.array([3.0, -2.0])}
    opt = new(name, p)
    if name in ("sgd",):
        opt.lr = 0.1
    start = float((p["w"] ** 2).sum())
    for _ in range(50):
        opt.step({"w": 2 * p["w"]})
    assert float((p["w"] ** 2).sum()) < start


def test_options_are_checked():
    with pytest.raises(OptimizerError, match="no option 'momentun'; did you mean 'momentum'"):
        SGD(params(), momentun=0.9)
    with pytest.raises(OptimizerError, match="lr must be >= 0"):
        SGD(params(), lr=-1)
    with pytest.raises(OptimizerError, match="nesterov=True needs a momentum"):
        SGD(params(), nesterov=True)
    with pytest.raises(OptimizerError, match="matches no parameter"):
        SGD(params(), lr_scale={"x->*": 2})
    with pytest.raises(OptimizerError, match="no gradient for parameter 'w'"):
        SGD(params()).step({})
    with pytest.raises(OptimizerError, match="state of optimizer 'adam' given to 'sgd'"):
        SGD(params()).load_state_dict(Adam(params()).state_dict())


def test_per_parameter_learning_rates():
    p = {"a.weight": np.array([1.0]), "b.weight": np.array([1.0])}
    SGD(p, lr=0.1, lr_scale={"b.*": 10}).step(
        {"a.weight": np.array([1.0]), "b.weight": np.array([1.0])}
    )
    np.testing.assert_allclose([p["a.weight"][0], p["b.weight"][0]], [0.9, 0.0])


def test_clipping_by_global_norm():
    g = {"a": np.array([3.0]), "b": np.array([4.0])}
    norm = clip_by_global_norm(g, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose([g["a"][0], g["b"][0]], [0.6, 0.8], rtol=1e-9)
    p = params()
    opt = SGD(p, lr=1.0, clip_norm=0.5)
    opt.step({"w": np.array([3.0, 4.0])})
    np.testing.assert_allclose(p["w"], [1 - 0.3, -2 - 0.4], rtol=1e-9)
    assert opt.last_norm == pytest.approx(5.0)


def test_make_by_name_and_table():
    assert isinstance(make("adam", params()), Adam)
    opt = make({"name": "sgd", "lr": 0.5, "momentum": 0.5}, params())
    assert opt.lr == 0.5 and opt.momentum == 0.5


def test_schedules():
    assert [StepLR(1.0, 2, 0.5).lr(e) for e in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert ExponentialLR(1.0, 0.5).lr(3) == 0.125
    c = CosineLR(1.0, epochs=4, min_lr=0.0)
    np.testing.assert_allclose([c.lr(e) for e in (0, 2, 4, 9)], [1.0, 0.5, 0.0, 0.0], atol=1e-12)
    r = ReduceOnPlateau(1.0, factor=0.5, patience=1)
    for v in [3.0, 2.0, 2.0, 2.0, 2.0]:
        r.observe(v)
    assert r.lr(0) == 0.5
    sd = r.state_dict()
    r2 = ReduceOnPlateau(1.0)
    r2.load_state_dict(sd)
    assert r2.lr(0) == 0.5 and r2.patience == 1


def test_large_updates_run_in_chunks_with_the_same_result():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(300, 700)).astype(np.float32)  # larger than one chunk
    g = rng.normal(size=w.shape).astype(np.float32)
    expected = w - np.float32(0.01) * g
    opt = SGD({"w": w}, lr=0.01)
    opt.step({"w": g})
    np.testing.assert_array_equal(w, expected)
    scale = rng.random(w.size).astype(np.float32)
    w2, expected2 = w.copy(), w - scale.reshape(w.shape) * g
    opt.subtract_scaled(w2, g, scale)
    np.testing.assert_array_equal(w2, expected2)


def test_non_contiguous_parameters_are_updated():
    w = np.ones((300, 300)).T  # a transposed view: not C-contiguous, larger than a chunk
    SGD({"w": w}, lr=0.1).step({"w": np.ones((300, 300))})
    assert w[0, 0] == pytest.approx(0.9)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_a_flat_layout_in_another_order_takes_the_one_flat_step(name):
    """A unit graph's plan lays its sparse block out first: the optimizer still runs once
    over the flat vector, with the same numbers as parameter by parameter."""
    from anyprop.nn.flat import FlatParams, Grads
    from anyprop.optim import make

    rng = np.random.default_rng(0)
    shapes = {"a": (3, 2), "b": (4,), "c": (2, 2)}
    options = {"lr": 0.1, "momentum": 0.9} if name == "sgd" else {"lr": 0.1}
    by_name = {k: rng.normal(size=s) for k, s in shapes.items()}
    flat_params = {k: v.copy() for k, v in by_name.items()}
    layout = FlatParams(["c", "a", "b"], flat_params, np.float64)
    layout.rehome(flat_params)
    one, flat = make(name, by_name, **options), make(name, flat_params, **options)
    for _ in range(3):
        g = {k: rng.normal(size=s) for k, s in shapes.items()}
        one.step(g)
        grads = Grads()
        grads.flat = np.concatenate([g[k].ravel() for k in layout.layout])
        grads.weights, grads.layout = layout.weights, layout.layout
        for k in layout.layout:
            grads[k] = layout.view(grads.flat, k)
        flat.step(grads)
    assert flat._flat is not None and flat._flat_order == ("c", "a", "b")
    for k in shapes:
        np.testing.assert_allclose(flat_params[k], by_name[k], rtol=1e-14)
