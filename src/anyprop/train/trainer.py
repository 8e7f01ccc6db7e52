"""Training: the general rule applied epoch after epoch (:func:`~anyprop.train.fit.fit`
is the usual way in).

Each step: forward and backward on a batch (:meth:`Network.backprop`), the
gradients made complete (:meth:`Trainer.reduce_gradients`, the seam where
several processes would average them), then the optimizer's update. Batches are
drawn from a seeded Generator, so the same seed gives a bitwise-identical run,
and :meth:`Trainer.state_dict` holds everything to resume exactly.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from anyprop.data import Dataset, from_pair
from anyprop.data.sequences import Sequences, sequences_from
from anyprop.errors import AnypropError, ShapeError
from anyprop.limits import check_bytes
from anyprop.nn.graph import generator
from anyprop.nn.values import numbers
from anyprop.optim import Optimizer
from anyprop.optim import make as make_optimizer
from anyprop.optim.schedules import Schedule
from anyprop.optim.schedules import make as make_schedule
from anyprop.train import sequence_epoch
from anyprop.train.callbacks import (
    Callback,
    StopWhenSolved,
    TargetLoss,
)
from anyprop.train.compiled_step import StepEngine
from anyprop.train.divergence import delta_sum, diverged
from anyprop.train.evaluation import Prepared, evaluate_network, metrics_for
from anyprop.train.history import History
from anyprop.train.metrics import METRICS, streaming
from anyprop.train.settings import TrainSettings


def split_seed_for(seed: int | None) -> int:
    """The seed of the validation split of a run seeded ``seed`` (apart from the stream that
    shuffles the batches, so that the split does not depend on the epochs run)."""
    return int(np.random.default_rng(seed).integers(2**32))


def _callbacks(callbacks: Any) -> list[Callback]:
    """The callbacks as a list, each one a Callback (an error names the first that is not)."""
    if callbacks is None:
        return []
    if isinstance(callbacks, (str, bytes, Callback)) or not isinstance(callbacks, Iterable):
        raise AnypropError(f"callbacks must be a list of Callback objects, got {callbacks!r:.60}")
    out = list(callbacks)
    for cb in out:
        if not isinstance(cb, Callback):
            raise AnypropError(
                f"callbacks must be Callback objects (anyprop.train.callbacks), got {cb!r:.60}"
            )
    return out


def _as_dataset(data: Any, what: str) -> Dataset | Sequences:
    """A Dataset, or one made from an (inputs, targets) pair (:func:`anyprop.data.from_pair`);
    Sequences, or ones made from (inputs, targets[, mask]) whose inputs have three axes."""
    seqs = sequences_from(data, what)
    return seqs if seqs is not None else from_pair(data, what)


def _prepared(network: Any, data: Dataset | Sequences) -> Any:
    if isinstance(data, Sequences):
        return sequence_epoch.PreparedSequences.of(network, data)
    return Prepared.of(network, data)


def _evaluate(network: Any, data: Any, settings: TrainSettings, prefix: str) -> dict:
    if isinstance(data, sequence_epoch.PreparedSequences):
        return sequence_epoch.evaluate(network, data, settings, prefix)[0]
    return evaluate_network(network, data, settings, prefix)[0]


class Trainer:
    """Trains one network with one optimizer; :func:`fit` is the usual way in."""

    def __init__(
        self,
        network: Any,
        optimizer: Optimizer | str | Mapping = "sgd",
        *,
        settings: TrainSettings | None = None,
        lr: float | None = None,
        schedule: Any = None,
        seed: int | np.random.Generator | None = 0,
        callbacks: Iterable[Callback] = (),
        compile: str = "auto",
        **options: Any,
    ) -> None:
        """``settings`` (a :class:`TrainSettings`) says how batches are formed and the loss
        reduced; its fields may also be given as keywords (``batch_size=32``,
        ``loss_reduction="sum"``), which override it. ``compile``: whether steps run
        compiled (numba) where that pays ("auto"), from the first step ("always") or
        never (:mod:`anyprop.train.compiled_step`); the result is the same either way, up
        to the order of floating-point sums. The other keywords are the optimizer's
        (``momentum``, ``weight_decay``...)."""
        self.engine = StepEngine(compile)
        self.network = network
        self.settings = TrainSettings.take(options, settings)
        self.callbacks = _callbacks(callbacks)
        generator(seed)  # (a seed that is not one is refused here, by name)
        if isinstance(optimizer, Optimizer):
            if lr is not None or options:
                raise AnypropError(
                    "give options to an optimizer object when making it, not to fit()"
                )
            self.optimizer = optimizer
        else:
            if lr is not None:
                options["lr"] = lr
            self.optimizer = make_optimizer(optimizer, self.network, **options)
        self.schedule: Schedule | None = (
            None
            if schedule is None
            else schedule
            if isinstance(schedule, Schedule)
            else make_schedule(schedule, self.optimizer.lr)
        )
        if isinstance(seed, np.random.Generator):
            self.rng = seed
            self.split_seed = int(seed.integers(2**32))
        else:
            self.rng = np.random.default_rng(seed)
            self.split_seed = split_seed_for(seed)
        self.history = History()
        self.epoch = 0  # the number of epochs done
        self.stop = False
        self.stop_reason: str | None = None
        self.epoch_solved = False  # every output within the margin in the epoch just run
        #: how this trainer's passes compute the loss and the deltas (given per call)
        self.options = self.settings.options
        self._checks: tuple | None = None  # (plan, what delta_sum reads of its passes)

    # --- the step ---------------------------------------------------------------
    def reduce_gradients(self, grads: Any, count: float = 1.0) -> Any:
        """The seam between complete local gradients and the update: one process returns
        them as they are; a data-parallel trainer (:mod:`anyprop.train.distributed`)
        combines them across processes here, weighting each by ``count``, the samples
        (or, over sequences, the sample-steps) its loss averaged over."""
        return grads

    # --- how an epoch's batches are shared (one process: all of each is its own) ------
    def batch_rows(self, size: int, n: int) -> int:
        """The rows of the data in one step's batch, over every process."""
        return size

    def batch_starts(self, n: int, size: int) -> Any:
        """Where the epoch's batches start in its order of the ``n`` rows."""
        return range(0, n, size)

    def validate(self, val: Any) -> dict[str, float]:
        """The figures of the validation data (``val_loss`` and each metric)."""
        return _evaluate(self.network, val, self.settings, "val_")

    def shard(self, start: int, stop: int) -> tuple[int, int]:
        """The part of the batch at rows ``start`` … ``stop − 1`` of the epoch's order
        that this process takes."""
        return start, stop

    def combine(
        self, loss_sum: float, weight: float, outputs: Any, targets: Any, places: Any = None
    ) -> tuple:
        """An epoch's figures over every process: (loss sum, its weight, the outputs its
        steps saw, their targets); one process has them all already. ``places``: where
        in ``outputs`` and ``targets`` this process's batches are (None: all of them)."""
        return loss_sum, weight, outputs, targets

    def step(
        self,
        x: np.ndarray,
        y: np.ndarray,
        w: np.ndarray | None,
        batch: int,
        mask: np.ndarray | None = None,
        state: dict[str, np.ndarray] | None = None,
    ) -> Any:
        """One step of the rule on one batch; returns the Backprop. A batch of sequences
        ((sequences, steps, features) inputs, with their ``mask``) takes one step of
        backpropagation through time over the whole sequences, from ``state`` (the state
        a previous chunk of them left) if given."""
        if getattr(x, "ndim", 2) == 3:
            plan = self.network.sequence_plan()
            bp = plan.backprop(x, y, mask, w, self.options, state)
            count = float(np.count_nonzero(bp.mask))  # the mean is over the kept steps
        else:
            plan = self.network.plan()
            self.engine.begin(plan, len(x))  # compiled or NumPy (compiled_step)
            # no input gradients, no NaN scan of x (checked once per fit), this run's options
            bp = plan.backprop(x, y, w, False, False, self.options)
            count = float(len(x))
        grads = self.reduce_gradients(bp.grads, count)
        # one cheap sum says whether anything went non-finite; only then look for where,
        # before the update, so that the weights stay those of the last good step
        if not math.isfinite(bp.loss + delta_sum(self, plan, bp)):
            diverged(self, bp, batch)
        self.optimizer.step(grads)  # one vectorised rule over the flat gradient vector
        return bp

    # --- epochs -----------------------------------------------------------------
    def sample_weights(self, data: Dataset, sample_weight: Any) -> np.ndarray | None:
        """Each sample's weight in the loss: ``sample_weight`` times its class's weight
        (the settings' ``class_weight``), or None when every sample weighs 1."""
        w = None if sample_weight is None else numbers(sample_weight, "sample_weight").reshape(-1)
        if w is not None and w.shape != (len(data),):
            raise ShapeError(f"sample_weight has {w.size} values for {len(data)} samples")
        if self.settings.class_weight:
            if data.task != "classification" or data.y.ndim != 1:
                raise AnypropError("class_weight needs class targets (one class index per sample)")
            cw = np.array(self.settings.class_weights(data.y.tolist()))
            w = cw if w is None else w * cw
        return w

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The outputs for ``x``, laid out like the targets (:meth:`Network.gather`)."""
        return self.network.gather(self.network.plan().forward(x)).copy()

    #: an epoch's outputs at least this large are not kept: its figures are counted batch
    #: by batch where they can be (accuracy over classes)
    STREAM_BYTES = 1 << 20
    #: data sets up to this size are permuted whole each epoch (batches are then slices);
    #: larger ones are gathered batch by batch, so as not to copy them
    PERMUTE_BYTES = 16 * 2**20

    def _check_memory(self, rows: int, val_rows: int) -> None:
        """Refuse, before the first step, a run whose arrays together would not fit: the
        parameters with their gradients, flat copies, optimizer state and best copy (about
        six sets), and for a batch (and the validation part, evaluated whole) the net
        inputs, outputs and deltas of every unit."""
        net = self.network
        params = sum(p.size for p in net.params.values())
        units = sum(g.size for g in net.groups.values())
        batch = self.settings.batch_size or rows
        cells = (
            6 * params
            + 4 * units * max(batch, val_rows)
            + 2 * rows * (net.input_width + net.target_width)
        )
        what = f"training this network ({params:,} parameters, batches of {batch:,})"
        check_bytes(cells * np.dtype(net.dtype).itemsize, what)

    def check_table_run(self, rows: int, val_rows: int) -> None:
        """What a run on a table of ``rows`` samples (and ``val_rows`` to validate on) is
        refused for before its first step: a sequence setting, or too little memory."""
        if self.settings.bptt:
            raise AnypropError(
                f"bptt = {self.settings.bptt} truncates backpropagation through time: it "
                "applies to sequences ((sequences, steps, features) inputs), not a table"
            )
        self._check_memory(rows, val_rows)

    def run_epoch(self, data: Prepared | Dataset, weights: np.ndarray | None) -> dict[str, float]:
        """One pass over ``data`` in batches, one step of the rule each; returns the
        epoch's figures (the loss and metrics of the outputs the steps saw)."""
        if isinstance(data, Sequences):
            data = _prepared(self.network, data)
        if isinstance(data, sequence_epoch.PreparedSequences):
            return sequence_epoch.run_epoch(self, data, weights)
        if not isinstance(data, Prepared):
            data = Prepared.of(self.network, data)
        settings = self.settings
        n = len(data)
        order = self.epoch_order(n)
        size = self.batch_rows(settings.batch_size or n, n)
        x_all = data.x  # cast and laid out once per fit (Prepared)
        width = self.network.target_width
        whole = x_all.nbytes + n * width * x_all.itemsize <= self.PERMUTE_BYTES
        # the epoch's figures batch by batch where they can be (classes' accuracy), else
        # each sample's outputs as its step saw them, in x_all's order, for the metrics
        task = data.data.task
        streams = None
        if (  # (for a large set: counting batch by batch costs a little on each step)
            n * width * x_all.itemsize >= self.STREAM_BYTES
            and type(self).combine is Trainer.combine
            and data.data.target_scaler is None
        ):
            streams = streaming(metrics_for(settings, task), task, width)
        # class targets kept as indices: one-hot rows made batch by batch
        compact = not whole and streams is not None and data.classes is not None
        y_all = None if compact else data.y
        if whole:  # the same batches in the same order, as slices of one permuted copy
            x_all, y_all = x_all[order], y_all[order]
            weights = None if weights is None else weights[order]
        seen = None
        if streams is None:
            seen = np.empty((n, self.network.target_width), dtype=self.network.dtype)
        summed = settings.loss_reduction == "sum"
        loss_sum, weight_sum = 0.0, 0.0
        places = []
        bufs: dict[int, tuple] = {}  # gathered batches: into buffers kept for the epoch
        for b, start in enumerate(self.batch_starts(n, size)):
            lo, hi = self.shard(start, min(start + size, n))
            place: Any = slice(lo, hi) if whole else order[lo:hi]
            places.append(place)
            if whole:
                x, y = x_all[place], y_all[place]
            else:
                k = hi - lo
                if k not in bufs:
                    bufs[k] = (
                        np.empty((k, *x_all.shape[1:]), x_all.dtype),
                        np.empty((k, width), self.network.dtype),
                    )
                x, y = bufs[k]
                np.take(x_all, place, axis=0, out=x)
                if compact:
                    data.one_hot(place, out=y)
                else:
                    np.take(y_all, place, axis=0, out=y)
            w = None if weights is None else weights[place]
            bp = self.step(x, y, w, b)
            if streams is None:
                seen[place] = self.network.gather(bp.outputs)
            else:
                o = self.network.gather(bp.outputs)
                for acc in streams.values():
                    acc.add(o, y)
            if summed:  # a batch reports its sum: the epoch's is their sum
                loss_sum += bp.loss
                weight_sum = 1.0
            else:  # a batch reports its mean: weight it by its size
                k = len(x)
                loss_sum += bp.loss * k
                weight_sum += k
            for cb in self.callbacks:
                cb.on_batch_end(self, b, bp)
        if streams is not None:  # (classes: "solved" is for 0/1 and numeric targets)
            self.epoch_solved = False
            logs = {"loss": loss_sum / weight_sum}
            logs.update({m: acc.value() for m, acc in streams.items()})
            return logs
        # y_all is in the order of seen, whether permuted whole or gathered batch by batch
        loss_sum, weight_sum, seen, y_all = self.combine(loss_sum, weight_sum, seen, y_all, places)
        logs = {"loss": loss_sum / weight_sum}
        logs.update(data.figures(seen, y_all, settings))
        # "solved" (every output within the margin of its target) is the classic papers'
        # criterion for 0/1 and numeric targets; for classes, accuracy says it
        self.epoch_solved = task != "classification" and bool(
            METRICS.get("solved")(seen, y_all, margin=settings.margin)
        )
        return logs

    def epoch_order(self, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """The order of the ``n`` samples in an epoch: a permutation drawn from the
        trainer's generator (or ``rng``), or 0..n−1 without shuffling."""
        rng = self.rng if rng is None else rng
        return rng.permutation(n) if self.settings.shuffle else np.arange(n)

    def next_batches(self, n: int) -> list[np.ndarray]:
        """The rows of every batch of the next epoch, in the order its steps take them
        (the trainer's generator is not advanced)."""
        order = self.epoch_order(n, copy.deepcopy(self.rng))
        size = self.settings.batch_size or n
        return [order[start : start + size] for start in range(0, n, size)]

    def begin_epoch(self) -> None:
        """What happens before an epoch's first step: the schedule sets the learning rate."""
        if self.schedule is not None:
            self.optimizer.lr = self.schedule.lr(self.epoch)

    def fit(
        self,
        data: Any,
        epochs: int,
        validation: Any = None,
        validation_split: float = 0.0,
        sample_weight: Any = None,
        target_loss: float | None = None,
        stop_when_solved: bool = False,
    ) -> History:
        """Train for up to ``epochs`` epochs (counting those already done when resuming).

        ``target_loss`` and ``stop_when_solved`` add the stop rules :class:`TargetLoss`
        and :class:`StopWhenSolved` for this call (they are callbacks like any other)."""
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
            raise AnypropError(f"epochs must be a whole number >= 0, got {epochs!r}")
        train = _as_dataset(data, "training data")
        val = None if validation is None else _as_dataset(validation, "validation data")
        if validation_split:
            if val is not None:
                raise AnypropError("give validation data or a validation_split, not both")
            keep, held = train.split_indices(
                validation_split, np.random.default_rng(self.split_seed)
            )
            if sample_weight is not None:  # the weights go with their samples
                sample_weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
                if sample_weight.shape != (len(train),):
                    raise ShapeError(
                        f"sample_weight has {sample_weight.size} values for {len(train)} samples"
                    )
                sample_weight = sample_weight[keep]
            train, val = train.subset(keep), train.subset(held)
        if isinstance(train, Sequences):
            sequence_epoch.check_memory(self, train, 0 if val is None else len(val))
        else:
            self.check_table_run(len(train), 0 if val is None else len(val))
        if isinstance(train, Sequences) != isinstance(val or train, Sequences):
            raise AnypropError("train on sequences and validate on sequences, or neither")
        # inputs cast, targets laid out and both checked once for the whole run
        p_train = _prepared(self.network, train)
        p_val = None if val is None else _prepared(self.network, val)
        weights = self.sample_weights(train, sample_weight)
        rules: list[Callback] = []  # first, so that a later callback's reason wins as before
        if stop_when_solved:
            rules.append(StopWhenSolved())
        if target_loss is not None:
            rules.append(TargetLoss(target_loss))
        saved = self.callbacks
        self.callbacks = rules + saved
        try:
            self.stop, self.stop_reason = False, None
            for cb in self.callbacks:
                cb.on_train_begin(self)
            # Overflow shows up as a non-finite loss or gradient, which step() reports
            # clearly; NumPy's warnings would only repeat it (errstate is slow per step).
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._epochs(p_train, p_val, weights, epochs)
            self.history.stop_reason = self.stop_reason or f"{self.epoch} epochs done"
            for cb in self.callbacks:
                cb.on_train_end(self)
        finally:
            self.callbacks = saved
        return self.history

    def _epochs(
        self, train: Prepared, val: Prepared | None, weights: np.ndarray | None, epochs: int
    ) -> None:
        try:
            if not isinstance(train, sequence_epoch.PreparedSequences):  # (tables only)
                batch = self.settings.batch_size or len(train)
                steps = math.ceil(len(train) / max(1, batch)) * (epochs - self.epoch)
                self.engine.plan_run(self.network.plan(), min(batch, len(train)), steps)
            while self.epoch < epochs and not self.stop:
                self.begin_epoch()
                for cb in self.callbacks:
                    cb.on_epoch_begin(self)
                t0 = time.perf_counter()
                logs = self.run_epoch(train, weights)
                if val is not None:
                    logs.update(self.validate(val))
                logs["lr"] = self.optimizer.lr
                logs["time"] = time.perf_counter() - t0
                if self.schedule is not None:
                    self.schedule.observe(logs.get("val_loss", logs["loss"]))
                self.history.epochs.append(logs)
                if self.history.solved_epoch is None and self.epoch_solved:
                    self.history.solved_epoch = self.epoch + 1
                self.epoch += 1
                for cb in self.callbacks:
                    cb.on_epoch_end(self, logs)
        except KeyboardInterrupt:
            self.stop, self.stop_reason = True, "interrupted"
            self.history.stop_reason = self.stop_reason
            for cb in self.callbacks:
                cb.on_train_end(self)
            raise

    # --- state --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly."""
        return {
            "config": {
                **self.settings.to_state(),
                "schedule": None if self.schedule is None else self.schedule.config(),
            },
            "epoch": self.epoch,
            "rng": self.rng.bit_generator.state,
            "split_seed": self.split_seed,
            # whether the run's steps were compiled: a resumed run goes on the same way
            "compiled": self.engine.use,
            "history": self.history.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            # by kind, so that a resumed run with its callbacks in another order (a
            # progress bar first, the stop rules of one fit()) gives each its own state
            "callbacks": [
                {"type": type(cb).__name__, "state": cb.state_dict()}
                for cb in self.callbacks
                if cb.state_dict()
            ],
        }

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Continue from a saved state (:meth:`state_dict`); a damaged one is an
        AnypropError naming what is wrong."""
        if not isinstance(sd, Mapping):
            raise AnypropError(f"a trainer's state is a dict, got {type(sd).__name__}")
        try:
            self._load_state(sd)
        except AnypropError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            what = f"'{e.args[0]}' is missing" if isinstance(e, KeyError) and e.args else str(e)
            raise AnypropError(f"the training state is damaged: {what}") from None

    def _load_state(self, sd: Mapping[str, Any]) -> None:
        self.epoch = int(sd["epoch"])
        self.rng.bit_generator.state = sd["rng"]
        self.split_seed = int(sd.get("split_seed", self.split_seed))
        self.history = History.from_dict(sd["history"])
        self.optimizer.load_state_dict(sd["optimizer"])
        if self.schedule is not None and sd.get("schedule") is not None:
            self.schedule.load_state_dict(sd["schedule"])
        self._load_callback_states(sd.get("callbacks") or [])
        used = sd.get("compiled")
        if used is not None and not isinstance(used, bool):
            raise AnypropError(f"the training state is damaged: 'compiled' is {used!r}")
        self.engine = StepEngine(self.engine.mode, used)

    def _load_callback_states(self, saved: list[Any]) -> None:
        """Give each callback the saved state of the same kind, in order (a file written
        before states were labelled pairs them by position, as it was written)."""
        if saved and not all(isinstance(s, dict) and set(s) == {"type", "state"} for s in saved):
            for cb, s in zip(self.callbacks, saved, strict=False):
                cb.load_state_dict(s)
            return
        by_type: dict[str, list[Any]] = {}
        for s in saved:
            by_type.setdefault(s["type"], []).append(s["state"])
        for cb in self.callbacks:
            states = by_type.get(type(cb).__name__)
            if states:
                cb.load_state_dict(states.pop(0))

    @classmethod
    def from_state(
        cls, network: Any, state: Mapping[str, Any], callbacks: Iterable[Callback] = ()
    ) -> Trainer:
        """A trainer that continues exactly where the one that saved ``state`` stopped
        (a state that is not one, or is damaged, is an AnypropError naming what is wrong)."""
        if not isinstance(state, Mapping):
            raise AnypropError(f"a trainer's state is a dict, got {type(state).__name__}")
        try:
            return cls._from_state(network, state, callbacks)
        except AnypropError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            what = f"'{e.args[0]}' is missing" if isinstance(e, KeyError) and e.args else str(e)
            raise AnypropError(f"the training state is damaged: {what}") from None

    @classmethod
    def _from_state(
        cls, network: Any, state: Mapping[str, Any], callbacks: Iterable[Callback]
    ) -> Trainer:
        cfg = dict(state.get("config") or {})
        opt_cfg = dict(state["optimizer"]["config"])
        name = opt_cfg.pop("name")
        trainer = cls(
            network,
            name,
            settings=TrainSettings.from_state(cfg),
            seed=0,
            callbacks=callbacks,
            **opt_cfg,
        )
        if cfg.get("schedule") is not None:
            trainer.schedule = make_schedule(cfg["schedule"], trainer.optimizer.lr)
        trainer.load_state_dict(state)
        return trainer

    def save(self, path: str, **extra: Any) -> None:
        """Write the model and this trainer's state to ``path`` (atomically)."""
        from anyprop.train.model_io import save_model

        save_model(path, self.network, trainer=self, **extra)
