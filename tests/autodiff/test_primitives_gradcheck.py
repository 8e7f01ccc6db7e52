"""Every registered primitive, gradient-checked on drawn shapes and values.

The cases are keyed by primitive name and the first test demands one case per
registered primitive, so a new primitive cannot escape the check. Values are
drawn away from the kinks (whose conventions are tested in test_conventions).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from anyprop import PRIMITIVES, gradcheck, ops
from anyprop.autodiff.ops import elementwise as E
from anyprop.autodiff.ops import fused as F
from anyprop.autodiff.ops import linalg as L
from anyprop.autodiff.ops import reduce as R
from anyprop.autodiff.ops import shape as S

SHAPES = [(), (3,), (2, 3)]
PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((2, 3), ())]


def real(lo=-2.0, hi=2.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


def away_from_zero(lo=0.2, hi=2.0):
    return st.one_of(real(lo, hi), real(-hi, -lo))


def grid(lo=-20, hi=20, step=0.1, offset=0.0):
    """Values on a grid: unique draws are then at least ``step`` apart."""
    return st.integers(lo, hi).map(lambda k: k * step + offset)


def arr(d, shape, elements=None, unique=False):
    return d.draw(
        arrays(np.float64, shape, elements=real() if elements is None else elements, unique=unique)
    )


def unary(fn, elements=None):
    def case(d):
        return fn, [arr(d, d.draw(st.sampled_from(SHAPES)), elements)]

    return case


def binary(fn, ex=None, ey=None):
    def case(d):
        sx, sy = d.draw(st.sampled_from(PAIRS + [(b, a) for a, b in PAIRS]))
        return fn, [arr(d, sx, ex), arr(d, sy, ey)]

    return case


def reduction(fn, unique=False):
    def case(d):
        shape = d.draw(st.sampled_from([(4,), (2, 3), (2, 3, 2)]))
        axes = [None, 0, -1] + ([(0, 1)] if len(shape) > 1 else [])
        axis = d.draw(st.sampled_from(axes))
        keepdims = d.draw(st.booleans())
        x = arr(d, shape, grid() if unique else None, unique=unique)
        return (lambda t: fn(t, axis=axis, keepdims=keepdims)), [x]

    return case


def along_axis(fn):
    def case(d):
        shape = d.draw(st.sampled_from([(4,), (2, 3), (2, 3, 2)]))
        axis = d.draw(st.sampled_from([-1, 0]))
        return (lambda t: fn(t, axis=axis)), [arr(d, shape, real(-4, 4))]

    return case


def case_pow(d):
    sx, sp_ = d.draw(st.sampled_from(PAIRS))
    return E.pow_, [arr(d, sx, real(0.2, 3.0)), arr(d, sp_, real(-2.0, 2.0))]


def case_powc(d):
    p = d.draw(st.sampled_from([2, 3, 0.5, -1, 1.5, -2.5]))
    return (lambda t: E.powc(t, p=p)), [arr(d, d.draw(st.sampled_from(SHAPES)), real(0.2, 3))]


def case_where(d):
    sx, sy = d.draw(st.sampled_from(PAIRS))
    shape = np.broadcast_shapes(sx, sy)
    cond = d.draw(arrays(np.bool_, shape))
    return (lambda a, b: E.where_(a, b, cond=cond)), [arr(d, sx), arr(d, sy)]


def case_clip(d):
    lo, hi = d.draw(st.sampled_from([(-0.5, 0.5), (None, 0.5), (-0.5, None), (None, None)]))
    x = arr(d, d.draw(st.sampled_from(SHAPES)), grid(offset=0.05))
    return (lambda t: E.clip(t, lo=lo, hi=hi)), [x]


def case_cast(d):
    # Rounding to float32 defeats a 1e-6 finite difference; that direction is
    # tested in test_engine (the gradient comes back in the input's dtype).
    return (lambda t: E.cast(t, dtype=np.float64) * 2.0), [arr(d, d.draw(st.sampled_from(SHAPES)))]


def case_reshape(d):
    shape = d.draw(st.sampled_from([(3, 2), (6,), (-1,), (1, 6), (2, 1, 3)]))
    return (lambda t: S.reshape(t, shape=shape)), [arr(d, (2, 3))]


def case_transpose(d):
    axes = d.draw(st.sampled_from([None, (0, 2, 1), (2, 0, 1), (1, 0, 2)]))
    return (lambda t: S.transpose(t, axes=axes)), [arr(d, (2, 3, 4))]


def case_broadcast_to(d):
    src, dst = d.draw(
        st.sampled_from([((3,), (2, 3)), ((2, 1), (2, 4)), ((), (3,)), ((1, 3), (2, 2, 3))])
    )
    return (lambda t: S.broadcast_to(t, shape=dst)), [arr(d, src)]


def case_getitem(d):
    index = d.draw(
        st.sampled_from(
            [
                (slice(1, None), slice(None, None, 2)),
                1,
                (Ellipsis, -1),
                np.array([0, 2, 2, 1]),
                (np.array([0, 1, 1]), np.array([3, 0, 0])),
                np.array([True, False, True]),
                (slice(None), np.array([1, 1, 3])),
            ]
        )
    )
    return (lambda t: S.getitem(t, index=index)), [arr(d, (3, 4))]


def case_concatenate(d):
    axis = d.draw(st.sampled_from([0, 1, -1]))
    n = d.draw(st.integers(1, 3))
    shapes = [(2, k + 1) if axis else (k + 1, 2) for k in range(n)]
    return (lambda *ts: S.concatenate(*ts, axis=axis)), [arr(d, s) for s in shapes]


def case_stack(d):
    axis = d.draw(st.sampled_from([0, 1, -1]))
    n = d.draw(st.integers(1, 3))
    return (lambda *ts: S.stack(*ts, axis=axis)), [arr(d, (2, 3)) for _ in range(n)]


def case_matmul(d):
    sa, sb = d.draw(
        st.sampled_from(
            [
                ((2, 3), (3, 4)),
                ((3,), (3, 4)),
                ((2, 3), (3,)),
                ((3,), (3,)),
                ((2, 2, 3), (3, 4)),
                ((2, 3), (2, 3, 4)),
                ((3,), (2, 3, 4)),
                ((2, 2, 3), (3,)),
            ]
        )
    )
    return L.matmul, [arr(d, sa), arr(d, sb)]


def case_spmm(d):
    seed = d.draw(st.integers(0, 1000))
    a = sp.random(4, 3, density=0.5, format="csr", random_state=seed)
    shape = d.draw(st.sampled_from([(3,), (3, 2)]))
    return (lambda t: L.spmm(t, matrix=a)), [arr(d, shape)]


def case_fused_loss(fn, soft_targets):
    def case(d):
        shape = d.draw(st.sampled_from([(4,), (3, 4), (2, 3, 2)]))
        z = arr(d, shape, real(-4, 4))
        t = arr(d, shape, real(0.0, 1.0))
        if soft_targets:
            t = t / np.maximum(t.sum(axis=-1, keepdims=True), 1e-3)
        return fn, [z, t]

    return case


CASES = {
    "add": binary(E.add),
    "sub": binary(E.sub),
    "mul": binary(E.mul),
    "div": binary(E.div, ey=away_from_zero(0.3)),
    "neg": unary(E.neg),
    "pow": case_pow,
    "powc": case_powc,
    "exp": unary(E.exp),
    "log": unary(E.log, real(0.2, 3.0)),
    "log1p": unary(E.log1p, real(-0.7, 3.0)),
    "expm1": unary(E.expm1),
    "sqrt": unary(E.sqrt, real(0.2, 3.0)),
    "abs": unary(E.abs_, away_from_zero(0.1)),
    "tanh": unary(E.tanh),
    "sigmoid": unary(E.sigmoid, real(-6, 6)),
    "softplus": unary(E.softplus, real(-6, 6)),
    "erf": unary(E.erf),
    "sin": unary(E.sin, real(-4, 4)),
    "cos": unary(E.cos, real(-4, 4)),
    "maximum": binary(E.maximum, grid(offset=0.02), grid(offset=0.07)),
    "minimum": binary(E.minimum, grid(offset=0.02), grid(offset=0.07)),
    "where": case_where,
    "clip": case_clip,
    "cast": case_cast,
    "sum": reduction(R.sum_),
    "mean": reduction(R.mean),
    "max": reduction(R.max_, unique=True),
    "min": reduction(R.min_, unique=True),
    "logsumexp": reduction(R.logsumexp),
    "softmax": along_axis(R.softmax),
    "log_softmax": along_axis(R.log_softmax),
    "reshape": case_reshape,
    "transpose": case_transpose,
    "broadcast_to": case_broadcast_to,
    "getitem": case_getitem,
    "concatenate": case_concatenate,
    "stack": case_stack,
    "matmul": case_matmul,
    "spmm": case_spmm,
    "softmax_cross_entropy": case_fused_loss(F.softmax_cross_entropy, True),
    "sigmoid_binary_cross_entropy": case_fused_loss(F.sigmoid_binary_cross_entropy, False),
}


def test_every_registered_primitive_has_a_gradcheck_case():
    missing = set(PRIMITIVES.names()) - set(CASES)
    assert not missing, f"primitives without a gradcheck case: {sorted(missing)}"
    stale = set(CASES) - set(PRIMITIVES.names())
    assert not stale, f"cases for primitives that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_primitive_gradient_matches_finite_differences(name, dtype, data):
    fn, inputs = CASES[name](data)
    report = gradcheck(fn, *inputs, dtype=dtype)
    assert report.passed, f"{name}:\n{report}"


def test_public_ops_reach_every_primitive():
    """The public wrappers pass their static arguments through correctly."""
    x = np.arange(6.0).reshape(2, 3) / 6 + 0.1
    cases = [
        lambda t: ops.sum(t, 1),
        lambda t: ops.mean(t, 0, True),
        lambda t: ops.max(t, -1),
        lambda t: ops.min(t, 0),
        lambda t: ops.logsumexp(t, 1),
        lambda t: ops.softmax(t, 0),
        lambda t: ops.log_softmax(t),
        lambda t: ops.reshape(t, (3, 2)),
        lambda t: ops.transpose(t, (1, 0)),
        lambda t: ops.broadcast_to(t, (4, 2, 3)),
        lambda t: ops.expand(t[:, :1], (-1, 5)),
        lambda t: ops.getitem(t, (1, slice(0, 2))),
        lambda t: ops.concatenate([t, t * 2], axis=1),
        lambda t: ops.stack([t, t], axis=2),
        lambda t: ops.where(t > 0.4, t, -t),
        lambda t: ops.clip(t, 0.15, 0.7),
        lambda t: ops.pow(t, 3) + ops.pow(t, t) + ops.square(t),
        lambda t: ops.relu(t - 0.45),
        lambda t: ops.sparse_matmul(sp.eye(2, format="csr"), t),
        lambda t: t.astype("float64").sum(0),
    ]
    for i, f in enumerate(cases):
        report = gradcheck(f, x)
        assert report.passed, f"case {i}:\n{report}"
