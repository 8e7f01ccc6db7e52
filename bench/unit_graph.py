"""Unit graphs: sparse connections against masked dense matrices and a scalar loop.

A random DAG of 2,000 tanh units (inputs: units without incoming edges; outputs:
units without outgoing edges), MSE, batch 64, float32. One training step
(forward + backward) of anyprop's compiled graph, on the path its trainer chooses
with its default ``compile="auto"`` (the pairs' gradients compiled where that pays),
against (a) the same network written by hand in NumPy as dense weight matrices
masked to the same connections, level by level, and (b) a per-unit scalar loop in
pure Python, run on 2 samples and extrapolated to 64. The density sweep doubles the edge count;
compile time is for 10^5 and 10^6 random edges.
"""

from __future__ import annotations

import time

import numpy as np

from anyprop.nn import Network
from anyprop.nn.unitgraph import from_units
from bench.timing import measure

UNITS = 2000
BATCH = 64


def random_dag(n: int, edges: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``edges`` distinct pairs (i, j), i < j, drawn uniformly among n units."""
    rng = np.random.default_rng(seed)
    keys = np.zeros(0, dtype=np.int64)
    while keys.size < edges:
        a, b = rng.integers(0, n, 2 * edges), rng.integers(0, n, 2 * edges)
        ok = a < b
        keys = np.unique(np.concatenate([keys, a[ok] * n + b[ok]]))
    keys = rng.permutation(keys)[:edges]
    return np.divmod(keys, n)


class MaskedDense:
    """The hand-written reference: the graph's levels as dense matrices with a 0/1 mask."""

    def __init__(self, g: Network, dtype=np.float32) -> None:
        net = g
        plan = net.plan()
        self.order = [name for name in plan.order if not net.groups[name].is_input]
        self.off = plan.offsets
        self.size = {k: v.size for k, v in net.groups.items()}
        self.units = plan.units
        self.w, self.mask, self.b = {}, {}, {}
        for name in self.order:
            lo = self.off[name]
            w = np.zeros((lo, self.size[name]), dtype)
            for c in net.incoming(name):
                w[self.off[c.src] + c.cols, c.rows] = net.params[c.param]
            self.w[name] = w
            self.mask[name] = (w != 0).astype(dtype)
            self.b[name] = net.params[f"{name}.bias"].astype(dtype)
        self.outputs = [n for n in self.order if net.groups[n].output]
        self.o = None

    def step(self, x: np.ndarray, t: dict[str, np.ndarray], lr: float = 0.0) -> float:
        n = x.shape[0]
        if self.o is None or self.o.shape[0] != n:
            self.o = np.zeros((n, self.units), x.dtype)
            self.g = np.zeros((n, self.units), x.dtype)
        o, go = self.o, self.g
        o[:, : x.shape[1]] = x
        for name in self.order:
            lo, k = self.off[name], self.size[name]
            o[:, lo : lo + k] = np.tanh(o[:, :lo] @ self.w[name] + self.b[name])
        go.fill(0)
        loss = 0.0
        for name in self.outputs:
            lo, k = self.off[name], self.size[name]
            d = o[:, lo : lo + k] - t[name]
            loss += 0.5 * float((d * d).sum()) / n
            go[:, lo : lo + k] += d / n
        for name in reversed(self.order):
            lo, k = self.off[name], self.size[name]
            out = o[:, lo : lo + k]
            delta = go[:, lo : lo + k] * (1 - out * out)
            gw = (o[:, :lo].T @ delta) * self.mask[name]
            go[:, :lo] += delta @ self.w[name].T
            self.w[name] -= lr * gw
            self.b[name] -= lr * delta.sum(axis=0)
        return loss


def scalar_step(
    edges_in: dict, order: list, w: dict, b: dict, inputs: list, outputs: list, x: list, t: list
) -> None:
    """The per-unit scalar reference: one sample, forward and backward, pure Python."""
    import math

    out = dict(zip(inputs, x, strict=True))
    for u in order:
        net = b[u]
        for s in edges_in[u]:
            net += w[(s, u)] * out[s]
        out[u] = math.tanh(net)
    grad = dict.fromkeys(out, 0.0)
    for u, tu in zip(outputs, t, strict=True):
        grad[u] += out[u] - tu
    for u in reversed(order):
        delta = grad[u] * (1 - out[u] * out[u])
        for s in edges_in[u]:
            _ = delta * out[s]  # the weight's gradient
            grad[s] += w[(s, u)] * delta


def _graph(edges: int, seed: int = 0) -> Network:
    src, tgt = random_dag(UNITS, edges, seed)
    return from_units((src, tgt), transfer="tanh", seed=seed)


def run(quick: bool = False) -> list[dict]:
    rows = []
    repeat = 3 if quick else 5
    rng = np.random.default_rng(1)
    for edges in [25_000, 50_000, 100_000] if quick else [12_500, 25_000, 50_000, 100_000, 200_000]:
        g = _graph(edges)
        x = rng.normal(size=(BATCH, len(g.units.inputs))).astype(np.float32)
        y = rng.normal(size=(BATCH, len(g.units.outputs))).astype(np.float32)
        targets = g.units.split_targets(y)
        path = _choose_path(g, x, y)
        ours = measure(
            lambda g=g, x=x, targets=targets: g.backprop(x, targets),
            repeat=repeat,
            number=3,
        )
        ref = MaskedDense(g)
        dense = measure(
            lambda ref=ref, x=x, targets=targets: ref.step(x, targets), repeat=repeat, number=3
        )
        row = {
            "edges": edges,
            "density": edges / (UNITS * (UNITS - 1) / 2),
            "levels": len(g.groups) - 1,
            "anyprop_ms": ours.best * 1e3,
            "path": path,
            "masked_dense_ms": dense.best * 1e3,
            "ratio": ours.best / dense.best,
        }
        if edges == 50_000:
            row["scalar_ms"] = _scalar_ms(g, x, y)
            row["vs_scalar"] = row["scalar_ms"] / row["anyprop_ms"]
        rows.append(row)
    for edges in [100_000] + ([] if quick else [1_000_000]):
        src, tgt = random_dag(max(UNITS, edges // 20), edges, seed=2)
        t0 = time.perf_counter()
        from_units((src, tgt), transfer="tanh", seed=0)
        rows.append({"compile_edges": edges, "compile_s": time.perf_counter() - t0})
    return rows


def _choose_path(g: Network, x: np.ndarray, y: np.ndarray, most: float = 8.0) -> str:
    """Step a trainer (its default ``compile="auto"``) until it has chosen how the graph's
    passes run, as training would (the pairs' gradients compiled or in NumPy); the
    network's passes then run that way."""
    from anyprop.train import Trainer

    trainer = Trainer(g, "sgd", lr=0.0)
    t0 = time.perf_counter()
    trainer.step(x, y, None, 0)
    while trainer.engine.use is None and time.perf_counter() - t0 < most:
        trainer.step(x, y, None, 0)
    return "compiled pairs" if trainer.engine.use else "NumPy"


def _scalar_ms(g: Network, x: np.ndarray, y: np.ndarray) -> float:
    net = g
    w, b, edges_in = {}, {}, {}
    label = {}
    for name, grp in net.groups.items():
        for p in range(grp.size):
            label[(name, p)] = (name, p)
    for c in net.connections.values():
        for s, t, v in zip(c.cols, c.rows, net.params[c.param], strict=True):
            w[((c.src, int(s)), (c.tgt, int(t)))] = float(v)
            edges_in.setdefault((c.tgt, int(t)), []).append((c.src, int(s)))
    order = []
    for name in net.plan().order:
        grp = net.groups[name]
        if grp.is_input:
            continue
        for p in range(grp.size):
            u = (name, p)
            order.append(u)
            b[u] = float(net.params[f"{name}.bias"][p])
            edges_in.setdefault(u, [])
    inputs = [("in", p) for p in range(net.groups["in"].size)]
    outputs = []
    for name, ranks in g.units.output_groups:
        for p, r in enumerate(ranks):
            outputs.append((int(r), (name, p)))
    outputs = [u for _, u in sorted(outputs)]
    samples = 2
    t0 = time.perf_counter()
    for i in range(samples):
        scalar_step(edges_in, order, w, b, inputs, outputs, x[i].tolist(), y[i].tolist())
    return (time.perf_counter() - t0) / samples * BATCH * 1e3


def table(rows: list[dict]) -> str:
    out = [
        "| edges | density | levels | anyprop ms/step | path | masked dense ms/step | ratio |",
        "|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        if "edges" in r:
            out.append(
                f"| {r['edges']:,} | {r['density']:.2%} | {r['levels']} | "
                f"{r['anyprop_ms']:.2f} | {r['path']} | {r['masked_dense_ms']:.2f} | "
                f"{r['ratio']:.2f}× |"
            )
    for r in rows:
        if "scalar_ms" in r:
            out.append(
                f"\nScalar per-unit loop, {r['edges']:,} edges, batch {BATCH} (extrapolated "
                f"from 2 samples): {r['scalar_ms']:.0f} ms/step; anyprop is "
                f"{r['vs_scalar']:,.0f}× faster."
            )
    for r in rows:
        if "compile_edges" in r:
            out.append(f"\nCompile {r['compile_edges']:,} edges: {r['compile_s']:.2f} s")
    return "\n".join(out) + "\n"
