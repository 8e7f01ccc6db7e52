"""The compiled step: a dense network's training pass in one numba call, for small
networks, where NumPy's cost per call and not the arithmetic is the time of a step.

One numba function (:mod:`.kernel_source`) runs any dense network from a table of
its groups and connections, so it compiles once per machine and anyprop version
(cached on disk) and a network costs only its table. :meth:`Kernel.backprop` does
what :meth:`Plan.backprop` does (the same Backprop, its arrays views into one work
vector, the gradients in the plan's flat gradient vector), for a batch without
sample weights and for the losses the kernel knows; anything else goes to NumPy.
numba is optional (``pip install 'anyprop[fast]'``): without it :func:`available`
is False and every step runs in NumPy.

The cache lies in ``$ANYPROP_CACHE_DIR``, else ``$XDG_CACHE_HOME/anyprop``, else
``~/.cache/anyprop``: the module's source as a .py file and numba's compiled code
beside it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from anyprop._version import __version__
from anyprop.errors import AnypropError, ShapeError
from anyprop.nn.plan import kernel_source as ks
from anyprop.nn.plan.results import Backprop, Options


def available() -> bool:
    """Whether numba can be imported (found without importing it)."""
    return importlib.util.find_spec("numba") is not None


def cache_dir() -> Path:
    root = os.environ.get("ANYPROP_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "anyprop" if xdg else Path.home() / ".cache" / "anyprop"


def _numbered() -> list[tuple[str, Any]]:
    from anyprop.nn.transfer import TRANSFERS

    return ks.kinds(TRANSFERS.items())


@dataclass
class Library:
    """The compiled module, loaded once per process (as any imported module is)."""

    module: Any
    kinds: dict[type, int]  # each transfer function's number in the module
    seconds: float  # what compiling or loading it took in this process
    compiled: bool  # whether this process compiled it (no usable cached code was found)


_loaded: list[Library] = []  # (the process's one Library, once loaded)


def loaded() -> bool:
    """Whether this process has the compiled module already."""
    return bool(_loaded)


def library_path() -> Path:
    text = ks.library(_numbered())
    digest = hashlib.sha256((__version__ + text).encode()).hexdigest()[:16]
    return cache_dir() / "kernels" / f"anyprop_step_{digest}.py"


def load_library() -> Library:
    """The compiled module: compiled now (tens of seconds, once per machine and anyprop
    version), loaded from the cache (a fraction of a second), or already loaded."""
    if _loaded:
        return _loaded[0]
    if not available():
        raise AnypropError("a compiled step needs numba: pip install 'anyprop[fast]'")
    t0 = time.perf_counter()
    numbered = _numbered()
    text = ks.library(numbered)
    path = library_path()
    fresh = not (path.exists() and path.read_text() == text)
    if fresh:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)  # whole or not at all, for processes compiling side by side
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    _warm(module)
    seconds = time.perf_counter() - t0
    kinds = {cls: k for k, (_, cls) in enumerate(numbered)}
    _loaded.append(Library(module, kinds, seconds, fresh or seconds > 2.0))
    return _loaded[0]


def _warm(module: Any) -> None:
    """Compile (or load) the step for both float dtypes: a one-unit network."""
    for dtype in (np.float32, np.float64):
        steps = np.array([[1, 0, 1, 2, 3, -1, 1, 1, 0, 0, 0, 1, 0]], np.int64)
        uses = np.array([[-1, 0, 1, 1, 1, 0]], np.int64)
        fp = np.zeros((1, ks.FLOAT_COLUMNS))
        fp[0, ks.LOSS_WEIGHT] = 1.0
        x, t = np.zeros((1, 1), dtype), np.zeros((1, 1), dtype)
        w, g, work = np.zeros(2, dtype), np.zeros(2, dtype), np.zeros(4, dtype)
        module.step(x, t, w, g, work, steps, uses, fp, 1.0)
        index, rows = np.zeros(1, np.intp), np.zeros((1, 1), dtype)
        module.pair_grads(index, index, index, rows, rows, np.zeros(1, dtype))


def unsupported(plan: Any) -> str | None:
    """Why ``plan`` has no compiled step, or None when it has one."""
    if not plan.dense_only:
        return "a connection that is not dense (sparse, shared transposed, gated or delayed)"
    if not plan.flat_complete or not plan.flat.layout:
        return "fixed weights outside the flat parameter vector"
    if len(plan.inputs) != 1:
        return "more than one input group"
    flat = set(plan.flat.layout)
    scalar = {cls for _, cls in _numbered()}
    for step in plan.steps:
        g = plan.groups[step.name]
        if step.bias is not None and step.bias not in flat:
            return f"group '{step.name}': a fixed bias"
        for src, par, *_ in step.dense:
            if par not in flat:
                return f"group '{step.name}': fixed weights from '{src}'"
        if g.loss is not None:
            if g.loss.name not in ks.LOSSES or g.loss.params:
                return f"group '{step.name}': the loss '{g.loss.name}'"
            if g.loss.name != "mse" and not plan.fused(step.name):
                return f"group '{step.name}': the loss '{g.loss.name}' apart from its function"
        if plan.fused(step.name):
            if step.name in plan._receives:
                return f"group '{step.name}': a fused output that feeds other groups"
        elif type(step.transfer) not in scalar:
            return f"group '{step.name}': the transfer function '{step.transfer.name}'"
    return None


#: the time model of :func:`estimate`, in µs (fitted to steps measured on a 2-core
#: x86-64 machine: W1, the digits network, W5): per step, per group, per multiply-add
#: of a product (BLAS; the kernel's loops below SMALL_PRODUCT; its np.dot above), per
#: unit-sample of a transcendental transfer function (NumPy's SIMD against scalar calls)
NUMPY_US = {"step": 6.0, "group": 9.0, "mac": 1 / 25_000, "unit": 0.003}
KERNEL_US = {"step": 3.0, "group": 0.5, "mac": 1 / 1_500, "blas_mac": 1 / 15_000, "exp": 0.012}


def estimate(plan: Any, n: int) -> tuple[float, float]:
    """(NumPy's, the compiled step's) seconds for one step of batches of ``n``, by a
    model of their costs (:data:`NUMPY_US`, :data:`KERNEL_US`): NumPy pays per call,
    the compiled step per scalar. A guide to which is faster, not a measurement."""
    numpy_us, kernel_us = NUMPY_US["step"], KERNEL_US["step"]
    sizes = {g: plan.groups[g].size for g in plan.groups}
    for step in plan.steps:
        units = n * step.size
        numpy_us += NUMPY_US["group"] + NUMPY_US["unit"] * units
        kernel_us += KERNEL_US["group"]
        for src, *_ in step.dense:
            macs = n * sizes[src] * step.size
            numpy_us += 3 * macs * NUMPY_US["mac"]
            per = KERNEL_US["mac"] if macs <= ks.SMALL_PRODUCT else KERNEL_US["blas_mac"]
            kernel_us += 3 * macs * per
        scalar = getattr(step.transfer, "scalar", None)
        if plan.fused(step.name) or any(f in str(scalar) for f in ("exp", "tanh", "log")):
            kernel_us += KERNEL_US["exp"] * units
    return numpy_us * 1e-6, kernel_us * 1e-6


#: the time model of :func:`estimate_pairs`, ns per multiply-add of a sparse block's
#: pairs' gradients: NumPy gathering the pairs' rows, NumPy's small dense product of a
#: group's deltas and every earlier output, the compiled dot products (measured on
#: random DAGs of 2,000 units, batch 64, float32, on a 2-core machine)
PAIRS_NS = {"gather": 0.6, "dense": 0.03, "compiled": 0.2}


def pairs_unsupported(plan: Any) -> str | None:
    """Why ``plan`` has no compiled pairs' gradients (None: it has them)."""
    if plan.block is None:
        return "no sparse block (a unit graph's merged sparse connections)"
    return None


def estimate_pairs(plan: Any, n: int) -> tuple[float, float]:
    """(NumPy's, the compiled kernel's) seconds for a step's pairs' gradients of the
    plan's sparse block, batches of ``n``, by the model of :data:`PAIRS_NS`."""
    block = plan.block
    numpy_ns = compiled_ns = 0.0
    for g, (order, _r, _c, dense) in block.grad_plan.items():
        rows, cols = block.forward_mats[g].shape
        numpy_ns += n * (
            rows * cols * PAIRS_NS["dense"] if dense else order.size * PAIRS_NS["gather"]
        )
        compiled_ns += n * order.size * PAIRS_NS["compiled"]
    return numpy_ns * 1e-9, compiled_ns * 1e-9


class PairKernel:
    """A unit graph's compiled pairs' gradients (``pair_grads``): the rest of its passes
    stay in NumPy and SciPy; one dot product of two rows of samples a pair."""

    def __init__(self, plan: Any) -> None:
        why = pairs_unsupported(plan)
        if why is not None:
            raise AnypropError(f"this network has no compiled pairs' gradients: {why}")
        self.plan = plan
        self.fn = load_library().module.pair_grads

    def attach(self, plan: Any, on: bool = True) -> None:
        """Let the plan's passes use this kernel (or not)."""
        plan.block.pairs = self.fn if on else None


class Kernel:
    """A plan's compiled step (see the module's docstring)."""

    def attach(self, plan: Any, on: bool = True) -> None:
        """Let the plan's passes take this compiled step (or not)."""
        plan.kernel = self if on else None

    def __init__(self, plan: Any) -> None:
        why = unsupported(plan)
        if why is not None:
            raise AnypropError(f"this network has no compiled step: {why}")
        self.plan = plan
        self.lib = load_library()
        self.fn = self.lib.module.step
        self._table()
        self.batch = -1
        self.work = np.empty(0, plan.dtype)
        self._in_units = plan.groups[plan.inputs[0]].size

    def _table(self) -> None:
        """The network as the step function reads it (kernel_source's columns)."""
        plan = self.plan
        spans = plan.flat.spans
        index = {s.name: k for k, s in enumerate(plan.steps)}
        steps = np.zeros((len(plan.steps), ks.STEP_COLUMNS), np.int64)
        fp = np.zeros((len(plan.steps), ks.FLOAT_COLUMNS))
        uses: list[list[int]] = []
        at = tcol = 0
        self.offsets: dict[str, tuple[int, int, int]] = {}
        mse = {s.name for s in plan.steps if getattr(plan.groups[s.name].loss, "name", "") == "mse"}
        q_of = {name: q for q, name in enumerate(plan.loss_groups)}
        self.tcols: list[tuple[str, int]] = []
        for k, step in enumerate(plan.steps):
            name, size = step.name, step.size
            g = plan.groups[name]
            row = steps[k]
            row[ks.SIZE] = size
            row[ks.NET] = at
            if plan.fused(name):
                row[ks.KIND] = ks.FUSED_CE if g.loss.name == "cross_entropy" else ks.FUSED_BCE
                fp[k, ks.STEEPNESS] = float(getattr(step.transfer, "steepness", 1.0))
            elif step.transfer.name == "identity":
                row[ks.KIND] = ks.IDENTITY
            else:
                row[ks.KIND] = self.lib.kinds[type(step.transfer)]
                for i, p in enumerate(sorted(getattr(step.transfer, "defaults", {}))):
                    fp[k, i] = float(getattr(step.transfer, p))
            row[ks.OUT] = at if row[ks.KIND] == ks.IDENTITY else at + size
            at = row[ks.OUT] + size
            row[ks.GRAD], row[ks.DELTA] = at, at + size
            at += 2 * size
            row[ks.BIAS] = spans[step.bias][0] if step.bias is not None else -1
            row[ks.RECEIVES] = int(name in plan._receives or name in mse)
            row[ks.LOSS] = ks.LOSSES[g.loss.name] if g.loss is not None else ks.NO_LOSS
            if g.loss is not None:
                row[ks.TCOL], row[ks.Q] = tcol, q_of[name]
                fp[k, ks.LOSS_WEIGHT] = float(g.loss_weight)
                tcol += size
            row[ks.USE0] = len(uses)
            for j, (src, par, first, trainable, src_input) in enumerate(step.dense):
                back_add = (not src_input) and (src in mse or not plan.back_first[(k, j)])
                uses.append(
                    [
                        -1 if src_input else index[src],
                        spans[par][0],
                        plan.groups[src].size,
                        int(first),
                        int(trainable),
                        int(back_add),
                    ]
                )
            row[ks.USE1] = len(uses)
            self.offsets[name] = (int(row[ks.NET]), int(row[ks.OUT]), int(row[ks.DELTA]))
        self.steps = steps
        self.uses = np.array(uses, np.int64).reshape(-1, ks.USE_COLUMNS)
        self.fp = fp
        self.per_sample = at
        self.loss_groups = list(plan.loss_groups)
        self.target_units = tcol

    def _views(self, n: int) -> None:
        """The work vector for a batch of ``n`` and the Backprop's views into it."""
        plan = self.plan
        self.work = np.zeros(self.per_sample * n, plan.dtype)

        def view(at: int, size: int) -> np.ndarray:
            return self.work[at * n : (at + size) * n].reshape(n, size)

        sizes = {s.name: s.size for s in plan.steps}
        self.nets = {g: view(o[0], sizes[g]) for g, o in self.offsets.items()}
        self.outs = {g: view(o[1], sizes[g]) for g, o in self.offsets.items()}
        self.deltas = {g: view(o[2], sizes[g]) for g, o in self.offsets.items()}
        self.batch = n

    def takes(self, x: Any, options: Options) -> bool:
        """Whether this batch runs compiled: a C-ordered (samples, units) array of the
        network's dtype, and options the kernel computes."""
        return (
            type(x) is np.ndarray
            and x.ndim == 2
            and x.dtype == self.plan.dtype
            and x.shape[0] > 0
            and x.shape[1] == self._in_units
            and x.flags.c_contiguous
            and not options.prime_offset
            and not options.atanh_error
        )

    def _targets(self, targets: Any, n: int) -> np.ndarray:
        plan = self.plan
        by_group = plan.targets(targets)
        ts = []
        for name in self.loss_groups:
            g = plan.groups[name]
            t = g.loss.prepare_target(by_group[name], g.size, plan.dtype)
            if t.shape[0] != n:
                raise ShapeError(f"targets for '{name}' have {t.shape[0]} samples, inputs {n}")
            ts.append(t)
        t = ts[0] if len(ts) == 1 else np.concatenate(ts, axis=1)
        return t if t.flags.c_contiguous else np.ascontiguousarray(t)

    def backprop(self, x: np.ndarray, targets: Any, options: Options) -> Backprop:
        """One forward and backward pass, as :meth:`Plan.backprop` (no sample weights)."""
        plan = self.plan
        n = x.shape[0]
        if plan.batch != n or not plan.grads:
            plan._buffers(n)  # (the flat gradient vector, the parameters as its views)
        elif plan.network.params.version != plan.flat.version:
            plan.flat.rehome(plan.network.params)
        if n != self.batch:
            self._views(n)
        t = self._targets(targets, n)
        per_sample = 1.0 if options.reduction == "sum" else 1.0 / n
        sums = self.fn(
            x,
            t,
            plan.flat.weights,
            plan.grads.flat,
            self.work,
            self.steps,
            self.uses,
            self.fp,
            per_sample,
        )
        losses = {}
        total = 0.0
        for q, name in enumerate(self.loss_groups):
            value = float(sums[q]) * per_sample
            losses[name] = value
            total += plan.groups[name].loss_weight * value
        plan.nets = self.nets
        outs = {plan.inputs[0]: x, **self.outs}
        return Backprop(total, losses, plan.grads, self.deltas, self.nets, outs, None)
