"""The speed workloads W1–W5 and W7: anyprop against hand-written NumPy, PyTorch and JAX.

Plain SGD, learning rate 0.01, float32, timings after a warm-up, medians of rounds
that interleave the systems. anyprop runs through its public API: ``Trainer.step``
(one step: forward, backward, update) and ``Trainer.fit`` (an epoch, shuffled
mini-batches, metrics), with its default ``compile="auto"``: each row says the path
the trainer chose (compiled or NumPy), after stepping until the choice is made.
The reference is the explicit delta rule in NumPy with preallocated buffers
(bench/reference.py); PyTorch is its CPU eager mode and JAX one jitted step per
call (bench/jax_ref.py), when installed.

- W1 tiny: XOR 2-2-1 sigmoid, MSE, full batch of 4 (µs per step)
- W2 small: digits 64-32-10 tanh, softmax cross-entropy, batch 32 (s per epoch)
- W3 medium: 60,000 × 784 random inputs, 784-300-10 relu, batch 128 (s per epoch)
- W4 large: 784-1024-1024-10 relu, batch 512, one epoch (s per epoch, GFLOP/s)
- W5 deep and narrow: 64, 20 tanh layers of 64, 10 outputs, batch 64 (µs per step)
- W7 scaling: time per step as depth, width, batch and connections double
"""

from __future__ import annotations

import time

import numpy as np

from anyprop import Network, datasets
from anyprop.train import Dataset, Trainer
from bench import jax_ref, torch_ref
from bench.reference import from_network
from bench.timing import compare, measure

LR = 0.01


def _classes(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, k, n)
    return y, np.eye(k, dtype=np.float32)[y]


def _layered(sizes: list[int], hidden: str, output: str) -> Network:
    loss = "cross_entropy" if output == "softmax" else "mse"
    return Network.layered(sizes, transfer=hidden, output_transfer=output, loss=loss, seed=0)


def step_row(
    name: str,
    sizes: list[int],
    hidden: str,
    output: str,
    x: np.ndarray,
    t_onehot: np.ndarray,
    repeat: int,
) -> dict:
    """One training step on one batch, in µs: anyprop, the reference, PyTorch."""
    net = _layered(sizes, hidden, output)
    ref = from_network(net, hidden, output, LR)
    trainer = Trainer(net, "sgd", lr=LR, seed=0)
    _settle(trainer, lambda: trainer.step(x, t_onehot, None, 0))
    c = compare(
        lambda: trainer.step(x, t_onehot, None, 0), lambda: ref.step(x, t_onehot), rounds=3 * repeat
    )
    row = {
        "workload": name,
        "unit": "µs/step",
        "anyprop": c.a.median * 1e6,
        "numpy": c.b.median * 1e6,
        "ratio": c.ratio,
        "path": _path(trainer),
    }
    torch_step = torch_ref.step(net, hidden, output, x, t_onehot, LR)
    if torch_step is not None:
        c = compare(torch_step, lambda: trainer.step(x, t_onehot, None, 0), rounds=2 * repeat)
        row["torch"] = c.a.median * 1e6
        row["torch_ratio"] = c.ratio
    jax_step = jax_ref.step(net, hidden, output, x, t_onehot, LR)
    if jax_step is not None:
        c = compare(jax_step, lambda: trainer.step(x, t_onehot, None, 0), rounds=2 * repeat)
        row["jax"] = c.a.median * 1e6
        row["jax_ratio"] = c.ratio
    return row


def _settle(trainer: Trainer, step, most: float = 5.0) -> None:
    """Step until the trainer has chosen its path (compiled or NumPy), at most ``most`` s
    (stepped by hand, it switches once the compiled step would have paid for itself)."""
    t0 = time.perf_counter()
    step()
    while trainer.engine.use is None and time.perf_counter() - t0 < most:
        step()


def _path(trainer: Trainer) -> str:
    return "compiled" if trainer.engine.use else "NumPy"


def epoch_row(
    name: str,
    sizes: list[int],
    hidden: str,
    data: Dataset,
    batch: int,
    repeat: int,
    gemm: bool = False,
) -> dict:
    """One epoch of shuffled mini-batches, in s: anyprop's fit, the reference loop, PyTorch."""
    net = _layered(sizes, hidden, "softmax")
    ref = from_network(net, hidden, "softmax", LR)
    trainer = Trainer(net, "sgd", lr=LR, batch_size=batch, seed=0, metrics=["accuracy"])
    x = data.x.astype(np.float32)
    onehot = np.eye(sizes[-1], dtype=np.float32)[data.y]
    rng = np.random.default_rng(0)

    def ref_epoch() -> None:
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s : s + batch]
            ref.step(x[idx], onehot[idx])

    def ours_epoch() -> None:
        trainer.fit(data, trainer.epoch + 1)

    _settle(trainer, ours_epoch)
    c = compare(ours_epoch, ref_epoch, rounds=max(3, 2 * repeat - 1), target=0.0)
    ours = c.a
    row = {
        "workload": name,
        "unit": "s/epoch",
        "anyprop": c.a.median,
        "numpy": c.b.median,
        "ratio": c.ratio,
        "path": _path(trainer),
    }
    if gemm:  # the bound: the same products on freshly gathered shuffled batches

        def gemm_epoch() -> None:
            order = rng.permutation(len(x))
            for s in range(0, len(x), batch):
                idx = order[s : s + batch]
                ref.gemm_only(x[idx], onehot[idx])

        g = compare(ours_epoch, gemm_epoch, rounds=max(3, 2 * repeat - 1), target=0.0)
        row["gemm_bound"] = g.b.median
        row["gemm_fraction"] = 1 / g.ratio  # the median of the rounds' bound / anyprop
        params = sum(v.size for v in net.params.values())
        row["gflops"] = 6 * params * len(x) / ours.median / 1e9
    torch_epoch = torch_ref.epoch(net, hidden, x, data.y, batch, LR)
    if torch_epoch is not None:
        c = compare(torch_epoch, ours_epoch, rounds=max(3, repeat), target=0.0)
        row["torch"] = c.a.median
        row["torch_ratio"] = c.ratio
    jax_epoch = jax_ref.epoch(net, hidden, x, data.y, batch, LR)
    if jax_epoch is not None:
        c = compare(jax_epoch, ours_epoch, rounds=max(3, repeat), target=0.0)
        row["jax"] = c.a.median
        row["jax_ratio"] = c.ratio
    return row


def w1(repeat: int) -> dict:
    d = datasets.load("xor")
    return step_row(
        "W1 XOR 2-2-1 sigmoid, batch 4",
        [2, 2, 1],
        "sigmoid",
        "sigmoid",
        d.x.astype(np.float32),
        d.y.astype(np.float32),
        repeat,
    )


def w2(repeat: int) -> dict:
    d = datasets.load("digits")
    d.x = (d.x / 16).astype(np.float32)
    return epoch_row("W2 digits 64-32-10 tanh, batch 32", [64, 32, 10], "tanh", d, 32, repeat)


def _random_mnist(n: int = 60_000) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return Dataset(x, y, "random 784", task="classification", labels=[str(k) for k in range(10)])


def w3(repeat: int) -> dict:
    return epoch_row(
        "W3 784-300-10 relu, batch 128",
        [784, 300, 10],
        "relu",
        _random_mnist(),
        128,
        repeat,
        gemm=True,
    )


def w4(repeat: int) -> dict:
    return epoch_row(
        "W4 784-1024-1024-10 relu, batch 512",
        [784, 1024, 1024, 10],
        "relu",
        _random_mnist(),
        512,
        max(1, repeat // 2),
        gemm=True,
    )


def w5(repeat: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 64)).astype(np.float32)
    _, t = _classes(rng, 64, 10)
    return step_row(
        "W5 64-(20×64 tanh)-10, batch 64", [64] + [64] * 20 + [10], "tanh", "softmax", x, t, repeat
    )


def w7(repeat: int) -> list[dict]:
    """Slopes of log(time per step) against log(size), beside the arithmetic's slope."""
    rng = np.random.default_rng(0)
    rows = []

    def timed(net: Network, x: np.ndarray, t: np.ndarray) -> float:
        trainer = Trainer(net, "sgd", lr=LR, seed=0)
        return measure(lambda: trainer.step(x, t, None, 0), repeat=repeat).best

    def slope(sizes: list[float], times: list[float]) -> float:
        return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])

    x = rng.standard_normal((128, 256)).astype(np.float32)
    _, t = _classes(rng, 128, 10)
    depths = [2, 4, 8, 16]
    times = [timed(_layered([256] + [256] * d + [10], "tanh", "softmax"), x, t) for d in depths]
    flops = [256 * 256 * d + 2560 for d in depths]
    rows.append(
        {
            "vary": "depth (layers of 256)",
            "sizes": depths,
            "ms": [v * 1e3 for v in times],
            "slope": slope(depths, times),
            "expected": slope(depths, flops),
        }
    )
    widths = [128, 256, 512, 1024]
    times = [timed(_layered([256, w, w, 10], "tanh", "softmax"), x, t) for w in widths]
    flops = [256 * w + w * w + 10 * w for w in widths]
    rows.append(
        {
            "vary": "width (256-w-w-10)",
            "sizes": widths,
            "ms": [v * 1e3 for v in times],
            "slope": slope(widths, times),
            "expected": slope(widths, flops),
        }
    )
    batches = [64, 128, 256, 512]
    net = _layered([256, 512, 512, 10], "tanh", "softmax")
    trainer = Trainer(net, "sgd", lr=LR, seed=0)
    times = []
    for b in batches:
        xb = rng.standard_normal((b, 256)).astype(np.float32)
        _, tb = _classes(rng, b, 10)
        times.append(
            measure(lambda xb=xb, tb=tb: trainer.step(xb, tb, None, 0), repeat=repeat).best
        )
    rows.append(
        {
            "vary": "batch (256-512-512-10)",
            "sizes": batches,
            "ms": [v * 1e3 for v in times],
            "slope": slope(batches, times),
            "expected": 1.0,
        }
    )
    conns = [25_000, 50_000, 100_000, 200_000]
    times = []
    xs = rng.standard_normal((64, 2000)).astype(np.float32)
    ts = rng.standard_normal((64, 2000)).astype(np.float32)
    for c in conns:
        net = Network(seed=0)
        net.add_input("x", 2000)
        net.add_output("y", 2000, transfer="tanh", loss="mse")
        net.connect("x", "y", "sparse", density=c / 2000**2)
        times.append(timed(net, xs, ts))
    rows.append(
        {
            "vary": "connections (sparse 2000→2000)",
            "sizes": conns,
            "ms": [v * 1e3 for v in times],
            "slope": slope(conns, times),
            "expected": 1.0,
        }
    )
    return rows


def memory_w4() -> dict:
    """Peak memory of a W4 epoch beyond what the process held before it (the data, the
    runtime), sampled while it runs, against weights + activations + gradients."""
    import subprocess
    import sys

    code = """
import threading, time, sys
import numpy as np
sys.path.insert(0, '.')
from bench.workloads import _random_mnist, _layered
from anyprop.train import Trainer
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096
data = _random_mnist()
import anyprop.train.trainer  # noqa: the code, before the baseline
before = rss()  # the data and the runtime
peak = [before]
done = threading.Event()
def watch():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
t = threading.Thread(target=watch)
t.start()
net = _layered([784, 1024, 1024, 10], "relu", "softmax")
tr = Trainer(net, "sgd", lr=0.01, batch_size=512, seed=0)
tr.fit(data, 1)
done.set()
t.join()
print(before, peak[0])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, peak = (int(v) for v in out.stdout.split())
    params = 784 * 1024 + 1024 * 1024 + 1024 * 10 + 1024 + 1024 + 10
    acts = 512 * (1024 + 1024 + 10) * 3  # net inputs, outputs, deltas
    needed = 4 * (2 * params + acts)  # weights, gradients, activations (float32)
    return {
        "needed_mb": needed / 2**20,
        "before_mb": before / 2**20,
        "peak_mb": peak / 2**20,
        "training_mb": (peak - before) / 2**20,
        "ratio": (peak - before) / needed,
    }


def _compiled_code() -> str:
    """Load (or compile, once per machine) the compiled step before the rows, so that
    its cost is said apart from theirs."""
    from anyprop.nn.plan import kernel

    if not kernel.available():
        return "not available (pip install 'anyprop[fast]')"
    lib = kernel.load_library()
    what = "compiled" if lib.compiled else "loaded from the cache"
    return f"{what} in {lib.seconds:.2f} s"


def run(quick: bool = False) -> list[dict]:
    repeat = 3 if quick else 5
    compiled = _compiled_code()
    t0 = time.perf_counter()
    rows = [w1(repeat), w2(repeat), w5(repeat), w3(repeat)]
    if not quick:
        rows.append(w4(repeat))
    scaling = w7(2 if quick else 3)
    memory = None if quick else memory_w4()
    return [
        {
            "rows": rows,
            "scaling": scaling,
            "memory": memory,
            "seconds": time.perf_counter() - t0,
            "torch": torch_ref.version(),
            "jax": jax_ref.version(),
            "compiled": compiled,
        }
    ]


def table(result: list[dict]) -> str:
    r = result[0]
    out = [
        "| workload | unit | anyprop | path | hand-written NumPy | ratio | JAX jit | "
        "JAX / anyprop | PyTorch eager | PyTorch / anyprop | GEMM bound | "
        "anyprop at % of bound | GFLOP/s |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        fmt = "{:.2f}" if row["unit"] == "µs/step" else "{:.3f}"
        torch = fmt.format(row["torch"]) if "torch" in row else "–"
        tr = f"{row['torch_ratio']:.1f}×" if "torch_ratio" in row else "–"
        jax = fmt.format(row["jax"]) if "jax" in row else "–"
        jr = f"{row['jax_ratio']:.2f}×" if "jax_ratio" in row else "–"
        gemm = f"{row['gemm_bound']:.3f}" if "gemm_bound" in row else "–"
        frac = f"{row['gemm_fraction']:.0%}" if "gemm_fraction" in row else "–"
        gf = f"{row['gflops']:.0f}" if "gflops" in row else "–"
        out.append(
            f"| {row['workload']} | {row['unit']} | {fmt.format(row['anyprop'])} | "
            f"{row.get('path', '–')} | {fmt.format(row['numpy'])} | {row['ratio']:.2f}× | "
            f"{jax} | {jr} | {torch} | {tr} | {gemm} | {frac} | {gf} |"
        )
    out += [
        "",
        "Scaling (W7): slope of log(time per step) against log(size), and the "
        "slope the arithmetic predicts:",
        "",
        "| varied | sizes | ms/step | slope | expected |",
        "|---|---|---|---:|---:|",
    ]
    for s in r["scaling"]:
        out.append(
            f"| {s['vary']} | {', '.join(f'{v:,}' for v in s['sizes'])} | "
            f"{', '.join(f'{v:.2f}' for v in s['ms'])} | {s['slope']:.2f} | "
            f"{s['expected']:.2f} |"
        )
    m = r["memory"]
    if m is not None:
        out += [
            "",
            f"W4 memory: weights + gradients + activations = {m['needed_mb']:.1f} MB; "
            f"building the network and training it for an epoch raised the process's "
            f"resident size by at most {m['training_mb']:.1f} MB over the "
            f"{m['before_mb']:.0f} MB it held with the data loaded: "
            f"{m['ratio']:.2f}× what is needed.",
        ]
    out.append(
        f"\nPyTorch: {r['torch'] or 'not installed (pip install torch==2.13.0)'}; "
        f"JAX: {r.get('jax') or 'not installed (pip install jax)'}; "
        f"anyprop's compiled step: {r.get('compiled', 'not measured')}; "
        f"this benchmark took {r['seconds']:.0f} s."
    )
    return "\n".join(out) + "\n"
