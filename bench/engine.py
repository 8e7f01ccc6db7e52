"""Engine overhead: an op, and one backward step, on small arrays, against NumPy.

Forward: the op called through anyprop with the tape recording (an input that
requires a gradient) against the same NumPy call made directly. Backward: a
chain of K such ops backpropagated, per op, against the same VJP expressions
written in NumPy. Arrays are 8x8 float32, where call overhead dominates.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from anyprop import Tensor, no_grad, ops
from bench.timing import measure

K = 200  # ops in a chain, for the backward measurement


def _cases(a: np.ndarray, b: np.ndarray):
    """name -> (numpy forward, anyprop forward, numpy vjp given g and saved values)."""
    ya = np.tanh(a)
    sa = special.expit(a)
    return {
        "add": (lambda: np.add(a, b), lambda x, y: ops.add(x, y), lambda g: (g, g)),
        "mul": (lambda: np.multiply(a, b), lambda x, y: ops.mul(x, y), lambda g: (g * b, g * a)),
        "tanh": (lambda: np.tanh(a), lambda x, y: ops.tanh(x), lambda g: g * (1 - ya * ya)),
        "sigmoid": (
            lambda: special.expit(a),
            lambda x, y: ops.sigmoid(x),
            lambda g: g * sa * (1 - sa),
        ),
        "exp": (lambda: np.exp(a), lambda x, y: ops.exp(x), lambda g: g * ya),  # y = exp(a)
        "matmul": (
            lambda: np.matmul(a, b),
            lambda x, y: ops.matmul(x, y),
            lambda g: (g @ b.T, a.T @ g),
        ),
        "sum": (
            lambda: np.sum(a, axis=1, keepdims=True),
            lambda x, y: ops.sum(x, 1, True),
            lambda g: np.broadcast_to(g[:, :1], (8, 1)),
        ),
    }


def run(quick: bool = False) -> list[dict]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 8)).astype(np.float32) * 0.1
    b = rng.standard_normal((8, 8)).astype(np.float32) * 0.1
    ta = Tensor(a, requires_grad=True)
    tb = Tensor(b, requires_grad=True)
    repeat = 3 if quick else 7
    rows = []
    g = np.ones((8, 8), dtype=np.float32)
    for name, (np_fwd, ap_fwd, np_vjp) in _cases(a, b).items():
        ref = measure(np_fwd, repeat=repeat)
        rec = measure(lambda f=ap_fwd: f(ta, tb), repeat=repeat)

        with no_grad():
            ng = measure(lambda f=ap_fwd: f(ta, tb), repeat=repeat)

        x0 = a[:, :1] if name == "sum" else a  # sum(axis=1, keepdims) keeps (8, 1)
        gk = g[:, :1] if name == "sum" else g

        def chain(f=ap_fwd, x0=x0):
            x = Tensor(x0, requires_grad=True)
            y = x
            for _ in range(K):
                y = f(y, tb)
            return x, y

        def backward_only(f=ap_fwd, gk=gk):
            _, y = chain(f)
            y.backward(gk)

        with np.errstate(all="ignore"):  # a chain of 200 exps overflows; the timing holds
            both = measure(backward_only, repeat=repeat, number=5)
            build = measure(chain, repeat=repeat, number=5)
        bwd = max(both.best - build.best, 1e-12) / K
        ref_bwd = measure(lambda v=np_vjp: v(g), repeat=repeat)
        rows.append(
            {
                "op": name,
                "numpy_us": ref.best * 1e6,
                "anyprop_us": rec.best * 1e6,
                "ratio": rec.best / ref.best,
                "no_grad_ratio": ng.best / ref.best,
                "numpy_vjp_us": ref_bwd.best * 1e6,
                "backward_us": bwd * 1e6,
                "backward_ratio": bwd / ref_bwd.best,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| op | NumPy call µs | anyprop op µs | ratio | ratio (no_grad) "
        "| NumPy VJP µs | anyprop backward step µs | ratio |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r['op']} | {r['numpy_us']:.2f} | {r['anyprop_us']:.2f} | {r['ratio']:.2f}× "
        f"| {r['no_grad_ratio']:.2f}× | {r['numpy_vjp_us']:.2f} | {r['backward_us']:.2f} "
        f"| {r['backward_ratio']:.2f}× |\n"
        for r in rows
    )
    return head + body
