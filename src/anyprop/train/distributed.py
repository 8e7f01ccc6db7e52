"""Synchronous data-parallel training over MPI (mpi4py, the ``anyprop[mpi]`` extra).

Every process holds the same network and the same data, draws the same order of the
samples each epoch (the same seed), and takes its own part of every batch: with P
processes and ``batch_size = b`` a step's batch is P·b rows of that order, process r
taking the r-th of P nearly equal parts. Each computes the gradient of its part's loss
(a mean over its n_r samples, or sample-steps over sequences), then one in-place
Allreduce over the flat gradient buffer, with n_r appended, gives every process

    g = Σ_r n_r · g_r / Σ_r n_r

(for ``loss_reduction = "sum"``: Σ_r g_r), the gradient of the whole batch's loss, so
that every process applies the same update to the same weights: P processes with
batches of b give the weights one process gives with batches of P·b, up to the order
of the sums. The epoch's loss and metrics are those of every process's outputs,
gathered; the validation set is scored by every process alike. Every ``check_every``
steps the processes compare a checksum of their weights, and stop with an error if
they have drifted apart; at the start they compare anyprop's version, the network and
the data.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

import numpy as np

from anyprop._version import __version__
from anyprop.errors import AnypropError
from anyprop.train.trainer import Trainer


def mpi() -> Any:
    """mpi4py's MPI module, or an error saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError:
        raise AnypropError(
            "distributed training runs on MPI through mpi4py: pip install 'anyprop[mpi]' "
            "(mpi4py and the mpich runtime, with mpiexec)"
        ) from None
    return MPI


def rank() -> int:
    """This process's rank in the MPI run (0 for a run of one)."""
    return int(mpi().COMM_WORLD.Get_rank())


class DistributedTrainer(Trainer):
    """A :class:`Trainer` whose steps are shared by the processes of an MPI communicator
    (``comm``, by default every process of the run; see the module's docstring)."""

    def __init__(self, *args: Any, comm: Any = None, check_every: int = 100, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.MPI = mpi()
        from anyprop._threads import THREADS, launched_by_mpi, set_blas_threads

        if launched_by_mpi() and os.environ.get(THREADS[0]) == "1":
            set_blas_threads(1)  # (NumPy may have been imported before anyprop set it)
        self.comm = comm if comm is not None else self.MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.check_every = int(check_every)
        #: each process trains on data of its own (a file each), not on a copy of the same
        self.sharded = False
        self._buf: np.ndarray | None = None
        self._steps = 0
        self._nothing = False  # (set while joining a step with no samples of its own)
        #: time spent in the gradients' Allreduce, and the bytes each one sends
        self.allreduce_seconds = 0.0
        self.allreduce_calls = 0
        self.bytes_per_step = 0

    # --- the batches --------------------------------------------------------------
    def batch_rows(self, size: int, n: int) -> int:
        if self.sharded:  # (a batch of its own data each)
            return size
        return n if self.settings.batch_size is None else size * self.size

    def batch_starts(self, n: int, size: int) -> Any:
        starts = list(range(0, n, size))
        if not self.sharded:
            return starts
        # as many steps on every process: one with fewer batches joins the last with none
        most = self.comm.allreduce(len(starts), op=self.MPI.MAX)
        return starts + [n] * (most - len(starts))

    def shard(self, start: int, stop: int) -> tuple[int, int]:
        if self.sharded:
            return start, stop
        q, extra = divmod(stop - start, self.size)
        lo = start + self.rank * q + min(self.rank, extra)
        return lo, lo + q + (self.rank < extra)

    def step(self, x: Any, y: Any, w: Any, batch: int, **kw: Any) -> Any:
        if len(x) == 0:  # fewer rows in the batch than processes: a part of nothing
            return self._empty_step(x, y, batch, **kw)
        mask = kw.get("mask")
        if getattr(x, "ndim", 2) == 3 and mask is not None and not np.any(mask):
            # a chunk of sequences with a loss elsewhere in the batch, none here: its
            # state runs on, and the step is joined with nothing
            plan = self.network.sequence_plan()
            plan.forward(x, kw.get("state"))
            carried = plan.final_state()
            bp = self._empty_step(x, y, batch, **kw)
            bp.state = carried
            return bp
        return super().step(x, y, w, batch, **kw)

    def _empty_step(self, x: Any, y: Any, batch: int, **kw: Any) -> Any:
        """Join the step with no samples: a pass over one row of zeros, weighted 0."""
        self._nothing = True
        try:
            zx = np.zeros((1, *x.shape[1:]), x.dtype)
            zy = np.zeros((1, *y.shape[1:]), y.dtype)
            bp = super().step(zx, zy, None, batch)
        finally:
            self._nothing = False
        if hasattr(bp, "mask"):  # (over sequences: no step of it counts)
            bp.mask = np.zeros_like(bp.mask)
        return bp

    # --- the seam -----------------------------------------------------------------
    def reduce_gradients(self, grads: Any, count: float = 1.0) -> Any:
        """One fused, in-place Allreduce of [n_r · g_r, n_r] over every process."""
        flat = grads.flat
        if self._nothing:
            count = 0.0
        mean = self.settings.loss_reduction == "mean"
        buf = self._buf
        if buf is None or buf.size != flat.size + 1 or buf.dtype != flat.dtype:
            buf = self._buf = np.empty(flat.size + 1, flat.dtype)
            self.bytes_per_step = buf.nbytes
        if mean:
            np.multiply(flat, count, out=buf[:-1])
        else:
            buf[:-1] = flat
        buf[-1] = count
        t0 = time.perf_counter()
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        self.allreduce_seconds += time.perf_counter() - t0
        self.allreduce_calls += 1
        total = float(buf[-1])
        if mean:
            if total <= 0:
                raise AnypropError("a step with no samples on any process")
            np.multiply(buf[:-1], 1.0 / total, out=flat)
        else:
            flat[...] = buf[:-1]
        self._steps += 1
        if self.check_every and self._steps % self.check_every == 0:
            self.check_weights()
        return grads

    # --- the epoch's figures --------------------------------------------------------
    def combine(
        self, loss_sum: float, weight: float, outputs: Any, targets: Any, places: Any = None
    ) -> tuple:
        if places is not None:  # this process's rows of the epoch
            outputs = np.concatenate([outputs[p] for p in places])
            targets = np.concatenate([targets[p] for p in places])
        sums = np.array([loss_sum if weight else 0.0, weight])
        self.comm.Allreduce(self.MPI.IN_PLACE, sums, op=self.MPI.SUM)
        if self.settings.loss_reduction == "sum":
            sums[1] = 1.0
        parts = self.comm.allgather((outputs, targets))
        outputs = np.concatenate([o for o, _ in parts])
        targets = np.concatenate([t for _, t in parts])
        return float(sums[0]), float(sums[1]), outputs, targets

    # --- state: written by one process, resumed on any number -----------------------
    def state_dict(self) -> dict[str, Any]:
        """The state as one process with the whole batch would save it (the batch size
        over every process), so that it resumes on any number of processes."""
        sd = super().state_dict()
        if self.settings.batch_size is not None:
            sd["config"] = {**sd["config"], "batch_size": self.settings.batch_size * self.size}
        return sd

    @classmethod
    def _from_state(cls, network: Any, state: Any, callbacks: Any) -> Trainer:
        import dataclasses

        trainer = super()._from_state(network, state, callbacks)
        whole = trainer.settings.batch_size
        if whole is not None:
            size = trainer.size
            if whole % size:
                raise AnypropError(
                    f"the run trained on batches of {whole} rows, which {size} processes "
                    f"cannot share equally: resume it on a number of processes dividing {whole}"
                )
            trainer.settings = dataclasses.replace(trainer.settings, batch_size=whole // size)
        return trainer

    def validate(self, val: Any) -> dict[str, float]:
        """Every process's validation figures alike: those of its own part, combined,
        when the processes have data of their own; else each scores the same data."""
        if not self.sharded:
            return super().validate(val)
        from anyprop.train.evaluation import evaluate_network
        from anyprop.train.sequence_epoch import PreparedSequences

        opts = self.settings.options
        if isinstance(val, PreparedSequences):
            net = self.network
            loss, outs, kept = net.sequence_plan().evaluate(val.x, val.y, val.mask, opts)
            outputs = outs[net.primary_output][kept != 0]
            targets = val.kept_targets(kept, np.arange(len(val)))
            count = float(np.count_nonzero(kept))
        else:
            logs, outputs = evaluate_network(self.network, val, self.settings)
            loss, targets, count = logs["loss"], val.exact, float(len(val))
        part = loss * count if self.settings.loss_reduction == "mean" else loss  # (a sum)
        total, weight, outputs, targets = self.combine(part, count, outputs, targets)
        figures = val.figures(outputs, targets, self.settings)
        return {"val_loss": total / weight, **{"val_" + k: v for k, v in figures.items()}}

    # --- agreement ------------------------------------------------------------------
    def check_weights(self) -> None:
        """Every process's weights alike (by a checksum), or an error naming the spread."""
        s = sum(float(np.sum(v, dtype=np.float64)) for v in self.network.params.values())
        both = np.array([s, -s])
        self.comm.Allreduce(self.MPI.IN_PLACE, both, op=self.MPI.MAX)
        if both[0] != -both[1]:
            raise AnypropError(
                f"the processes' weights have drifted apart by step {self._steps} (checksums "
                f"from {-both[1]!r} to {both[0]!r}): every process must run the same anyprop, "
                "network, data and settings"
            )

    def check_start(self, what: dict[str, Any]) -> None:
        """The same anyprop, network, settings and data on every process, or an error
        naming the first thing that differs and the processes it differs on."""
        net = self.network
        mine = {
            "anyprop": __version__,
            "network": _digest(
                [(k, v.shape, str(v.dtype)) for k, v in net.params.items()],
                [(c.name, c.kind, c.src, c.tgt, c.delay) for c in net.connections.values()],
            ),
            "weights": _hash(*net.params.values()),
            "settings": _digest(sorted(self.settings.to_state().items(), key=str)),
            **what,
        }
        every = self.comm.allgather(mine)
        for key in mine:
            seen = [d.get(key) for d in every]
            if any(v != seen[0] for v in seen):
                ranks = [r for r, v in enumerate(seen) if v != seen[0]]
                raise AnypropError(
                    f"the processes differ in {key}: process 0 has {seen[0]!r}, process "
                    f"{ranks[0]} {seen[ranks[0]]!r} (every process must run the same anyprop, "
                    "network, settings and data)"
                )

    def fit(self, data: Any, epochs: int, *args: Any, **kw: Any) -> Any:
        from anyprop.train.trainer import _as_dataset

        d = _as_dataset(data, "the training data")
        if self.sharded:  # data of its own: the same kind of data, read alike
            if self.settings.bptt:
                raise AnypropError(
                    "--bptt with the data shared out among the processes is not supported: "
                    "give every process the same data"
                )
            labels = getattr(d, "labels", None)
            columns = repr(getattr(d, "columns", None))
            what = {"inputs": tuple(np.shape(d.x)[1:]), "task": d.task, "labels": labels}
            self.check_start({**what, "columns": _digest(columns)})
        else:
            self.check_start({"data": (len(d), tuple(np.shape(d.x)), _hash(d.x, d.y))})
        return super().fit(d, epochs, *args, **kw)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _hash(*arrays: Any) -> str:
    """A digest of arrays' shapes and bytes (a pass over them, at memory speed)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(repr((a.shape, str(a.dtype))).encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:16]


def global_standardizer(x: np.ndarray, weights: Any, comm: Any = None) -> Any:
    """The Standardizer of the rows of every process together (each holding its own),
    from their (weighted) sums: the same on every process."""
    from anyprop.data.dataset import Standardizer

    MPI = mpi()
    comm = comm if comm is not None else MPI.COMM_WORLD
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    sums = np.concatenate([[w.sum()], w @ x, w @ (x * x)])
    comm.Allreduce(MPI.IN_PLACE, sums, op=MPI.SUM)
    k = x.shape[1]
    mean = sums[1 : 1 + k] / sums[0]
    var = np.maximum(sums[1 + k :] / sums[0] - mean * mean, 0.0)
    std = np.sqrt(var)
    return Standardizer(mean, np.where(std > 1e-12, std, 1.0))


def global_max_abs(x: Any, comm: Any = None) -> float:
    """max |x| over every process's rows."""
    MPI = mpi()
    comm = comm if comm is not None else MPI.COMM_WORLD
    local = float(np.abs(np.asarray(x, np.float64)).max()) if np.size(x) else 0.0
    return float(comm.allreduce(local, op=MPI.MAX))
